//! Every wire format: `KUBERNETES_EXEC_INFO` in; the ExecCredential document (v1, v1beta1)
//! and aws-cli's `credential_process` document out.
//!
//! Reads leniently (unknown fields, a missing variable), writes exactly one JSON document to
//! the writer it is given. Pure: no env, no stdout of its own.

use std::io::Write;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::credentials::Credentials;
use crate::secret::Secret;
use crate::timefmt::rfc3339;

/// The `client.authentication.k8s.io` versions we answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum ApiVersion {
    #[serde(rename = "client.authentication.k8s.io/v1")]
    V1,
    #[serde(rename = "client.authentication.k8s.io/v1beta1")]
    V1Beta1,
    /// What kubectl before 1.24 may still be configured with (as aws-cli, answered as asked).
    #[serde(rename = "client.authentication.k8s.io/v1alpha1")]
    V1Alpha1,
}

impl ApiVersion {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V1 => "client.authentication.k8s.io/v1",
            ApiVersion::V1Beta1 => "client.authentication.k8s.io/v1beta1",
            ApiVersion::V1Alpha1 => "client.authentication.k8s.io/v1alpha1",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        [ApiVersion::V1, ApiVersion::V1Beta1, ApiVersion::V1Alpha1]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// What kubectl told the plugin about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExecInfo {
    /// The apiVersion to answer with (always one kubectl accepts).
    pub(crate) api_version: ApiVersion,
    /// `spec.interactive`; `None` when the caller did not say (not run by kubectl, or a
    /// kubectl before 1.22, which leaves it out and still hands over its terminal).
    pub(crate) interactive: Option<bool>,
    /// A one-line warning for stderr when the variable could not be used as given.
    pub(crate) warning: Option<&'static str>,
    /// `spec.cluster.config.cluster`: the EKS cluster name a shared kubeconfig user learns
    /// from the cluster entry's `client.authentication.k8s.io/exec` extension (with
    /// `provideClusterInfo: true`).
    pub(crate) cluster: Option<String>,
}

/// The name of the cluster extension kubectl hands to exec plugins.
pub(crate) const EXEC_EXTENSION: &str = "client.authentication.k8s.io/exec";

#[derive(Deserialize)]
struct RawExecInfo {
    #[serde(rename = "apiVersion")]
    api_version: Option<String>,
    spec: Option<RawSpec>,
}

#[derive(Deserialize)]
struct RawSpec {
    interactive: Option<bool>,
    cluster: Option<RawCluster>,
}

#[derive(Deserialize)]
struct RawCluster {
    config: Option<RawClusterConfig>,
}

#[derive(Deserialize)]
struct RawClusterConfig {
    cluster: Option<String>,
}

const WARN_MALFORMED: &str = "Error parsing KUBERNETES_EXEC_INFO, defaulting to \
    client.authentication.k8s.io/v1beta1. This is likely a bug in your Kubernetes client; \
    please update kubectl.";
const WARN_UNKNOWN: &str = "Unrecognized API version in KUBERNETES_EXEC_INFO, defaulting to \
    client.authentication.k8s.io/v1beta1. This eksop-auth may be older than your kubectl; \
    please update eksop-auth.";
const WARN_ALPHA: &str = "Kubeconfig user entry is using deprecated API version \
    client.authentication.k8s.io/v1alpha1. Run `eksop-auth setup` to update.";

/// Parses `KUBERNETES_EXEC_INFO`. Absent or empty → v1beta1 and not run by kubectl.
pub(crate) fn parse_exec_info(raw: Option<&str>) -> ExecInfo {
    let info = |api_version, interactive, warning| ExecInfo {
        api_version,
        interactive,
        warning,
        cluster: None,
    };
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return info(ApiVersion::V1Beta1, None, None);
    };
    match serde_json::from_str::<RawExecInfo>(raw) {
        Err(_) => info(ApiVersion::V1Beta1, None, Some(WARN_MALFORMED)),
        Ok(raw) => {
            let (interactive, cluster) = match raw.spec {
                Some(s) => (
                    s.interactive,
                    s.cluster.and_then(|c| c.config).and_then(|c| c.cluster),
                ),
                None => (None, None),
            };
            let parsed = match raw.api_version.as_deref().and_then(ApiVersion::parse) {
                Some(ApiVersion::V1Alpha1) => {
                    info(ApiVersion::V1Alpha1, interactive, Some(WARN_ALPHA))
                }
                Some(v) => info(v, interactive, None),
                None => info(ApiVersion::V1Beta1, interactive, Some(WARN_UNKNOWN)),
            };
            ExecInfo { cluster, ..parsed }
        }
    }
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct ExecCredential<'a> {
    kind: &'a str,
    #[serde(rename = "apiVersion")]
    api_version: ApiVersion,
    spec: Empty,
    #[serde(borrow)]
    status: Status<'a>,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Empty {}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Status<'a> {
    #[serde(rename = "expirationTimestamp")]
    expiration_timestamp: String,
    token: &'a str,
}

/// Writes the one ExecCredential document (compact JSON and a newline).
pub(crate) fn write_exec_credential(
    out: &mut dyn Write,
    api_version: ApiVersion,
    token: &Secret<String>,
    expires_at: SystemTime,
) -> std::io::Result<()> {
    let doc = ExecCredential {
        kind: "ExecCredential",
        api_version,
        spec: Empty {},
        status: Status {
            expiration_timestamp: rfc3339(expires_at),
            token: token.expose(),
        },
    };
    write_json(out, &doc)
}

/// aws-cli's `credential_process` output, version 1.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
#[serde(rename_all = "PascalCase")]
struct ProcessCredentials<'a> {
    version: u8,
    access_key_id: &'a str,
    secret_access_key: &'a str,
    session_token: &'a str,
    expiration: String,
}

/// Writes the one `credential_process` document for these temporary credentials.
pub(crate) fn write_process_credentials(
    out: &mut dyn Write,
    creds: &Credentials,
    expires_at: SystemTime,
) -> std::io::Result<()> {
    let doc = ProcessCredentials {
        version: 1,
        access_key_id: &creds.access_key_id,
        secret_access_key: creds.secret_access_key.expose(),
        session_token: creds.session_token.as_ref().map_or("", |t| t.expose()),
        expiration: rfc3339(expires_at),
    };
    write_json(out, &doc)
}

fn write_json(out: &mut dyn Write, doc: &impl Serialize) -> std::io::Result<()> {
    let mut buf = serde_json::to_vec(doc)?;
    buf.push(b'\n');
    out.write_all(&buf)?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn exec_info_versions() {
        let absent = parse_exec_info(None);
        assert_eq!(
            (absent.api_version, absent.interactive, absent.warning),
            (ApiVersion::V1Beta1, None, None)
        );
        assert_eq!(parse_exec_info(Some("")).warning, None);

        let v1 = parse_exec_info(Some(
            "{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\",\"spec\":{\"interactive\":true}}\n",
        ));
        assert_eq!(
            (v1.api_version, v1.interactive, v1.warning),
            (ApiVersion::V1, Some(true), None)
        );

        let beta = parse_exec_info(Some(
            r#"{"apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"cluster":{"server":"https://x"},"interactive":false},"extra":1}"#,
        ));
        assert_eq!(
            (beta.api_version, beta.interactive, beta.warning),
            (ApiVersion::V1Beta1, Some(false), None)
        );

        let alpha = parse_exec_info(Some(
            r#"{"apiVersion":"client.authentication.k8s.io/v1alpha1","spec":{}}"#,
        ));
        assert_eq!(
            (alpha.api_version, alpha.interactive, alpha.warning),
            (ApiVersion::V1Alpha1, None, Some(WARN_ALPHA))
        );
        let unknown = parse_exec_info(Some(r#"{"apiVersion":"client.authentication.k8s.io/v2"}"#));
        assert_eq!(
            (unknown.api_version, unknown.warning),
            (ApiVersion::V1Beta1, Some(WARN_UNKNOWN))
        );

        let junk = parse_exec_info(Some("{not json"));
        assert_eq!(
            (junk.api_version, junk.warning),
            (ApiVersion::V1Beta1, Some(WARN_MALFORMED))
        );
        for w in [WARN_MALFORMED, WARN_UNKNOWN, WARN_ALPHA] {
            assert!(!w.contains('\n') && !w.contains("  "), "{w}");
        }
    }

    const EXEC_JSON: &str = "{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\",\"spec\":{},\"status\":{\"expirationTimestamp\":\"2026-01-01T00:14:00Z\",\"token\":\"k8s-aws-v1.abc\"}}\n";

    #[test]
    fn exec_credential_document_both_ways() {
        let mut out = Vec::new();
        let exp = UNIX_EPOCH + Duration::from_secs(1_767_226_440);
        let token = Secret::new("k8s-aws-v1.abc".into());
        write_exec_credential(&mut out, ApiVersion::V1, &token, exp).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), EXEC_JSON);
        let back: ExecCredential<'_> = serde_json::from_str(EXEC_JSON).unwrap();
        assert_eq!(back.api_version, ApiVersion::V1);
        assert_eq!(back.status.token, "k8s-aws-v1.abc");
    }

    #[test]
    fn credential_process_document_both_ways() {
        let creds = Credentials {
            access_key_id: "ASIAX".into(),
            secret_access_key: Secret::new("sk".into()),
            session_token: Some(Secret::new("st".into())),
            expires_at: None,
        };
        let mut out = Vec::new();
        let exp = UNIX_EPOCH + Duration::from_secs(1_767_226_440);
        write_process_credentials(&mut out, &creds, exp).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "{\"Version\":1,\"AccessKeyId\":\"ASIAX\",\"SecretAccessKey\":\"sk\",\"SessionToken\":\"st\",\"Expiration\":\"2026-01-01T00:14:00Z\"}\n"
        );
        let back: ProcessCredentials<'_> = serde_json::from_str(&text).unwrap();
        assert_eq!((back.version, back.session_token), (1, "st"));
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn exec_info_never_panics(raw in ".*") {
            let _ = parse_exec_info(Some(&raw));
        }

        #[test]
        fn exec_info_json_shapes(api in prop::option::of("[a-z./0-9]{0,40}"), interactive in prop::option::of(any::<bool>())) {
            let mut doc = serde_json::json!({"kind": "ExecCredential", "spec": {}});
            if let Some(a) = &api { doc["apiVersion"] = serde_json::json!(a); }
            if let Some(i) = interactive { doc["spec"]["interactive"] = serde_json::json!(i); }
            let info = parse_exec_info(Some(&doc.to_string()));
            prop_assert_eq!(info.interactive, interactive);
        }
    }
}
