//! The one answer to "can this stored session be used?": a session, or why not. `token`,
//! `credential-process`, `status` and `doctor` all read it through `Display`.

use std::fmt;
use std::time::{Duration, SystemTime};

use super::record::{Freshness, Origin, Session};
use crate::credentials::key_id_for_display;
use crate::timefmt::{human_duration, local_time};

/// Why the stored session of a profile cannot be used now.
#[derive(Debug, Clone)]
pub(crate) enum Unusable {
    /// No record is stored for the profile.
    Missing,
    /// It ended at this time.
    Expired { at: SystemTime },
    /// It is still valid, but for less than a token's 15 minutes.
    EndsSoon { left: Duration },
    /// The record cannot be read: damaged, truncated, not ours, or from an older version.
    Damaged,
    /// The record was made for another identity than the profile names now.
    OtherIdentity(Change),
    /// `logout` ran after it was made (a copy it could not reach survived).
    LoggedOut { at: SystemTime },
    /// The store did not answer.
    StoreUnreachable { detail: String },
    /// A file where the session is kept is not safely ours: stop, do not work around it.
    Unsafe {
        path: std::path::PathBuf,
        problem: String,
        fix: String,
    },
}

impl Unusable {
    /// A store or file that is not safely ours is an error to report, never a cache miss.
    pub(crate) fn into_refusal(self) -> std::result::Result<Self, crate::error::Error> {
        match self {
            Unusable::Unsafe { path, problem, fix } => {
                Err(crate::error::Error::UnsafePath { path, problem, fix })
            }
            other => Ok(other),
        }
    }

    /// Whether the user must act (log in again) rather than merely wait for a login.
    pub(crate) fn identity_changed(&self) -> Option<&Change> {
        match self {
            Unusable::OtherIdentity(c) => Some(c),
            _ => None,
        }
    }
}

impl fmt::Display for Unusable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unusable::Missing => f.write_str("none is stored"),
            Unusable::Expired { at } => write!(f, "it expired at {}", local_time(*at)),
            Unusable::EndsSoon { left } => write!(
                f,
                "it ends in {}, too soon for a 15-minute token",
                human_duration(*left)
            ),
            Unusable::Damaged => {
                f.write_str("the stored record is damaged, not ours, or from an older eksop-auth")
            }
            Unusable::OtherIdentity(change) => change.fmt(f),
            Unusable::LoggedOut { at } => {
                write!(f, "it was logged out at {}", local_time(*at))
            }
            Unusable::StoreUnreachable { detail } => {
                write!(f, "the session store could not be read ({detail})")
            }
            Unusable::Unsafe { path, problem, .. } => {
                write!(f, "refusing to use {}: {problem}", path.display())
            }
        }
    }
}

/// Which part of a profile no longer matches its stored session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Change {
    pub(crate) profile: String,
    what: What,
    stored: String,
    now: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum What {
    Role,
    SourceProfile,
    MfaDevice,
    SessionName,
    SourceCredentials,
    Partition,
    Duration,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (p, stored, now) = (&self.profile, &self.stored, &self.now);
        match self.what {
            What::Role => write!(
                f,
                "profile `{p}` now names role {now}; the stored session was made for {stored}"
            ),
            What::SourceProfile => write!(
                f,
                "profile `{p}` now uses source profile `{now}`; the stored session was made from \
                 `{stored}`"
            ),
            What::MfaDevice => write!(
                f,
                "profile `{p}` now uses MFA device {now}; the stored session was made with \
                 {stored}"
            ),
            What::SessionName => write!(
                f,
                "profile `{p}` now asks for role session name `{now}`; the stored session is \
                 named `{stored}`"
            ),
            What::SourceCredentials => write!(
                f,
                "the source profile of `{p}` now holds {now}; the stored session was made with \
                 {stored}"
            ),
            What::Partition => write!(
                f,
                "profile `{p}` now uses the `{now}` partition; the stored session is from \
                 `{stored}`"
            ),
            What::Duration => write!(
                f,
                "profile `{p}` now allows sessions of {now}; the stored one lasts {stored}"
            ),
        }
    }
}

/// `key:AKIA…` → `access key ****ABCD`; `config:…` → what decides the credentials.
fn describe_source(source: &str, other: &str) -> String {
    match source.strip_prefix("key:") {
        Some(id) => format!("access key {}", key_id_for_display(id)),
        None if other.starts_with("config:") => {
            "other credential settings (role_arn, SSO, credential_process or its own source \
             profile changed)"
                .into()
        }
        None => "credentials from its settings (SSO, credential_process, a role)".into(),
    }
}

/// The first difference between what a session was made from and what the profile reads.
fn compare(profile: &str, stored: &Origin, now: &Origin) -> Option<Change> {
    let change = |what, s: String, n: String| Change {
        profile: profile.to_string(),
        what,
        stored: s,
        now: n,
    };
    let pair = |a: &String, b: &String| (a.clone(), b.clone());
    let (what, (s, n)) = if stored.role_arn != now.role_arn {
        (What::Role, pair(&stored.role_arn, &now.role_arn))
    } else if stored.source_profile != now.source_profile {
        (
            What::SourceProfile,
            pair(&stored.source_profile, &now.source_profile),
        )
    } else if stored.mfa_serial != now.mfa_serial {
        (What::MfaDevice, pair(&stored.mfa_serial, &now.mfa_serial))
    } else if !now.session_name.is_empty() && stored.session_name != now.session_name {
        // Only a name the profile sets is compared: a session named after the IAM user
        // (or by an older eksop-auth, after the MFA device) is still this profile's.
        (
            What::SessionName,
            pair(&stored.session_name, &now.session_name),
        )
    } else if stored.source != now.source {
        let (s, n) = (&stored.source, &now.source);
        (
            What::SourceCredentials,
            (describe_source(s, n), describe_source(n, s)),
        )
    } else if stored.partition != now.partition {
        (What::Partition, pair(&stored.partition, &now.partition))
    } else {
        return None;
    };
    Some(change(what, s, n))
}

/// A session longer than the profile now allows (plus clock slack) was made under other
/// settings: the profile's `duration_seconds` was lowered since.
fn too_long(profile: &str, session: &Session, allowed: Duration) -> Option<Change> {
    let lasts = session
        .expires_at()
        .duration_since(session.issued_at)
        .unwrap_or_default();
    (lasts > allowed + Duration::from_secs(15 * 60)).then(|| Change {
        profile: profile.to_string(),
        what: What::Duration,
        stored: human_duration(lasts),
        now: human_duration(allowed),
    })
}

/// A stored record (`None`: none stored; `Some(None)`: unreadable) as it stands for a
/// profile whose settings read `origin` now, whatever its age: ours, for that identity,
/// and not logged out since.
pub(crate) fn judge_record(
    record: Option<Option<Session>>,
    profile: &str,
    origin: &Origin,
    allowed: Duration,
    logged_out_at: Option<SystemTime>,
) -> Result<Session, Unusable> {
    let session = match record {
        None => return Err(Unusable::Missing),
        Some(None) => return Err(Unusable::Damaged),
        Some(Some(s)) if s.profile != profile => return Err(Unusable::Damaged),
        Some(Some(s)) => s,
    };
    if let Some(change) =
        compare(profile, &session.origin, origin).or_else(|| too_long(profile, &session, allowed))
    {
        return Err(Unusable::OtherIdentity(change));
    }
    if let Some(at) = logged_out_at
        && session.issued_at <= at
    {
        return Err(Unusable::LoggedOut { at });
    }
    Ok(session)
}

/// As `judge_record`, and good for another 15 minutes at `now`.
pub(crate) fn judge(
    record: Option<Option<Session>>,
    profile: &str,
    origin: &Origin,
    allowed: Duration,
    logged_out_at: Option<SystemTime>,
    now: SystemTime,
) -> Result<Session, Unusable> {
    let session = judge_record(record, profile, origin, allowed, logged_out_at)?;
    match session.freshness(now) {
        Freshness::Fresh { .. } => Ok(session),
        Freshness::EndsSoon { left } => Err(Unusable::EndsSoon { left }),
        Freshness::Expired => Err(Unusable::Expired {
            at: session.expires_at(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::record::tests::{origin, session};
    use crate::timefmt::from_unix;

    const DAY: Duration = Duration::from_secs(86_400);

    fn why(record: Option<Option<Session>>, o: &Origin, t: u64) -> String {
        judge(record, "op", o, DAY, None, from_unix(t))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn every_case_reads_as_a_reason() {
        let s = || Some(Some(session(100_000)));
        assert!(judge(s(), "op", &origin(), DAY, None, from_unix(1_000)).is_ok());
        assert_eq!(why(None, &origin(), 1_000), "none is stored");
        assert!(why(Some(None), &origin(), 1_000).starts_with("the stored record is damaged"));
        assert_eq!(
            why(s(), &origin(), 99_700),
            "it ends in 5m, too soon for a 15-minute token"
        );
        assert!(why(s(), &origin(), 100_000).starts_with("it expired at "));
        let other = judge(s(), "other", &origin(), DAY, None, from_unix(1_000)).unwrap_err();
        assert!(
            matches!(other, Unusable::Damaged),
            "a record filed for another profile"
        );
        let logged_out = judge(
            s(),
            "op",
            &origin(),
            DAY,
            Some(from_unix(60_000)),
            from_unix(61_000),
        );
        assert!(matches!(logged_out, Err(Unusable::LoggedOut { .. })));
    }

    #[test]
    fn a_changed_identity_names_what_changed() {
        let s = || Some(Some(session(100_000)));
        let mut o = origin();
        o.source_profile = "bob".into();
        assert_eq!(
            why(s(), &o, 1_000),
            "profile `op` now uses source profile `bob`; the stored session was made from `src`"
        );
        let mut o = origin();
        o.source = "key:AKIACCCCCCCCCCCCCCCC".into();
        assert_eq!(
            why(s(), &o, 1_000),
            "the source profile of `op` now holds access key ****CCCC; the stored session was \
             made with access key ****URCE"
        );
        let mut o = origin();
        o.mfa_serial = "arn:aws:iam::1:mfa/B".into();
        assert!(why(s(), &o, 1_000).contains("now uses MFA device arn:aws:iam::1:mfa/B"));
        let mut o = origin();
        o.partition = "aws-cn".into();
        assert!(why(s(), &o, 1_000).contains("now uses the `aws-cn` partition"));
        let mut o = origin();
        o.session_name = "mallory".into();
        assert!(why(s(), &o, 1_000).contains("role session name `mallory`"));
        // A profile without a name of its own takes sessions named after the user, or,
        // from an older eksop-auth, after the MFA device: no forced login on upgrade.
        let mut o = origin();
        o.session_name = String::new();
        assert!(
            judge(
                s(),
                "op",
                &o,
                Duration::from_secs(43_200),
                None,
                from_unix(1_000)
            )
            .is_ok()
        );
        let short = judge(
            s(),
            "op",
            &origin(),
            Duration::from_secs(3_600),
            None,
            from_unix(1_000),
        );
        assert!(
            short
                .unwrap_err()
                .to_string()
                .contains("now allows sessions of 1h; the stored one lasts 12h")
        );
        let mut o = origin();
        o.role_arn = "arn:aws:iam::1:role/other".into();
        assert!(why(s(), &o, 1_000).contains("now names role arn:aws:iam::1:role/other"));
    }
}
