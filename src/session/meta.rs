//! Non-secret metadata beside each stored session (the cache dir's `sessions/`): where the
//! record was kept since the last logout, when `token` last reminded, when `logout` ran and
//! which copies it could not reach, and how the last login attempt failed (so the
//! processes that waited on it fail with it instead of retrying). Never a secret; never
//! trusted to make a session usable, only to refuse one — so damaged metadata refuses.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::record::MAX_EXPIRY;
use crate::cache::{Area, CacheDir};
use crate::error::Result;
use crate::store::Backend;
use crate::timefmt::{from_unix, from_unix_millis, unix_millis, unix_seconds};

/// How long a logout is remembered: longer than any session it could refuse lives.
pub(crate) const TOMBSTONE_KEPT: Duration = Duration::from_secs(13 * 3600);

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct SessionMeta {
    pub(crate) profile: String,
    #[serde(default)]
    pub(crate) assumed_arn: String,
    #[serde(default)]
    pub(crate) expires_at: u64,
    /// Every store a record went to since the last logout (durable store first).
    #[serde(default)]
    pub(crate) backends: Vec<Backend>,
    /// When `token` last reminded that the session is ending.
    #[serde(default)]
    pub(crate) reminded_at: Option<u64>,
    /// When `logout` last ran, in seconds (as older versions wrote it).
    #[serde(default)]
    logged_out_at: Option<u64>,
    /// When `logout` last ran, in milliseconds: records issued until then are refused. A
    /// login in the same second as a logout is not one of them.
    #[serde(default)]
    logged_out_ms: Option<u64>,
    /// Copies `logout` could not reach; the next `logout` removes them.
    #[serde(default)]
    pub(crate) pending: Vec<Backend>,
    /// The last failed login attempt, for the processes that waited on it.
    #[serde(default)]
    pub(crate) failure: Option<Failure>,
    /// The last desktop dialog that was cancelled, closed or not answered: for a short
    /// while no new one is shown.
    #[serde(default)]
    pub(crate) dismissed: Option<Dismissal>,
}

/// A dismissed MFA dialog.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Dismissal {
    /// Milliseconds since the epoch.
    pub(crate) at_ms: u64,
    /// "cancelled", "not answered within 120s"…, or why the login failed.
    pub(crate) how: String,
    /// 0 for a dismissal; else the failed login's exit status.
    #[serde(default)]
    pub(crate) exit_code: u8,
}

/// A login attempt that failed while others waited on it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Failure {
    /// Milliseconds since the epoch.
    pub(crate) at_ms: u64,
    pub(crate) exit_code: u8,
    pub(crate) message: String,
}

impl SessionMeta {
    pub(crate) fn expires(&self) -> SystemTime {
        from_unix(self.expires_at)
    }

    pub(crate) fn logged_out(&self) -> Option<SystemTime> {
        match (self.logged_out_ms, self.logged_out_at) {
            (Some(ms), _) => Some(from_unix_millis(ms)),
            // Written in whole seconds: the logout was within that second.
            (None, Some(s)) => Some(from_unix(s) + Duration::from_millis(999)),
            (None, None) => None,
        }
    }

    /// Refuses every record issued until `at`.
    pub(crate) fn set_logged_out(&mut self, at: SystemTime) {
        self.logged_out_ms = Some(unix_millis(at));
        self.logged_out_at = Some(unix_seconds(at));
    }

    /// Whether any record of it was ever stored since the last logout (a failed login
    /// leaves metadata but no session).
    pub(crate) fn stored_once(&self) -> bool {
        !self.backends.is_empty() || !self.pending.is_empty()
    }

    fn plausible(&self) -> bool {
        let ms = self.logged_out_ms.map(|ms| ms / 1000);
        let times = [
            Some(self.expires_at),
            self.reminded_at,
            self.logged_out_at,
            ms,
        ];
        times.iter().flatten().all(|t| *t <= MAX_EXPIRY)
            && self
                .failure
                .as_ref()
                .is_none_or(|f| f.exit_code != 0 && f.at_ms / 1000 <= MAX_EXPIRY)
            && self
                .dismissed
                .as_ref()
                .is_none_or(|d| d.at_ms / 1000 <= MAX_EXPIRY && d.how.len() <= 1000)
    }
}

/// What the metadata of one key is.
#[derive(Debug, Clone, PartialEq, Eq)]
// Read at most a few times per call: boxing the big variant would buy nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Meta {
    Absent,
    Present(SessionMeta),
    /// Unparseable or implausible: whatever it said, a record of before now is refused.
    Damaged,
}

impl Meta {
    pub(crate) fn present(self) -> Option<SessionMeta> {
        match self {
            Meta::Present(m) => Some(m),
            _ => None,
        }
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

    pub(crate) fn write(&self, key: &str, meta: &SessionMeta) -> Result<()> {
        let json = serde_json::to_vec_pretty(meta).unwrap_or_default();
        self.cache.write(Area::Sessions, key, &json)
    }

    pub(crate) fn read(&self, key: &str) -> Result<Meta> {
        Ok(match self.cache.read(Area::Sessions, key)? {
            None => Meta::Absent,
            Some(bytes) => match serde_json::from_slice::<SessionMeta>(&bytes) {
                Ok(m) if m.plausible() => Meta::Present(m),
                _ => Meta::Damaged,
            },
        })
    }

    pub(crate) fn remove(&self, key: &str) -> Result<()> {
        self.cache.remove(Area::Sessions, key)
    }

    /// Every key with metadata.
    pub(crate) fn keys(&self) -> Result<Vec<String>> {
        self.cache.keys(Area::Sessions)
    }

    /// Changes the metadata of `key` in place (creating it for `profile`; damaged metadata
    /// is replaced, keeping its refusal of everything before `now`). Call it holding the
    /// profile's lock.
    pub(crate) fn update(
        &self,
        key: &str,
        profile: &str,
        now: SystemTime,
        change: impl FnOnce(&mut SessionMeta),
    ) -> Result<()> {
        let mut meta = match self.read(key)? {
            Meta::Present(m) => m,
            Meta::Absent => SessionMeta {
                profile: profile.to_string(),
                ..SessionMeta::default()
            },
            Meta::Damaged => {
                let mut m = SessionMeta {
                    profile: profile.to_string(),
                    ..SessionMeta::default()
                };
                m.set_logged_out(now);
                m
            }
        };
        change(&mut meta);
        self.write(key, &meta)
    }
}
