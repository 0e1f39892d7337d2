//! Where the presigned GetCallerIdentity URL points and which region signs it, following
//! botocore's rules so the token matches `aws eks get-token` byte for byte.
//!
//! Pure: inputs are already-read settings; no env, no files, no network.

use crate::error::Error;

/// The STS endpoint the token is presigned for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StsEndpoint {
    /// Everything before `?`: scheme, authority and path, e.g. `https://sts.eu-west-1.amazonaws.com/`.
    pub(crate) base_url: String,
    /// The value of the signed `host` header: lower-case, without a default port.
    pub(crate) host: String,
    /// The SigV4 credential-scope region.
    pub(crate) signing_region: String,
}

impl StsEndpoint {
    /// `aws`, `aws-cn`, `aws-us-gov`…: the partition a session is valid in (every region of
    /// it; a session from another partition is of no use here).
    pub(crate) fn partition(&self) -> &'static str {
        partition_of(&self.signing_region).0
    }
}

/// `AWS_STS_REGIONAL_ENDPOINTS` / `sts_regional_endpoints`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum RegionalMode {
    /// Today's default in every SDK and in aws-cli ≥ 1.42.
    #[default]
    Regional,
    /// The global `sts.amazonaws.com` for the 16 regions that had it before.
    Legacy,
}

impl RegionalMode {
    pub(crate) fn parse(value: &str) -> Result<Self, Error> {
        match value.trim().to_ascii_lowercase().as_str() {
            "regional" => Ok(Self::Regional),
            "legacy" => Ok(Self::Legacy),
            _ => Err(Error::Config(format!(
                "STS regional endpoints option `{value}` is invalid; set AWS_STS_REGIONAL_ENDPOINTS \
                 (or sts_regional_endpoints in the profile) to `regional` or `legacy`"
            ))),
        }
    }
}

/// The settings that decide the endpoint, as read from flags, env and the profile.
#[derive(Debug, Clone, Default)]
pub(crate) struct EndpointSettings {
    pub(crate) region: Option<String>,
    pub(crate) mode: RegionalMode,
    pub(crate) use_fips: bool,
    pub(crate) use_dualstack: bool,
    /// `AWS_ENDPOINT_URL_STS`, else `AWS_ENDPOINT_URL`, else the profile's `endpoint_url`.
    pub(crate) endpoint_url: Option<String>,
}

/// Regions that `legacy` mode sends to the global endpoint (botocore `LEGACY_GLOBAL_STS_REGIONS`).
const LEGACY_GLOBAL_REGIONS: [&str; 16] = [
    "ap-northeast-1",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "aws-global",
    "ca-central-1",
    "eu-central-1",
    "eu-north-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];

const GLOBAL_REGION: &str = "aws-global";
const GLOBAL_SIGNING_REGION: &str = "us-east-1";

/// A partition's STS DNS suffixes: (id, regular domain, dual-stack domain).
fn partition_of(region: &str) -> (&'static str, &'static str, &'static str) {
    const PARTITIONS: [(&str, &str, &str, &str); 6] = [
        (
            "cn-",
            "aws-cn",
            "amazonaws.com.cn",
            "api.amazonwebservices.com.cn",
        ),
        ("us-gov-", "aws-us-gov", "amazonaws.com", "api.aws"),
        ("us-isob-", "aws-iso-b", "sc2s.sgov.gov", "sc2s.sgov.gov"),
        ("us-isof-", "aws-iso-f", "csp.hci.ic.gov", "csp.hci.ic.gov"),
        ("us-iso-", "aws-iso", "c2s.ic.gov", "c2s.ic.gov"),
        (
            "eusc-",
            "aws-eusc",
            "amazonaws.eu",
            "api.amazonwebservices.eu",
        ),
    ];
    if region.starts_with("eu-isoe-") {
        return ("aws-iso-e", "cloud.adc-e.uk", "cloud.adc-e.uk");
    }
    PARTITIONS
        .iter()
        .find(|(prefix, ..)| region.starts_with(prefix))
        .map_or(
            ("aws", "amazonaws.com", "api.aws"),
            |&(_, id, domain, dual)| (id, domain, dual),
        )
}

pub(crate) fn is_valid_region(region: &str) -> bool {
    let bytes = region.as_bytes();
    !bytes.is_empty()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

/// Resolves the endpoint the way botocore does for `aws eks get-token`.
pub(crate) fn resolve(settings: &EndpointSettings) -> Result<StsEndpoint, Error> {
    let region = settings.region.as_deref().filter(|r| !r.is_empty());
    if let Some(r) = region
        && !is_valid_region(r)
    {
        return Err(Error::Config(format!(
            "region `{r}` is not a valid AWS region name; pass --region (e.g. --region us-east-1) \
             or fix AWS_REGION / the profile's `region`"
        )));
    }
    if let Some(url) = settings.endpoint_url.as_deref().filter(|u| !u.is_empty()) {
        let signing_region = region.unwrap_or(GLOBAL_SIGNING_REGION).to_string();
        return custom_endpoint(url, signing_region);
    }

    let region = region.unwrap_or(GLOBAL_REGION);
    let plain = !settings.use_fips && !settings.use_dualstack;
    let global = plain
        && (region == GLOBAL_REGION
            || (settings.mode == RegionalMode::Legacy && LEGACY_GLOBAL_REGIONS.contains(&region)));
    if global {
        let host = "sts.amazonaws.com".to_string();
        return Ok(StsEndpoint {
            base_url: format!("https://{host}/"),
            host,
            signing_region: GLOBAL_SIGNING_REGION.to_string(),
        });
    }

    let (partition, domain, dual_domain) = partition_of(region);
    let domain = if settings.use_dualstack {
        dual_domain
    } else {
        domain
    };
    // GovCloud's regular endpoints are already FIPS endpoints, so botocore keeps the plain
    // name there unless dual-stack is also asked for.
    let fips_label = settings.use_fips && (partition != "aws-us-gov" || settings.use_dualstack);
    let service = if fips_label { "sts-fips" } else { "sts" };
    let host = format!("{service}.{region}.{domain}");
    let signing_region = if region == GLOBAL_REGION {
        GLOBAL_SIGNING_REGION
    } else {
        region
    };
    Ok(StsEndpoint {
        base_url: format!("https://{host}/"),
        host: host.to_ascii_lowercase(),
        signing_region: signing_region.to_string(),
    })
}

/// An `AWS_ENDPOINT_URL[_STS]` override: the token host becomes that URL, as in aws-cli.
fn custom_endpoint(url: &str, signing_region: String) -> Result<StsEndpoint, Error> {
    let bad = || {
        Error::Config(format!(
            "endpoint URL `{url}` is not a valid http(s) URL; fix AWS_ENDPOINT_URL_STS, \
             AWS_ENDPOINT_URL or the profile's `endpoint_url` (e.g. https://sts.example.com)"
        ))
    };
    let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => "443",
        "http" => "80",
        _ => return Err(bad()),
    };
    let (authority, path) = match rest.find(['/', '?', '#']) {
        Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], rest[i..].split(['?', '#']).next()),
        Some(i) => (&rest[..i], None),
        None => (rest, None),
    };
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    if authority.is_empty() {
        return Err(bad());
    }
    let lower = authority.to_ascii_lowercase();
    let host = match lower.rsplit_once(':') {
        Some((h, port)) if !h.ends_with(']') || lower.starts_with('[') => {
            if !port.chars().all(|c| c.is_ascii_digit()) {
                return Err(bad());
            }
            if port == default_port || port.is_empty() {
                h.to_string()
            } else {
                lower.clone()
            }
        }
        _ => lower.clone(),
    };
    let path = path.filter(|p| !p.is_empty()).unwrap_or("/");
    Ok(StsEndpoint {
        base_url: format!("{scheme}://{authority}{path}"),
        host,
        signing_region,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(region: Option<&str>, f: impl FnOnce(&mut EndpointSettings)) -> StsEndpoint {
        let mut s = EndpointSettings {
            region: region.map(String::from),
            ..Default::default()
        };
        f(&mut s);
        resolve(&s).unwrap()
    }

    fn host_and_scope(e: &StsEndpoint) -> (String, String) {
        (e.base_url.clone(), e.signing_region.clone())
    }

    // Each expectation below was read off `aws eks get-token` (aws-cli 1.45.11) on this machine.
    #[test]
    fn matches_botocore() {
        // (region, mode, fips, dual-stack, URL, signing region)
        type Case<'a> = (Option<&'a str>, &'a str, bool, bool, &'a str, &'a str);
        let cases: &[Case<'_>] = &[
            (
                Some("us-east-1"),
                "regional",
                false,
                false,
                "https://sts.us-east-1.amazonaws.com/",
                "us-east-1",
            ),
            (
                Some("eu-west-1"),
                "legacy",
                false,
                false,
                "https://sts.amazonaws.com/",
                "us-east-1",
            ),
            (
                Some("ap-east-1"),
                "legacy",
                false,
                false,
                "https://sts.ap-east-1.amazonaws.com/",
                "ap-east-1",
            ),
            (
                Some("cn-north-1"),
                "legacy",
                false,
                false,
                "https://sts.cn-north-1.amazonaws.com.cn/",
                "cn-north-1",
            ),
            (
                None,
                "regional",
                false,
                false,
                "https://sts.amazonaws.com/",
                "us-east-1",
            ),
            (
                Some("aws-global"),
                "regional",
                false,
                false,
                "https://sts.amazonaws.com/",
                "us-east-1",
            ),
            (
                Some("us-gov-west-1"),
                "regional",
                true,
                false,
                "https://sts.us-gov-west-1.amazonaws.com/",
                "us-gov-west-1",
            ),
            (
                Some("us-gov-west-1"),
                "regional",
                false,
                true,
                "https://sts.us-gov-west-1.api.aws/",
                "us-gov-west-1",
            ),
            (
                Some("us-gov-west-1"),
                "regional",
                true,
                true,
                "https://sts-fips.us-gov-west-1.api.aws/",
                "us-gov-west-1",
            ),
            (
                Some("us-east-1"),
                "regional",
                true,
                true,
                "https://sts-fips.us-east-1.api.aws/",
                "us-east-1",
            ),
            (
                Some("us-east-1"),
                "legacy",
                true,
                false,
                "https://sts-fips.us-east-1.amazonaws.com/",
                "us-east-1",
            ),
            (
                Some("us-east-1"),
                "legacy",
                false,
                true,
                "https://sts.us-east-1.api.aws/",
                "us-east-1",
            ),
            (
                Some("cn-north-1"),
                "regional",
                false,
                true,
                "https://sts.cn-north-1.api.amazonwebservices.com.cn/",
                "cn-north-1",
            ),
            (
                Some("cn-north-1"),
                "regional",
                true,
                false,
                "https://sts-fips.cn-north-1.amazonaws.com.cn/",
                "cn-north-1",
            ),
            (
                Some("us-iso-east-1"),
                "regional",
                false,
                false,
                "https://sts.us-iso-east-1.c2s.ic.gov/",
                "us-iso-east-1",
            ),
            (
                Some("eusc-de-east-1"),
                "regional",
                false,
                false,
                "https://sts.eusc-de-east-1.amazonaws.eu/",
                "eusc-de-east-1",
            ),
            (
                None,
                "regional",
                true,
                false,
                "https://sts-fips.aws-global.amazonaws.com/",
                "us-east-1",
            ),
        ];
        for &(region, mode, fips, dual, url, scope) in cases {
            let e = ep(region, |s| {
                s.mode = RegionalMode::parse(mode).unwrap();
                s.use_fips = fips;
                s.use_dualstack = dual;
            });
            assert_eq!(
                host_and_scope(&e),
                (url.to_string(), scope.to_string()),
                "{region:?} {mode} {fips} {dual}"
            );
        }
    }

    #[test]
    fn endpoint_override_is_the_token_host() {
        let e = ep(Some("eu-west-1"), |s| {
            s.endpoint_url = Some("http://127.0.0.1:5055".into())
        });
        assert_eq!(e.base_url, "http://127.0.0.1:5055/");
        assert_eq!(e.host, "127.0.0.1:5055");
        assert_eq!(e.signing_region, "eu-west-1");
        let e = ep(Some("eu-west-1"), |s| {
            s.endpoint_url = Some("http://127.0.0.1:5055/pre/fix".into())
        });
        assert_eq!(e.base_url, "http://127.0.0.1:5055/pre/fix");
        let e = ep(Some("eu-west-1"), |s| {
            s.endpoint_url = Some("HTTPS://Example.COM:443".into())
        });
        assert_eq!(
            (e.base_url.as_str(), e.host.as_str()),
            ("https://Example.COM:443/", "example.com")
        );
        let e = ep(None, |s| {
            s.endpoint_url = Some("http://localhost:1/".into())
        });
        assert_eq!(e.signing_region, "us-east-1");
        let e = ep(Some("eu-west-1"), |s| {
            s.mode = RegionalMode::Legacy;
            s.endpoint_url = Some("http://127.0.0.1:9".into());
        });
        assert_eq!(e.base_url, "http://127.0.0.1:9/");
    }

    #[test]
    fn rejects_bad_input_with_the_setting_to_fix() {
        let bad_region = EndpointSettings {
            region: Some("eu west".into()),
            ..Default::default()
        };
        assert!(
            resolve(&bad_region)
                .unwrap_err()
                .to_string()
                .contains("--region")
        );
        let bad_url = EndpointSettings {
            endpoint_url: Some("ftp://x".into()),
            ..Default::default()
        };
        assert!(
            resolve(&bad_url)
                .unwrap_err()
                .to_string()
                .contains("AWS_ENDPOINT_URL_STS")
        );
        assert!(
            RegionalMode::parse("bogus")
                .unwrap_err()
                .to_string()
                .contains("regional")
        );
    }
}
