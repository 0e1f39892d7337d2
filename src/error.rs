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

    /// The eks-operator profile lacks a setting.
    #[error("profile `{profile}` in {file} has no `{key}`; {hint}")]
    ProfileIncomplete {
        profile: String,
        key: &'static str,
        file: String,
        hint: String,
    },

    /// No usable session and nobody to type an MFA code.
    #[error(
        "session for profile `{profile}` expired or missing ({reason}); run `eksop-auth login --profile {profile}` in a terminal"
    )]
    LoginRequired { profile: String, reason: String },

    /// The MFA code came from nowhere usable.
    #[error("{0}")]
    Mfa(String),

    /// STS said the code was wrong.
    #[error("AWS rejected the MFA code for {device} (invalid one-time pass code); {hint}")]
    MfaCodeRejected { device: String, hint: String },

    /// STS refused the role (trust policy, or MFA not presented).
    #[error(
        "AWS denied AssumeRole on {role}: {detail}. This IAM identity is not allowed to assume the role:          it is not in the role's trust policy, or the trust policy requires MFA and the MFA device          `{device}` does not belong to it. Ask the role's owner to add your IAM user to the trust list          (deploy/eks-operator-role.yaml, parameter AdminUserNames), or check `role_arn` and `mfa_serial` in the profile"
    )]
    AccessDenied {
        role: String,
        device: String,
        detail: String,
    },

    /// DurationSeconds above the role's MaxSessionDuration.
    #[error(
        "AWS refused a {requested}-second session for {role}: it exceeds the role's MaxSessionDuration.          Raise the role's MaxSessionDuration to 43200 (12 h) or set `duration_seconds` in profile `{profile}`          to at most the role's maximum"
    )]
    DurationTooLong {
        role: String,
        profile: String,
        requested: i32,
    },

    /// Any other STS error response.
    #[error("STS {operation} failed: {code}: {message}{request_id}{hint}")]
    Sts {
        operation: &'static str,
        code: String,
        message: String,
        request_id: String,
        /// Empty, or what to check (e.g. the clock for signature errors).
        hint: String,
    },

    /// STS could not be reached at all.
    #[error(
        "cannot reach STS at {endpoint} for {operation}: {detail}. Check the network connection, proxy settings and AWS_ENDPOINT_URL_STS"
    )]
    StsUnreachable {
        operation: &'static str,
        endpoint: String,
        detail: String,
    },

    /// The chosen keyring backend failed.
    #[error("{backend} keyring: {detail}")]
    Store { backend: String, detail: String },

    /// No keyring backend works on this machine.
    #[error(
        "no OS keyring is available ({detail}). On a desktop, unlock or start your keyring          (Secret Service / gnome-keyring); on a headless box, set EKSOP_AUTH_STORE=file to keep          sessions in a private 0600 file under your cache directory"
    )]
    NoKeyring { detail: String },

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
