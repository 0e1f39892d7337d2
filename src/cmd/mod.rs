//! One module per subcommand: orchestration only. The shared part — which profile, which
//! region, which STS endpoint, which credentials — lives here.

pub mod credential_process;
pub mod doctor;
pub mod login;
pub mod logout;
pub mod operator;
pub mod setup;
pub mod status;
pub mod token;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

use crate::aws::ChainRequest;
use crate::awsconfig::{Profile, ProfileSet};
use crate::cli::AwsArgs;
use crate::ctx::Ctx;
use crate::debug;
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::session::{Credentials, key_id_for_display};
use crate::sts_endpoint::{EndpointSettings, RegionalMode, StsEndpoint};

/// The shared config files, read once per process.
#[derive(Debug)]
pub struct ConfigFiles {
    pub config_path: PathBuf,
    pub credentials_path: PathBuf,
    /// The config file's text as read (empty when it does not exist).
    pub config_text: String,
    /// Whether the config file exists.
    pub config_existed: bool,
    /// Whether it is valid UTF-8 (it is read lossily; an editor must not write that back).
    pub config_is_utf8: bool,
    credentials_text: String,
    pub profiles: ProfileSet,
}

impl ConfigFiles {
    pub fn load(ctx: &Ctx) -> Result<Self> {
        let aws_dir = ctx.env.home().unwrap_or_default().join(".aws");
        let config_path = ctx
            .env
            .path("AWS_CONFIG_FILE")
            .unwrap_or_else(|| aws_dir.join("config"));
        let credentials_path = ctx
            .env
            .path("AWS_SHARED_CREDENTIALS_FILE")
            .unwrap_or_else(|| aws_dir.join("credentials"));
        let config = crate::fsutil::read_optional(&config_path)?;
        let config_existed = config.is_some();
        let config_is_utf8 = config
            .as_deref()
            .is_none_or(|b| std::str::from_utf8(b).is_ok());
        let config_text = config
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let credentials_text = crate::fsutil::read_optional(&credentials_path)?
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let profiles = ProfileSet::parse(&config_text, &credentials_text);
        Ok(ConfigFiles {
            config_path,
            credentials_path,
            config_text,
            config_existed,
            config_is_utf8,
            credentials_text,
            profiles,
        })
    }

    /// The same files with the config file's text replaced (an edit not yet written).
    pub fn with_config_text(mut self, text: String) -> Self {
        self.profiles = ProfileSet::parse(&text, &self.credentials_text);
        self.config_text = text;
        self
    }

    pub fn describe(&self) -> String {
        format!(
            "{} and {}",
            self.config_path.display(),
            self.credentials_path.display()
        )
    }
}

/// The kubeconfig kubectl reads first: the first path of `KUBECONFIG`, else `~/.kube/config`.
pub fn default_kubeconfig_path(env: &crate::ctx::Env) -> PathBuf {
    let sep = if cfg!(windows) { ';' } else { ':' };
    env.get("KUBECONFIG")
        .and_then(|k| k.split(sep).find(|p| !p.is_empty()))
        .map(PathBuf::from)
        .unwrap_or_else(|| env.home().unwrap_or_default().join(".kube").join("config"))
}

/// Profile, region and STS endpoint for one invocation, resolved from flags, env and files.
#[derive(Debug)]
pub struct AwsSettings {
    pub files: ConfigFiles,
    pub profile_name: String,
    /// The profile was named on the command line (`--profile`), not by env or default.
    pub profile_from_flag: bool,
    pub region: Option<String>,
    pub endpoint: StsEndpoint,
}

impl AwsSettings {
    pub fn resolve(ctx: &mut Ctx, args: &AwsArgs) -> Result<Self> {
        let files = ConfigFiles::load(ctx)?;
        Self::from_files(ctx, files, args)
    }

    /// As `resolve`, with config files already read (and perhaps edited in memory).
    pub fn from_files(ctx: &mut Ctx, files: ConfigFiles, args: &AwsArgs) -> Result<Self> {
        let from_env = ctx
            .env
            .get("AWS_PROFILE")
            .or_else(|| ctx.env.get("AWS_DEFAULT_PROFILE"));
        let (profile_name, named) = match (&args.profile, from_env) {
            (Some(p), _) => (p.clone(), true),
            (None, Some(p)) => (p.to_string(), true),
            (None, None) => ("default".to_string(), false),
        };
        if named && files.profiles.get(&profile_name).is_none() {
            return Err(Error::UnknownProfile {
                profile: profile_name,
                files: files.describe(),
            });
        }
        let profile = files.profiles.get(&profile_name);
        let prop = |key: &str| profile.and_then(|p| p.get(key));
        let region = args
            .region
            .clone()
            .or_else(|| ctx.env.get("AWS_REGION").map(String::from))
            .or_else(|| ctx.env.get("AWS_DEFAULT_REGION").map(String::from))
            .or_else(|| prop("region").map(String::from));
        let mode = match ctx
            .env
            .get("AWS_STS_REGIONAL_ENDPOINTS")
            .or_else(|| prop("sts_regional_endpoints"))
        {
            Some(v) => RegionalMode::parse(v)?,
            None => RegionalMode::default(),
        };
        let bool_setting = |env_key: &str, prop_key: &str| {
            ctx.env
                .flag(env_key)
                .or_else(|| prop(prop_key).map(|v| v.eq_ignore_ascii_case("true")))
                .unwrap_or(false)
        };
        let ignore_urls = bool_setting(
            "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
            "ignore_configured_endpoint_urls",
        );
        let endpoint_url = if ignore_urls {
            None
        } else {
            ctx.env
                .get("AWS_ENDPOINT_URL_STS")
                .or_else(|| ctx.env.get("AWS_ENDPOINT_URL"))
                .or_else(|| prop("endpoint_url"))
                .map(String::from)
        };
        let endpoint = crate::sts_endpoint::resolve(&EndpointSettings {
            region: region.clone(),
            mode,
            use_fips: bool_setting("AWS_USE_FIPS_ENDPOINT", "use_fips_endpoint"),
            use_dualstack: bool_setting("AWS_USE_DUALSTACK_ENDPOINT", "use_dualstack_endpoint"),
            endpoint_url,
        })?;
        debug!(
            ctx,
            "profile `{profile_name}` ({}), region {}, STS endpoint {} (signing region {})",
            if args.profile.is_some() {
                "from --profile"
            } else if named {
                "from AWS_PROFILE"
            } else {
                "default"
            },
            region.as_deref().unwrap_or("(none)"),
            endpoint.base_url,
            endpoint.signing_region
        );
        Ok(AwsSettings {
            files,
            profile_name,
            profile_from_flag: args.profile.is_some(),
            region,
            endpoint,
        })
    }

    pub fn profile(&self) -> Option<Profile<'_>> {
        self.files.profiles.get(&self.profile_name)
    }
}

/// Keys that make a profile's credentials something other than a plain key pair.
const INDIRECT_SOURCE_KEYS: [&str; 8] = [
    "role_arn",
    "source_profile",
    "credential_source",
    "credential_process",
    "sso_session",
    "sso_start_url",
    "web_identity_token_file",
    "login_session",
];

/// The standard chain for the invocation's profile (environment keys first unless the
/// profile came from `--profile`).
pub fn chain_credentials(ctx: &mut Ctx, settings: &AwsSettings) -> Result<Credentials> {
    profile_credentials(
        ctx,
        settings,
        &settings.profile_name,
        !settings.profile_from_flag,
    )
}

/// The standard chain for one profile. Plain keys (env, or a profile with only keys) are
/// read directly — no SDK, no runtime; anything else goes through aws-config.
pub fn profile_credentials(
    ctx: &mut Ctx,
    settings: &AwsSettings,
    profile_name: &str,
    use_env: bool,
) -> Result<Credentials> {
    if use_env
        && let (Some(id), Some(secret)) = (
            ctx.env.get("AWS_ACCESS_KEY_ID"),
            ctx.env.get("AWS_SECRET_ACCESS_KEY"),
        )
    {
        debug!(
            ctx,
            "credentials: environment (access key {})",
            key_id_for_display(id)
        );
        return Ok(Credentials {
            access_key_id: id.to_string(),
            secret_access_key: Secret::new(secret.to_string()),
            session_token: ctx
                .env
                .get("AWS_SESSION_TOKEN")
                .map(|t| Secret::new(t.to_string())),
            expires_at: None,
        });
    }
    if let Some(p) = settings.files.profiles.get(profile_name)
        && !INDIRECT_SOURCE_KEYS.iter().any(|k| p.has(k))
        && let (Some(id), Some(secret)) =
            (p.get("aws_access_key_id"), p.get("aws_secret_access_key"))
    {
        debug!(
            ctx,
            "credentials: static keys of profile `{}` (access key {})",
            p.name,
            key_id_for_display(id)
        );
        return Ok(Credentials {
            access_key_id: id.to_string(),
            secret_access_key: Secret::new(secret.to_string()),
            session_token: p
                .get("aws_session_token")
                .map(|t| Secret::new(t.to_string())),
            expires_at: None,
        });
    }
    debug!(
        ctx,
        "credentials: asking the AWS SDK's chain for profile `{profile_name}`"
    );
    let creds = ctx.aws.load_credentials(&ChainRequest {
        profile: profile_name,
        use_env,
        region: settings.region.as_deref(),
    })?;
    debug!(
        ctx,
        "credentials: loaded access key {}",
        key_id_for_display(&creds.access_key_id)
    );
    Ok(creds)
}
