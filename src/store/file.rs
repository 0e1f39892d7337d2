//! `EKSOP_AUTH_STORE=file`: one JSON record per key, 0600, in the cache dir's `store/` (0700).

use crate::cache::{Area, CacheDir};
use crate::error::Result;
use crate::secret::Secret;

use super::{Backend, SecretStore};

#[derive(Debug)]
pub(crate) struct FileStore {
    cache: CacheDir,
}

impl FileStore {
    pub(crate) fn new(cache: CacheDir) -> Self {
        FileStore { cache }
    }
}

impl SecretStore for FileStore {
    fn backends(&self) -> Vec<Backend> {
        vec![Backend::File]
    }

    fn get(&self, key: &str) -> Result<Option<Secret<String>>> {
        Ok(self
            .cache
            .read(Area::Store, key)?
            .map(|b| Secret::new(String::from_utf8_lossy(&b).into_owned())))
    }

    fn set(&self, key: &str, value: &Secret<String>, _label: &str) -> Result<()> {
        self.cache
            .write(Area::Store, key, value.expose().as_bytes())
    }

    fn delete(&self, key: &str) -> Result<()> {
        self.cache.remove(Area::Store, key)
    }

    fn keys(&self) -> Result<Vec<String>> {
        self.cache.keys(Area::Store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_contract() {
        let dir = tempfile::tempdir().unwrap();
        super::super::contract::check(&FileStore::new(CacheDir::at(dir.path())));
    }
}
