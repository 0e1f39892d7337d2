//! Finding and reading the shared AWS config files (`AWS_CONFIG_FILE`,
//! `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/config` and `~/.aws/credentials`).

use std::path::PathBuf;

use crate::awsconfig::{FileKind, ProfileSet, SyntaxError};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::fsutil::read_optional;

/// The shared config files as read (each once per process).
#[derive(Debug, Clone)]
pub(crate) struct ConfigFiles {
    pub(crate) config_path: PathBuf,
    pub(crate) credentials_path: PathBuf,
    /// The config file's text as read (empty when it does not exist).
    pub(crate) config_text: String,
    /// Whether the config file exists.
    pub(crate) config_existed: bool,
    /// Whether it is valid UTF-8 (it is read lossily; an editor must not write that back).
    pub(crate) config_is_utf8: bool,
    credentials_text: String,
    pub(crate) profiles: ProfileSet,
}

impl ConfigFiles {
    pub(crate) fn load(env: &Env) -> Result<Self> {
        let aws_dir = env.home().unwrap_or_default().join(".aws");
        let config_path = env
            .path("AWS_CONFIG_FILE")
            .unwrap_or_else(|| aws_dir.join("config"));
        let credentials_path = env
            .path("AWS_SHARED_CREDENTIALS_FILE")
            .unwrap_or_else(|| aws_dir.join("credentials"));
        let config = read_optional(&config_path)?;
        let credentials = read_optional(&credentials_path)?;
        Self::from_bytes(config_path, config, credentials_path, credentials)
    }

    pub(crate) fn from_bytes(
        config_path: PathBuf,
        config: Option<Vec<u8>>,
        credentials_path: PathBuf,
        credentials: Option<Vec<u8>>,
    ) -> Result<Self> {
        let config_existed = config.is_some();
        let config_is_utf8 = config
            .as_deref()
            .is_none_or(|b| std::str::from_utf8(b).is_ok());
        let lossy = |b: Option<Vec<u8>>| {
            b.map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        };
        let config_text = lossy(config);
        let credentials_text = lossy(credentials);
        let mut files = ConfigFiles {
            config_path,
            credentials_path,
            config_text,
            config_existed,
            config_is_utf8,
            credentials_text,
            profiles: ProfileSet::default(),
        };
        files.profiles = files.parse()?;
        Ok(files)
    }

    fn parse(&self) -> Result<ProfileSet> {
        ProfileSet::parse(&self.config_text, &self.credentials_text)
            .map_err(|(kind, e)| self.unreadable(kind, &e))
    }

    /// A file the SDKs would refuse: say where, in their words.
    fn unreadable(&self, kind: FileKind, e: &SyntaxError) -> Error {
        let path = match kind {
            FileKind::Config => &self.config_path,
            FileKind::Credentials => &self.credentials_path,
        };
        Error::Config(format!(
            "{} line {}: {}. The AWS SDKs and aws-cli cannot read this file either; fix that \
             line",
            path.display(),
            e.line,
            e.message
        ))
    }

    /// Where the credentials file sets any of `keys` for profile `name` (key, 1-based line).
    pub(crate) fn credentials_setting(&self, name: &str, keys: &[&str]) -> Vec<(String, usize)> {
        crate::awsconfig::credentials_setting(&self.credentials_text, name, keys)
    }

    /// The same files with the config file's text replaced (an edit not yet written).
    pub(crate) fn with_config_text(mut self, text: String) -> Result<Self> {
        self.config_text = text;
        self.profiles = self.parse()?;
        Ok(self)
    }

    pub(crate) fn describe(&self) -> String {
        format!(
            "{} and {}",
            self.config_path.display(),
            self.credentials_path.display()
        )
    }
}
