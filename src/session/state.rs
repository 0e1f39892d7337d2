//! The one answer to "can this stored session be used?": a session, or why not. `token`,
//! `credential-process`, `status` and `doctor` all read it through `Display`.

use std::fmt;
use std::time::{Duration, SystemTime};

use super::record::{Freshness, Session};
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
    /// The record cannot be read: damaged, truncated, or not ours.
    Damaged,
    /// The record was made for another role than the profile names now.
    OtherRole { stored: String, now: String },
    /// The store did not answer.
    StoreUnreachable { detail: String },
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
            Unusable::Damaged => f.write_str("the stored record is damaged or not ours"),
            Unusable::OtherRole { stored, now } => {
                write!(f, "it is for {stored}, the profile now names {now}")
            }
            Unusable::StoreUnreachable { detail } => {
                write!(f, "the session store could not be read ({detail})")
            }
        }
    }
}

/// What a stored record means for a profile that names `role_arn`, at `now`.
pub(crate) fn judge(
    record: Option<Option<Session>>,
    role_arn: &str,
    now: SystemTime,
) -> Result<Session, Unusable> {
    let session = judge_record(record, role_arn)?;
    match session.freshness(now) {
        Freshness::Fresh { .. } => Ok(session),
        Freshness::EndsSoon { left } => Err(Unusable::EndsSoon { left }),
        Freshness::Expired => Err(Unusable::Expired {
            at: session.expires_at(),
        }),
    }
}

/// Whether a record (`None`: none stored; `Some(None)`: unreadable) is a session of ours
/// for `role_arn`, whatever its age.
pub(crate) fn judge_record(
    record: Option<Option<Session>>,
    role_arn: &str,
) -> Result<Session, Unusable> {
    let session = match record {
        None => return Err(Unusable::Missing),
        Some(None) => return Err(Unusable::Damaged),
        Some(Some(s)) => s,
    };
    if session.role_arn != role_arn {
        return Err(Unusable::OtherRole {
            stored: session.role_arn,
            now: role_arn.to_string(),
        });
    }
    Ok(session)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use crate::timefmt::from_unix;

    fn session(role: &str) -> Session {
        Session::new(
            "ASIA".into(),
            Secret::new("sk".into()),
            Secret::new("st".into()),
            from_unix(10_000),
            "arn".into(),
            role.into(),
        )
    }

    #[test]
    fn every_case_reads_as_a_reason() {
        let now = from_unix(1_000);
        assert!(judge(Some(Some(session("r"))), "r", now).is_ok());
        let why = |rec, role: &str, t| judge(rec, role, from_unix(t)).unwrap_err().to_string();
        assert_eq!(why(None, "r", 1_000), "none is stored");
        assert_eq!(
            why(Some(None), "r", 1_000),
            "the stored record is damaged or not ours"
        );
        assert_eq!(
            why(Some(Some(session("r"))), "q", 1_000),
            "it is for r, the profile now names q"
        );
        assert_eq!(
            why(Some(Some(session("r"))), "r", 9_700),
            "it ends in 5m, too soon for a 15-minute token"
        );
        assert!(why(Some(Some(session("r"))), "r", 10_000).starts_with("it expired at "));
    }
}
