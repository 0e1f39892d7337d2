//! Reading AWS answers: SDK errors turned into our `Error` (with the fix named), and the
//! fields of a raw STS answer read with real parsers (aws-smithy-xml for XML, serde_json for
//! JSON), never by string search.

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sts::operation::RequestId;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use aws_smithy_types::error::display::DisplayErrorContext;

use super::{AssumeRoleRequest, ChainRequest};
use crate::error::Error;

/// Bounded waits: a dead endpoint fails in seconds, not minutes.
pub(super) const CONNECT_TIMEOUT_SECS: u64 = 2;
pub(super) const OPERATION_TIMEOUT_SECS: u64 = 15;

/// Where a call went, for messages.
#[derive(Debug, Clone, Copy)]
pub(super) struct Call<'a> {
    pub(super) service: &'static str,
    pub(super) operation: &'static str,
    pub(super) endpoint: &'a str,
    pub(super) setting: &'static str,
}

/// An error answer from an AWS service, as far as it could be read.
#[derive(Debug)]
pub(super) struct Fault {
    pub(super) code: String,
    pub(super) message: String,
    /// Empty, or ` (request id …)`.
    pub(super) request_id: String,
}

impl Fault {
    pub(super) fn into_error(self, call: Call<'_>) -> Error {
        let hint = clock_skew_hint(&self.code, &self.message);
        Error::service(
            call.service,
            call.operation,
            self.code,
            self.message,
            self.request_id,
            hint,
        )
    }
}

/// The parts of an SDK error we report, or the error itself when the endpoint never
/// answered.
pub(super) fn fault<E>(call: Call<'_>, err: SdkError<E, HttpResponse>) -> Result<Fault, Error>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let unreachable = |detail: String| Error::Unreachable {
        service: call.service,
        operation: call.operation,
        endpoint: call.endpoint.to_string(),
        detail,
        setting: call.setting,
    };
    let incomplete = |raw: &HttpResponse, problem: String| Error::IncompleteAnswer {
        service: call.service,
        operation: call.operation,
        status: raw.status().as_u16(),
        request_id: request_id_of(raw),
        problem,
        setting: call.setting,
    };
    match err {
        // An error answer without an AWS error code is not AWS's (an HTML page from a
        // proxy, a cut body): say so, with what there is to look it up by.
        SdkError::ServiceError(se) if se.err().code().is_none() => Err(incomplete(
            se.raw(),
            format!("it is not an AWS error document ({})", body_size(se.raw())),
        )),
        SdkError::ResponseError(re) => Err(incomplete(
            re.raw(),
            format!("it could not be read ({})", body_size(re.raw())),
        )),
        SdkError::ServiceError(se) => {
            let e = se.err();
            Ok(Fault {
                code: e.code().unwrap_or("Unknown").to_string(),
                // Printed: nothing in it may steer a terminal.
                message: e
                    .message()
                    .unwrap_or("")
                    .trim()
                    .chars()
                    .filter(|c| !c.is_control())
                    .collect(),
                request_id: e
                    .meta()
                    .request_id()
                    .map(|r| format!(" (request id {r})"))
                    .unwrap_or_default(),
            })
        }
        SdkError::TimeoutError(_) => Err(unreachable(format!(
            "no answer within {OPERATION_TIMEOUT_SECS}s"
        ))),
        SdkError::DispatchFailure(d) => Err(unreachable(if d.is_timeout() {
            format!("timed out (connect timeout {CONNECT_TIMEOUT_SECS}s)")
        } else {
            let cause = d.as_connector_error().map(|c| root_cause(c));
            format!(
                "the network request failed: {}",
                cause.unwrap_or_else(|| "no detail".into())
            )
        })),
        other => Ok(Fault {
            code: "Unknown".into(),
            message: DisplayErrorContext(&other).to_string(),
            request_id: String::new(),
        }),
    }
}

/// `, request id …` from the answer's headers, or nothing.
pub(super) fn request_id_of(raw: &HttpResponse) -> String {
    raw.headers()
        .get("x-amzn-requestid")
        .or_else(|| raw.headers().get("x-amz-request-id"))
        .map(|r| format!(", request id {r}"))
        .unwrap_or_default()
}

fn body_size(raw: &HttpResponse) -> String {
    if raw.headers().get(super::http::CUT_HEADER).is_some() {
        return format!("more than {} bytes", super::http::MAX_ANSWER_BYTES);
    }
    match raw.body().bytes() {
        Some(b) => format!("{} bytes", b.len()),
        None => "no body".into(),
    }
}

/// The innermost error's text ("Connection refused (os error 111)"), without the wrapping.
pub(super) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// What an AssumeRole refusal means for the person.
pub(super) fn assume_role_error(req: &AssumeRoleRequest<'_>, f: Fault, call: Call<'_>) -> Error {
    let lower = f.message.to_ascii_lowercase();
    if lower.contains("one time pass code") || lower.contains("multifactorauthentication failed") {
        return Error::MfaCodeRejected {
            device: req.mfa_serial.to_string(),
            hint: "wait for the next code and try again (each code works once), or check that \
                   `mfa_serial` names the device you read it from"
                .into(),
        };
    }
    if f.code == "ValidationError" && lower.contains("maxsessionduration") {
        return Error::DurationTooLong {
            role: req.role_arn.to_string(),
            profile: req.profile.to_string(),
            requested: req.duration_seconds,
        };
    }
    if f.code == "AccessDenied" && lower.contains("sts:setsourceidentity") {
        let (why, fix) = match req.source_identity {
            Some(sent) => (
                format!(
                    "eksop-auth sets SourceIdentity = `{sent}`, your IAM user name, so that \
                     CloudTrail names you on every call made with the session"
                ),
                format!(
                    "Fix the role: update its stack with the current \
                     deploy/eks-operator-role.yaml, whose trust policy allows \
                     sts:SetSourceIdentity when sts:SourceIdentity equals ${{aws:username}} (and \
                     gives the users the same permission); or, for a role you cannot change, add \
                     `set_source_identity = false` to profile `{}`",
                    req.profile
                ),
            ),
            // Nothing was sent: the source is a role session whose source identity AWS
            // hands on to every role it assumes.
            None => (
                "the source credentials are a role session that already carries a source \
                 identity, which AWS passes on to every role assumed with them"
                    .to_string(),
                format!(
                    "Allow sts:SetSourceIdentity for that identity in the trust policy of {} \
                     (the SourceIdentityIsTheUser statement of deploy/eks-operator-role.yaml \
                     allows only IAM users' own names), or use source credentials that carry \
                     none",
                    req.role_arn
                ),
            ),
        };
        return Error::SourceIdentityRefused {
            role: req.role_arn.to_string(),
            why,
            fix,
            detail: format!("{}{}", f.message, f.request_id),
        };
    }
    // The shipped trust policy wants the session named after the IAM user: a name the
    // profile sets otherwise is the likely reason.
    if f.code == "AccessDenied"
        && let Some(user) = req
            .caller
            .filter(|c| c.is_user && c.name != req.session_name)
    {
        return Error::SessionNameRefused {
            role: req.role_arn.to_string(),
            profile: req.profile.to_string(),
            name: req.session_name.to_string(),
            user: user.name.clone(),
            detail: format!("{}{}", f.message, f.request_id),
        };
    }
    if f.code == "AccessDenied" {
        return Error::AccessDenied {
            role: req.role_arn.to_string(),
            device: req.mfa_serial.to_string(),
            detail: format!("{}{}", f.message, f.request_id),
        };
    }
    f.into_error(call)
}

/// SigV4 signatures carry the time; a clock minutes off makes AWS refuse them.
fn clock_skew_hint(code: &str, message: &str) -> String {
    let lower = message.to_ascii_lowercase();
    let skew = matches!(
        code,
        "SignatureDoesNotMatch" | "RequestExpired" | "InvalidSignatureException"
    ) || lower.contains("signature expired")
        || lower.contains("signature not yet current");
    if skew {
        ". This usually means this computer's clock is wrong: compare `date -u` with the real \
         UTC time and enable NTP (e.g. `timedatectl set-ntp true`)"
            .into()
    } else {
        String::new()
    }
}

pub(super) fn credentials_error(req: &ChainRequest<'_>, e: &CredentialsError) -> Error {
    let detail = DisplayErrorContext(e).to_string();
    match e {
        CredentialsError::CredentialsNotLoaded(_) => Error::NoCredentials {
            detail: if req.use_env {
                String::new()
            } else {
                format!(" for profile `{}`", req.profile)
            },
        },
        _ if detail.contains("did not contain credential information") => Error::NoCredentials {
            detail: format!(
                " for profile `{}` (it has no keys, role_arn, sso_session or credential_process)",
                req.profile
            ),
        },
        _ => Error::Credentials {
            source_name: format!("profile `{}`", req.profile),
            detail,
        },
    }
}

/// A field of an STS answer in either of its shapes (JSON with `Accept: application/json`,
/// else XML): the first element or key named `name`, anywhere in the document.
pub(super) fn field(body: &[u8], name: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?.trim();
    if text.starts_with('{') {
        json_field(&serde_json::from_str(text).ok()?, name)
    } else {
        xml_field(text, name)
    }
}

fn json_field(v: &serde_json::Value, name: &str) -> Option<String> {
    match v {
        serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| match v {
            serde_json::Value::String(s) if k == name => Some(s.clone()),
            _ => json_field(v, name),
        }),
        serde_json::Value::Array(items) => items.iter().find_map(|v| json_field(v, name)),
        _ => None,
    }
}

fn xml_field(text: &str, name: &str) -> Option<String> {
    let mut doc = aws_smithy_xml::decode::Document::new(text);
    while let Some(el) = doc.next_start_element() {
        if el.local() == name {
            return aws_smithy_xml::decode::try_data(&mut doc)
                .ok()
                .map(|d| d.trim().to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::Credentials;
    use crate::identity::Principal;
    use crate::secret::Secret;
    use crate::sts_endpoint::StsEndpoint;

    fn refusal(name: &str, sent: Option<&str>, message: &str) -> String {
        let source = Credentials {
            access_key_id: "AKIASOURCE".into(),
            secret_access_key: Secret::new("s".into()),
            session_token: None,
            expires_at: None,
        };
        let endpoint = StsEndpoint {
            base_url: "https://sts.amazonaws.com/".into(),
            host: "sts.amazonaws.com".into(),
            signing_region: "us-east-1".into(),
        };
        let code = Secret::new("123456".into());
        let alice = Principal::from_arn("arn:aws:iam::123456789012:user/alice").unwrap();
        let req = AssumeRoleRequest {
            source: &source,
            endpoint: &endpoint,
            role_arn: "arn:aws:iam::123456789012:role/eks-operator",
            session_name: name,
            source_identity: sent,
            caller: Some(&alice),
            mfa_serial: "arn:aws:iam::123456789012:mfa/alice",
            code: &code,
            duration_seconds: 43_200,
            profile: "op",
        };
        let fault = Fault {
            code: "AccessDenied".into(),
            message: message.into(),
            request_id: String::new(),
        };
        let call = Call {
            service: "STS",
            operation: "AssumeRole",
            endpoint: "https://sts.amazonaws.com/",
            setting: "AWS_ENDPOINT_URL_STS",
        };
        assume_role_error(&req, fault, call).to_string()
    }

    #[test]
    fn each_access_denied_names_its_own_fix() {
        const SET: &str =
            "User: x is not authorized to perform: sts:SetSourceIdentity on resource: r";
        const ASSUME: &str = "User: x is not authorized to perform: sts:AssumeRole on resource: r";
        let sent = refusal("alice", Some("alice"), SET);
        assert!(
            sent.contains("SourceIdentity = `alice`, your IAM user name"),
            "{sent}"
        );
        assert!(sent.contains("add `set_source_identity = false` to profile `op`"));
        // Nothing sent, yet refused: a source session's own identity, handed on.
        let inherited = refusal("alice", None, SET);
        assert!(
            inherited.contains("already carries a source identity"),
            "{inherited}"
        );
        assert!(
            !inherited.contains("set_source_identity = false"),
            "{inherited}"
        );
        let spoofed = refusal("bob", Some("alice"), ASSUME);
        assert!(spoofed.contains("remove `role_session_name`"), "{spoofed}");
        assert!(spoofed.contains("If that is not the cause"), "{spoofed}");
        let plain = refusal("alice", Some("alice"), ASSUME);
        assert!(plain.contains("not in the role's trust policy"), "{plain}");
    }

    #[test]
    fn fields_of_either_shape() {
        let xml = b"<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>arn:aws:iam::1:user/a</Arn></GetCallerIdentityResult></GetCallerIdentityResponse>";
        assert_eq!(field(xml, "Arn").as_deref(), Some("arn:aws:iam::1:user/a"));
        let json = br#"{"GetCallerIdentityResponse":{"GetCallerIdentityResult":{"Account":"1","Arn":"arn:x"}}}"#;
        assert_eq!(field(json, "Arn").as_deref(), Some("arn:x"));
        let err = br#"<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code><Message>m &amp; n</Message></Error></ErrorResponse>"#;
        assert_eq!(field(err, "Message").as_deref(), Some("m & n"));
        assert_eq!(field(b"<html>502</html>", "Arn"), None);
        assert_eq!(field(b"\xff\xfe", "Arn"), None);
    }
}
