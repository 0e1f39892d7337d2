//! Stored eks-operator sessions: the secret record in the chosen `SecretStore`, and beside
//! it, in the cache dir, non-secret metadata that `status` reads without unlocking anything.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::ctx::Env;
use crate::error::Result;
use crate::fsutil::{private_dir, read_optional, remove_optional, safe_name, write_atomic};
use crate::session::{Session, unix_seconds};
use crate::store::{self, SecretStore, Stores};

/// What `status` shows. Never a secret.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SessionMeta {
    pub profile: String,
    pub role_arn: String,
    pub assumed_arn: String,
    pub mfa_serial: String,
    pub issued_at: u64,
    pub expires_at: u64,
    pub backend: String,
    /// When `token` last reminded that the session is ending.
    #[serde(default)]
    pub reminded_at: Option<u64>,
}

impl SessionMeta {
    pub fn expires(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(self.expires_at)
    }
}

/// The result of looking for a stored session.
#[derive(Debug)]
pub enum Lookup {
    Found(Session),
    Missing,
    /// Present but unusable: damaged, foreign, or for another role.
    Unusable(String),
}

pub struct Sessions {
    pub store: Box<dyn SecretStore>,
    meta_dir: PathBuf,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("backend", &self.store.backend())
            .finish_non_exhaustive()
    }
}

impl Sessions {
    pub fn open(env: &Env, stores: &Stores) -> Result<Self> {
        Ok(Sessions {
            store: stores.open(env)?,
            meta_dir: meta_dir(env)?,
        })
    }

    pub fn lookup(&self, profile: &str, role_arn: &str) -> Result<Lookup> {
        let Some(text) = self.store.get(profile)? else {
            return Ok(Lookup::Missing);
        };
        Ok(match Session::decode(text.expose()) {
            None => Lookup::Unusable("the stored record is damaged or not ours".into()),
            Some(s) if s.role_arn != role_arn => Lookup::Unusable(format!(
                "it is for {}, the profile now names {role_arn}",
                s.role_arn
            )),
            Some(s) => Lookup::Found(s),
        })
    }

    /// Stores the secret record, then the metadata. The record's failure is returned (the
    /// caller warns and carries on with the session in hand); metadata is best effort.
    pub fn save(
        &self,
        profile: &str,
        mfa_serial: &str,
        session: &Session,
        now: SystemTime,
    ) -> Result<()> {
        let stored = self.store.set(profile, &session.encode());
        // Metadata only for a record that is there (a layered store may have kept it in
        // its hot cache even though the durable store failed).
        if stored.is_err() && !matches!(self.store.get(profile), Ok(Some(_))) {
            return stored;
        }
        // Ask for the backend after writing: a durable store that failed drops out of it.
        let meta = SessionMeta {
            profile: profile.to_string(),
            role_arn: session.role_arn.clone(),
            assumed_arn: session.assumed_arn.clone(),
            mfa_serial: mfa_serial.to_string(),
            issued_at: unix_seconds(now),
            expires_at: unix_seconds(session.expires_at()),
            backend: self.store.backend(),
            reminded_at: None,
        };
        self.write_meta(&meta)?;
        stored
    }

    pub fn write_meta(&self, meta: &SessionMeta) -> Result<()> {
        private_dir(&self.meta_dir)?;
        let json = serde_json::to_vec_pretty(meta).unwrap_or_default();
        write_atomic(&self.meta_path(&meta.profile), &json, 0o600)
    }

    fn meta_path(&self, profile: &str) -> PathBuf {
        self.meta_dir.join(format!("{}.json", safe_name(profile)))
    }

    pub fn meta(&self, profile: &str) -> Option<SessionMeta> {
        read_meta(&self.meta_path(profile))
    }
}

fn meta_dir(env: &Env) -> Result<PathBuf> {
    Ok(store::cache_dir(env)?.join("sessions"))
}

fn read_meta(path: &std::path::Path) -> Option<SessionMeta> {
    let bytes = read_optional(path).ok()??;
    let meta: SessionMeta = serde_json::from_slice(&bytes).ok()?;
    (meta.expires_at <= crate::session::MAX_EXPIRY).then_some(meta)
}

/// The TOTP replay guard: AWS accepts a code once, so remember (per MFA device) a hash of
/// the last accepted code and its 30-second step, and refuse the same code again before
/// spending an AWS call on it.
#[derive(Debug, Serialize, Deserialize)]
struct LastCode {
    step: u64,
    hash: String,
}

pub const TOTP_STEP: u64 = 30;

fn code_hash(serial: &str, code: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("eksop-auth\0{serial}\0{code}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn last_code_path(env: &Env, serial: &str) -> Result<PathBuf> {
    Ok(store::cache_dir(env)?
        .join("mfa")
        .join(format!("{}.json", safe_name(serial))))
}

/// Seconds until the next code if `code` was already accepted in this or the previous
/// 30-second step (a TOTP code stays valid across one step boundary).
pub fn code_already_used(env: &Env, serial: &str, code: &str, now: SystemTime) -> Option<u64> {
    let bytes = read_optional(&last_code_path(env, serial).ok()?).ok()??;
    let last: LastCode = serde_json::from_slice(&bytes).ok()?;
    let now_s = unix_seconds(now);
    let step = now_s / TOTP_STEP;
    (last.hash == code_hash(serial, code) && step.saturating_sub(last.step) <= 1)
        .then(|| TOTP_STEP - now_s % TOTP_STEP)
}

/// Records an accepted code (best effort: the guard only saves a wasted call).
pub fn remember_code(env: &Env, serial: &str, code: &str, now: SystemTime) {
    let Ok(path) = last_code_path(env, serial) else {
        return;
    };
    let last = LastCode {
        step: unix_seconds(now) / TOTP_STEP,
        hash: code_hash(serial, code),
    };
    if let Some(dir) = path.parent()
        && private_dir(dir).is_ok()
    {
        let _ = write_atomic(&path, &serde_json::to_vec(&last).unwrap_or_default(), 0o600);
    }
}

/// Every session's metadata, sorted by profile (for `status`, which opens no store).
pub fn all_meta(env: &Env) -> Result<Vec<SessionMeta>> {
    let dir = meta_dir(env)?;
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let mut all: Vec<SessionMeta> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| read_meta(&e.path()))
        .collect();
    all.sort_by(|a, b| a.profile.cmp(&b.profile));
    Ok(all)
}

/// Removes a profile's session from every backend and its metadata; returns the backends
/// that answered (whether or not they held a copy).
pub fn remove_everywhere(env: &Env, stores: &Stores, profile: &str) -> Result<Vec<String>> {
    let mut touched = Vec::new();
    for backend in stores.every(env) {
        if backend.delete(profile).is_ok() {
            touched.push(backend.backend());
        }
    }
    remove_optional(&meta_dir(env)?.join(format!("{}.json", safe_name(profile))))?;
    Ok(touched)
}
