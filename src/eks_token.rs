//! The EKS bearer token: `k8s-aws-v1.` + base64url (no padding) of a presigned STS
//! GetCallerIdentity URL whose signed headers include `x-k8s-aws-id: <cluster>`.
//!
//! Pure: a function of credentials, cluster, endpoint and `now`. The URL's query is laid out
//! in botocore's order so the token equals `aws eks get-token`'s byte for byte.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::sts_endpoint::StsEndpoint;

pub(crate) const TOKEN_PREFIX: &str = "k8s-aws-v1.";
/// The header that binds a token to one cluster; the API server re-adds it when it checks.
pub(crate) const CLUSTER_ID_HEADER: &str = "x-k8s-aws-id";
/// aws-cli and aws-iam-authenticator send 60; STS ignores it and accepts the URL for 15 min.
pub(crate) const URL_EXPIRES: Duration = Duration::from_secs(60);
/// kubectl re-runs the plugin after this; one minute short of STS's 15-minute window.
pub(crate) const TOKEN_LIFETIME: Duration = Duration::from_secs(14 * 60);

/// A bearer token and the time kubectl should ask for a new one.
#[derive(Debug)]
pub(crate) struct EksToken {
    pub(crate) token: Secret<String>,
    pub(crate) expires_at: SystemTime,
}

/// Builds the token for `cluster`, signed at `now` (truncated to whole seconds, as SigV4 does).
pub(crate) fn presign(
    creds: &Credentials,
    cluster: &str,
    endpoint: &StsEndpoint,
    now: SystemTime,
) -> Result<EksToken> {
    let now = truncate_to_seconds(now);
    let url = presigned_url(creds, cluster, endpoint, now)?;
    let token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(url.expose()));
    Ok(EksToken {
        token: Secret::new(token),
        expires_at: now + TOKEN_LIFETIME,
    })
}

/// The presigned GetCallerIdentity URL (it carries the session token, hence `Secret`).
pub(crate) fn presigned_url(
    creds: &Credentials,
    cluster: &str,
    endpoint: &StsEndpoint,
    now: SystemTime,
) -> Result<Secret<String>> {
    let base = format!(
        "{}?Action=GetCallerIdentity&Version=2011-06-15",
        endpoint.base_url
    );
    let identity = aws_credential_types::Credentials::new(
        creds.access_key_id.clone(),
        creds.secret_access_key.expose().clone(),
        creds.session_token.as_ref().map(|t| t.expose().clone()),
        None,
        "eksop-auth",
    )
    .into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(URL_EXPIRES);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&endpoint.signing_region)
        .name("sts")
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| Error::Internal(format!("building SigV4 parameters: {e}")))?
        .into();
    let headers = [
        ("host", endpoint.host.as_str()),
        (CLUSTER_ID_HEADER, cluster),
    ];
    let signable = SignableRequest::new(
        "GET",
        &base,
        headers.into_iter(),
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| {
        Error::Config(format!(
            "cannot sign a token for cluster `{cluster}`: {e}; check --cluster and the STS endpoint"
        ))
    })?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| Error::Internal(format!("SigV4 signing failed: {e}")))?
        .into_parts();

    // botocore's order: the operation, the auth parameters in insertion order, the session
    // token last but one, the signature last (token-spec §3.3).
    const ORDER: [&str; 7] = [
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Security-Token",
        "X-Amz-Signature",
    ];
    let params = instructions.params();
    if let Some((name, _)) = params.iter().find(|(n, _)| !ORDER.contains(n)) {
        return Err(Error::Internal(format!(
            "unexpected presign parameter {name}"
        )));
    }
    let mut url = base;
    for name in ORDER {
        match params.iter().find(|(n, _)| *n == name) {
            Some((_, value)) => {
                url.push('&');
                url.push_str(name);
                url.push('=');
                percent_encode_into(value, &mut url);
            }
            None if name == "X-Amz-Security-Token" && creds.session_token.is_none() => {}
            None => return Err(Error::Internal(format!("presign did not produce {name}"))),
        }
    }
    Ok(Secret::new(url))
}

fn truncate_to_seconds(t: SystemTime) -> SystemTime {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// RFC 3986's unreserved set stays; everything else is `%XX`, upper-case hex (botocore
/// `quote(safe='-_.~')`).
const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn percent_encode_into(value: &str, out: &mut String) {
    out.extend(percent_encoding::utf8_percent_encode(value, QUERY_VALUE));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sts_endpoint::{EndpointSettings, RegionalMode, resolve};

    const AKID: &str = "AKIAIOSFODNN7EXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    // The 336-character example session token from the AWS documentation (token-spec §4.1).
    const SESSION_TOKEN: &str = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";
    const NEW_YEAR_2026: u64 = 1_767_225_600;

    fn creds(akid: &str, secret: &str, token: Option<&str>) -> Credentials {
        Credentials {
            access_key_id: akid.into(),
            secret_access_key: Secret::new(secret.into()),
            session_token: token.map(|t| Secret::new(t.into())),
            expires_at: None,
        }
    }

    fn endpoint(region: Option<&str>, mode: RegionalMode) -> StsEndpoint {
        resolve(&EndpointSettings {
            region: region.map(String::from),
            mode,
            ..Default::default()
        })
        .unwrap()
    }

    fn decoded(token: &EksToken) -> String {
        let b64 = token.token.expose().strip_prefix(TOKEN_PREFIX).unwrap();
        String::from_utf8(URL_SAFE_NO_PAD.decode(b64).unwrap()).unwrap()
    }

    /// aws-iam-authenticator `pkg/token/token_test.go` `TestGetWithSTS` (token-spec §1.5).
    #[test]
    fn golden_vector_from_aws_iam_authenticator() {
        let c = creds(
            "ASIAR2TG44V6AS3ZZE7C",
            "4KD5cntGcVmLWRdF5wvNRuzNL5Qxmp6OKVY6Fz/Q",
            None,
        );
        let now = UNIX_EPOCH + Duration::from_secs(1_682_640_000);
        let t = presign(
            &c,
            "test-cluster",
            &endpoint(Some("us-west-2"), RegionalMode::Regional),
            now,
        )
        .unwrap();
        assert_eq!(
            decoded(&t),
            "https://sts.us-west-2.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=ASIAR2TG44V6AS3ZZE7C%2F20230428%2Fus-west-2%2Fsts%2Faws4_request&X-Amz-Date=20230428T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Signature=e211dba77aba9dc44b0b6be38b8eaad092599c5157f6314444c5b9d85747f5ce"
        );
        assert_eq!(t.expires_at, now + Duration::from_secs(14 * 60));
    }

    /// The URLs `aws eks get-token` produced for cluster `demo` at 2026-01-01T00:00:00Z (token-spec §4.2).
    #[test]
    fn golden_vectors_from_aws_cli() {
        let sig = |s: &str| format!("&X-Amz-Signature={s}");
        let st = "&X-Amz-Security-Token=AQoDYXdzEPT%2F%2F%2F%2F%2F%2F%2F%2F%2F%2FwEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI%2FqkPpKPi%2FkMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d%2Bxo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz%2BscqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR%2FoLxBA%3D%3D";
        let head = |host: &str, scope: &str| {
            format!(
                "https://{host}/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20260101%2F{scope}%2Fsts%2Faws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id"
            )
        };
        let cases = [
            (
                Some("us-east-1"),
                RegionalMode::Regional,
                None,
                head("sts.us-east-1.amazonaws.com", "us-east-1")
                    + &sig("ec9db808fef8ac165174b266fdc1cc3452a1facd537c394b16afb972f8426780"),
            ),
            (
                Some("us-east-1"),
                RegionalMode::Regional,
                Some(SESSION_TOKEN),
                head("sts.us-east-1.amazonaws.com", "us-east-1")
                    + st
                    + &sig("caf45945577ee71f2bd5f7e015bc077e5016e90535142f4463339ae1f9a821e8"),
            ),
            (
                Some("eu-west-1"),
                RegionalMode::Regional,
                None,
                head("sts.eu-west-1.amazonaws.com", "eu-west-1")
                    + &sig("e8b5ccaa88787df66b25f9f7be179a6ace006e123897ef5b2766b8c622f88f6e"),
            ),
            (
                Some("eu-west-1"),
                RegionalMode::Regional,
                Some(SESSION_TOKEN),
                head("sts.eu-west-1.amazonaws.com", "eu-west-1")
                    + st
                    + &sig("3bc61aff1578fada0a442713bcdb6e2263cc38ee9ae50ca09ae38934d4da8169"),
            ),
            (
                Some("eu-west-1"),
                RegionalMode::Legacy,
                None,
                head("sts.amazonaws.com", "us-east-1")
                    + &sig("b79d9af0ff5c9d1d42215eba7761be5646616caf0fdb481f1f18cb4ea2e232af"),
            ),
            (
                None,
                RegionalMode::Regional,
                None,
                head("sts.amazonaws.com", "us-east-1")
                    + &sig("b79d9af0ff5c9d1d42215eba7761be5646616caf0fdb481f1f18cb4ea2e232af"),
            ),
        ];
        let now = UNIX_EPOCH + Duration::from_secs(NEW_YEAR_2026);
        for (region, mode, token, expected) in cases {
            let t = presign(
                &creds(AKID, SECRET, token),
                "demo",
                &endpoint(region, mode),
                now,
            )
            .unwrap();
            assert_eq!(
                decoded(&t),
                expected,
                "{region:?} {mode:?} token={}",
                token.is_some()
            );
        }
    }

    /// The exact token aws-cli printed for us-east-1 without a session token (token-spec §3.7).
    #[test]
    fn token_bytes_match_aws_cli() {
        let now = UNIX_EPOCH + Duration::from_secs(NEW_YEAR_2026) + Duration::from_millis(999);
        let t = presign(
            &creds(AKID, SECRET, None),
            "demo",
            &endpoint(Some("us-east-1"), RegionalMode::Regional),
            now,
        )
        .unwrap();
        assert_eq!(
            t.token.expose(),
            "k8s-aws-v1.aHR0cHM6Ly9zdHMudXMtZWFzdC0xLmFtYXpvbmF3cy5jb20vP0FjdGlvbj1HZXRDYWxsZXJJZGVudGl0eSZWZXJzaW9uPTIwMTEtMDYtMTUmWC1BbXotQWxnb3JpdGhtPUFXUzQtSE1BQy1TSEEyNTYmWC1BbXotQ3JlZGVudGlhbD1BS0lBSU9TRk9ETk43RVhBTVBMRSUyRjIwMjYwMTAxJTJGdXMtZWFzdC0xJTJGc3RzJTJGYXdzNF9yZXF1ZXN0JlgtQW16LURhdGU9MjAyNjAxMDFUMDAwMDAwWiZYLUFtei1FeHBpcmVzPTYwJlgtQW16LVNpZ25lZEhlYWRlcnM9aG9zdCUzQngtazhzLWF3cy1pZCZYLUFtei1TaWduYXR1cmU9ZWM5ZGI4MDhmZWY4YWMxNjUxNzRiMjY2ZmRjMWNjMzQ1MmExZmFjZDUzN2MzOTRiMTZhZmI5NzJmODQyNjc4MA"
        );
        assert_eq!(
            t.expires_at,
            UNIX_EPOCH + Duration::from_secs(NEW_YEAR_2026 + 840)
        );
    }

    #[test]
    fn token_is_bound_to_the_cluster_name() {
        let now = UNIX_EPOCH + Duration::from_secs(NEW_YEAR_2026);
        let ep = endpoint(Some("us-east-1"), RegionalMode::Regional);
        let a = presign(&creds(AKID, SECRET, None), "a", &ep, now).unwrap();
        let b = presign(&creds(AKID, SECRET, None), "b", &ep, now).unwrap();
        assert_ne!(a.token, b.token);
        assert!(!a.token.expose().contains('='));
    }

    #[test]
    fn percent_encoding_is_rfc3986_upper_hex() {
        let mut out = String::new();
        percent_encode_into("a/b+c=d;e~f_g.h-i j", &mut out);
        assert_eq!(out, "a%2Fb%2Bc%3Dd%3Be~f_g.h-i%20j");
    }
}
