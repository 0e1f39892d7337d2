//! A fast store in front of a durable one: reads try `hot` first and fill it from `durable`
//! on a miss; writes and deletes go to both. `durable` is opened only when needed, so a warm
//! read never pays for connecting to it.

use std::sync::OnceLock;

use crate::error::{Error, Result};
use crate::secret::Secret;

use super::{Backend, SecretStore};

type Opener = Box<dyn Fn() -> Result<Box<dyn SecretStore>>>;

pub(crate) struct Layered {
    hot: Box<dyn SecretStore>,
    durable_backend: Backend,
    open_durable: Opener,
    durable: OnceLock<std::result::Result<Box<dyn SecretStore>, String>>,
}

impl std::fmt::Debug for Layered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&super::describe(&self.backends()))
    }
}

impl Layered {
    pub(crate) fn new(hot: Box<dyn SecretStore>, durable_backend: Backend, open: Opener) -> Self {
        Layered {
            hot,
            durable_backend,
            open_durable: open,
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
                backend: self.durable_backend,
                detail: e.clone(),
            }),
        }
    }
}

impl SecretStore for Layered {
    fn backends(&self) -> Vec<Backend> {
        match self.durable.get() {
            Some(Err(_)) => self.hot.backends(),
            _ => std::iter::once(self.durable_backend)
                .chain(self.hot.backends())
                .collect(),
        }
    }

    fn get(&self, key: &str) -> Result<Option<Secret<String>>> {
        if let Ok(Some(v)) = self.hot.get(key) {
            return Ok(Some(v));
        }
        let found = self.durable()?.get(key)?;
        if let Some(v) = &found {
            // The hot cache (the kernel keyring) shows no label.
            let _ = self.hot.set(key, v, key);
        }
        Ok(found)
    }

    fn set(&self, key: &str, value: &Secret<String>, label: &str) -> Result<()> {
        let hot = self.hot.set(key, value, label);
        if hot.is_err() {
            // An older copy left in the hot cache would shadow the new one.
            let _ = self.hot.delete(key);
        }
        let durable = self.durable().and_then(|d| d.set(key, value, label));
        // One copy is enough to keep working; report the durable failure if both failed.
        match (hot, durable) {
            (_, Ok(())) => Ok(()),
            (Ok(()), Err(e)) => Err(e),
            (Err(_), Err(e)) => Err(e),
        }
    }

    fn delete(&self, key: &str) -> Result<()> {
        let hot = self.hot.delete(key);
        let durable = self.durable().and_then(|d| d.delete(key));
        hot.and(durable)
    }

    fn keys(&self) -> Result<Vec<String>> {
        let mut keys = self.hot.keys()?;
        keys.extend(self.durable()?.keys()?);
        keys.sort();
        keys.dedup();
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::store::MemoryStore;

    #[test]
    fn reads_through_and_fills_the_hot_cache() {
        let durable: Arc<MemoryStore> = Arc::default();
        durable.set("p", &Secret::new("v".into()), "l").unwrap();
        let shared = durable.clone();
        let hot: Arc<MemoryStore> = Arc::default();
        let layered = Layered::new(
            Box::new(hot.clone()),
            Backend::SecretService,
            Box::new(move || Ok(Box::new(shared.clone()) as Box<dyn SecretStore>)),
        );
        assert_eq!(layered.get("p").unwrap().unwrap().expose(), "v");
        assert_eq!(hot.get("p").unwrap().unwrap().expose(), "v");
        layered.delete("p").unwrap();
        assert!(hot.get("p").unwrap().is_none());
        super::super::contract::check(&layered);
        assert!(durable.get("p").unwrap().is_none());
        assert_eq!(
            layered.backends(),
            [Backend::SecretService, Backend::Memory]
        );
    }
}
