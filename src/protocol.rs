//! The wire formats: `KUBERNETES_EXEC_INFO` in, the ExecCredential document out.
//!
//! Reads leniently (unknown fields, a missing variable), writes exactly one JSON document to
//! the writer it is given. Pure: no env, no stdout of its own.

use std::io::Write;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

pub const V1: &str = "client.authentication.k8s.io/v1";
pub const V1BETA1: &str = "client.authentication.k8s.io/v1beta1";

/// What kubectl told the plugin about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecInfo {
    /// The apiVersion to answer with (always one kubectl accepts).
    pub api_version: &'static str,
    /// `spec.interactive`; `None` when not run by kubectl.
    pub interactive: Option<bool>,
    /// A one-line warning for stderr when the variable could not be used as given.
    pub warning: Option<&'static str>,
}

#[derive(Deserialize)]
struct RawExecInfo {
    #[serde(rename = "apiVersion")]
    api_version: Option<String>,
    spec: Option<RawSpec>,
}

#[derive(Deserialize)]
struct RawSpec {
    interactive: Option<bool>,
}

const WARN_MALFORMED: &str = "Error parsing KUBERNETES_EXEC_INFO, defaulting to \
    client.authentication.k8s.io/v1beta1. This is likely a bug in your Kubernetes client; \
    please update kubectl.";
const WARN_UNKNOWN: &str = "Unrecognized API version in KUBERNETES_EXEC_INFO, defaulting to \
    client.authentication.k8s.io/v1beta1. This eksop-auth may be older than your kubectl; \
    please update eksop-auth.";

/// Parses `KUBERNETES_EXEC_INFO`. Absent or empty → v1beta1 and not run by kubectl.
pub fn parse_exec_info(raw: Option<&str>) -> ExecInfo {
    let raw = raw.map(str::trim).filter(|s| !s.is_empty());
    let Some(raw) = raw else {
        return ExecInfo {
            api_version: V1BETA1,
            interactive: None,
            warning: None,
        };
    };
    match serde_json::from_str::<RawExecInfo>(raw) {
        Err(_) => ExecInfo {
            api_version: V1BETA1,
            interactive: None,
            warning: Some(WARN_MALFORMED),
        },
        Ok(info) => {
            let interactive = Some(info.spec.and_then(|s| s.interactive).unwrap_or(false));
            match info.api_version.as_deref() {
                Some(V1) => ExecInfo {
                    api_version: V1,
                    interactive,
                    warning: None,
                },
                Some(V1BETA1) => ExecInfo {
                    api_version: V1BETA1,
                    interactive,
                    warning: None,
                },
                _ => ExecInfo {
                    api_version: V1BETA1,
                    interactive,
                    warning: Some(WARN_UNKNOWN),
                },
            }
        }
    }
}

#[derive(Serialize)]
struct ExecCredential<'a> {
    kind: &'static str,
    #[serde(rename = "apiVersion")]
    api_version: &'a str,
    spec: Empty,
    status: Status<'a>,
}

#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
struct Status<'a> {
    #[serde(rename = "expirationTimestamp")]
    expiration_timestamp: String,
    token: &'a str,
}

/// Writes the one ExecCredential document (compact JSON and a newline).
pub fn write_exec_credential(
    out: &mut dyn Write,
    api_version: &str,
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
    let mut buf = serde_json::to_vec(&doc)?;
    buf.push(b'\n');
    out.write_all(&buf)?;
    out.flush()
}

/// `2026-01-01T00:14:00Z`: UTC, whole seconds, as aws-cli and client-go write it.
pub fn rfc3339(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t)
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
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
            (V1BETA1, None, None)
        );
        assert_eq!(parse_exec_info(Some("")).warning, None);

        let v1 = parse_exec_info(Some(
            "{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\",\"spec\":{\"interactive\":true}}\n",
        ));
        assert_eq!(
            (v1.api_version, v1.interactive, v1.warning),
            (V1, Some(true), None)
        );

        let beta = parse_exec_info(Some(
            r#"{"apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"cluster":{"server":"https://x"},"interactive":false},"extra":1}"#,
        ));
        assert_eq!(
            (beta.api_version, beta.interactive, beta.warning),
            (V1BETA1, Some(false), None)
        );

        let alpha = parse_exec_info(Some(
            r#"{"apiVersion":"client.authentication.k8s.io/v1alpha1"}"#,
        ));
        assert_eq!(
            (alpha.api_version, alpha.warning),
            (V1BETA1, Some(WARN_UNKNOWN))
        );

        let junk = parse_exec_info(Some("{not json"));
        assert_eq!(
            (junk.api_version, junk.warning),
            (V1BETA1, Some(WARN_MALFORMED))
        );
        assert!(!WARN_MALFORMED.contains('\n') && !WARN_UNKNOWN.contains('\n'));
    }

    #[test]
    fn exec_credential_document() {
        let mut out = Vec::new();
        let exp = UNIX_EPOCH + Duration::from_secs(1_767_226_440);
        write_exec_credential(&mut out, V1, &Secret::new("k8s-aws-v1.abc".into()), exp).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\",\"spec\":{},\"status\":{\"expirationTimestamp\":\"2026-01-01T00:14:00Z\",\"token\":\"k8s-aws-v1.abc\"}}\n"
        );
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn exec_info_never_panics_and_always_answers_a_kubectl_version(raw in ".*") {
            let info = parse_exec_info(Some(&raw));
            prop_assert!(info.api_version == V1 || info.api_version == V1BETA1);
        }

        #[test]
        fn exec_info_json_shapes(api in prop::option::of("[a-z./0-9]{0,40}"), interactive in prop::option::of(any::<bool>())) {
            let mut doc = serde_json::json!({"kind": "ExecCredential", "spec": {}});
            if let Some(a) = &api { doc["apiVersion"] = serde_json::json!(a); }
            if let Some(i) = interactive { doc["spec"]["interactive"] = serde_json::json!(i); }
            let info = parse_exec_info(Some(&doc.to_string()));
            prop_assert_eq!(info.interactive, Some(interactive.unwrap_or(false)));
        }
    }
}
