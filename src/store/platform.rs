//! The OS keyring for this platform: which keyring-core stores exist and how they combine.

#[cfg(target_os = "linux")]
pub(super) use linux::{every_keyring, open_keyring};
#[cfg(target_os = "macos")]
pub(super) use macos::{every_keyring, open_keyring};
#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
pub(super) use other::{every_keyring, open_keyring};
#[cfg(windows)]
pub(super) use windows::{every_keyring, open_keyring};

#[cfg(target_os = "linux")]
mod linux {
    use crate::env::Env;
    use crate::error::{Error, Result};
    use crate::store::keyring::{Bounded, KERNEL_KEY_PREFIX, KEYRING_DEADLINE, KeyringStore};
    use crate::store::layered::Layered;
    use crate::store::{Backend, Reach, SecretStore};

    fn keyutils(env: &Env) -> Result<Box<dyn SecretStore>> {
        use linux_keyutils::{KeyRing, KeyRingIdentifier};
        let failed = |detail: String| Error::Store {
            backend: Backend::Keyutils,
            detail,
        };
        // A process started outside a login session (CI, cron, ssh without pam_keyinit) has
        // no session keyring; join a new one so the store can link its keys into the
        // persistent keyring, where later processes of this user find them.
        KeyRing::from_special_id(KeyRingIdentifier::Session, true)
            .map_err(|e| failed(format!("no session keyring: {e}")))?;
        let store =
            linux_keyutils_keyring_store::Store::new().map_err(|e| failed(e.to_string()))?;
        let installation = crate::cache::CacheDir::locate(env)
            .map(|c| c.installation())
            .unwrap_or_default();
        let prefix = format!("{KERNEL_KEY_PREFIX}{installation}:");
        Ok(Box::new(
            KeyringStore::new(Backend::Keyutils, store).kernel(prefix, kernel_keys),
        ))
    }

    /// Our keys in the session and persistent keyrings (keyutils cannot search by prefix).
    fn kernel_keys(prefix: &str) -> Result<Vec<String>> {
        use linux_keyutils::{KeyRing, KeyRingIdentifier};
        let rings = [
            KeyRing::from_special_id(KeyRingIdentifier::Session, false),
            KeyRing::get_persistent(KeyRingIdentifier::Session),
        ];
        let mut keys = Vec::new();
        for ring in rings.into_iter().flatten() {
            // Room for far more links than a keyring holds (the crate trusts the kernel's
            // count to fit the buffer).
            let links = ring.get_links(65_536).map_err(|e| Error::Store {
                backend: Backend::Keyutils,
                detail: format!("cannot list a keyring: {e}"),
            })?;
            let descriptions = links
                .iter()
                .filter_map(|node| node.as_key())
                .filter_map(|k| k.metadata().ok())
                .filter_map(|m| m.get_description().strip_prefix(prefix).map(String::from));
            keys.extend(descriptions);
        }
        keys.sort();
        keys.dedup();
        Ok(keys)
    }

    fn secret_service() -> Result<Box<dyn SecretStore>> {
        let store = zbus_secret_service_keyring_store::Store::new().map_err(|e| Error::Store {
            backend: Backend::SecretService,
            detail: e.to_string(),
        })?;
        Ok(Box::new(Bounded::new(
            KeyringStore::new(Backend::SecretService, store),
            KEYRING_DEADLINE,
        )))
    }

    /// Whether a session bus could answer at all; without one, zbus fails anyway, and we
    /// skip the attempt on the hot path.
    fn session_bus_configured(env: &Env) -> bool {
        match env.get("DBUS_SESSION_BUS_ADDRESS") {
            // A socket path that is not there cannot answer.
            Some(addr) => match addr.strip_prefix("unix:path=") {
                Some(path) => std::path::Path::new(path.split(',').next().unwrap_or(path)).exists(),
                None => true,
            },
            None => env
                .path("XDG_RUNTIME_DIR")
                .is_some_and(|d| d.join("bus").exists()),
        }
    }

    /// Each keyring on its own: `logout` must reach Secret Service even where the hot path
    /// would not open it. Without a session bus there is no Secret Service to search (a
    /// copy the metadata says is there is still reported as out of reach).
    pub(crate) fn every_keyring(env: &Env) -> Vec<Reach> {
        let reach = |backend, store: Result<Box<dyn SecretStore>>| {
            store.map_err(|e| (backend, e.to_string()))
        };
        let mut all = vec![reach(Backend::Keyutils, keyutils(env))];
        if session_bus_configured(env) {
            all.push(reach(Backend::SecretService, secret_service()));
        }
        all
    }

    /// Secret Service (durable) behind the kernel keyring (hot); either alone when only one
    /// works; an error naming `EKSOP_AUTH_STORE=file` when neither does.
    pub(crate) fn open_keyring(env: &Env) -> Result<Box<dyn SecretStore>> {
        match (keyutils(env), session_bus_configured(env)) {
            (Ok(hot), true) => Ok(Box::new(Layered::new(
                hot,
                Backend::SecretService,
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
mod macos {
    const BACKEND: Backend = Backend::Keychain;
    use crate::env::Env;
    use crate::error::{Error, Result};
    use crate::store::keyring::KeyringStore;
    use crate::store::{Backend, Reach, SecretStore};

    pub(crate) fn every_keyring(env: &Env) -> Vec<Reach> {
        vec![open_keyring(env).map_err(|e| (BACKEND, e.to_string()))]
    }

    pub(crate) fn open_keyring(_env: &Env) -> Result<Box<dyn SecretStore>> {
        let store =
            apple_native_keyring_store::keychain::Store::new().map_err(|e| Error::NoKeyring {
                detail: e.to_string(),
            })?;
        Ok(Box::new(KeyringStore::new(BACKEND, store)))
    }
}

#[cfg(windows)]
mod windows {
    const BACKEND: Backend = Backend::CredentialManager;
    use crate::env::Env;
    use crate::error::{Error, Result};
    use crate::store::keyring::KeyringStore;
    use crate::store::{Backend, Reach, SecretStore};

    pub(crate) fn every_keyring(env: &Env) -> Vec<Reach> {
        vec![open_keyring(env).map_err(|e| (BACKEND, e.to_string()))]
    }

    pub(crate) fn open_keyring(_env: &Env) -> Result<Box<dyn SecretStore>> {
        let store = windows_native_keyring_store::Store::new().map_err(|e| Error::NoKeyring {
            detail: e.to_string(),
        })?;
        Ok(Box::new(KeyringStore::new(
            Backend::CredentialManager,
            store,
        )))
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
mod other {
    use crate::env::Env;
    use crate::error::{Error, Result};
    use crate::store::{Reach, SecretStore};

    pub(crate) fn every_keyring(_env: &Env) -> Vec<Reach> {
        Vec::new()
    }

    pub(crate) fn open_keyring(_env: &Env) -> Result<Box<dyn SecretStore>> {
        Err(Error::NoKeyring {
            detail: "no keyring support on this platform".into(),
        })
    }
}
