//! Where sessions live. The secret record goes to one `SecretStore` backend; non-secret
//! metadata (for `status`) and lock files live in the user cache dir whatever the backend.
//!
//! Naming, so a person can find the items:
//! - Secret Service / Keychain / Credential Manager: service `eksop-auth`, user = profile
//!   (`secret-tool search service eksop-auth`);
//! - kernel keyring: a `user` key described `eksop-auth:session:<profile>`, linked into the
//!   persistent keyring so later processes of the same user find it (`keyctl show @u`,
//!   `keyctl show $(keyctl get_persistent @s)`);
//! - file store (`EKSOP_AUTH_STORE=file`): `<cache>/eksop-auth/store/<profile>.json`, 0600.
//!
//! This is the only module that imports keyring-core or touches those files.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use keyring_core::{CredentialStore, Entry};

use crate::ctx::Env;
use crate::error::{Error, Result};
use crate::fsutil::{private_dir, read_optional, remove_optional, safe_name, write_atomic};
use crate::secret::Secret;

pub const SERVICE: &str = "eksop-auth";

/// One place secrets can be kept.
pub trait SecretStore {
    /// For people: `secret-service`, `keyutils`, `secret-service+keyutils`, `file`, …
    fn backend(&self) -> String;
    fn get(&self, profile: &str) -> Result<Option<Secret<String>>>;
    fn set(&self, profile: &str, value: &Secret<String>) -> Result<()>;
    fn delete(&self, profile: &str) -> Result<()>;
}

/// The user cache dir for eksop-auth: `$XDG_CACHE_HOME/eksop-auth` (`~/.cache/eksop-auth`),
/// `~/Library/Caches/eksop-auth` on macOS, `%LOCALAPPDATA%\eksop-auth` on Windows.
pub fn cache_dir(env: &Env) -> Result<PathBuf> {
    let base = if cfg!(windows) {
        env.path("LOCALAPPDATA")
    } else if cfg!(target_os = "macos") {
        env.home().map(|h| h.join("Library/Caches"))
    } else {
        env.path("XDG_CACHE_HOME")
            .filter(|p| p.is_absolute())
            .or_else(|| env.home().map(|h| h.join(".cache")))
    };
    base.map(|b| b.join(SERVICE)).ok_or_else(|| {
        Error::Config(
            "cannot find your cache directory: neither XDG_CACHE_HOME nor HOME is set; set HOME"
                .into(),
        )
    })
}

/// Which backend `EKSOP_AUTH_STORE` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreChoice {
    /// The OS keyring (the default).
    Keyring,
    /// A plain 0600 file, only when asked for explicitly.
    File,
}

impl StoreChoice {
    pub fn from_env(env: &Env) -> Result<Self> {
        match env
            .get("EKSOP_AUTH_STORE")
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("keyring") => Ok(StoreChoice::Keyring),
            Some("file") => Ok(StoreChoice::File),
            Some(other) => Err(Error::Config(format!(
                "EKSOP_AUTH_STORE=`{other}` is not a store; set it to `keyring` (the default) or `file`"
            ))),
        }
    }
}

/// Which stores a process uses: the real ones `EKSOP_AUTH_STORE` chooses, or one
/// in-memory store shared by a test's commands. Chosen in `Ctx`.
#[derive(Debug, Clone)]
pub enum Stores {
    Real,
    Memory(Arc<MemoryStore>),
}

impl Stores {
    /// The store sessions are read from and written to.
    pub fn open(&self, env: &Env) -> Result<Box<dyn SecretStore>> {
        match self {
            Stores::Real => open(env),
            Stores::Memory(m) => Ok(Box::new(SharedMemory(m.clone()))),
        }
    }

    /// Every store that may hold a copy (for `logout`).
    pub fn every(&self, env: &Env) -> Vec<Box<dyn SecretStore>> {
        match self {
            Stores::Real => every_backend(env),
            Stores::Memory(m) => vec![Box::new(SharedMemory(m.clone()))],
        }
    }
}

/// A handle on a test's shared `MemoryStore`.
#[derive(Debug)]
struct SharedMemory(Arc<MemoryStore>);

impl SecretStore for SharedMemory {
    fn backend(&self) -> String {
        self.0.backend()
    }
    fn get(&self, profile: &str) -> Result<Option<Secret<String>>> {
        self.0.get(profile)
    }
    fn set(&self, profile: &str, value: &Secret<String>) -> Result<()> {
        self.0.set(profile, value)
    }
    fn delete(&self, profile: &str) -> Result<()> {
        self.0.delete(profile)
    }
}

/// Opens the store `EKSOP_AUTH_STORE` chooses.
fn open(env: &Env) -> Result<Box<dyn SecretStore>> {
    match StoreChoice::from_env(env)? {
        StoreChoice::File => Ok(Box::new(FileStore::new(cache_dir(env)?.join("store")))),
        StoreChoice::Keyring => platform::open_keyring(env),
    }
}

/// `EKSOP_AUTH_STORE=file`: one JSON file per profile, 0600 in a 0700 directory.
#[derive(Debug)]
pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    pub fn new(dir: PathBuf) -> Self {
        FileStore { dir }
    }

    fn path(&self, profile: &str) -> PathBuf {
        self.dir.join(format!("{}.json", safe_name(profile)))
    }
}

impl SecretStore for FileStore {
    fn backend(&self) -> String {
        "file".into()
    }

    fn get(&self, profile: &str) -> Result<Option<Secret<String>>> {
        Ok(read_optional(&self.path(profile))?
            .map(|b| Secret::new(String::from_utf8_lossy(&b).into_owned())))
    }

    fn set(&self, profile: &str, value: &Secret<String>) -> Result<()> {
        private_dir(&self.dir)?;
        write_atomic(&self.path(profile), value.expose().as_bytes(), 0o600)
    }

    fn delete(&self, profile: &str) -> Result<()> {
        remove_optional(&self.path(profile))
    }
}

/// One keyring-core store (Secret Service, keyutils, Keychain, Credential Manager).
pub struct KeyringStore {
    name: &'static str,
    store: Arc<CredentialStore>,
}

impl std::fmt::Debug for KeyringStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyringStore")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl KeyringStore {
    pub fn new(name: &'static str, store: Arc<CredentialStore>) -> Self {
        KeyringStore { name, store }
    }

    fn entry(&self, profile: &str) -> Result<Entry> {
        let description = format!("{SERVICE}:session:{profile}");
        let mods = std::collections::HashMap::from([("description", description.as_str())]);
        // Only keyutils knows the `description` modifier; the others name items by
        // service + user alone.
        let built = if self.name == "keyutils" {
            Entry::new_in_store_with_modifiers(&self.store, SERVICE, profile, &mods)
        } else {
            Entry::new_in_store(&self.store, SERVICE, profile)
        };
        built.map_err(|e| self.error("open", &e))
    }

    fn error(&self, op: &str, e: &keyring_core::Error) -> Error {
        Error::Store {
            backend: self.name.to_string(),
            detail: format!("{op}: {e}"),
        }
    }
}

impl SecretStore for KeyringStore {
    fn backend(&self) -> String {
        self.name.into()
    }

    fn get(&self, profile: &str) -> Result<Option<Secret<String>>> {
        match self.entry(profile)?.get_secret() {
            Ok(bytes) => Ok(Some(Secret::new(
                String::from_utf8_lossy(&bytes).into_owned(),
            ))),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(self.error("read", &e)),
        }
    }

    fn set(&self, profile: &str, value: &Secret<String>) -> Result<()> {
        self.entry(profile)?
            .set_secret(value.expose().as_bytes())
            .map_err(|e| self.error("write", &e))
    }

    fn delete(&self, profile: &str) -> Result<()> {
        match self.entry(profile)?.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(self.error("delete", &e)),
        }
    }
}

/// A keyring store whose calls run on a helper thread with a deadline. A locked Secret
/// Service can wait on an unlock dialog that nobody answers (a GUI-less session, or k9s
/// refreshing in the background); `token` must not hang on it.
pub struct Bounded {
    inner: Arc<KeyringStore>,
    limit: Duration,
}

impl std::fmt::Debug for Bounded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bounded")
            .field("inner", &self.inner)
            .field("limit", &self.limit)
            .finish()
    }
}

/// How long a keyring may take to answer one call (time enough to type an unlock password).
pub const KEYRING_DEADLINE: Duration = Duration::from_secs(30);

impl Bounded {
    pub fn new(inner: KeyringStore, limit: Duration) -> Self {
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
                backend: self.inner.name.to_string(),
                detail: format!(
                    "no answer to a {what} within {}s (a locked keyring waiting for its password?); \
                     unlock it, or set EKSOP_AUTH_STORE=file",
                    self.limit.as_secs()
                ),
            })
        })
    }
}

impl SecretStore for Bounded {
    fn backend(&self) -> String {
        self.inner.backend()
    }

    fn get(&self, profile: &str) -> Result<Option<Secret<String>>> {
        let profile = profile.to_string();
        self.call("read", move |s| s.get(&profile))
    }

    fn set(&self, profile: &str, value: &Secret<String>) -> Result<()> {
        let (profile, value) = (profile.to_string(), value.clone());
        self.call("write", move |s| s.set(&profile, &value))
    }

    fn delete(&self, profile: &str) -> Result<()> {
        let profile = profile.to_string();
        self.call("delete", move |s| s.delete(&profile))
    }
}

/// A fast store in front of a durable one: reads try `hot` first and fill it from
/// `durable` on a miss; writes and deletes go to both. `durable` is opened only when
/// needed, so a warm read never pays for connecting to it.
pub struct Layered {
    hot: Box<dyn SecretStore>,
    durable_name: &'static str,
    open_durable: Box<dyn Fn() -> Result<Box<dyn SecretStore>>>,
    durable: OnceLock<std::result::Result<Box<dyn SecretStore>, String>>,
}

impl std::fmt::Debug for Layered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.backend())
    }
}

impl Layered {
    pub fn new(
        hot: Box<dyn SecretStore>,
        durable_name: &'static str,
        open_durable: Box<dyn Fn() -> Result<Box<dyn SecretStore>>>,
    ) -> Self {
        Layered {
            hot,
            durable_name,
            open_durable,
            durable: OnceLock::new(),
        }
    }

    fn durable(&self) -> Result<&dyn SecretStore> {
        match self
            .durable
            .get_or_init(|| (self.open_durable)().map_err(|e| e.to_string()))
        {
            Ok(s) => Ok(s.as_ref()),
            Err(e) => Err(Error::Store {
                backend: self.durable_name.into(),
                detail: e.clone(),
            }),
        }
    }
}

impl SecretStore for Layered {
    fn backend(&self) -> String {
        match self.durable.get() {
            Some(Err(_)) => self.hot.backend(),
            _ => format!("{}+{}", self.durable_name, self.hot.backend()),
        }
    }

    fn get(&self, profile: &str) -> Result<Option<Secret<String>>> {
        if let Ok(Some(v)) = self.hot.get(profile) {
            return Ok(Some(v));
        }
        let found = self.durable()?.get(profile)?;
        if let Some(v) = &found {
            let _ = self.hot.set(profile, v);
        }
        Ok(found)
    }

    fn set(&self, profile: &str, value: &Secret<String>) -> Result<()> {
        let hot = self.hot.set(profile, value);
        if hot.is_err() {
            // An older copy left in the hot cache would shadow the new one.
            let _ = self.hot.delete(profile);
        }
        let durable = self.durable().and_then(|d| d.set(profile, value));
        // One copy is enough to keep working; report the durable failure if both failed.
        match (hot, durable) {
            (_, Ok(())) => Ok(()),
            (Ok(()), Err(e)) => Err(Error::Store {
                backend: self.durable_name.into(),
                detail: format!("{e}; kept in the kernel keyring only (lost at reboot)"),
            }),
            (Err(_), Err(e)) => Err(e),
        }
    }

    fn delete(&self, profile: &str) -> Result<()> {
        let hot = self.hot.delete(profile);
        let durable = self.durable().and_then(|d| d.delete(profile));
        hot.and(durable)
    }
}

/// In-process only, for tests of the commands.
#[derive(Debug, Default)]
pub struct MemoryStore(std::sync::Mutex<std::collections::HashMap<String, String>>);

impl SecretStore for MemoryStore {
    fn backend(&self) -> String {
        "memory".into()
    }

    fn get(&self, profile: &str) -> Result<Option<Secret<String>>> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .get(profile)
            .cloned()
            .map(Secret::new))
    }

    fn set(&self, profile: &str, value: &Secret<String>) -> Result<()> {
        self.0
            .lock()
            .unwrap()
            .insert(profile.into(), value.expose().clone());
        Ok(())
    }

    fn delete(&self, profile: &str) -> Result<()> {
        self.0.lock().unwrap().remove(profile);
        Ok(())
    }
}

/// Every backend that might hold a copy, for `logout`: the file store and the keyring(s),
/// skipping those that cannot be opened here.
fn every_backend(env: &Env) -> Vec<Box<dyn SecretStore>> {
    let mut all: Vec<Box<dyn SecretStore>> = Vec::new();
    if let Ok(dir) = cache_dir(env) {
        all.push(Box::new(FileStore::new(dir.join("store"))));
    }
    all.extend(platform::every_keyring(env));
    all
}

#[cfg(target_os = "linux")]
mod platform {
    use super::*;

    fn keyutils() -> Result<Box<dyn SecretStore>> {
        use linux_keyutils::{KeyRing, KeyRingIdentifier};
        // A process started outside a login session (CI, cron, ssh without pam_keyinit) has
        // no session keyring; join a new one so the store can link its keys into the
        // persistent keyring, where later processes of this user find them.
        KeyRing::from_special_id(KeyRingIdentifier::Session, true).map_err(|e| Error::Store {
            backend: "keyutils".into(),
            detail: format!("no session keyring: {e}"),
        })?;
        let store = linux_keyutils_keyring_store::Store::new().map_err(|e| Error::Store {
            backend: "keyutils".into(),
            detail: e.to_string(),
        })?;
        Ok(Box::new(KeyringStore::new("keyutils", store)))
    }

    fn secret_service() -> Result<Box<dyn SecretStore>> {
        let store = zbus_secret_service_keyring_store::Store::new().map_err(|e| Error::Store {
            backend: "secret-service".into(),
            detail: e.to_string(),
        })?;
        Ok(Box::new(Bounded::new(
            KeyringStore::new("secret-service", store),
            KEYRING_DEADLINE,
        )))
    }

    fn path_exists(p: &std::path::Path) -> bool {
        p.exists()
    }

    /// Whether a session bus could answer at all; without one, zbus fails anyway, and we
    /// skip the attempt on the hot path.
    fn session_bus_configured(env: &Env) -> bool {
        match env.get("DBUS_SESSION_BUS_ADDRESS") {
            // A socket path that is not there cannot answer.
            Some(addr) => match addr.strip_prefix("unix:path=") {
                Some(path) => {
                    path_exists(std::path::Path::new(path.split(',').next().unwrap_or(path)))
                }
                None => true,
            },
            None => env
                .path("XDG_RUNTIME_DIR")
                .is_some_and(|d| path_exists(&d.join("bus"))),
        }
    }

    /// Secret Service (durable) behind the kernel keyring (hot); either alone when only one
    /// works; an error naming `EKSOP_AUTH_STORE=file` when neither does.
    /// Each keyring that answers, separately: `logout` must reach Secret Service even
    /// where the hot path would not open it.
    pub(super) fn every_keyring(_env: &Env) -> Vec<Box<dyn SecretStore>> {
        [keyutils(), secret_service()]
            .into_iter()
            .filter_map(Result::ok)
            .collect()
    }

    pub(super) fn open_keyring(env: &Env) -> Result<Box<dyn SecretStore>> {
        let hot = keyutils();
        let bus = session_bus_configured(env);
        match (hot, bus) {
            (Ok(hot), true) => Ok(Box::new(Layered::new(
                hot,
                "secret-service",
                Box::new(secret_service),
            ))),
            (Ok(hot), false) => Ok(hot),
            (Err(hot_err), true) => secret_service().map_err(|ss_err| Error::NoKeyring {
                detail: format!("{ss_err}; {hot_err}"),
            }),
            (Err(hot_err), false) => Err(Error::NoKeyring {
                detail: format!("no D-Bus session for Secret Service; {hot_err}"),
            }),
        }
    }
}

#[cfg(target_os = "macos")]
mod platform {
    use super::*;

    pub(super) fn every_keyring(env: &Env) -> Vec<Box<dyn SecretStore>> {
        open_keyring(env).into_iter().collect()
    }

    pub(super) fn open_keyring(_env: &Env) -> Result<Box<dyn SecretStore>> {
        let store =
            apple_native_keyring_store::keychain::Store::new().map_err(|e| Error::NoKeyring {
                detail: e.to_string(),
            })?;
        Ok(Box::new(KeyringStore::new("keychain", store)))
    }
}

#[cfg(windows)]
mod platform {
    use super::*;

    pub(super) fn every_keyring(env: &Env) -> Vec<Box<dyn SecretStore>> {
        open_keyring(env).into_iter().collect()
    }

    pub(super) fn open_keyring(_env: &Env) -> Result<Box<dyn SecretStore>> {
        let store = windows_native_keyring_store::Store::new().map_err(|e| Error::NoKeyring {
            detail: e.to_string(),
        })?;
        Ok(Box::new(KeyringStore::new("credential-manager", store)))
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
mod platform {
    use super::*;

    pub(super) fn every_keyring(env: &Env) -> Vec<Box<dyn SecretStore>> {
        open_keyring(env).into_iter().collect()
    }

    pub(super) fn open_keyring(_env: &Env) -> Result<Box<dyn SecretStore>> {
        Err(Error::NoKeyring {
            detail: "no keyring support on this platform".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contract(store: &dyn SecretStore) {
        assert!(store.get("p").unwrap().is_none());
        store.set("p", &Secret::new("one".into())).unwrap();
        store.set("p", &Secret::new("two".into())).unwrap();
        assert_eq!(store.get("p").unwrap().unwrap().expose(), "two");
        assert!(store.get("q").unwrap().is_none());
        store.delete("p").unwrap();
        store.delete("p").unwrap();
        assert!(store.get("p").unwrap().is_none());
    }

    #[test]
    fn file_and_memory_stores_keep_the_contract() {
        let dir = tempfile::tempdir().unwrap();
        contract(&FileStore::new(dir.path().join("store")));
        contract(&MemoryStore::default());
    }

    #[test]
    fn layered_reads_through_and_fills_the_hot_cache() {
        let durable: Arc<MemoryStore> = Arc::default();
        durable.set("p", &Secret::new("v".into())).unwrap();
        let shared = durable.clone();
        let layered = Layered::new(
            Box::new(MemoryStore::default()),
            "durable",
            Box::new(move || Ok(Box::new(SharedMemory(shared.clone())) as Box<dyn SecretStore>)),
        );
        assert_eq!(layered.get("p").unwrap().unwrap().expose(), "v");
        assert_eq!(layered.hot.get("p").unwrap().unwrap().expose(), "v");
        layered.delete("p").unwrap();
        assert!(layered.hot.get("p").unwrap().is_none());
        contract(&layered);
        assert!(durable.get("p").unwrap().is_none());
    }

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
}
