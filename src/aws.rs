//! The AWS seam: the only module that imports aws-config or an SDK client. It turns SDK
//! results and errors into our types; callers never see an SDK type.

use std::fmt;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sts::operation::RequestId;
use aws_smithy_runtime_api::http::Response as HttpResponse;

use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_http_client::Connector;
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_types::region::Region;

use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::session::Credentials;
use crate::sts_endpoint::StsEndpoint;

/// What AssumeRole needs: the source (IAM user) keys, the role and the MFA proof.
#[derive(Debug)]
pub struct AssumeRoleRequest<'a> {
    pub source: &'a Credentials,
    pub endpoint: &'a StsEndpoint,
    pub role_arn: &'a str,
    pub session_name: &'a str,
    pub mfa_serial: &'a str,
    pub code: &'a Secret<String>,
    pub duration_seconds: i32,
    /// For error messages (`duration_seconds` lives in this profile).
    pub profile: &'a str,
}

/// A role session as STS returned it.
#[derive(Debug)]
pub struct AssumedRole {
    pub creds: Credentials,
    pub assumed_arn: String,
    pub request_id: Option<String>,
}

/// Which cluster to describe, where, with what.
#[derive(Debug)]
pub struct DescribeClusterRequest<'a> {
    pub creds: &'a Credentials,
    pub region: &'a str,
    /// `AWS_ENDPOINT_URL_EKS` / `AWS_ENDPOINT_URL`, when set.
    pub endpoint_url: Option<&'a str>,
    pub name: &'a str,
}

/// What kubeconfig needs about a cluster.
#[derive(Debug, Clone)]
pub struct ClusterInfo {
    pub arn: String,
    pub endpoint: String,
    pub ca_data: String,
}

/// What a plain GET to STS answered.
#[derive(Debug, Clone)]
pub struct StsProbe {
    pub status: u16,
    pub date: Option<std::time::SystemTime>,
    pub arn: Option<String>,
    /// The error code or message of a refusal, for people.
    pub detail: String,
}

/// Who a set of credentials is, per STS GetCallerIdentity.
#[derive(Debug, Clone)]
pub struct Identity {
    pub arn: String,
    pub account: String,
    pub user_id: String,
}

/// Which part of the standard credential chain to ask.
#[derive(Debug, Clone)]
pub struct ChainRequest<'a> {
    pub profile: &'a str,
    /// `false` when the user named the profile on the command line: then the environment's
    /// keys must not win over it (botocore's rule for `--profile`).
    pub use_env: bool,
    pub region: Option<&'a str>,
}

/// What the program needs from AWS.
pub trait AwsApi {
    /// The standard credential chain (env, profile with keys / credential_process / SSO /
    /// role, web identity, container, instance metadata).
    fn load_credentials(&self, req: &ChainRequest<'_>) -> Result<Credentials>;

    /// STS AssumeRole with SerialNumber + TokenCode + DurationSeconds, signed with the
    /// source credentials directly (never after GetSessionToken: that would be role
    /// chaining, capped at one hour).
    fn assume_role(&self, req: &AssumeRoleRequest<'_>) -> Result<AssumedRole>;

    /// EKS DescribeCluster: the endpoint, CA data and ARN kubeconfig needs.
    fn describe_cluster(&self, req: &DescribeClusterRequest<'_>) -> Result<ClusterInfo>;

    /// A plain GET of an STS URL, as the EKS API server sends a token's presigned URL
    /// (with `x-k8s-aws-id` when `cluster` is given): status, `Date` header, caller ARN.
    fn probe_sts(&self, url: &str, cluster: Option<&str>) -> Result<StsProbe>;

    /// STS GetCallerIdentity with these credentials.
    fn caller_identity(&self, creds: &Credentials, endpoint: &StsEndpoint) -> Result<Identity>;
}

/// The real implementation over aws-config and the SDK.
#[derive(Default)]
pub struct SdkAws;

impl fmt::Debug for SdkAws {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SdkAws")
    }
}

/// One HTTP client for every SDK call: rustls with ring, roots from the system store, and
/// the proxy from `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY`/`NO_PROXY` (the SDK's default
/// client ignores them).
fn http_client() -> SharedHttpClient {
    let proxy = ProxyConfig::from_env();
    aws_smithy_http_client::Builder::new().build_with_connector_fn(move |settings, components| {
        let mut builder = Connector::builder().proxy_config(proxy.clone());
        builder.set_connector_settings(settings.cloned());
        // The sleep implementation drives the connect timeout.
        builder.set_sleep_impl(components.and_then(|c| c.sleep_impl()));
        builder
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .build()
    })
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))
}

impl AwsApi for SdkAws {
    fn assume_role(&self, req: &AssumeRoleRequest<'_>) -> Result<AssumedRole> {
        let client = sts_client(req.source, req.endpoint);
        let out = runtime()?.block_on(
            client
                .assume_role()
                .role_arn(req.role_arn)
                .role_session_name(req.session_name)
                .serial_number(req.mfa_serial)
                .token_code(req.code.expose())
                .duration_seconds(req.duration_seconds)
                .send(),
        );
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                let (code, message, request_id) = sts_error("AssumeRole", req.endpoint, e)?;
                return Err(assume_role_error(req, code, message, request_id));
            }
        };
        let request_id = out.request_id().map(str::to_string);
        let c = out.credentials().ok_or_else(|| Error::Sts {
            operation: "AssumeRole",
            code: "EmptyResponse".into(),
            message: "the response carried no credentials".into(),
            request_id: String::new(),
            hint: String::new(),
        })?;
        let expires_at = std::time::SystemTime::try_from(*c.expiration())
            .map_err(|e| Error::Internal(format!("AssumeRole expiration out of range: {e}")))?;
        Ok(AssumedRole {
            creds: Credentials {
                access_key_id: c.access_key_id().to_string(),
                secret_access_key: Secret::new(c.secret_access_key().to_string()),
                session_token: Some(Secret::new(c.session_token().to_string())),
                expires_at: Some(expires_at),
            },
            assumed_arn: out
                .assumed_role_user()
                .map(|u| u.arn().to_string())
                .unwrap_or_default(),
            request_id,
        })
    }

    fn describe_cluster(&self, req: &DescribeClusterRequest<'_>) -> Result<ClusterInfo> {
        let mut config = aws_sdk_eks::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(req.region.to_string()))
            .credentials_provider(sdk_credentials(req.creds))
            .http_client(http_client())
            .retry_config(retries())
            .timeout_config(timeouts());
        if let Some(url) = req.endpoint_url {
            config = config.endpoint_url(url);
        }
        let client = aws_sdk_eks::Client::from_conf(config.build());
        let shown = req
            .endpoint_url
            .map_or_else(|| format!("EKS in {}", req.region), str::to_string);
        match runtime()?.block_on(client.describe_cluster().name(req.name).send()) {
            Ok(out) => {
                let c = out
                    .cluster()
                    .ok_or_else(|| Error::Internal("DescribeCluster returned no cluster".into()))?;
                Ok(ClusterInfo {
                    arn: c.arn().unwrap_or_default().to_string(),
                    endpoint: c.endpoint().unwrap_or_default().to_string(),
                    ca_data: c
                        .certificate_authority()
                        .and_then(|ca| ca.data())
                        .unwrap_or_default()
                        .to_string(),
                })
            }
            Err(SdkError::ServiceError(se)) if se.err().is_resource_not_found_exception() => {
                Err(Error::Config(format!(
                    "EKS has no cluster named `{}` in {}; check --cluster and --region (`aws eks list-clusters --region {}` lists them)",
                    req.name, req.region, req.region
                )))
            }
            Err(SdkError::ServiceError(se)) => {
                let e = se.err();
                Err(Error::Config(format!(
                    "EKS DescribeCluster for `{}` failed: {}: {}. The eks-operator role needs eks:DescribeCluster; \
                     or pass --endpoint and --certificate-authority-data to skip the call",
                    req.name,
                    e.code().unwrap_or("Unknown"),
                    e.message().unwrap_or("")
                )))
            }
            Err(other) => Err(Error::Config(format!(
                "cannot reach {shown} for DescribeCluster: {}; check the network, or pass --endpoint and \
                 --certificate-authority-data to skip the call",
                DisplayErrorContext(&other)
            ))),
        }
    }

    fn probe_sts(&self, url: &str, cluster: Option<&str>) -> Result<StsProbe> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(ATTEMPT_TIMEOUT))
            .http_status_as_error(false)
            .build()
            .into();
        let mut req = agent.get(url).header("Accept", "application/json");
        if let Some(c) = cluster {
            req = req.header(crate::eks_token::CLUSTER_ID_HEADER, c);
        }
        // The URL may carry a session token: report the host only.
        let host = url.split('?').next().unwrap_or("").to_string();
        let mut resp = req.call().map_err(|e| Error::StsUnreachable {
            operation: "GetCallerIdentity",
            // Security: some ureq errors quote the URL, which may carry a session token.
            detail: e.to_string().replace(url, &host),
            endpoint: host.clone(),
        })?;
        let date = resp
            .headers()
            .get("date")
            .and_then(|d| d.to_str().ok())
            .and_then(|d| chrono::DateTime::parse_from_rfc2822(d).ok())
            .map(std::time::SystemTime::from);
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_to_string()
            .unwrap_or_default();
        Ok(StsProbe {
            status,
            date,
            arn: field(&body, "Arn"),
            detail: field(&body, "Code")
                .or_else(|| field(&body, "Message"))
                .unwrap_or_default(),
        })
    }

    fn caller_identity(&self, creds: &Credentials, endpoint: &StsEndpoint) -> Result<Identity> {
        let client = sts_client(creds, endpoint);
        match runtime()?.block_on(client.get_caller_identity().send()) {
            Ok(out) => Ok(Identity {
                arn: out.arn().unwrap_or_default().to_string(),
                account: out.account().unwrap_or_default().to_string(),
                user_id: out.user_id().unwrap_or_default().to_string(),
            }),
            Err(e) => {
                let (code, message, request_id) = sts_error("GetCallerIdentity", endpoint, e)?;
                let hint = clock_skew_hint(&code, &message);
                Err(Error::Sts {
                    operation: "GetCallerIdentity",
                    code,
                    message,
                    request_id,
                    hint,
                })
            }
        }
    }

    fn load_credentials(&self, req: &ChainRequest<'_>) -> Result<Credentials> {
        runtime()?.block_on(async {
            let config = ProviderConfig::default()
                .with_http_client(http_client())
                .with_region(req.region.map(|r| Region::new(r.to_string())));
            let provider = if req.use_env {
                SharedCredentialsProvider::new(
                    DefaultCredentialsChain::builder()
                        .profile_name(req.profile)
                        .configure(config)
                        .build()
                        .await,
                )
            } else {
                SharedCredentialsProvider::new(
                    ProfileFileCredentialsProvider::builder()
                        .profile_name(req.profile)
                        .configure(&config)
                        .build(),
                )
            };
            match provider.provide_credentials().await {
                Ok(c) => Ok(Credentials {
                    access_key_id: c.access_key_id().to_string(),
                    secret_access_key: Secret::new(c.secret_access_key().to_string()),
                    session_token: c.session_token().map(|t| Secret::new(t.to_string())),
                    expires_at: c.expiry(),
                }),
                Err(e) => Err(credentials_error(req, &e)),
            }
        })
    }
}

/// Bounded waits: a dead endpoint fails in seconds, not minutes.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
const OPERATION_TIMEOUT: Duration = Duration::from_secs(15);
/// Throttling and 5xx are retried with exponential backoff and jitter (the SDK's
/// standard mode), four attempts in all.
const MAX_ATTEMPTS: u32 = 4;

/// Throttling and 5xx retried with exponential backoff and jitter.
fn retries() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(5))
}

fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

fn sdk_credentials(creds: &Credentials) -> aws_credential_types::Credentials {
    aws_credential_types::Credentials::new(
        creds.access_key_id.clone(),
        creds.secret_access_key.expose().clone(),
        creds.session_token.as_ref().map(|t| t.expose().clone()),
        creds.expires_at,
        "eksop-auth",
    )
}

fn sts_client(creds: &Credentials, endpoint: &StsEndpoint) -> aws_sdk_sts::Client {
    let creds = sdk_credentials(creds);
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(endpoint.signing_region.clone()))
        .endpoint_url(endpoint.base_url.trim_end_matches('/'))
        .credentials_provider(creds)
        .http_client(http_client())
        .retry_config(retries())
        .timeout_config(timeouts())
        .build();
    aws_sdk_sts::Client::from_conf(config)
}

/// The parts of an SDK error we report: code, message, request id.
fn sts_error<E>(
    operation: &'static str,
    endpoint: &StsEndpoint,
    err: SdkError<E, HttpResponse>,
) -> std::result::Result<(String, String, String), Error>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match err {
        SdkError::ServiceError(se) => {
            let e = se.err();
            let request_id = e
                .meta()
                .request_id()
                .map(|r| format!(" (request id {r})"))
                .unwrap_or_default();
            Ok((
                e.code().unwrap_or("Unknown").to_string(),
                e.message().unwrap_or("").trim().to_string(),
                request_id,
            ))
        }
        SdkError::TimeoutError(_) => Err(Error::StsUnreachable {
            operation,
            endpoint: endpoint.base_url.clone(),
            detail: format!("no answer within {}s", OPERATION_TIMEOUT.as_secs()),
        }),
        SdkError::DispatchFailure(d) => Err(Error::StsUnreachable {
            operation,
            endpoint: endpoint.base_url.clone(),
            detail: if d.is_timeout() {
                format!("timed out (connect timeout {}s)", CONNECT_TIMEOUT.as_secs())
            } else {
                let cause = d.as_connector_error().map(|c| root_cause(c));
                format!(
                    "the network request failed: {}",
                    cause.unwrap_or_else(|| "no detail".into())
                )
            },
        }),
        other => Ok((
            "Unknown".into(),
            DisplayErrorContext(&other).to_string(),
            String::new(),
        )),
    }
}

/// A field of an STS answer in either of its shapes: `<Arn>x</Arn>` or `"Arn":"x"`.
fn field(body: &str, name: &str) -> Option<String> {
    if let Some(start) = body.find(&format!("<{name}>")) {
        let rest = &body[start + name.len() + 2..];
        return rest
            .find(&format!("</{name}>"))
            .map(|end| rest[..end].to_string());
    }
    let start = body.find(&format!("\"{name}\""))?;
    let rest = body[start + name.len() + 2..]
        .trim_start()
        .strip_prefix(':')?
        .trim_start()
        .strip_prefix('"')?;
    rest.find('"').map(|end| rest[..end].to_string())
}

/// The innermost error's text ("Connection refused (os error 111)"), without the wrapping.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

fn assume_role_error(
    req: &AssumeRoleRequest<'_>,
    code: String,
    message: String,
    request_id: String,
) -> Error {
    let lower = message.to_ascii_lowercase();
    if lower.contains("one time pass code") || lower.contains("multifactorauthentication failed") {
        return Error::MfaCodeRejected {
            device: req.mfa_serial.to_string(),
            hint: "wait for the next code and try again (each code works once), or check that `mfa_serial` names the device you read it from".into(),
        };
    }
    if code == "ValidationError" && lower.contains("maxsessionduration") {
        return Error::DurationTooLong {
            role: req.role_arn.to_string(),
            profile: req.profile.to_string(),
            requested: req.duration_seconds,
        };
    }
    if code == "AccessDenied" {
        return Error::AccessDenied {
            role: req.role_arn.to_string(),
            device: req.mfa_serial.to_string(),
            detail: format!("{message}{request_id}"),
        };
    }
    let hint = clock_skew_hint(&code, &message);
    Error::Sts {
        operation: "AssumeRole",
        code,
        message,
        request_id,
        hint,
    }
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

fn credentials_error(req: &ChainRequest<'_>, e: &CredentialsError) -> Error {
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
