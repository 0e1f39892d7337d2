//! The user cache folder: its layout, and the only code that reads or writes it. Every
//! folder it creates is 0700 whatever the umask; before a folder or file there is used it
//! must belong to the user, not be writable by group or others, and (below the cache dir
//! itself) not be a symbolic link — anything else is refused with the path and the fix.
//!
//! ```text
//! $XDG_CACHE_HOME/eksop-auth/     (~/.cache/eksop-auth; ~/Library/Caches/eksop-auth on macOS;
//!                                  %LOCALAPPDATA%\eksop-auth on Windows)        0700
//!   store/<key>.json      session records, only with EKSOP_AUTH_STORE=file      0600
//!   sessions/<key>.json   non-secret metadata beside each session               0600
//!   locks/<key>.lock      one lock file per profile                             0600
//!   mfa/<key>.json        the replay guard: a hash of the last accepted code    0600
//! ```
//!
//! `<key>` is a fixed-length hash of the profile (or MFA device), so any name works.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::env::Env;
use crate::error::{Error, Result};
use crate::fsutil::{self, Links};

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

/// A fixed-length name for `parts` (32 hex digits of a SHA-256): what any profile name,
/// MFA device or setting is filed under, and how a setting is compared without keeping it.
pub(crate) fn key(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"eksop-auth");
    for p in parts {
        h.update([0u8]);
        h.update(p.as_bytes());
    }
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `s` is a name `key` makes.
pub(crate) fn is_key(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[derive(Debug, Clone)]
pub(crate) struct CacheDir {
    root: PathBuf,
}

/// What a checked path must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Folder,
    File,
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

    /// A short name for this cache dir, which tells apart the installations (HOMEs) of one
    /// user where a store is shared by all of them (the kernel keyring).
    #[cfg(target_os = "linux")]
    pub(crate) fn installation(&self) -> String {
        key(&["installation", &self.root.to_string_lossy()])[..12].to_string()
    }

    /// Where `area` is (it may not exist yet).
    pub(crate) fn dir(&self, area: Area) -> PathBuf {
        self.root.join(area.folder())
    }

    /// The file for `key` in `area`. Keys are ours (hex digits); anything else — a name
    /// found in a keyring, an old record's — is filed under a hash of it, so that no key
    /// ever names a path outside the folder.
    pub(crate) fn file(&self, area: Area, key: &str) -> PathBuf {
        let name = if is_key(key) {
            key.to_string()
        } else {
            self::key(&["not a key", key])
        };
        self.dir(area).join(format!("{name}.{}", area.extension()))
    }

    /// Creates `area` (and the cache dir itself) private to the user, checks both, and
    /// returns the folder.
    pub(crate) fn ensure(&self, area: Area) -> Result<PathBuf> {
        let dir = self.dir(area);
        fsutil::private_dir(&dir)?;
        self.checked(area)?;
        Ok(dir)
    }

    /// Checks the cache dir and `area`; `false` when either does not exist yet.
    fn checked(&self, area: Area) -> Result<bool> {
        // The cache dir itself may be a link the user made (to another disk); what it
        // points at must still be theirs alone.
        match fs::metadata(&self.root) {
            Ok(m) => check(&self.root, &m, Kind::Folder)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(Error::io("cannot read", &self.root, e)),
        }
        let dir = self.dir(area);
        match fs::symlink_metadata(&dir) {
            Ok(m) => check(&dir, &m, Kind::Folder).map(|()| true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io("cannot read", &dir, e)),
        }
    }

    /// The contents of `key` in `area`; `None` when it does not exist.
    pub(crate) fn read(&self, area: Area, key: &str) -> Result<Option<Vec<u8>>> {
        if !self.checked(area)? {
            return Ok(None);
        }
        let path = self.file(area, key);
        let mut file = match open_no_follow(&path, false) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(refusal_or_io(&path, e, "cannot read")),
        };
        let meta = file
            .metadata()
            .map_err(|e| Error::io("cannot read", &path, e))?;
        check(&path, &meta, Kind::File)?;
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut bytes)
            .map_err(|e| Error::io("cannot read", &path, e))?;
        Ok(Some(bytes))
    }

    /// Writes `key` in `area` atomically, 0600; a link or a foreign file in its place is
    /// refused, never written through.
    pub(crate) fn write(&self, area: Area, key: &str, bytes: &[u8]) -> Result<()> {
        self.ensure(area)?;
        let path = self.file(area, key);
        if let Ok(m) = fs::symlink_metadata(&path) {
            check(&path, &m, Kind::File)?;
        }
        fsutil::write_atomic(&path, bytes, 0o600, Links::Replace)
    }

    /// Removes `key` from `area` (and temp files crashed writers left there).
    pub(crate) fn remove(&self, area: Area, key: &str) -> Result<()> {
        if !self.checked(area)? {
            return Ok(());
        }
        fsutil::clean_stale_temps(&self.dir(area), std::time::Duration::ZERO);
        fsutil::remove_optional(&self.file(area, key))
    }

    /// Removes files in `area` that an older eksop-auth wrote under other names (they
    /// cannot be used any more, and may hold a session); returns how many.
    pub(crate) fn remove_old_records(&self, area: Area) -> Result<usize> {
        if !self.checked(area)? {
            return Ok(0);
        }
        let dir = self.dir(area);
        let entries = fs::read_dir(&dir).map_err(|e| Error::io("cannot read", &dir, e))?;
        let suffix = format!(".{}", area.extension());
        let mut removed = 0;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let old = name
                .strip_suffix(&suffix)
                .is_some_and(|stem| !stem.starts_with('.') && !is_key(stem));
            if old && entry.file_type().is_ok_and(|t| t.is_file()) {
                fsutil::remove_optional(&entry.path())?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Removes the temp files crashed writers left anywhere in the cache dir.
    pub(crate) fn clean_temps(&self) -> Result<()> {
        for area in [Area::Store, Area::Sessions, Area::Locks, Area::Mfa] {
            if self.checked(area)? {
                fsutil::clean_stale_temps(&self.dir(area), std::time::Duration::ZERO);
            }
        }
        Ok(())
    }

    /// The keys present in `area`.
    pub(crate) fn keys(&self, area: Area) -> Result<Vec<String>> {
        if !self.checked(area)? {
            return Ok(Vec::new());
        }
        let dir = self.dir(area);
        let entries = fs::read_dir(&dir).map_err(|e| Error::io("cannot read", &dir, e))?;
        let suffix = format!(".{}", area.extension());
        let mut keys: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter_map(|n| n.strip_suffix(&suffix).map(String::from))
            .filter(|k| is_key(k))
            .collect();
        keys.sort();
        Ok(keys)
    }

    /// Opens (creating) the lock file for `key`.
    pub(crate) fn open_lock(&self, key: &str) -> Result<File> {
        self.ensure(Area::Locks)?;
        let path = self.file(Area::Locks, key);
        let file = open_no_follow(&path, true)
            .map_err(|e| refusal_or_io(&path, e, "cannot open lock file"))?;
        let meta = file
            .metadata()
            .map_err(|e| Error::io("cannot open lock file", &path, e))?;
        check(&path, &meta, Kind::File)?;
        Ok(file)
    }

    /// The lock file for `key`, if it exists (checked like every other file).
    pub(crate) fn existing_lock(&self, key: &str) -> Result<Option<File>> {
        if !self.checked(Area::Locks)? || fs::symlink_metadata(self.file(Area::Locks, key)).is_err()
        {
            return Ok(None);
        }
        self.open_lock(key).map(Some)
    }
}

fn open_no_follow(path: &Path, create: bool) -> std::io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.read(true);
    if create {
        opts.write(true).create(true).truncate(false);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // No links; and a FIFO planted in a file's place must not block the open (what was
        // opened is checked to be a regular file before it is read).
        let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
        opts.mode(0o600).custom_flags(flags.bits() as i32);
    }
    opts.open(path)
}

/// A link met by `O_NOFOLLOW` is a refusal; anything else an I/O error.
fn refusal_or_io(path: &Path, e: std::io::Error, action: &'static str) -> Error {
    #[cfg(unix)]
    if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
        return unsafe_path(path, "it is a symbolic link", "remove it");
    }
    Error::io(action, path, e)
}

fn unsafe_path(path: &Path, problem: impl Into<String>, fix: &str) -> Error {
    Error::UnsafePath {
        path: path.to_path_buf(),
        problem: problem.into(),
        fix: format!(
            "{fix} (`rm -rf {}`) and run the command again; eksop-auth recreates what it \
             needs",
            path.display()
        ),
    }
}

/// The rule for everything in the cache dir.
#[cfg(unix)]
fn check(path: &Path, meta: &fs::Metadata, kind: Kind) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let me = rustix::process::geteuid().as_raw();
    if meta.file_type().is_symlink() {
        return Err(unsafe_path(path, "it is a symbolic link", "remove it"));
    }
    let right_kind = match kind {
        Kind::Folder => meta.is_dir(),
        Kind::File => meta.is_file(),
    };
    if !right_kind {
        // Damage of the user's own (a file where a folder should be), not a planted one:
        // an ordinary error, which a store write reports as a warning.
        let what = if kind == Kind::Folder {
            "not a folder"
        } else {
            "not a regular file"
        };
        return Err(Error::io(
            "cannot use",
            path,
            std::io::Error::other(format!("{what}; remove it")),
        ));
    }
    if meta.uid() != me {
        return Err(unsafe_path(
            path,
            format!(
                "it belongs to uid {}, not to you (uid {me}), so another user may have put it \
                 there",
                meta.uid()
            ),
            "remove it",
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(Error::UnsafePath {
            path: path.to_path_buf(),
            problem: format!(
                "it is writable by group or others (mode {:04o}), so another user could change \
                 what eksop-auth reads there",
                meta.mode() & 0o7777
            ),
            fix: format!(
                "run `chmod go-w {}` if you trust its contents, or remove it (`rm -rf {}`)",
                path.display(),
                path.display()
            ),
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check(path: &Path, meta: &fs::Metadata, _kind: Kind) -> Result<()> {
    // Per-user folders (%LOCALAPPDATA%) carry their own ACLs; only refuse links.
    if meta.file_type().is_symlink() {
        return Err(unsafe_path(path, "it is a symbolic link", "remove it"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let c = CacheDir::locate(&Env::from_pairs([("HOME", "/h")])).unwrap();
        if cfg!(target_os = "linux") {
            assert_eq!(c.root(), Path::new("/h/.cache/eksop-auth"));
            let k = key(&["p"]);
            assert_eq!(
                c.file(Area::Locks, &k),
                Path::new(&format!("/h/.cache/eksop-auth/locks/{k}.lock"))
            );
        }
        assert!(CacheDir::locate(&Env::from_pairs([])).is_err());
    }

    #[test]
    fn round_trip_and_keys() {
        let dir = tempfile::tempdir().unwrap();
        let c = CacheDir::at(&dir.path().join("eksop-auth"));
        let (a, b) = (key(&["a"]), key(&["b"]));
        assert_eq!(c.read(Area::Sessions, &a).unwrap(), None);
        c.write(Area::Sessions, &a, b"1").unwrap();
        c.write(Area::Sessions, &b, b"2").unwrap();
        assert_eq!(c.read(Area::Sessions, &a).unwrap().unwrap(), b"1");
        let mut both = vec![a.clone(), b.clone()];
        both.sort();
        assert_eq!(c.keys(Area::Sessions).unwrap(), both);
        c.remove(Area::Sessions, &a).unwrap();
        assert_eq!(c.keys(Area::Sessions).unwrap(), [b]);
        // An old record's name stays in the folder, however it is spelled.
        fs::write(c.dir(Area::Sessions).join("team%2Fprod.json"), "{}").unwrap();
        assert!(
            c.file(Area::Sessions, "../../x")
                .starts_with(c.dir(Area::Sessions))
        );
        assert_eq!(c.remove_old_records(Area::Sessions).unwrap(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn unsafe_things_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let c = CacheDir::at(&dir.path().join("eksop-auth"));
        c.write(Area::Store, "k", b"record").unwrap();
        // A group-writable area.
        fs::set_permissions(c.dir(Area::Store), fs::Permissions::from_mode(0o770)).unwrap();
        let e = c.read(Area::Store, "k").unwrap_err().to_string();
        assert!(
            e.contains("writable by group or others (mode 0770)") && e.contains("chmod go-w"),
            "{e}"
        );
        fs::set_permissions(c.dir(Area::Store), fs::Permissions::from_mode(0o700)).unwrap();
        // A link where a record should be: neither read nor written through.
        let victim = dir.path().join("victim");
        fs::write(&victim, "precious").unwrap();
        fs::remove_file(c.file(Area::Store, "k")).unwrap();
        std::os::unix::fs::symlink(&victim, c.file(Area::Store, "k")).unwrap();
        let e = c.read(Area::Store, "k").unwrap_err().to_string();
        assert!(e.contains("symbolic link"), "{e}");
        let e = c.write(Area::Store, "k", b"new").unwrap_err().to_string();
        assert!(e.contains("symbolic link"), "{e}");
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        c.open_lock("k").unwrap();
        fs::remove_file(c.file(Area::Locks, "k")).unwrap();
        std::os::unix::fs::symlink(&victim, c.file(Area::Locks, "k")).unwrap();
        let e = c.open_lock("k").map(|_| ()).unwrap_err();
        assert!(matches!(e, Error::UnsafePath { .. }), "{e}");
    }
}
