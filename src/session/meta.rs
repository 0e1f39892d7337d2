//! Non-secret metadata beside each stored session (the cache dir's `sessions/`), so `status`
//! can list sessions without unlocking a keyring, and `token` can throttle its reminders.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::record::MAX_EXPIRY;
use crate::cache::{Area, CacheDir};
use crate::error::Result;
use crate::fsutil::{read_optional, remove_optional, write_atomic};
use crate::store::Backend;
use crate::timefmt::from_unix;

/// What `status` shows. Never a secret.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct SessionMeta {
    pub(crate) profile: String,
    pub(crate) role_arn: String,
    pub(crate) assumed_arn: String,
    pub(crate) mfa_serial: String,
    pub(crate) issued_at: u64,
    pub(crate) expires_at: u64,
    /// Where the record was kept (durable store first).
    pub(crate) backends: Vec<Backend>,
    /// When `token` last reminded that the session is ending.
    #[serde(default)]
    pub(crate) reminded_at: Option<u64>,
}

impl SessionMeta {
    pub(crate) fn expires(&self) -> SystemTime {
        from_unix(self.expires_at)
    }
}

/// The metadata folder.
#[derive(Debug, Clone)]
pub(crate) struct MetaDir {
    cache: CacheDir,
}

impl MetaDir {
    pub(crate) fn new(cache: CacheDir) -> Self {
        MetaDir { cache }
    }

    pub(crate) fn write(&self, meta: &SessionMeta) -> Result<()> {
        self.cache.ensure(Area::Sessions)?;
        let json = serde_json::to_vec_pretty(meta).unwrap_or_default();
        write_atomic(
            &self.cache.file(Area::Sessions, &meta.profile),
            &json,
            0o600,
        )
    }

    pub(crate) fn read(&self, profile: &str) -> Option<SessionMeta> {
        read_meta(&self.cache.file(Area::Sessions, profile))
    }

    pub(crate) fn remove(&self, profile: &str) -> Result<()> {
        remove_optional(&self.cache.file(Area::Sessions, profile))
    }

    /// Every session's metadata, sorted by profile.
    pub(crate) fn all(&self) -> Vec<SessionMeta> {
        let Ok(entries) = std::fs::read_dir(self.cache.dir(Area::Sessions)) else {
            return Vec::new();
        };
        let mut all: Vec<SessionMeta> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| read_meta(&e.path()))
            .collect();
        all.sort_by(|a, b| a.profile.cmp(&b.profile));
        all
    }
}

fn read_meta(path: &std::path::Path) -> Option<SessionMeta> {
    let bytes = read_optional(path).ok()??;
    let meta: SessionMeta = serde_json::from_slice(&bytes).ok()?;
    (meta.expires_at <= MAX_EXPIRY).then_some(meta)
}
