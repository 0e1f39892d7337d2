//! The one error type. Each variant is a kind of failure the user reacts to differently;
//! every message says what happened and names the fix (a command, a flag, a setting).
//! `lib::run` prints it as `error: …` and exits with `exit_code()`, whose table below is the
//! one place exit statuses are decided (the README copies it). No variant carries a secret.

use std::path::PathBuf;

use crate::store::Backend;

#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// A flag, an environment setting or a profile key is wrong; the message names it.
    #[error("{0}")]
    Config(String),

    /// A profile was named that no config file defines.
    #[error(
        "profile `{profile}` was not found in {files}. Check the name (`aws configure \
         list-profiles` lists them), add a [profile {profile}] section, or point AWS_CONFIG_FILE \
         at the file that has it"
    )]
    UnknownProfile { profile: String, files: String },

    /// The eks-operator profile lacks a setting.
    #[error("profile `{profile}` in {file} has no `{key}`; {hint}")]
    ProfileIncomplete {
        profile: String,
        key: &'static str,
        file: String,
        hint: String,
    },

    /// No credentials anywhere in the standard chain.
    #[error(
        "no AWS credentials found{detail}. Set AWS_PROFILE (or pass --profile) to a profile in \
         ~/.aws/config or ~/.aws/credentials, run `aws configure` to create one, or export \
         AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    )]
    NoCredentials { detail: String },

    /// The credential source was found but failed (credential_process, SSO, a bad key pair).
    #[error("could not load AWS credentials for {source_name}: {detail}")]
    Credentials { source_name: String, detail: String },

    /// No usable session and nobody to type an MFA code.
    #[error(
        "session for profile `{profile}` expired or missing ({reason}); run `eksop-auth login \
         --profile {profile}` in a terminal{extra}"
    )]
    LoginRequired {
        profile: String,
        /// Why the stored session cannot be used, and why nobody can be asked.
        reason: String,
        /// Empty, or another way out (e.g. `mfa_process`).
        extra: String,
    },

    /// The profile now names another identity than the one the stored session was made
    /// from, and nobody can type a code for a fresh login.
    #[error("{change}; run `eksop-auth login --profile {profile}`")]
    IdentityChanged { profile: String, change: String },

    /// Another process's login, which this one waited on, failed with this.
    #[error("{message}")]
    Relayed { exit_code: u8, message: String },

    /// The MFA code could not be had (mfa_process failed, the prompt failed or was closed).
    #[error("{0}")]
    Mfa(String),

    /// The desktop dialog was cancelled, closed or not answered (the flow remembers it).
    #[error("the MFA dialog was {how}")]
    DialogDismissed { how: String },

    /// A dialog for this profile was dismissed a moment ago: no new one until `again`.
    #[error(
        "the MFA prompt was dismissed at {at} ({how}); run `eksop-auth login --profile \
         {profile}`, or it will ask again after {again}"
    )]
    PromptDismissed {
        profile: String,
        how: String,
        at: String,
        again: String,
    },

    /// STS said the code was wrong.
    #[error("AWS rejected the MFA code for {device} (invalid one-time pass code); {hint}")]
    MfaCodeRejected { device: String, hint: String },

    /// The code was already accepted once; AWS would refuse it.
    #[error(
        "that MFA code was already used (AWS accepts each code once); wait for the next code, \
         in about {wait_seconds}s, then run the command again"
    )]
    MfaCodeReused { wait_seconds: u64 },

    /// STS refused the role (trust policy, or MFA not presented).
    #[error(
        "AWS denied AssumeRole on {role}: {detail}. This IAM identity is not allowed to assume \
         the role: it is not in the role's trust policy, or the trust policy requires MFA and \
         the MFA device `{device}` does not belong to it. Ask the role's owner to add your IAM \
         user to the trust list (deploy/eks-operator-role.yaml, parameter AdminUserNames), or \
         check `role_arn` and `mfa_serial` in the profile"
    )]
    AccessDenied {
        role: String,
        device: String,
        detail: String,
    },

    /// AccessDenied for a session not named after the IAM user.
    #[error(
        "AWS denied AssumeRole on {role} with the role session name `{name}`: {detail}. The \
         eks-operator trust policy (deploy/eks-operator-role.yaml) allows the role only with \
         RoleSessionName equal to your IAM user name (`{user}`), so that the cluster and \
         CloudTrail name the person: remove `role_session_name` from profile `{profile}` \
         (eksop-auth then uses `{user}`). If that is not the cause, the user is not in the \
         trust policy (AdminUserNames) or the profile's `mfa_serial` is not their MFA device"
    )]
    SessionNameRefused {
        role: String,
        profile: String,
        name: String,
        user: String,
        detail: String,
    },

    /// AccessDenied for sts:SetSourceIdentity.
    #[error(
        "AWS denied AssumeRole on {role} because the role's trust policy does not allow \
         sts:SetSourceIdentity ({why}): {detail}. {fix}"
    )]
    SourceIdentityRefused {
        role: String,
        why: String,
        fix: String,
        detail: String,
    },

    /// DurationSeconds above the role's MaxSessionDuration.
    #[error(
        "AWS refused a {requested}-second session for {role}: it exceeds the role's \
         MaxSessionDuration. Raise the role's MaxSessionDuration to 43200 (12 h) or set \
         `duration_seconds` in profile `{profile}` to at most the role's maximum"
    )]
    DurationTooLong {
        role: String,
        profile: String,
        requested: i32,
    },

    /// Any other error answer from an AWS service.
    #[error("{0}")]
    Service(Box<ServiceFailure>),

    /// An AWS answer that cannot be used: cut short, empty fields, an impossible expiry, a
    /// body that is not AWS's. Nothing was stored.
    #[error(
        "{service} returned an incomplete answer to {operation} (HTTP {status}{request_id}): \
         {problem}; nothing was stored. A proxy or network device that cuts or rewrites \
         answers usually causes this, or a clock that is wrong: try again, compare `date -u` \
         with the real time, and check HTTPS_PROXY and {setting}"
    )]
    IncompleteAnswer {
        service: &'static str,
        operation: &'static str,
        status: u16,
        /// Empty, or `, request id …`.
        request_id: String,
        problem: String,
        setting: &'static str,
    },

    /// An AWS endpoint could not be reached at all.
    #[error(
        "cannot reach {service} at {endpoint} for {operation}: {detail}. Check the network \
         connection, proxy settings (HTTPS_PROXY, NO_PROXY) and {setting}"
    )]
    Unreachable {
        service: &'static str,
        operation: &'static str,
        endpoint: String,
        detail: String,
        /// The setting that points at the endpoint (`AWS_ENDPOINT_URL_STS`, …).
        setting: &'static str,
    },

    /// A session store (keyring) failed.
    #[error("{backend} keyring: {detail}")]
    Store { backend: Backend, detail: String },

    /// `logout` could not reach every copy; the metadata stays so the next `logout` can.
    #[error(
        "could not remove every copy of the session: {missing}. eksop-auth refuses those \
         copies from now on; run `eksop-auth logout {again}` where they can be reached (e.g. \
         in your desktop session) to remove them"
    )]
    LogoutIncomplete { missing: String, again: String },

    /// No keyring backend works on this machine.
    #[error(
        "no OS keyring is available ({detail}). On a desktop, unlock or start your keyring \
         (Secret Service / gnome-keyring); on a headless box, set EKSOP_AUTH_STORE=file to keep \
         sessions in a private 0600 file under your cache directory"
    )]
    NoKeyring { detail: String },

    /// A file or folder could not be read or written.
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A file or folder in the cache dir is not safely ours (foreign owner, writable by
    /// others, a symbolic link): someone else could have put it there.
    #[error("refusing to use {}: {problem}; {fix}", path.display())]
    UnsafePath {
        path: PathBuf,
        problem: String,
        fix: String,
    },

    /// Another process held the profile's login lock for too long.
    #[error(
        "gave up after {waited_seconds}s waiting for another eksop-auth process to finish the \
         MFA login for profile `{profile}`; finish or cancel it (look for its prompt in another \
         terminal), or run `eksop-auth login --profile {profile}`"
    )]
    LockTimeout {
        profile: String,
        waited_seconds: u64,
    },

    /// Another writer held a config file's `.lock` for too long.
    #[error(
        "{} is being changed by another program ({} exists, for {waited_seconds}s); wait for \
         it (another `eksop-auth setup`, a `kubectl config` command), or remove {} if none is \
         running, and run the command again",
        path.display(), lock.display(), lock.display()
    )]
    FileLocked {
        path: PathBuf,
        lock: PathBuf,
        waited_seconds: u64,
    },

    /// A file the user made read-only is left as it is.
    #[error(
        "{} is read-only (mode {mode:04o}), which eksop-auth takes as yours to keep; make it \
         writable (`chmod u+w {}`) and run the command again, or {alternative}; nothing was \
         changed",
        path.display(), path.display()
    )]
    ReadOnly {
        path: PathBuf,
        mode: u32,
        alternative: &'static str,
    },

    /// The file belongs to another user, and replacing it would hand it to us.
    #[error(
        "{} belongs to another user (uid {uid}), and eksop-auth could not keep it theirs; run \
         the command as that user, or pass another path; nothing was changed",
        path.display()
    )]
    #[cfg_attr(not(unix), allow(dead_code))]
    OtherOwner { path: PathBuf, uid: u32 },

    /// `doctor` found problems (each printed with its fix).
    #[error("doctor: {failed} check(s) failed; see the fixes above")]
    ChecksFailed { failed: usize },

    /// Writing to stdout failed (the reader went away).
    #[error("could not write the result to stdout: {0}")]
    Output(#[source] std::io::Error),

    /// A bug or an impossible state; the message says to report it.
    #[error("internal error: {0}; please report this at the eksop-auth issue tracker")]
    Internal(String),
}

/// An error answer from an AWS service, as far as it could be read.
#[derive(Debug, thiserror::Error)]
#[error("{service} {operation} failed: {code}: {message}{request_id}{hint}")]
pub(crate) struct ServiceFailure {
    pub(crate) service: &'static str,
    pub(crate) operation: &'static str,
    pub(crate) code: String,
    pub(crate) message: String,
    /// Empty, or ` (request id …)`.
    pub(crate) request_id: String,
    /// Empty, or `. ` + what to check (e.g. the clock for signature errors).
    pub(crate) hint: String,
}

/// Exit statuses, one per kind of failure (README "Exit status" copies this table).
pub(crate) mod exit {
    /// A flag, a setting or a profile is wrong (clap's usage errors use 2 as well).
    pub(crate) const CONFIG: u8 = 2;
    /// No usable session and nobody to type a code: run `eksop-auth login`.
    pub(crate) const LOGIN_REQUIRED: u8 = 3;
    /// The source credentials are missing or failed to load.
    pub(crate) const CREDENTIALS: u8 = 4;
    /// No MFA code could be had, or AWS rejected it.
    pub(crate) const MFA: u8 = 5;
    /// AWS refused the role: trust policy, MFA condition, session length.
    pub(crate) const ACCESS_DENIED: u8 = 6;
    /// AWS answered with an error or could not be reached.
    pub(crate) const AWS: u8 = 7;
    /// The session store (keyring) is unusable.
    pub(crate) const STORE: u8 = 8;
    /// A file or folder cannot be used (I/O, or unsafe owner or permissions).
    pub(crate) const FILE: u8 = 9;
    /// Another process held the login lock too long.
    pub(crate) const LOCK_TIMEOUT: u8 = 10;
    /// `doctor` found problems.
    pub(crate) const CHECK_FAILED: u8 = 11;
    /// stdout was closed before the result was written.
    pub(crate) const OUTPUT: u8 = 12;
    /// A bug (EX_SOFTWARE).
    pub(crate) const INTERNAL: u8 = 70;
}

impl Error {
    /// The process exit status for this error.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Error::Config(_) | Error::UnknownProfile { .. } | Error::ProfileIncomplete { .. } => {
                exit::CONFIG
            }
            Error::LoginRequired { .. }
            | Error::IdentityChanged { .. }
            | Error::PromptDismissed { .. }
            | Error::DialogDismissed { .. } => exit::LOGIN_REQUIRED,
            Error::Relayed { exit_code, .. } => *exit_code,
            Error::NoCredentials { .. } | Error::Credentials { .. } => exit::CREDENTIALS,
            Error::Mfa(_) | Error::MfaCodeRejected { .. } | Error::MfaCodeReused { .. } => {
                exit::MFA
            }
            Error::AccessDenied { .. }
            | Error::SessionNameRefused { .. }
            | Error::SourceIdentityRefused { .. }
            | Error::DurationTooLong { .. } => exit::ACCESS_DENIED,
            Error::Service(_) | Error::Unreachable { .. } | Error::IncompleteAnswer { .. } => {
                exit::AWS
            }
            Error::Store { .. } | Error::NoKeyring { .. } | Error::LogoutIncomplete { .. } => {
                exit::STORE
            }
            Error::Io { .. } | Error::UnsafePath { .. } => exit::FILE,
            Error::LockTimeout { .. } | Error::FileLocked { .. } => exit::LOCK_TIMEOUT,
            Error::ReadOnly { .. } | Error::OtherOwner { .. } => exit::FILE,
            Error::ChecksFailed { .. } => exit::CHECK_FAILED,
            Error::Output(_) => exit::OUTPUT,
            Error::Internal(_) => exit::INTERNAL,
        }
    }

    pub(crate) fn service(
        service: &'static str,
        operation: &'static str,
        code: impl Into<String>,
        message: impl Into<String>,
        request_id: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Error::Service(Box::new(ServiceFailure {
            service,
            operation,
            code: code.into(),
            message: message.into(),
            request_id: request_id.into(),
            hint: hint.into(),
        }))
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<Error> {
        vec![
            Error::UnknownProfile {
                profile: "p".into(),
                files: "a and b".into(),
            },
            Error::NoCredentials {
                detail: String::new(),
            },
            Error::LoginRequired {
                profile: "p".into(),
                reason: "none is stored".into(),
                extra: String::new(),
            },
            Error::MfaCodeReused { wait_seconds: 12 },
            Error::AccessDenied {
                role: "r".into(),
                device: "d".into(),
                detail: "no".into(),
            },
            Error::DurationTooLong {
                role: "r".into(),
                profile: "p".into(),
                requested: 43_200,
            },
            Error::NoKeyring {
                detail: "none".into(),
            },
            Error::LockTimeout {
                profile: "p".into(),
                waited_seconds: 180,
            },
            Error::Unreachable {
                service: "STS",
                operation: "AssumeRole",
                endpoint: "https://sts".into(),
                detail: "refused".into(),
                setting: "AWS_ENDPOINT_URL_STS",
            },
            Error::IncompleteAnswer {
                service: "STS",
                operation: "AssumeRole",
                status: 200,
                request_id: ", request id r".into(),
                problem: "the session token is empty".into(),
                setting: "AWS_ENDPOINT_URL_STS",
            },
            Error::IdentityChanged {
                profile: "p".into(),
                change: "profile `p` now uses source profile `b`".into(),
            },
            Error::LogoutIncomplete {
                missing: "profile `p` in secret-service (gone)".into(),
                again: "--all".into(),
            },
            Error::UnsafePath {
                path: PathBuf::from("/c/store"),
                problem: "it belongs to uid 1".into(),
                fix: "remove it".into(),
            },
            Error::FileLocked {
                path: PathBuf::from("/h/.kube/config"),
                lock: PathBuf::from("/h/.kube/config.lock"),
                waited_seconds: 10,
            },
            Error::ReadOnly {
                path: PathBuf::from("/h/.kube/config"),
                mode: 0o444,
                alternative: "pass --kubeconfig PATH",
            },
            Error::OtherOwner {
                path: PathBuf::from("/h/.kube/config"),
                uid: 1000,
            },
            Error::SessionNameRefused {
                role: "r".into(),
                profile: "p".into(),
                name: "n".into(),
                user: "u".into(),
                detail: "no".into(),
            },
            Error::SourceIdentityRefused {
                role: "r".into(),
                why: "it sets u".into(),
                fix: "Fix the role.".into(),
                detail: "no".into(),
            },
        ]
    }

    #[test]
    fn messages_are_one_paragraph_without_runs_of_spaces() {
        for e in samples() {
            let text = e.to_string();
            assert!(
                !text.contains("  ") && !text.contains('\n'),
                "{e:?} reads {text:?}"
            );
        }
    }

    #[test]
    fn the_main_messages_are_pinned() {
        let text: Vec<String> = samples().iter().map(ToString::to_string).collect();
        assert_eq!(
            text[2],
            "session for profile `p` expired or missing (none is stored); run `eksop-auth login \
             --profile p` in a terminal"
        );
        assert_eq!(
            text[3],
            "that MFA code was already used (AWS accepts each code once); wait for the next \
             code, in about 12s, then run the command again"
        );
        assert_eq!(
            text[6],
            "no OS keyring is available (none). On a desktop, unlock or start your keyring \
             (Secret Service / gnome-keyring); on a headless box, set EKSOP_AUTH_STORE=file to \
             keep sessions in a private 0600 file under your cache directory"
        );
        assert_eq!(
            text[7],
            "gave up after 180s waiting for another eksop-auth process to finish the MFA login \
             for profile `p`; finish or cancel it (look for its prompt in another terminal), or \
             run `eksop-auth login --profile p`"
        );
    }

    #[test]
    fn each_kind_has_its_own_exit_status() {
        let codes: Vec<u8> = samples().iter().map(Error::exit_code).collect();
        assert_eq!(
            codes,
            [
                exit::CONFIG,
                exit::CREDENTIALS,
                exit::LOGIN_REQUIRED,
                exit::MFA,
                exit::ACCESS_DENIED,
                exit::ACCESS_DENIED,
                exit::STORE,
                exit::LOCK_TIMEOUT,
                exit::AWS,
                exit::AWS,
                exit::LOGIN_REQUIRED,
                exit::STORE,
                exit::FILE,
                exit::LOCK_TIMEOUT,
                exit::FILE,
                exit::FILE,
                exit::ACCESS_DENIED,
                exit::ACCESS_DENIED
            ]
        );
    }
}
