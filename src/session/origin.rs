//! What a profile reads as now, in the terms a session's origin is recorded in. No network
//! and no SDK: a source profile whose keys come from elsewhere (SSO, credential_process, a
//! role) is identified by the settings that decide those keys, along its chain.

use super::record::Origin;
use crate::awsconfig::OperatorProfile;
use crate::cache;
use crate::settings::{CredentialSource, Settings};

/// The keys that decide which credentials a profile yields (not `region`, `output`, …).
const CREDENTIAL_KEYS: [&str; 16] = [
    "aws_access_key_id",
    "role_arn",
    "source_profile",
    "credential_source",
    "credential_process",
    "external_id",
    "mfa_serial",
    "role_session_name",
    "sso_session",
    "sso_start_url",
    "sso_account_id",
    "sso_role_name",
    "sso_region",
    "web_identity_token_file",
    "login_session",
    "duration_seconds",
];

/// How far a chain of source profiles is followed.
const MAX_CHAIN: usize = 8;

pub(crate) fn origin_of(op: &OperatorProfile, settings: &Settings) -> Origin {
    let source = match settings.source_of(&op.source_profile, false) {
        CredentialSource::Keys { creds, .. } => format!("key:{}", creds.access_key_id),
        _ => format!("config:{}", chain_fingerprint(&op.source_profile, settings)),
    };
    Origin {
        role_arn: op.role_arn.clone(),
        source_profile: op.source_profile.clone(),
        mfa_serial: op.mfa_serial.clone(),
        // Empty: named after the IAM user, which `source` already identifies.
        session_name: op.role_session_name.clone().unwrap_or_default(),
        source,
        partition: settings.endpoint.partition().to_string(),
    }
}

/// A hash of the credential settings of `profile` and the source profiles it chains to.
fn chain_fingerprint(profile: &str, settings: &Settings) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(profile.to_string());
    for _ in 0..MAX_CHAIN {
        let Some(name) = next.take() else { break };
        parts.push(format!("[{name}]"));
        let Some(p) = settings.files.profiles.get(&name) else {
            break;
        };
        for key in CREDENTIAL_KEYS {
            if let Some(value) = p.get(key) {
                parts.push(format!("{key}={value}"));
            }
        }
        next = p
            .get("source_profile")
            .filter(|s| *s != name)
            .map(String::from);
    }
    let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    cache::key(&refs)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::cli::AwsArgs;
    use crate::env::Env;
    use crate::settings::ConfigFiles;

    fn origin(config: &str, region: &str) -> Origin {
        let files = ConfigFiles::from_bytes(
            PathBuf::from("/c"),
            Some(config.as_bytes().to_vec()),
            PathBuf::from("/k"),
            None,
        )
        .unwrap();
        let args = AwsArgs {
            profile: Some("op".into()),
            region: Some(region.into()),
        };
        let settings = Settings::resolve(&Env::default(), files, &args).unwrap();
        origin_of(&settings.require_operator().unwrap(), &settings)
    }

    const OP: &str = "[profile op]\nrole_arn = r\nmfa_serial = m\nsource_profile = sso\n";

    #[test]
    fn a_chained_source_is_identified_by_its_credential_settings_only() {
        let base =
            format!("{OP}[profile sso]\nsso_session = corp\nsso_account_id = 1\nregion = x\n");
        let a = origin(&base, "eu-west-1");
        assert!(a.source.starts_with("config:"));
        assert_eq!(
            a,
            origin(&base.replace("region = x", "region = y"), "eu-west-1")
        );
        assert_eq!(a, origin(&base, "us-east-1"), "any region of the partition");
        assert_ne!(
            a.source,
            origin(&base.replace("= 1", "= 2"), "eu-west-1").source
        );
        assert_ne!(origin(&base, "cn-north-1").partition, a.partition);
        let chained = format!(
            "{OP}[profile sso]\nsource_profile = base\nrole_arn = x\n[profile base]\ncredential_process = a\n"
        );
        let b = origin(&chained, "eu-west-1");
        assert_ne!(
            b.source,
            origin(
                &chained.replace("credential_process = a", "credential_process = b"),
                "eu-west-1"
            )
            .source,
            "a change two links down the chain counts"
        );
    }
}
