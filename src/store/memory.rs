//! In-process only, for tests of the commands (and a shared handle on one).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::Result;
use crate::secret::Secret;

use super::{Backend, SecretStore};

#[derive(Debug, Default)]
pub(crate) struct MemoryStore(Mutex<HashMap<String, String>>);

impl SecretStore for MemoryStore {
    fn backends(&self) -> Vec<Backend> {
        vec![Backend::Memory]
    }

    fn get(&self, key: &str) -> Result<Option<Secret<String>>> {
        Ok(self.0.lock().unwrap().get(key).cloned().map(Secret::new))
    }

    fn set(&self, key: &str, value: &Secret<String>, _label: &str) -> Result<()> {
        self.0
            .lock()
            .unwrap()
            .insert(key.into(), value.expose().clone());
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<()> {
        self.0.lock().unwrap().remove(key);
        Ok(())
    }

    fn keys(&self) -> Result<Vec<String>> {
        let mut keys: Vec<String> = self.0.lock().unwrap().keys().cloned().collect();
        keys.sort();
        Ok(keys)
    }
}

/// A shared handle is the store it points at.
impl<T: SecretStore + ?Sized> SecretStore for Arc<T> {
    fn backends(&self) -> Vec<Backend> {
        (**self).backends()
    }
    fn get(&self, key: &str) -> Result<Option<Secret<String>>> {
        (**self).get(key)
    }
    fn set(&self, key: &str, value: &Secret<String>, label: &str) -> Result<()> {
        (**self).set(key, value, label)
    }
    fn delete(&self, key: &str) -> Result<()> {
        (**self).delete(key)
    }
    fn keys(&self) -> Result<Vec<String>> {
        (**self).keys()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_the_contract() {
        super::super::contract::check(&super::MemoryStore::default());
    }
}
