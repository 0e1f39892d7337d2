//! Where session records live. `SecretStore` is the one interface; the backends are the file
//! store, the OS keyrings (through keyring-core), decorators that bound or layer them, and an
//! in-memory store for tests. `Stores` is the seam `Ctx` holds: the choice is made once per
//! process and the store is opened at most once.
//!
//! Every record is filed under a fixed-length key derived from its profile (`record_key`),
//! with the profile name inside the record, so any profile name works everywhere:
//! - Secret Service / Keychain / Credential Manager: service `eksop-auth`, user = the key,
//!   label `eksop-auth session for profile <profile>` (`secret-tool search service
//!   eksop-auth`);
//! - kernel keyring: a `user` key described `eksop-auth:session:<key>`, linked into the
//!   persistent keyring so later processes of the same user find it (`keyctl show @u`);
//! - file store (`EKSOP_AUTH_STORE=file`): `<cache>/eksop-auth/store/<key>.json`, 0600.
//!
//! `eksop-auth status` lists them by profile.
//!
//! This module and its children are the only code that imports keyring-core or touches the
//! store's files.

mod file;
mod keyring;
// Secret Service behind the kernel keyring: only Linux has both.
#[cfg(target_os = "linux")]
mod layered;
#[cfg(test)]
mod memory;
mod platform;

use std::cell::OnceCell;
use std::fmt;
#[cfg(test)]
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::cache::CacheDir;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::secret::Secret;

pub(crate) use file::FileStore;
#[cfg(test)]
pub(crate) use memory::MemoryStore;

pub(crate) const SERVICE: &str = "eksop-auth";

/// A kind of store, for people and for the metadata beside a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Backend {
    File,
    SecretService,
    Keyutils,
    Keychain,
    CredentialManager,
    Memory,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::File => "file",
            Backend::SecretService => "secret-service",
            Backend::Keyutils => "keyutils",
            Backend::Keychain => "keychain",
            Backend::CredentialManager => "credential-manager",
            Backend::Memory => "memory",
        })
    }
}

impl Backend {
    /// Durable stores first, hot caches last (how people read a list of them).
    fn rank(self) -> u8 {
        match self {
            Backend::SecretService | Backend::Keychain | Backend::CredentialManager => 0,
            Backend::File => 1,
            Backend::Keyutils => 2,
            Backend::Memory => 3,
        }
    }
}

/// `secret-service+keyutils`: the backends a record is kept in, durable first, for people.
pub(crate) fn describe(backends: &[Backend]) -> String {
    let mut sorted = backends.to_vec();
    sorted.sort_by_key(|b| b.rank());
    sorted
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("+")
}

/// The key a profile's session is filed under in every store, the metadata and the lock.
pub(crate) fn record_key(profile: &str) -> String {
    crate::cache::key(&["session", profile])
}

/// What a person sees for a record in a keyring's own tools.
pub(crate) fn record_label(profile: &str) -> String {
    format!("{SERVICE} session for profile {profile}")
}

/// One place secrets can be kept.
pub(crate) trait SecretStore {
    /// Where a record written now lands (a layered store: durable first, then hot).
    fn backends(&self) -> Vec<Backend>;
    fn get(&self, key: &str) -> Result<Option<Secret<String>>>;
    /// Stores `value` under `key`; `label` is what a keyring's own tools show.
    fn set(&self, key: &str, value: &Secret<String>, label: &str) -> Result<()>;
    fn delete(&self, key: &str) -> Result<()>;
    /// Every key this store holds a record under (found in the store itself).
    fn keys(&self) -> Result<Vec<String>>;
}

/// A store `logout` and `status` must look in, or why it could not be opened.
pub(crate) type Reach = std::result::Result<Box<dyn SecretStore>, (Backend, String)>;

/// Which backend `EKSOP_AUTH_STORE` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoreChoice {
    /// The OS keyring (the default).
    Keyring,
    /// A plain 0600 file, only when asked for explicitly.
    File,
}

impl StoreChoice {
    pub(crate) fn from_env(env: &Env) -> Result<Self> {
        match env
            .get("EKSOP_AUTH_STORE")
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("keyring") => Ok(StoreChoice::Keyring),
            Some("file") => Ok(StoreChoice::File),
            Some(other) => Err(Error::Config(format!(
                "EKSOP_AUTH_STORE=`{other}` is not a store; set it to `keyring` (the default) or \
                 `file`"
            ))),
        }
    }
}

/// The store seam: the real stores `EKSOP_AUTH_STORE` chose, or one in-memory store shared
/// by a test's commands. The session store is opened on first use and kept.
pub(crate) struct Stores {
    kind: Kind,
    opened: OnceCell<std::result::Result<Box<dyn SecretStore>, OpenError>>,
}

enum Kind {
    Real(std::result::Result<StoreChoice, String>),
    #[cfg(test)]
    Memory(Arc<MemoryStore>),
    #[cfg(test)]
    Custom(Arc<dyn SecretStore>),
}

/// Why the store could not be opened (kept, so a second use does not probe again).
#[derive(Debug, Clone)]
enum OpenError {
    Config(String),
    NoKeyring(String),
    Store(Backend, String),
    Other(String),
}

impl From<Error> for OpenError {
    fn from(e: Error) -> Self {
        match e {
            Error::Config(m) => OpenError::Config(m),
            Error::NoKeyring { detail } => OpenError::NoKeyring(detail),
            Error::Store { backend, detail } => OpenError::Store(backend, detail),
            other => OpenError::Other(other.to_string()),
        }
    }
}

impl From<OpenError> for Error {
    fn from(e: OpenError) -> Self {
        match e {
            OpenError::Config(m) => Error::Config(m),
            OpenError::NoKeyring(detail) => Error::NoKeyring { detail },
            OpenError::Store(backend, detail) => Error::Store { backend, detail },
            OpenError::Other(m) => Error::Internal(m),
        }
    }
}

impl fmt::Debug for Stores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            Kind::Real(_) => "Stores::Real",
            #[cfg(test)]
            Kind::Memory(_) => "Stores::Memory",
            #[cfg(test)]
            Kind::Custom(_) => "Stores::Custom",
        })
    }
}

impl Stores {
    /// The real stores, as `EKSOP_AUTH_STORE` chooses (read once, here).
    pub(crate) fn real(env: &Env) -> Self {
        Stores {
            kind: Kind::Real(StoreChoice::from_env(env).map_err(|e| e.to_string())),
            opened: OnceCell::new(),
        }
    }

    /// A test's own store (e.g. one that fails in a particular way).
    #[cfg(test)]
    pub(crate) fn custom(store: Arc<dyn SecretStore>) -> Self {
        Stores {
            kind: Kind::Custom(store),
            opened: OnceCell::new(),
        }
    }

    #[cfg(test)]
    pub(crate) fn memory(store: Arc<MemoryStore>) -> Self {
        Stores {
            kind: Kind::Memory(store),
            opened: OnceCell::new(),
        }
    }

    /// The store sessions are read from and written to, opened on first use.
    pub(crate) fn session_store(&self, env: &Env, cache: &CacheDir) -> Result<&dyn SecretStore> {
        let opened = self.opened.get_or_init(|| {
            let store: Result<Box<dyn SecretStore>> = match &self.kind {
                #[cfg(test)]
                Kind::Memory(m) => Ok(Box::new(m.clone())),
                #[cfg(test)]
                Kind::Custom(c) => Ok(Box::new(c.clone())),
                Kind::Real(Err(e)) => Err(Error::Config(e.clone())),
                Kind::Real(Ok(StoreChoice::File)) => Ok(Box::new(FileStore::new(cache.clone()))),
                Kind::Real(Ok(StoreChoice::Keyring)) => platform::open_keyring(env),
            };
            store.map_err(OpenError::from)
        });
        match opened {
            Ok(s) => Ok(s.as_ref()),
            Err(e) => Err(e.clone().into()),
        }
    }

    /// Every store that may hold a copy, each on its own (for `logout` and `status`): the
    /// file store and each keyring of this platform, whichever is chosen now — or why it
    /// could not be opened here.
    pub(crate) fn every(&self, env: &Env, cache: &CacheDir) -> Vec<Reach> {
        match &self.kind {
            #[cfg(test)]
            Kind::Memory(m) => vec![Ok(Box::new(m.clone()))],
            #[cfg(test)]
            Kind::Custom(c) => vec![Ok(Box::new(c.clone()))],
            Kind::Real(_) => {
                let mut all: Vec<Reach> = vec![Ok(Box::new(FileStore::new(cache.clone())))];
                all.extend(platform::every_keyring(env));
                all
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod contract {
    use super::*;

    /// What every store must do.
    pub(crate) fn check(store: &dyn SecretStore) {
        let (p, q) = (record_key("p"), record_key("q"));
        assert!(store.get(&p).unwrap().is_none());
        store.set(&p, &Secret::new("one".into()), "l").unwrap();
        store.set(&p, &Secret::new("two".into()), "l").unwrap();
        assert_eq!(store.get(&p).unwrap().unwrap().expose(), "two");
        assert!(store.get(&q).unwrap().is_none());
        assert_eq!(store.keys().unwrap(), std::slice::from_ref(&p));
        store.delete(&p).unwrap();
        assert!(store.keys().unwrap().is_empty());
        store.delete(&p).unwrap();
        assert!(store.get(&p).unwrap().is_none());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_choice_from_env() {
        let env = |v: &str| Env::from_pairs([("EKSOP_AUTH_STORE", v)]);
        assert_eq!(
            StoreChoice::from_env(&env("file")).unwrap(),
            StoreChoice::File
        );
        assert_eq!(
            StoreChoice::from_env(&env("KEYRING")).unwrap(),
            StoreChoice::Keyring
        );
        assert_eq!(
            StoreChoice::from_env(&Env::default()).unwrap(),
            StoreChoice::Keyring
        );
        assert!(
            StoreChoice::from_env(&env("vault"))
                .unwrap_err()
                .to_string()
                .contains("`file`")
        );
    }

    #[test]
    fn backends_read_as_their_names() {
        assert_eq!(
            describe(&[Backend::SecretService, Backend::Keyutils]),
            "secret-service+keyutils"
        );
        assert_eq!(
            serde_json::to_string(&Backend::CredentialManager).unwrap(),
            "\"credential-manager\""
        );
    }
}
