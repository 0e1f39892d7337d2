//! An assumed eks-operator role session, what it was made from, and its stored form. Pure
//! data: no I/O, no clock.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::credentials::Credentials;
use crate::secret::Secret;
use crate::timefmt::{from_unix, from_unix_millis, unix_millis, unix_seconds};

/// A session needs this much life left to be used: a token signed with it lives 15 minutes.
pub(crate) const REFRESH_MARGIN: Duration = Duration::from_secs(15 * 60);

/// What a session was made from. A profile that no longer reads the same way never gets
/// the session: it belongs to the identity that made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Origin {
    pub(crate) role_arn: String,
    pub(crate) source_profile: String,
    pub(crate) mfa_serial: String,
    /// The name the cluster and CloudTrail know the session by.
    pub(crate) session_name: String,
    /// The source credentials: `key:<access key id>` for a key pair (the id is not
    /// secret), `config:<hash>` for a source profile whose keys come from elsewhere (a
    /// hash of the settings that decide them, along its chain of source profiles).
    pub(crate) source: String,
    /// `aws`, `aws-cn`, …: the STS partition (any region of it).
    pub(crate) partition: String,
}

/// An assumed eks-operator role session. It always has an expiry.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    /// The session's keys; `creds.expires_at` is always `Some(expires_at)`.
    pub(crate) creds: Credentials,
    expires_at: SystemTime,
    pub(crate) issued_at: SystemTime,
    /// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`: who the cluster will see.
    pub(crate) assumed_arn: String,
    /// The profile it is stored for (the store's key is a hash of it).
    pub(crate) profile: String,
    pub(crate) origin: Origin,
    /// The SourceIdentity AWS recorded on the session (the IAM user name), if one was set.
    pub(crate) source_identity: Option<String>,
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

/// The keys and lifetime of a session as STS returned them.
#[derive(Debug)]
pub(crate) struct Keys {
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: Secret<String>,
    pub(crate) session_token: Secret<String>,
    pub(crate) issued_at: SystemTime,
    pub(crate) expires_at: SystemTime,
}

impl Session {
    pub(crate) fn new(keys: Keys, assumed_arn: String, profile: String, origin: Origin) -> Self {
        Session {
            creds: Credentials {
                access_key_id: keys.access_key_id,
                secret_access_key: keys.secret_access_key,
                session_token: Some(keys.session_token),
                expires_at: Some(keys.expires_at),
            },
            expires_at: keys.expires_at,
            issued_at: keys.issued_at,
            assumed_arn,
            profile,
            origin,
            source_identity: None,
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

    pub(crate) fn encode(&self) -> Secret<String> {
        let record = Record {
            v: RECORD_VERSION,
            profile: self.profile.clone(),
            origin: self.origin.clone(),
            arn: self.assumed_arn.clone(),
            id: self.creds.access_key_id.clone(),
            sk: self.creds.secret_access_key.expose().clone(),
            st: self
                .creds
                .session_token
                .as_ref()
                .map(|t| t.expose().clone())
                .unwrap_or_default(),
            iat: unix_seconds(self.issued_at),
            ims: Some(unix_millis(self.issued_at)),
            exp: unix_seconds(self.expires_at),
            si: self.source_identity.clone(),
        };
        Secret::new(serde_json::to_string(&record).unwrap_or_default())
    }

    /// `None` for anything that is not a complete record of ours (damaged, truncated,
    /// foreign, or written by an older eksop-auth, which did not record its origin).
    pub(crate) fn decode(text: &str) -> Option<Session> {
        let r: Record = serde_json::from_str(text).ok()?;
        if r.v != RECORD_VERSION
            || r.id.is_empty()
            || r.sk.is_empty()
            || r.st.is_empty()
            || r.profile.is_empty()
            || r.exp > MAX_EXPIRY
            || r.iat > r.exp
            || r.ims.is_some_and(|ms| ms / 1000 != r.iat)
            || r.si
                .as_deref()
                .is_some_and(|si| crate::identity::invalid_name(si).is_some())
        {
            return None;
        }
        let keys = Keys {
            access_key_id: r.id,
            secret_access_key: Secret::new(r.sk),
            session_token: Secret::new(r.st),
            issued_at: r.ims.map_or_else(|| from_unix(r.iat), from_unix_millis),
            expires_at: from_unix(r.exp),
        };
        let mut session = Session::new(keys, r.arn, r.profile, r.origin);
        session.source_identity = r.si;
        Some(session)
    }
}

/// The stored form: compact (Windows Credential Manager holds at most 2560 bytes) and
/// versioned so a foreign or older record is recognised as such.
#[derive(Serialize, Deserialize)]
struct Record {
    v: u8,
    profile: String,
    origin: Origin,
    arn: String,
    id: String,
    sk: String,
    st: String,
    iat: u64,
    /// `iat` in milliseconds, to order it against a logout in the same second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ims: Option<u64>,
    exp: u64,
    /// SourceIdentity, when one was set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    si: Option<String>,
}

/// 2: the record names its profile and origin.
const RECORD_VERSION: u8 = 2;
/// 9999-12-31T23:59:59Z: anything later is damage, not an expiry (and would overflow
/// the date arithmetic).
pub(crate) const MAX_EXPIRY: u64 = 253_402_300_799;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn origin() -> Origin {
        Origin {
            role_arn: "arn:aws:iam::1:role/eks-operator".into(),
            source_profile: "src".into(),
            mfa_serial: "arn:aws:iam::1:mfa/A".into(),
            session_name: "A".into(),
            source: "key:AKIASOURCE".into(),
            partition: "aws".into(),
        }
    }

    pub(crate) fn session(exp: u64) -> Session {
        let keys = Keys {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: Secret::new("sk".into()),
            session_token: Secret::new("st".into()),
            issued_at: from_unix(exp.saturating_sub(43_200)),
            expires_at: from_unix(exp),
        };
        Session::new(
            keys,
            "arn:aws:sts::1:assumed-role/eks-operator/A".into(),
            "op".into(),
            origin(),
        )
    }

    #[test]
    fn record_round_trips_and_rejects_damage() {
        let s = session(2_000_000_000);
        let text = s.encode();
        let back = Session::decode(text.expose()).unwrap();
        assert_eq!(back.creds.access_key_id, "ASIAEXAMPLE");
        assert_eq!(back.expires_at(), s.expires_at());
        assert_eq!(back.issued_at, s.issued_at);
        assert_eq!(back.creds.expires_at, Some(s.expires_at()));
        assert_eq!((back.profile.as_str(), &back.origin), ("op", &origin()));
        let full = text.expose();
        assert!(Session::decode(&full[..full.len() / 2]).is_none());
        assert!(Session::decode("garbage").is_none());
        // What eksop-auth wrote before it recorded the origin.
        assert!(
            Session::decode(r#"{"v":1,"role":"r","arn":"","id":"a","sk":"b","st":"c","exp":1}"#)
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
        s.profile = "p".repeat(64);
        let len = s.encode().expose().len();
        assert!(len < 2560, "{len} bytes");
    }

    #[test]
    fn fresh_means_fifteen_minutes_left() {
        let s = session(10_000);
        let at = from_unix;
        assert!(matches!(
            s.freshness(at(10_000 - 900)),
            Freshness::Fresh { .. }
        ));
        assert!(matches!(
            s.freshness(at(10_000 - 899)),
            Freshness::EndsSoon { .. }
        ));
        assert_eq!(
            s.freshness(at(10_000 - 60)),
            Freshness::EndsSoon {
                left: Duration::from_secs(60)
            }
        );
        assert_eq!(s.freshness(at(10_000)), Freshness::Expired);
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
        fn truncated_records_are_rejected(cut in 0usize..400) {
            let full = tests::session(2_000_000_000).encode().into_inner();
            let cut = cut.min(full.len() - 1);
            prop_assert!(Session::decode(&full[..cut]).is_none());
        }
    }
}
