//! The one error type. Every message says what happened and names the fix (a command, a
//! flag, a setting); `lib::run` prints it as `error: …` and exits with `exit_code()`.
//! No variant ever carries a secret.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line or a setting is wrong; the message names the flag or setting.
    #[error("{0}")]
    Config(String),

    /// No credentials anywhere in the standard chain.
    #[error(
        "no AWS credentials found{detail}. Set AWS_PROFILE (or pass --profile) to a profile in \
         ~/.aws/config or ~/.aws/credentials, run `aws configure` to create one, or export \
         AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    )]
    NoCredentials { detail: String },

    /// A profile was named that no config file defines.
    #[error(
        "profile `{profile}` was not found in {files}. Check the name (`aws configure list-profiles` \
         lists them), add a [profile {profile}] section, or point AWS_CONFIG_FILE at the file that has it"
    )]
    UnknownProfile { profile: String, files: String },

    /// The credential source was found but failed (credential_process, SSO, a bad key pair).
    #[error("could not load AWS credentials for {source_name}: {detail}")]
    Credentials { source_name: String, detail: String },

    /// A file could not be read or written.
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Writing to stdout failed (the reader went away).
    #[error("could not write the result to stdout: {0}")]
    Output(#[source] std::io::Error),

    /// A bug or an impossible state; the message says to report it.
    #[error("internal error: {0}; please report this at the eksop-auth issue tracker")]
    Internal(String),
}

impl Error {
    /// The process exit status for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Config(_) | Error::UnknownProfile { .. } => 2,
            _ => 1,
        }
    }

    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
