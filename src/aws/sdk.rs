//! `AwsApi` over aws-config and the SDK clients: the only code that imports them. Every
//! client gets our HTTP stack, our clock and bounded retries and timeouts; aws-config's
//! credential chain gets our environment snapshot, never the process's.

use std::time::{Duration, SystemTime};

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_sts::error::SdkError;
use aws_sdk_sts::operation::RequestId;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_types::os_shim_internal::{Env as SdkEnv, Fs};
use aws_types::region::Region;

use super::answer::{
    CONNECT_TIMEOUT_SECS, Call, OPERATION_TIMEOUT_SECS, assume_role_error, credentials_error,
    fault, field,
};
use super::http::{self, Proxies};
use super::{
    AssumeRoleRequest, AssumedRole, AwsApi, ChainRequest, ClusterInfo, DescribeClusterRequest,
    ListClustersRequest, Review, ReviewRequest, StsProbe,
};
use crate::clock::Clock;
use crate::credentials::Credentials;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::identity::Principal;
use crate::secret::Secret;
use crate::sts_endpoint::StsEndpoint;

const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Throttling and 5xx are retried with exponential backoff and jitter (the SDK's standard
/// mode), four attempts in all.
const MAX_ATTEMPTS: u32 = 4;

/// The real implementation.
/// Built for every process but used only off the warm path, so it only keeps a handle on
/// the environment until a call needs more.
#[derive(Debug)]
pub(crate) struct SdkAws {
    env: Env,
    clock: Clock,
}

impl SdkAws {
    pub(crate) fn new(env: &Env, clock: Clock) -> Self {
        SdkAws {
            env: env.clone(),
            clock,
        }
    }

    fn proxies(&self) -> Proxies {
        Proxies::from_env(&self.env)
    }

    fn http(&self) -> SharedHttpClient {
        http::client(&self.proxies())
    }

    fn sts_client(&self, creds: &Credentials, endpoint: &StsEndpoint) -> aws_sdk_sts::Client {
        let config = aws_sdk_sts::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(endpoint.signing_region.clone()))
            .endpoint_url(endpoint.base_url.trim_end_matches('/'))
            .credentials_provider(sdk_credentials(creds))
            .http_client(self.http())
            .time_source(self.clock)
            .retry_config(retries())
            .timeout_config(timeouts())
            .build();
        aws_sdk_sts::Client::from_conf(config)
    }

    fn eks_client(
        &self,
        creds: &Credentials,
        region: &str,
        endpoint_url: Option<&str>,
    ) -> aws_sdk_eks::Client {
        let mut config = aws_sdk_eks::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .credentials_provider(sdk_credentials(creds))
            .http_client(self.http())
            .time_source(self.clock)
            .retry_config(retries())
            .timeout_config(timeouts());
        if let Some(url) = endpoint_url {
            config = config.endpoint_url(url);
        }
        aws_sdk_eks::Client::from_conf(config.build())
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))
}

fn retries() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(5))
}

fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(CONNECT_TIMEOUT_SECS))
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(Duration::from_secs(OPERATION_TIMEOUT_SECS))
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

/// How far a session's expiry may lie past the duration asked for, or before now: clocks
/// differ, and AWS signatures themselves tolerate 15 minutes.
const EXPIRY_SKEW: Duration = Duration::from_secs(15 * 60);

/// Everything a session needs, present and plausible, before anything is stored: an
/// answer cut short parses "successfully" with empty fields and an expiry of 1970.
fn check_assumed(
    out: &aws_sdk_sts::operation::assume_role::AssumeRoleOutput,
    req: &AssumeRoleRequest<'_>,
    now: SystemTime,
) -> std::result::Result<AssumedRole, String> {
    let c = out.credentials().ok_or("it carries no credentials")?;
    for (name, value) in [
        ("access key id", c.access_key_id()),
        ("secret access key", c.secret_access_key()),
        ("session token", c.session_token()),
    ] {
        if value.trim().is_empty() {
            return Err(format!("the {name} is empty"));
        }
    }
    let expires_at = SystemTime::try_from(*c.expiration())
        .map_err(|_| "its expiration is not a valid time".to_string())?;
    let asked = Duration::from_secs(u64::try_from(req.duration_seconds).unwrap_or(0));
    if expires_at + EXPIRY_SKEW <= now {
        return Err(format!(
            "the session it describes ended at {}",
            crate::timefmt::rfc3339(expires_at)
        ));
    }
    if expires_at > now + asked + EXPIRY_SKEW {
        return Err(format!(
            "its expiration {} is later than the {}s asked for",
            crate::timefmt::rfc3339(expires_at),
            req.duration_seconds
        ));
    }
    let assumed_arn = out
        .assumed_role_user()
        .map(|u| u.arn().to_string())
        .filter(|a| !a.is_empty())
        .ok_or("it names no assumed-role user")?;
    // The session must be the one asked for: this role (IAM role names ignore case),
    // under this name, in an ARN that is safe to print.
    let role_name = req.role_arn.rsplit('/').next().unwrap_or_default();
    let (role_got, name_got) = assumed_arn
        .split_once(":assumed-role/")
        .and_then(|(_, rest)| rest.split_once('/'))
        .unwrap_or_default();
    if !assumed_arn.starts_with("arn:")
        || !crate::identity::printable(&assumed_arn)
        || !role_got.eq_ignore_ascii_case(role_name)
        || name_got != req.session_name
    {
        return Err(format!(
            "it names the session `{}`, not one of role `{role_name}` named `{}`",
            assumed_arn.escape_default(),
            req.session_name
        ));
    }
    // Recorded only as STS echoes it: one set earlier in a chain of roles persists, and
    // an endpoint that ignores the parameter records none.
    let source_identity = match (out.source_identity(), req.source_identity) {
        (Some(got), Some(sent)) if got != sent => {
            return Err(format!(
                "it records the source identity `{}`, not the `{sent}` sent",
                got.escape_default()
            ));
        }
        (Some(got), _) if crate::identity::invalid_name(got).is_some() => {
            return Err(format!(
                "its source identity `{}` is not a valid name",
                got.escape_default()
            ));
        }
        (got, _) => got.map(String::from),
    };
    Ok(AssumedRole {
        creds: Credentials {
            access_key_id: c.access_key_id().to_string(),
            secret_access_key: Secret::new(c.secret_access_key().to_string()),
            session_token: Some(Secret::new(c.session_token().to_string())),
            expires_at: Some(expires_at),
        },
        expires_at,
        assumed_arn,
        source_identity,
        request_id: None,
    })
}

/// Where an EKS call goes, for messages.
fn eks_shown(region: &str, endpoint_url: Option<&str>) -> String {
    endpoint_url.map_or_else(|| format!("EKS in {region}"), str::to_string)
}

fn eks_call<'a>(operation: &'static str, shown: &'a str) -> Call<'a> {
    Call {
        service: "EKS",
        operation,
        endpoint: shown,
        setting: "AWS_ENDPOINT_URL_EKS",
    }
}

fn sts_call<'a>(operation: &'static str, endpoint: &'a StsEndpoint) -> Call<'a> {
    Call {
        service: "STS",
        operation,
        endpoint: &endpoint.base_url,
        setting: "AWS_ENDPOINT_URL_STS",
    }
}

impl AwsApi for SdkAws {
    fn assume_role(&self, req: &AssumeRoleRequest<'_>) -> Result<AssumedRole> {
        let call = sts_call("AssumeRole", req.endpoint);
        let client = self.sts_client(req.source, req.endpoint);
        let out = runtime()?.block_on(
            client
                .assume_role()
                .role_arn(req.role_arn)
                .role_session_name(req.session_name)
                .set_source_identity(req.source_identity.map(String::from))
                .serial_number(req.mfa_serial)
                .token_code(req.code.expose())
                .duration_seconds(req.duration_seconds)
                .send(),
        );
        let out = match out {
            Ok(out) => out,
            Err(e) => return Err(assume_role_error(req, fault(call, e)?, call)),
        };
        let request_id = out.request_id().map(str::to_string);
        let checked = check_assumed(&out, req, self.clock.now()).map_err(|problem| {
            Error::IncompleteAnswer {
                service: "STS",
                operation: "AssumeRole",
                status: 200,
                request_id: request_id
                    .as_deref()
                    .map(|r| format!(", request id {r}"))
                    .unwrap_or_default(),
                problem,
                setting: "AWS_ENDPOINT_URL_STS",
            }
        })?;
        Ok(AssumedRole {
            request_id,
            ..checked
        })
    }

    fn list_clusters(&self, req: &ListClustersRequest<'_>) -> Result<Vec<String>> {
        let client = self.eks_client(req.creds, req.region, req.endpoint_url);
        let shown = eks_shown(req.region, req.endpoint_url);
        let call = eks_call("ListClusters", &shown);
        let mut names = Vec::new();
        let mut next: Option<String> = None;
        // Bounded: 100 pages of 100 is more clusters than an account may have per region.
        for _ in 0..100 {
            let out = runtime()?.block_on(
                client
                    .list_clusters()
                    .max_results(100)
                    .set_next_token(next.take())
                    .send(),
            );
            match out {
                Ok(out) => {
                    names.extend(out.clusters().iter().cloned());
                    match out.next_token() {
                        Some(t) if !t.is_empty() => next = Some(t.to_string()),
                        _ => return Ok(names),
                    }
                }
                Err(e) => {
                    let mut f = fault(call, e)?;
                    f.message = format!(
                        "{}. The eks-operator role needs eks:ListClusters (the shipped template \
                         has it); or name the cluster with --cluster",
                        f.message.trim_end_matches('.')
                    );
                    return Err(f.into_error(call));
                }
            }
        }
        Ok(names)
    }

    fn describe_cluster(&self, req: &DescribeClusterRequest<'_>) -> Result<ClusterInfo> {
        let client = self.eks_client(req.creds, req.region, req.endpoint_url);
        let shown = eks_shown(req.region, req.endpoint_url);
        let call = eks_call("DescribeCluster", &shown);
        match runtime()?.block_on(client.describe_cluster().name(req.name).send()) {
            Ok(out) => {
                let c = out.cluster().ok_or_else(|| {
                    Error::service(
                        "EKS",
                        "DescribeCluster",
                        "EmptyResponse",
                        "the response carried no cluster",
                        "",
                        "",
                    )
                })?;
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
                    "EKS has no cluster named `{}` in {}; check --cluster and --region (`aws eks \
                     list-clusters --region {}` lists them)",
                    req.name, req.region, req.region
                )))
            }
            Err(e) => {
                let mut f = fault(call, e)?;
                f.message = format!(
                    "{}. The eks-operator role needs eks:DescribeCluster; or pass --endpoint and \
                     --certificate-authority-data to skip the call",
                    f.message.trim_end_matches('.')
                );
                Err(f.into_error(call))
            }
        }
    }

    fn probe_sts(&self, url: &str, cluster: Option<&str>) -> Result<StsProbe> {
        let mut headers = vec![("accept", "application/json")];
        if let Some(c) = cluster {
            headers.push((crate::eks_token::CLUSTER_ID_HEADER, c));
        }
        // The URL may carry a session token: messages name the host only.
        let host = url.split('?').next().unwrap_or("").to_string();
        let answer = runtime()?
            .block_on(http::get(&self.proxies(), url, &headers, ATTEMPT_TIMEOUT))
            .map_err(|detail| Error::Unreachable {
                service: "STS",
                operation: "GetCallerIdentity",
                detail: detail.replace(url, &host),
                endpoint: host.clone(),
                setting: "AWS_ENDPOINT_URL_STS",
            })?;
        Ok(StsProbe {
            status: answer.status,
            date: answer
                .date
                .as_deref()
                .and_then(|d| chrono::DateTime::parse_from_rfc2822(d).ok())
                .map(SystemTime::from),
            arn: field(&answer.body, "Arn"),
            detail: field(&answer.body, "Code")
                .or_else(|| field(&answer.body, "Message"))
                .unwrap_or_default(),
        })
    }

    fn caller_identity(&self, creds: &Credentials, endpoint: &StsEndpoint) -> Result<Principal> {
        let call = sts_call("GetCallerIdentity", endpoint);
        let client = self.sts_client(creds, endpoint);
        match runtime()?.block_on(client.get_caller_identity().send()) {
            Ok(out) => {
                // Read as a caller before anyone relies on it (the shape of every answer).
                Principal::from_arn(out.arn().unwrap_or_default()).map_err(|problem| {
                    Error::IncompleteAnswer {
                        service: "STS",
                        operation: "GetCallerIdentity",
                        status: 200,
                        request_id: out
                            .request_id()
                            .map(|r| format!(", request id {r}"))
                            .unwrap_or_default(),
                        problem,
                        setting: "AWS_ENDPOINT_URL_STS",
                    }
                })
            }
            Err(e) => Err(fault(call, e)?.into_error(call)),
        }
    }

    fn self_subject_review(&self, req: &ReviewRequest<'_>) -> Result<Review> {
        let server = req.server.trim_end_matches('/');
        let url = format!("{server}/apis/authentication.k8s.io/v1/selfsubjectreviews");
        let auth = format!("Bearer {}", req.token.expose());
        let headers = [
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
            ("accept", "application/json"),
        ];
        let body = br#"{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}"#;
        let answer = runtime()?
            .block_on(http::post_trusting(
                &self.proxies(),
                req.ca_pem,
                &url,
                &headers,
                body.to_vec(),
                ATTEMPT_TIMEOUT,
            ))
            .map_err(|detail| Error::Unreachable {
                service: "the Kubernetes API server",
                operation: "SelfSubjectReview",
                endpoint: server.to_string(),
                detail,
                setting: "the cluster's `server` in kubeconfig",
            })?;
        let doc: Option<serde_json::Value> = serde_json::from_slice(&answer.body).ok();
        let text = |pointer: &str| {
            doc.as_ref()
                .and_then(|d| d.pointer(pointer))
                .and_then(serde_json::Value::as_str)
                .map(str::to_string)
        };
        // What a server says is printed: nothing that could steer a terminal.
        let clean = |s: &str| !s.is_empty() && !s.chars().any(char::is_control);
        Ok(Review {
            status: answer.status,
            username: text("/status/userInfo/username")
                .filter(|u| (200..300).contains(&answer.status) && clean(u) && u.len() <= 1024),
            message: text("/message")
                .unwrap_or_default()
                .chars()
                .filter(|c| !c.is_control())
                .take(300)
                .collect(),
        })
    }

    fn load_credentials(&self, req: &ChainRequest<'_>) -> Result<Credentials> {
        // aws-config reads the environment we give it: ours, and without the key pair when
        // `--profile` must win over it.
        let env = if req.use_env {
            self.env.clone()
        } else {
            self.env.without(&[
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
                "AWS_SESSION_TOKEN",
            ])
        };
        runtime()?.block_on(async {
            let config = aws_config::defaults(BehaviorVersion::latest())
                .env(SdkEnv::from(env.vars().clone()))
                .fs(Fs::real())
                .time_source(self.clock)
                .http_client(self.http())
                .retry_config(retries())
                .timeout_config(timeouts())
                .region(req.region.map(|r| Region::new(r.to_string())))
                .profile_name(req.profile)
                .load()
                .await;
            let provider = config
                .credentials_provider()
                .ok_or_else(|| Error::NoCredentials {
                    detail: format!(" for profile `{}`", req.profile),
                })?;
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
