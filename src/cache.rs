//! The user cache folder and its layout — the one module that decides where eksop-auth keeps
//! files and with which permissions:
//!
//! ```text
//! $XDG_CACHE_HOME/eksop-auth/     (~/.cache/eksop-auth; ~/Library/Caches/eksop-auth on macOS;
//!                                  %LOCALAPPDATA%\eksop-auth on Windows)        0700
//!   store/<key>.json      session records, only with EKSOP_AUTH_STORE=file      0600
//!   sessions/<key>.json   non-secret metadata that `status` reads               0600
//!   locks/<key>.lock      one lock file per profile                             0600
//!   mfa/<key>.json        the replay guard: a hash of the last accepted code    0600
//! ```

#[cfg(test)]
use std::path::Path;
use std::path::PathBuf;

use crate::env::Env;
use crate::error::{Error, Result};
use crate::fsutil;

/// A folder inside the cache dir.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Area {
    Store,
    Sessions,
    Locks,
    Mfa,
}

impl Area {
    fn folder(self) -> &'static str {
        match self {
            Area::Store => "store",
            Area::Sessions => "sessions",
            Area::Locks => "locks",
            Area::Mfa => "mfa",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Area::Locks => "lock",
            _ => "json",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct CacheDir {
    root: PathBuf,
}

impl CacheDir {
    /// The platform's user cache dir for eksop-auth.
    pub(crate) fn locate(env: &Env) -> Result<Self> {
        let base = if cfg!(windows) {
            env.path("LOCALAPPDATA")
        } else if cfg!(target_os = "macos") {
            env.home().map(|h| h.join("Library/Caches"))
        } else {
            env.path("XDG_CACHE_HOME")
                .filter(|p| p.is_absolute())
                .or_else(|| env.home().map(|h| h.join(".cache")))
        };
        base.map(|b| CacheDir {
            root: b.join(crate::store::SERVICE),
        })
        .ok_or_else(|| {
            Error::Config(
                "cannot find your cache directory: neither XDG_CACHE_HOME nor HOME is set; set \
                 HOME"
                    .into(),
            )
        })
    }

    #[cfg(test)]
    pub(crate) fn at(root: &Path) -> Self {
        CacheDir {
            root: root.to_path_buf(),
        }
    }

    #[cfg(test)]
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// Where `area` is (it may not exist yet).
    pub(crate) fn dir(&self, area: Area) -> PathBuf {
        self.root.join(area.folder())
    }

    /// The file for `name` in `area` (the name is made safe for a file name).
    pub(crate) fn file(&self, area: Area, name: &str) -> PathBuf {
        self.dir(area)
            .join(format!("{}.{}", fsutil::safe_name(name), area.extension()))
    }

    /// Creates `area` (and the cache dir itself) private to the user, and returns its path.
    pub(crate) fn ensure(&self, area: Area) -> Result<PathBuf> {
        fsutil::private_dir(&self.root)?;
        let dir = self.dir(area);
        fsutil::private_dir(&dir)?;
        Ok(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let c = CacheDir::locate(&Env::from_pairs([("HOME", "/h")])).unwrap();
        if cfg!(target_os = "linux") {
            assert_eq!(c.root(), Path::new("/h/.cache/eksop-auth"));
            assert_eq!(
                c.file(Area::Locks, "a/b"),
                Path::new("/h/.cache/eksop-auth/locks/a%2Fb.lock")
            );
        }
        assert!(CacheDir::locate(&Env::from_pairs([])).is_err());
    }
}
