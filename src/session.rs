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
