//! One keyring-core store (Secret Service, keyutils, Keychain, Credential Manager), and
//! `Bounded`, which gives every call on it a deadline.

use std::sync::Arc;
#[cfg(target_os = "linux")]
use std::time::Duration;

use std::collections::HashMap;

use keyring_core::{CredentialStore, Entry};

use crate::error::{Error, Result};
use crate::secret::Secret;

use super::{Backend, SERVICE, SecretStore};

/// A kernel key's description: this, the installation (a hash of the cache dir: the
/// kernel keyring is shared by every process of the user, whatever its HOME), `:`, then
/// the record key.
pub(crate) const KERNEL_KEY_PREFIX: &str = "eksop-auth:session:";

/// `.` and the other regular-expression characters, escaped.
fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let special = r"\.+*?()|[]{}^$".contains(c);
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect()
}

/// How a store that cannot search lists its keys, given its description prefix.
type Lister = fn(&str) -> Result<Vec<String>>;

pub(crate) struct KeyringStore {
    backend: Backend,
    store: Arc<CredentialStore>,
    /// For the kernel keyring: the description prefix, and how to list keys with it.
    kernel: Option<(String, Lister)>,
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
        KeyringStore {
            backend,
            store,
            kernel: None,
        }
    }

    /// For the kernel keyring: keys described `<prefix><key>`, listed by `lister`.
    #[cfg(target_os = "linux")]
    pub(crate) fn kernel(mut self, prefix: String, lister: Lister) -> Self {
        self.kernel = Some((prefix, lister));
        self
    }

    fn entry(&self, key: &str, label: Option<&str>) -> Result<Entry> {
        let description = match &self.kernel {
            Some((prefix, _)) => format!("{prefix}{key}"),
            None => format!("{KERNEL_KEY_PREFIX}{key}"),
        };
        // keyutils names a key by its description; Secret Service shows a label; the
        // others name items by service + user alone.
        let mods = match (self.backend, label) {
            (Backend::Keyutils, _) => HashMap::from([("description", description.as_str())]),
            (Backend::SecretService, Some(l)) => HashMap::from([("label", l)]),
            _ => HashMap::new(),
        };
        Entry::new_in_store_with_modifiers(&self.store, SERVICE, key, &mods)
            .map_err(|e| self.error("open", &e))
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
        match self.entry(key, None)?.get_secret() {
            Ok(bytes) => Ok(Some(Secret::new(
                String::from_utf8_lossy(&bytes).into_owned(),
            ))),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(self.error("read", &e)),
        }
    }

    fn set(&self, key: &str, value: &Secret<String>, label: &str) -> Result<()> {
        self.entry(key, Some(label))?
            .set_secret(value.expose().as_bytes())
            .map_err(|e| self.error("write", &e))
    }

    fn delete(&self, key: &str) -> Result<()> {
        match self.entry(key, None)?.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(self.error("delete", &e)),
        }
    }

    fn keys(&self) -> Result<Vec<String>> {
        if let Some((prefix, list)) = &self.kernel {
            return list(prefix);
        }
        // Each platform's store takes its own search: attributes for Secret Service and
        // Keychain, a pattern over target names (`<user>.<service>`) for Windows.
        let pattern = format!(r"^.*\.{}$", regex_escape(SERVICE));
        let spec: HashMap<&str, &str> = match self.backend {
            Backend::CredentialManager => HashMap::from([("pattern", pattern.as_str())]),
            _ => HashMap::from([("service", SERVICE)]),
        };
        let found =
            Entry::search_in_store(&self.store, &spec).map_err(|e| self.error("search", &e))?;
        let mut keys = Vec::new();
        for entry in &found {
            // An item whose names cannot be read is a copy we cannot account for: say so.
            let (service, user) = match entry.get_specifiers() {
                Some(pair) => pair,
                None => {
                    let mut a = entry
                        .get_attributes()
                        .map_err(|e| self.error("search", &e))?;
                    (
                        a.remove("service").unwrap_or_default(),
                        a.remove("username").unwrap_or_default(),
                    )
                }
            };
            if service == SERVICE && !user.is_empty() {
                keys.push(user);
            }
        }
        keys.sort();
        keys.dedup();
        Ok(keys)
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

    fn set(&self, key: &str, value: &Secret<String>, label: &str) -> Result<()> {
        let (key, value, label) = (key.to_string(), value.clone(), label.to_string());
        self.call("write", move |s| s.set(&key, &value, &label))
    }

    fn delete(&self, key: &str) -> Result<()> {
        let key = key.to_string();
        self.call("delete", move |s| s.delete(&key))
    }

    fn keys(&self) -> Result<Vec<String>> {
        self.call("search", |s| s.keys())
    }
}
