//! One keyring-core store (Secret Service, keyutils, Keychain, Credential Manager), and
//! `Bounded`, which gives every call on it a deadline.

use std::sync::Arc;
#[cfg(target_os = "linux")]
use std::time::Duration;

use keyring_core::{CredentialStore, Entry};

use crate::error::{Error, Result};
use crate::secret::Secret;

use super::{Backend, SERVICE, SecretStore};

pub(crate) struct KeyringStore {
    backend: Backend,
    store: Arc<CredentialStore>,
}

impl std::fmt::Debug for KeyringStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyringStore")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl KeyringStore {
    pub(crate) fn new(backend: Backend, store: Arc<CredentialStore>) -> Self {
        KeyringStore { backend, store }
    }

    fn entry(&self, key: &str) -> Result<Entry> {
        let description = format!("{SERVICE}:session:{key}");
        let mods = std::collections::HashMap::from([("description", description.as_str())]);
        // Only keyutils knows the `description` modifier; the others name items by
        // service + user alone.
        let built = if self.backend == Backend::Keyutils {
            Entry::new_in_store_with_modifiers(&self.store, SERVICE, key, &mods)
        } else {
            Entry::new_in_store(&self.store, SERVICE, key)
        };
        built.map_err(|e| self.error("open", &e))
    }

    fn error(&self, op: &str, e: &keyring_core::Error) -> Error {
        Error::Store {
            backend: self.backend,
            detail: format!("{op}: {e}"),
        }
    }
}

impl SecretStore for KeyringStore {
    fn backends(&self) -> Vec<Backend> {
        vec![self.backend]
    }

    fn get(&self, key: &str) -> Result<Option<Secret<String>>> {
        match self.entry(key)?.get_secret() {
            Ok(bytes) => Ok(Some(Secret::new(
                String::from_utf8_lossy(&bytes).into_owned(),
            ))),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(self.error("read", &e)),
        }
    }

    fn set(&self, key: &str, value: &Secret<String>) -> Result<()> {
        self.entry(key)?
            .set_secret(value.expose().as_bytes())
            .map_err(|e| self.error("write", &e))
    }

    fn delete(&self, key: &str) -> Result<()> {
        match self.entry(key)?.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(self.error("delete", &e)),
        }
    }
}

/// How long a keyring may take to answer one call (time enough to type an unlock password).
#[cfg(target_os = "linux")]
pub(crate) const KEYRING_DEADLINE: Duration = Duration::from_secs(30);

/// A keyring store whose calls run on a helper thread with a deadline. A locked Secret
/// Service can wait on an unlock dialog that nobody answers (a GUI-less session, or k9s
/// refreshing in the background); `token` must not hang on it. (Linux: Keychain and
/// Credential Manager answer locally.)
#[cfg(target_os = "linux")]
pub(crate) struct Bounded {
    inner: Arc<KeyringStore>,
    limit: Duration,
}

#[cfg(target_os = "linux")]
impl std::fmt::Debug for Bounded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bounded")
            .field("inner", &self.inner)
            .field("limit", &self.limit)
            .finish()
    }
}

#[cfg(target_os = "linux")]
impl Bounded {
    pub(crate) fn new(inner: KeyringStore, limit: Duration) -> Self {
        Bounded {
            inner: Arc::new(inner),
            limit,
        }
    }

    fn call<T: Send + 'static>(
        &self,
        what: &str,
        f: impl FnOnce(&KeyringStore) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let inner = self.inner.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f(&inner));
        });
        rx.recv_timeout(self.limit).unwrap_or_else(|_| {
            Err(Error::Store {
                backend: self.inner.backend,
                detail: format!(
                    "no answer to a {what} within {}s (a locked keyring waiting for its \
                     password?); unlock it, or set EKSOP_AUTH_STORE=file",
                    self.limit.as_secs()
                ),
            })
        })
    }
}

#[cfg(target_os = "linux")]
impl SecretStore for Bounded {
    fn backends(&self) -> Vec<Backend> {
        self.inner.backends()
    }

    fn get(&self, key: &str) -> Result<Option<Secret<String>>> {
        let key = key.to_string();
        self.call("read", move |s| s.get(&key))
    }

    fn set(&self, key: &str, value: &Secret<String>) -> Result<()> {
        let (key, value) = (key.to_string(), value.clone());
        self.call("write", move |s| s.set(&key, &value))
    }

    fn delete(&self, key: &str) -> Result<()> {
        let key = key.to_string();
        self.call("delete", move |s| s.delete(&key))
    }
}
