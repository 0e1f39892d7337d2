//! The one HTTP stack: rustls with ring, roots from the system store, the proxy settings of
//! *our* environment snapshot (the SDK's default client ignores `HTTPS_PROXY`, and
//! `ProxyConfig::from_env` would read the process environment behind `Env`'s back), and a
//! cap on every answer's size so a broken or hostile endpoint cannot make us buffer a
//! gigabyte. Built with public APIs only (`http_client_fn`, `Connector::builder`).

use std::time::Duration;

use aws_smithy_async::rt::sleep::{SharedAsyncSleep, default_async_sleep};
use aws_smithy_http_client::Connector;
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector, http_client_fn,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_types::body::SdkBody;
use http_body_util::BodyExt;

use crate::env::Env;

/// Far more than any STS or EKS answer we read (an AssumeRole answer is ~2 KiB).
pub(super) const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// The proxies to use, from `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY`/`NO_PROXY` (upper or
/// lower case, as curl and the SDKs read them).
#[derive(Debug, Clone, Default)]
pub(super) struct Proxies {
    http: Option<String>,
    https: Option<String>,
    no_proxy: Option<String>,
}

impl Proxies {
    pub(super) fn from_env(env: &Env) -> Self {
        let var = |name: &str| {
            env.first(&[name, &name.to_ascii_lowercase()])
                .map(String::from)
        };
        let all = var("ALL_PROXY");
        Proxies {
            http: var("HTTP_PROXY").or_else(|| all.clone()),
            https: var("HTTPS_PROXY").or(all),
            no_proxy: var("NO_PROXY"),
        }
    }

    fn config(&self, https: bool) -> ProxyConfig {
        let url = if https { &self.https } else { &self.http };
        let built = url.as_deref().and_then(|u| {
            if https {
                ProxyConfig::https(u).ok()
            } else {
                ProxyConfig::http(u).ok()
            }
        });
        match (built, &self.no_proxy) {
            (Some(p), Some(no)) => p.no_proxy(no),
            (Some(p), None) => p,
            (None, _) => ProxyConfig::disabled(),
        }
    }
}

/// One connector per scheme (each with its proxy), and the answer-size cap.
#[derive(Debug)]
struct Capped {
    http: Connector,
    https: Connector,
}

impl Capped {
    fn new(
        proxies: &Proxies,
        settings: &HttpConnectorSettings,
        sleep: Option<SharedAsyncSleep>,
    ) -> Self {
        Self::trusting(proxies, settings, sleep, None)
    }

    /// With `ca` (PEM), HTTPS trusts that CA only, as kubectl does with a kubeconfig
    /// cluster's `certificate-authority-data`; otherwise the system's roots.
    fn trusting(
        proxies: &Proxies,
        settings: &HttpConnectorSettings,
        sleep: Option<SharedAsyncSleep>,
        ca: Option<tls::TlsContext>,
    ) -> Self {
        let build = |https: bool| {
            let mut builder = Connector::builder().proxy_config(proxies.config(https));
            builder.set_connector_settings(Some(settings.clone()));
            // The sleep implementation drives the connect timeout.
            builder.set_sleep_impl(sleep.clone());
            let builder = builder.tls_provider(tls::Provider::Rustls(CryptoMode::Ring));
            match &ca {
                Some(ctx) => builder.tls_context(ctx.clone()).build(),
                None => builder.build(),
            }
        };
        Capped {
            http: build(false),
            https: build(true),
        }
    }
}

impl HttpConnector for Capped {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let inner = if request.uri().starts_with("https:") {
            &self.https
        } else {
            &self.http
        };
        let answer = inner.call(request);
        HttpConnectorFuture::new(async move {
            let mut response = answer.await?;
            match read_capped(response.take_body()).await? {
                Some(body) => *response.body_mut() = SdkBody::from(body),
                // Too big to be an answer: hand on nothing, so nothing half-read is parsed,
                // and say why.
                None => {
                    *response.body_mut() = SdkBody::empty();
                    response.headers_mut().insert(CUT_HEADER, "1");
                }
            }
            Ok(response)
        })
    }
}

/// The header a cut answer carries instead of its body.
pub(super) const CUT_HEADER: &str = "x-eksop-auth-cut";

/// The body, or `None` when it is longer than `MAX_ANSWER_BYTES` (reading stops there):
/// the answer then fails to parse, with its status and request id still at hand.
async fn read_capped(mut body: SdkBody) -> Result<Option<Vec<u8>>, ConnectorError> {
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(ConnectorError::io)?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > MAX_ANSWER_BYTES {
                return Ok(None);
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(Some(out))
}

/// The HTTP client for every SDK call.
pub(super) fn client(proxies: &Proxies) -> SharedHttpClient {
    let proxies = proxies.clone();
    http_client_fn(move |settings, components| {
        SharedHttpConnector::new(Capped::new(&proxies, settings, components.sleep_impl()))
    })
}

/// What a raw GET answered.
#[derive(Debug)]
pub(super) struct RawAnswer {
    pub(super) status: u16,
    pub(super) date: Option<String>,
    pub(super) body: Vec<u8>,
}

/// A GET with extra headers, bounded by `timeout` (connect and answer together).
pub(super) async fn get(
    proxies: &Proxies,
    url: &str,
    headers: &[(&str, &str)],
    timeout: Duration,
) -> Result<RawAnswer, String> {
    let request = HttpRequest::get(url).map_err(|e| e.to_string())?;
    send(proxies, None, request, headers, timeout).await
}

/// A POST of `body` to `url` over HTTPS that trusts only `ca_pem`.
pub(super) async fn post_trusting(
    proxies: &Proxies,
    ca_pem: &[u8],
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
    timeout: Duration,
) -> Result<RawAnswer, String> {
    let ctx = tls::TlsContext::builder()
        .with_trust_store(
            tls::TrustStore::empty()
                .with_native_roots(false)
                .with_pem_certificate(ca_pem.to_vec()),
        )
        .build()
        .map_err(|e| format!("the cluster's CA cannot be used: {e}"))?;
    let mut request = HttpRequest::new(SdkBody::from(body));
    request.set_method("POST").map_err(|e| e.to_string())?;
    request.set_uri(url).map_err(|e| e.to_string())?;
    send(proxies, Some(ctx), request, headers, timeout).await
}

async fn send(
    proxies: &Proxies,
    ca: Option<tls::TlsContext>,
    mut request: HttpRequest,
    headers: &[(&str, &str)],
    timeout: Duration,
) -> Result<RawAnswer, String> {
    let settings = HttpConnectorSettings::builder()
        .connect_timeout(timeout)
        .read_timeout(timeout)
        .build();
    let connector = Capped::trusting(proxies, &settings, default_async_sleep(), ca);
    for (name, value) in headers {
        request
            .headers_mut()
            .insert(name.to_string(), value.to_string());
    }
    let call = connector.call(request);
    let response: HttpResponse = tokio::time::timeout(timeout, call)
        .await
        .map_err(|_| format!("no answer within {}s", timeout.as_secs()))?
        .map_err(|e| crate::aws::answer::root_cause(&e))?;
    Ok(RawAnswer {
        status: response.status().as_u16(),
        date: response.headers().get("date").map(String::from),
        body: response.body().bytes().unwrap_or_default().to_vec(),
    })
}
