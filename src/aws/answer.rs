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
                message: e.message().unwrap_or("").trim().to_string(),
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
    use super::field;

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
