//! The AWS seam: the only module that imports aws-config or an SDK client. It turns SDK
//! results and errors into our types; callers never see an SDK type.

use std::fmt;

use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_types::region::Region;

use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::session::Credentials;

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
}

/// The real implementation over aws-config and the SDK.
#[derive(Default)]
pub struct SdkAws;

impl fmt::Debug for SdkAws {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SdkAws")
    }
}

/// One HTTP client for every SDK call: rustls with ring, roots from the system store.
fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))
}

impl AwsApi for SdkAws {
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
