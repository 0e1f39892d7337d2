//! AWS credentials as the rest of the program sees them. Pure data: no I/O, no clock.

use std::fmt;
use std::time::SystemTime;

use crate::secret::Secret;

/// An access key pair, optionally temporary (session token + expiry).
#[derive(Clone)]
pub(crate) struct Credentials {
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: Secret<String>,
    pub(crate) session_token: Option<Secret<String>>,
    pub(crate) expires_at: Option<SystemTime>,
}

/// The access key id is not secret, but only its tail is needed to tell keys apart in logs.
pub(crate) fn key_id_for_display(access_key_id: &str) -> String {
    let skip = access_key_id.chars().count().saturating_sub(4);
    let tail: String = access_key_id.chars().skip(skip).collect();
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
    use std::time::SystemTime;

    fn creds(expires_at: Option<SystemTime>) -> Credentials {
        Credentials {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into()),
            session_token: Some(Secret::new("token-value".into())),
            expires_at,
        }
    }

    #[test]
    fn debug_shows_no_secret() {
        let text = format!("{:?}", creds(None));
        assert!(
            !text.contains("EXAMPLEKEY") && !text.contains("token-value"),
            "{text}"
        );
        assert!(text.contains("****MPLE"), "{text}");
        assert_eq!(key_id_for_display("ab"), "****ab");
    }
}
