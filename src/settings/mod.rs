//! Which profile, region, STS endpoint and credential source apply to one invocation, from
//! the flags, the environment and the config files' texts. Every command asks this module;
//! none re-derives a rule. Pure: `Env` and texts in, settings out.

mod files;

pub(crate) use files::ConfigFiles;

use crate::awsconfig::{OperatorProfile, Profile};
use crate::cli::AwsArgs;
use crate::credentials::Credentials;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::sts_endpoint::{EndpointSettings, RegionalMode, StsEndpoint};

/// Where the profile name came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProfileOrigin {
    Flag,
    AwsProfile,
    AwsDefaultProfile,
    Default,
}

/// The profile an invocation means: `--profile`, else `AWS_PROFILE`, else
/// `AWS_DEFAULT_PROFILE`, else `default` — for every command alike.
pub(crate) fn profile_name(env: &Env, flag: Option<&str>) -> (String, ProfileOrigin) {
    match (flag, env.get("AWS_PROFILE"), env.get("AWS_DEFAULT_PROFILE")) {
        (Some(p), _, _) => (p.to_string(), ProfileOrigin::Flag),
        (None, Some(p), _) => (p.to_string(), ProfileOrigin::AwsProfile),
        (None, None, Some(p)) => (p.to_string(), ProfileOrigin::AwsDefaultProfile),
        (None, None, None) => ("default".to_string(), ProfileOrigin::Default),
    }
}

/// Where credentials come from.
#[derive(Debug)]
pub(crate) enum CredentialSource {
    /// An eks-operator profile: we assume its role with an MFA code.
    Operator(OperatorProfile),
    /// A key pair read directly — no SDK, no runtime.
    Keys { origin: String, creds: Credentials },
    /// Anything else (credential_process, SSO, a role without MFA, web identity, container,
    /// instance metadata): aws-config's chain for the profile.
    Chain { profile: String, use_env: bool },
}

/// Keys that make a profile's credentials something other than a plain key pair.
const INDIRECT_SOURCE_KEYS: [&str; 8] = [
    "role_arn",
    "source_profile",
    "credential_source",
    "credential_process",
    "sso_session",
    "sso_start_url",
    "web_identity_token_file",
    "login_session",
];

/// Profile, region and endpoints for one invocation.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) files: ConfigFiles,
    pub(crate) profile_name: String,
    pub(crate) origin: ProfileOrigin,
    pub(crate) region: Option<String>,
    pub(crate) endpoint: StsEndpoint,
    /// `AWS_ENDPOINT_URL_EKS`, else `AWS_ENDPOINT_URL` (unless endpoint URLs are ignored).
    pub(crate) eks_endpoint_url: Option<String>,
    /// The key pair in the environment, if any.
    env_keys: Option<Credentials>,
}

impl Settings {
    pub(crate) fn resolve(env: &Env, files: ConfigFiles, args: &AwsArgs) -> Result<Self> {
        let (profile_name, origin) = profile_name(env, args.profile.as_deref());
        if origin != ProfileOrigin::Default && files.profiles.get(&profile_name).is_none() {
            return Err(Error::UnknownProfile {
                profile: profile_name,
                files: files.describe(),
            });
        }
        let profile = files.profiles.get(&profile_name);
        let prop = |key: &str| profile.and_then(|p| p.get(key));
        let region = args
            .region
            .clone()
            .or_else(|| {
                env.first(&["AWS_REGION", "AWS_DEFAULT_REGION"])
                    .map(String::from)
            })
            .or_else(|| prop("region").map(String::from));
        let mode = match env
            .get("AWS_STS_REGIONAL_ENDPOINTS")
            .or_else(|| prop("sts_regional_endpoints"))
        {
            Some(v) => RegionalMode::parse(v)?,
            None => RegionalMode::default(),
        };
        let bool_setting = |env_key: &str, prop_key: &str| {
            env.flag(env_key)
                .or_else(|| prop(prop_key).map(|v| v.eq_ignore_ascii_case("true")))
                .unwrap_or(false)
        };
        let ignore_urls = bool_setting(
            "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
            "ignore_configured_endpoint_urls",
        );
        let url = |service_key: &str| {
            (!ignore_urls)
                .then(|| env.first(&[service_key, "AWS_ENDPOINT_URL"]))
                .flatten()
                .map(String::from)
        };
        let endpoint = crate::sts_endpoint::resolve(&EndpointSettings {
            region: region.clone(),
            mode,
            use_fips: bool_setting("AWS_USE_FIPS_ENDPOINT", "use_fips_endpoint"),
            use_dualstack: bool_setting("AWS_USE_DUALSTACK_ENDPOINT", "use_dualstack_endpoint"),
            endpoint_url: url("AWS_ENDPOINT_URL_STS").or_else(|| {
                (!ignore_urls)
                    .then(|| prop("endpoint_url").map(String::from))
                    .flatten()
            }),
        })?;
        let env_keys = match (
            env.get("AWS_ACCESS_KEY_ID"),
            env.get("AWS_SECRET_ACCESS_KEY"),
        ) {
            (Some(id), Some(secret)) => Some(Credentials {
                access_key_id: id.to_string(),
                secret_access_key: Secret::new(secret.to_string()),
                session_token: env.get("AWS_SESSION_TOKEN").map(|t| Secret::new(t.into())),
                expires_at: None,
            }),
            _ => None,
        };
        Ok(Settings {
            eks_endpoint_url: url("AWS_ENDPOINT_URL_EKS"),
            files,
            profile_name,
            origin,
            region,
            endpoint,
            env_keys,
        })
    }

    pub(crate) fn profile(&self) -> Option<Profile<'_>> {
        self.files.profiles.get(&self.profile_name)
    }

    /// For `-v`: what was chosen and why.
    pub(crate) fn describe(&self) -> String {
        format!(
            "profile `{}` ({}), region {}, STS endpoint {} (signing region {})",
            self.profile_name,
            match self.origin {
                ProfileOrigin::Flag => "from --profile",
                ProfileOrigin::AwsProfile => "from AWS_PROFILE",
                ProfileOrigin::AwsDefaultProfile => "from AWS_DEFAULT_PROFILE",
                ProfileOrigin::Default => "default",
            },
            self.region.as_deref().unwrap_or("(none)"),
            self.endpoint.base_url,
            self.endpoint.signing_region
        )
    }

    /// Where the invocation's credentials come from. Environment keys win unless the profile
    /// was named with `--profile` (botocore's rule).
    pub(crate) fn source(&self) -> Result<CredentialSource> {
        if let Some(op) = self.operator()? {
            return Ok(CredentialSource::Operator(op));
        }
        Ok(self.source_of(&self.profile_name, self.origin != ProfileOrigin::Flag))
    }

    /// Where `profile`'s own credentials come from (for an eks-operator profile's source
    /// profile, `use_env` is false: its keys, not the environment's).
    pub(crate) fn source_of(&self, profile: &str, use_env: bool) -> CredentialSource {
        if use_env && let Some(creds) = &self.env_keys {
            return CredentialSource::Keys {
                origin: "the environment".into(),
                creds: creds.clone(),
            };
        }
        if let Some(p) = self.files.profiles.get(profile)
            && !INDIRECT_SOURCE_KEYS.iter().any(|k| p.has(k))
            && let (Some(id), Some(secret)) =
                (p.get("aws_access_key_id"), p.get("aws_secret_access_key"))
        {
            return CredentialSource::Keys {
                origin: format!("static keys of profile `{}`", p.name),
                creds: Credentials {
                    access_key_id: id.to_string(),
                    secret_access_key: Secret::new(secret.to_string()),
                    session_token: p.get("aws_session_token").map(|t| Secret::new(t.into())),
                    expires_at: None,
                },
            };
        }
        CredentialSource::Chain {
            profile: profile.to_string(),
            use_env,
        }
    }

    /// The invocation's profile as an eks-operator profile, if it is one (role + MFA device).
    pub(crate) fn operator(&self) -> Result<Option<OperatorProfile>> {
        match self.profile() {
            Some(p) if OperatorProfile::is_operator(&p) => self.require_operator().map(Some),
            _ => Ok(None),
        }
    }

    /// The invocation's profile, which must be a complete eks-operator profile.
    pub(crate) fn require_operator(&self) -> Result<OperatorProfile> {
        let incomplete = |key, hint| Error::ProfileIncomplete {
            profile: self.profile_name.clone(),
            key,
            file: self.files.config_path.display().to_string(),
            hint,
        };
        let Some(p) = self.profile() else {
            return Err(incomplete(
                "role_arn",
                format!(
                    "there is no [profile {}] section; create one with `eksop-auth setup` or \
                     pass --profile",
                    self.profile_name
                ),
            ));
        };
        OperatorProfile::from_profile(&p).map_err(|m| incomplete(m.key, m.hint))
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn files(config: &str) -> ConfigFiles {
        ConfigFiles::from_bytes(
            PathBuf::from("/c"),
            Some(config.as_bytes().to_vec()),
            PathBuf::from("/k"),
            None,
        )
        .unwrap()
    }

    const CONFIG: &str = "[profile op]\nrole_arn = r\nmfa_serial = m\nsource_profile = src\nregion = eu-west-1\n\
                          [profile src]\naws_access_key_id = AKIASRC\naws_secret_access_key = s\n\
                          [profile sso]\nsso_session = x\n";

    fn resolve(env: &[(&str, &str)], profile: Option<&str>) -> Result<Settings> {
        let args = AwsArgs {
            profile: profile.map(String::from),
            region: None,
        };
        Settings::resolve(&Env::from_pairs(env.iter().copied()), files(CONFIG), &args)
    }

    #[test]
    fn one_rule_for_the_profile_name() {
        let env = Env::from_pairs([("AWS_DEFAULT_PROFILE", "b")]);
        assert_eq!(
            profile_name(&env, None),
            ("b".into(), ProfileOrigin::AwsDefaultProfile)
        );
        let env = Env::from_pairs([("AWS_DEFAULT_PROFILE", "b"), ("AWS_PROFILE", "a")]);
        assert_eq!(profile_name(&env, None).0, "a");
        assert_eq!(profile_name(&env, Some("c")).0, "c");
        assert_eq!(profile_name(&Env::default(), None).0, "default");
    }

    #[test]
    fn sources() {
        let s = resolve(
            &[
                ("AWS_ACCESS_KEY_ID", "AKIAENV"),
                ("AWS_SECRET_ACCESS_KEY", "x"),
            ],
            None,
        )
        .unwrap();
        assert!(
            matches!(s.source().unwrap(), CredentialSource::Keys { creds, .. } if creds.access_key_id == "AKIAENV")
        );
        let s = resolve(&[("AWS_PROFILE", "op")], None).unwrap();
        assert!(
            matches!(s.source().unwrap(), CredentialSource::Operator(op) if op.source_profile == "src")
        );
        assert_eq!(s.region.as_deref(), Some("eu-west-1"));
        assert!(
            matches!(s.source_of("src", false), CredentialSource::Keys { creds, .. } if creds.access_key_id == "AKIASRC")
        );
        assert!(matches!(
            s.source_of("sso", false),
            CredentialSource::Chain { .. }
        ));
        let e = resolve(&[], Some("nope")).unwrap_err();
        assert!(matches!(e, Error::UnknownProfile { .. }));
    }
}
