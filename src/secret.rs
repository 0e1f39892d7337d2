//! `Secret<T>`: a value that must never be printed. It owns nothing else.
//!
//! There is no `Display`; `Debug` prints a marker; `expose()` is the one way to read it, so
//! every place a secret leaves the type is greppable.

use std::fmt;

/// A secret value (secret access key, session token, MFA code, bearer token):
/// `format!("{:?}", Secret::new("hunter2"))` is `Secret(<redacted>)`.
#[derive(Clone, PartialEq, Eq, Default)]
pub(crate) struct Secret<T>(T);

impl<T> Secret<T> {
    pub(crate) fn new(value: T) -> Self {
        Self(value)
    }

    /// Reads the secret. Call this only where the value is sent where it belongs
    /// (a signature, the protocol output, the store).
    pub(crate) fn expose(&self) -> &T {
        &self.0
    }

    #[cfg(test)]
    pub(crate) fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Self(value)
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("AKIA-secret-value".to_string());
        assert!(!format!("{s:?} {s:#?}").contains("secret-value"));
    }
}
