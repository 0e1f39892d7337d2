//! An assumed eks-operator role session and its stored form. Pure data: no I/O, no clock.

use std::time::{Duration, SystemTime};

use crate::credentials::Credentials;
use crate::secret::Secret;
use crate::timefmt::{from_unix, unix_seconds};

/// A session needs this much life left to be used: a token signed with it lives 15 minutes.
pub(crate) const REFRESH_MARGIN: Duration = Duration::from_secs(15 * 60);

/// An assumed eks-operator role session. It always has an expiry.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    /// The session's keys; `creds.expires_at` is always `Some(expires_at)`.
    pub(crate) creds: Credentials,
    expires_at: SystemTime,
    /// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`: who the cluster will see.
    pub(crate) assumed_arn: String,
    /// The role it was assumed from; a profile pointing at another role ignores it.
    pub(crate) role_arn: String,
}

/// How much life a session has left at some moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Freshness {
    /// At least `REFRESH_MARGIN` left.
    Fresh {
        left: Duration,
    },
    /// Still valid, but for less than `REFRESH_MARGIN`.
    EndsSoon {
        left: Duration,
    },
    Expired,
}

impl Session {
    pub(crate) fn new(
        access_key_id: String,
        secret_access_key: Secret<String>,
        session_token: Secret<String>,
        expires_at: SystemTime,
        assumed_arn: String,
        role_arn: String,
    ) -> Self {
        Session {
            creds: Credentials {
                access_key_id,
                secret_access_key,
                session_token: Some(session_token),
                expires_at: Some(expires_at),
            },
            expires_at,
            assumed_arn,
            role_arn,
        }
    }

    pub(crate) fn expires_at(&self) -> SystemTime {
        self.expires_at
    }

    pub(crate) fn freshness(&self, now: SystemTime) -> Freshness {
        match self.expires_at.duration_since(now) {
            Ok(left) if left >= REFRESH_MARGIN => Freshness::Fresh { left },
            Ok(left) if !left.is_zero() => Freshness::EndsSoon { left },
            _ => Freshness::Expired,
        }
    }

    /// Good for another `REFRESH_MARGIN` at `now`.
    #[cfg(test)]
    pub(crate) fn is_fresh(&self, now: SystemTime) -> bool {
        matches!(self.freshness(now), Freshness::Fresh { .. })
    }

    pub(crate) fn encode(&self) -> Secret<String> {
        let record = Record {
            v: RECORD_VERSION,
            role: self.role_arn.clone(),
            arn: self.assumed_arn.clone(),
            id: self.creds.access_key_id.clone(),
            sk: self.creds.secret_access_key.expose().clone(),
            st: self
                .creds
                .session_token
                .as_ref()
                .map(|t| t.expose().clone())
                .unwrap_or_default(),
            exp: unix_seconds(self.expires_at),
        };
        Secret::new(serde_json::to_string(&record).unwrap_or_default())
    }

    /// `None` for anything that is not a complete record of ours (damaged, truncated, foreign).
    pub(crate) fn decode(text: &str) -> Option<Session> {
        let r: Record = serde_json::from_str(text).ok()?;
        if r.v != RECORD_VERSION
            || r.id.is_empty()
            || r.sk.is_empty()
            || r.st.is_empty()
            || r.exp > MAX_EXPIRY
        {
            return None;
        }
        Some(Session::new(
            r.id,
            Secret::new(r.sk),
            Secret::new(r.st),
            from_unix(r.exp),
            r.arn,
            r.role,
        ))
    }
}

/// The stored form: compact (Windows Credential Manager holds at most 2560 bytes) and
/// versioned so a foreign or older record is recognised as such.
#[derive(serde::Serialize, serde::Deserialize)]
struct Record {
    v: u8,
    role: String,
    arn: String,
    id: String,
    sk: String,
    st: String,
    exp: u64,
}

const RECORD_VERSION: u8 = 1;
/// 9999-12-31T23:59:59Z: anything later is damage, not an expiry (and would overflow
/// the date arithmetic).
pub(crate) const MAX_EXPIRY: u64 = 253_402_300_799;

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn session(exp: u64) -> Session {
        Session::new(
            "ASIAEXAMPLE".into(),
            Secret::new("sk".into()),
            Secret::new("st".into()),
            from_unix(exp),
            "arn:aws:sts::1:assumed-role/eks-operator/A".into(),
            "arn:aws:iam::1:role/eks-operator".into(),
        )
    }

    #[test]
    fn record_round_trips_and_rejects_damage() {
        let s = session(2_000_000_000);
        let text = s.encode();
        let back = Session::decode(text.expose()).unwrap();
        assert_eq!(back.creds.access_key_id, "ASIAEXAMPLE");
        assert_eq!(back.expires_at(), s.expires_at());
        assert_eq!(back.creds.expires_at, Some(s.expires_at()));
        assert_eq!(back.role_arn, s.role_arn);
        let full = text.expose();
        assert!(Session::decode(&full[..full.len() / 2]).is_none());
        assert!(Session::decode("garbage").is_none());
        assert!(
            Session::decode(r#"{"v":9,"role":"","arn":"","id":"a","sk":"b","st":"c","exp":1}"#)
                .is_none()
        );
    }

    #[test]
    fn a_realistic_record_fits_windows_credential_manager() {
        // Assumed-role session tokens run to ~1,000 characters (more with session tags).
        let s = Session::new(
            "ASIAEXAMPLE".into(),
            Secret::new("x".repeat(40)),
            Secret::new("IQoJb3JpZ2luX2VjE".repeat(80)),
            from_unix(2_000_000_000),
            "arn:aws:sts::111122223333:assumed-role/eks-operator/alice.smith@example.com".into(),
            "arn:aws:iam::111122223333:role/eks-operator".into(),
        );
        let len = s.encode().expose().len();
        assert!(len < 2560, "{len} bytes");
    }

    #[test]
    fn fresh_means_fifteen_minutes_left() {
        let s = session(10_000);
        assert!(s.is_fresh(from_unix(10_000 - 900)));
        assert!(!s.is_fresh(from_unix(10_000 - 899)));
        assert_eq!(
            s.freshness(from_unix(10_000 - 60)),
            Freshness::EndsSoon {
                left: Duration::from_secs(60)
            }
        );
        assert_eq!(s.freshness(from_unix(10_000)), Freshness::Expired);
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn record_decoding_never_panics(text in ".*") {
            let _ = Session::decode(&text);
        }

        #[test]
        fn truncated_records_are_rejected(cut in 0usize..200) {
            let full = tests::session(2_000_000_000).encode().into_inner();
            let cut = cut.min(full.len() - 1);
            prop_assert!(Session::decode(&full[..cut]).is_none());
        }
    }
}
