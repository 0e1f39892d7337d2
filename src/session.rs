//! AWS credentials as the rest of the program sees them, and the freshness rule.
//!
//! Pure data: no I/O, no clock (callers pass `now`).

use std::fmt;
use std::time::{Duration, SystemTime};

use crate::secret::Secret;

/// An access key pair, optionally temporary (session token + expiry).
#[derive(Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: Secret<String>,
    pub session_token: Option<Secret<String>>,
    pub expires_at: Option<SystemTime>,
}

impl Credentials {
    /// Whether these credentials stay valid for at least `margin` after `now`.
    /// Credentials without an expiry (long-term keys) are always fresh.
    pub fn is_fresh(&self, now: SystemTime, margin: Duration) -> bool {
        self.expires_at.is_none_or(|exp| now + margin <= exp)
    }
}

/// The access key id is not secret, but only its tail is needed to tell keys apart in logs.
pub fn key_id_for_display(access_key_id: &str) -> String {
    let tail: String = access_key_id
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("****{tail}")
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &key_id_for_display(&self.access_key_id))
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(expires_at: Option<SystemTime>) -> Credentials {
        Credentials {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into()),
            session_token: Some(Secret::new("token-value".into())),
            expires_at,
        }
    }

    #[test]
    fn freshness_boundary_is_inclusive() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let margin = Duration::from_secs(900);
        assert!(creds(Some(now + margin)).is_fresh(now, margin));
        assert!(!creds(Some(now + margin - Duration::from_secs(1))).is_fresh(now, margin));
        assert!(creds(None).is_fresh(now, margin));
    }

    #[test]
    fn debug_shows_no_secret() {
        let text = format!("{:?}", creds(None));
        assert!(
            !text.contains("EXAMPLEKEY") && !text.contains("token-value"),
            "{text}"
        );
        assert!(text.contains("****MPLE"), "{text}");
    }
}

/// A session needs this much life left to be used: a token signed with it lives 15 minutes.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(15 * 60);

/// An assumed eks-operator role session, as stored.
#[derive(Debug, Clone)]
pub struct Session {
    pub creds: Credentials,
    /// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`: who the cluster will see.
    pub assumed_arn: String,
    /// The role it was assumed from; a profile pointing at another role ignores it.
    pub role_arn: String,
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
pub const MAX_EXPIRY: u64 = 253_402_300_799;

impl Session {
    pub fn expires_at(&self) -> SystemTime {
        self.creds.expires_at.unwrap_or(SystemTime::UNIX_EPOCH)
    }

    /// Good for another `REFRESH_MARGIN` at `now`.
    pub fn is_fresh(&self, now: SystemTime) -> bool {
        self.creds.expires_at.is_some() && self.creds.is_fresh(now, REFRESH_MARGIN)
    }

    pub fn encode(&self) -> Secret<String> {
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
            exp: unix_seconds(self.expires_at()),
        };
        Secret::new(serde_json::to_string(&record).unwrap_or_default())
    }

    /// `None` for anything that is not a complete record of ours (damaged, truncated, foreign).
    pub fn decode(text: &str) -> Option<Session> {
        let r: Record = serde_json::from_str(text).ok()?;
        if r.v != RECORD_VERSION
            || r.id.is_empty()
            || r.sk.is_empty()
            || r.st.is_empty()
            || r.exp > MAX_EXPIRY
        {
            return None;
        }
        Some(Session {
            creds: Credentials {
                access_key_id: r.id,
                secret_access_key: Secret::new(r.sk),
                session_token: Some(Secret::new(r.st)),
                expires_at: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(r.exp)),
            },
            assumed_arn: r.arn,
            role_arn: r.role,
        })
    }
}

pub fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `1h05m`, `12h00m`, `7m`: a remaining lifetime for people.
pub fn human_duration(d: Duration) -> String {
    let mins = d.as_secs() / 60;
    match (mins / 60, mins % 60) {
        (0, m) => format!("{m}m"),
        (h, 0) => format!("{h}h"),
        (h, m) => format!("{h}h{m:02}m"),
    }
}

#[cfg(test)]
mod session_tests {
    use super::*;

    fn session(exp: u64) -> Session {
        Session {
            creds: Credentials {
                access_key_id: "ASIAEXAMPLE".into(),
                secret_access_key: Secret::new("sk".into()),
                session_token: Some(Secret::new("st".into())),
                expires_at: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(exp)),
            },
            assumed_arn: "arn:aws:sts::1:assumed-role/eks-operator/A".into(),
            role_arn: "arn:aws:iam::1:role/eks-operator".into(),
        }
    }

    #[test]
    fn record_round_trips_and_rejects_damage() {
        let s = session(2_000_000_000);
        let text = s.encode();
        let back = Session::decode(text.expose()).unwrap();
        assert_eq!(back.creds.access_key_id, "ASIAEXAMPLE");
        assert_eq!(back.expires_at(), s.expires_at());
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
        let mut s = session(2_000_000_000);
        s.creds.session_token = Some(Secret::new("IQoJb3JpZ2luX2VjE".repeat(80)));
        s.creds.secret_access_key = Secret::new("x".repeat(40));
        s.assumed_arn =
            "arn:aws:sts::111122223333:assumed-role/eks-operator/alice.smith@example.com".into();
        assert!(
            s.encode().expose().len() < 2560,
            "{} bytes",
            s.encode().expose().len()
        );
    }

    #[test]
    fn fresh_means_fifteen_minutes_left() {
        let s = session(10_000);
        let at = |t: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(t);
        assert!(s.is_fresh(at(10_000 - 900)));
        assert!(!s.is_fresh(at(10_000 - 899)));
    }

    #[test]
    fn durations_for_people() {
        assert_eq!(human_duration(Duration::from_secs(43_200)), "12h");
        assert_eq!(human_duration(Duration::from_secs(3_900)), "1h05m");
        assert_eq!(human_duration(Duration::from_secs(420)), "7m");
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
            let s = Session {
                creds: Credentials {
                    access_key_id: "ASIAEXAMPLE".into(),
                    secret_access_key: Secret::new("sk".into()),
                    session_token: Some(Secret::new("st".repeat(50))),
                    expires_at: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000_000)),
                },
                assumed_arn: "arn:aws:sts::1:assumed-role/r/a".into(),
                role_arn: "arn:aws:iam::1:role/r".into(),
            };
            let full = s.encode().into_inner();
            let cut = cut.min(full.len() - 1);
            prop_assert!(Session::decode(&full[..cut]).is_none());
        }
    }
}
