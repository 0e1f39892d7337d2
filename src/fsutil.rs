//! Private directories and atomic file writes: the only way this program writes a file.
//! A reader sees the old file or the new one, never half of either.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Creates `dir` (and parents) and makes it 0700 on Unix.
pub(crate) fn private_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| Error::io("cannot create directory", dir, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let perms = fs::Permissions::from_mode(0o700);
        fs::set_permissions(dir, perms)
            .map_err(|e| Error::io("cannot restrict permissions of", dir, e))?;
    }
    Ok(())
}

/// Writes `bytes` to `path` through a temp file in the same directory (fsync, rename).
/// `mode` is the new file's permission bits on Unix (e.g. 0o600).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    // A symlinked file (dotfiles managers) is written through, not replaced by a file.
    let resolved = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => fs::canonicalize(path).ok(),
        _ => None,
    };
    let path = resolved.as_deref().unwrap_or(path);
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(mode);
        }
        #[cfg(not(unix))]
        let _ = mode;
        let mut f: File = opts.open(&tmp)?;
        // `mode` on open is filtered by the umask; set it exactly.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(fs::Permissions::from_mode(mode))?;
        }
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io("cannot write", path, e));
    }
    Ok(())
}

/// Reads a file; `Ok(None)` when it does not exist.
pub(crate) fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("cannot read", path, e)),
    }
}

/// Removes a file; a missing file is fine.
pub(crate) fn remove_optional(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("cannot remove", path, e)),
    }
}

/// Characters that stay as they are in a file or item name: `[A-Za-z0-9._-]`.
const NAME_KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.');

/// A name safe in a file name and a keyring item: `[A-Za-z0-9._-]` kept, the rest `%XX`,
/// and no leading dot.
pub(crate) fn safe_name(name: &str) -> String {
    let out: String = percent_encoding::utf8_percent_encode(name, NAME_KEEP).collect();
    match out.strip_prefix('.') {
        Some(rest) => format!("%2E{rest}"),
        None => out,
    }
}

/// Writes `new` atomically when it differs from `old`, keeping the original's permissions
/// and backing the original up once (`<file>.eksop-auth.bak`). New files are 0600 in a
/// 0700 directory.
pub(crate) fn write_if_changed(path: &Path, old: Option<&str>, new: &str) -> Result<bool> {
    if old == Some(new) {
        return Ok(false);
    }
    let mode = existing_mode(path).unwrap_or(0o600);
    if let Some(old) = old {
        let backup = PathBuf::from(format!("{}.eksop-auth.bak", path.display()));
        if !backup.exists() {
            write_atomic(&backup, old.as_bytes(), mode)?;
        }
    } else if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
        && !dir.exists()
    {
        private_dir(dir)?;
    }
    write_atomic(path, new.as_bytes(), mode)?;
    Ok(true)
}

/// The permission bits of an existing file (Unix); `None` elsewhere or when absent.
fn existing_mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .ok()
            .map(|m| m.permissions().mode() & 0o7777)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_sets_mode() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a/b");
        private_dir(&sub).unwrap();
        let p = sub.join("f.json");
        write_atomic(&p, b"one", 0o600).unwrap();
        write_atomic(&p, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
            assert_eq!(
                fs::metadata(&sub).unwrap().permissions().mode() & 0o777,
                0o700
            );
        }
        assert_eq!(
            fs::read_dir(&sub).unwrap().count(),
            1,
            "no temp file left behind"
        );
    }

    #[test]
    fn safe_names() {
        assert_eq!(safe_name("ops-eks_operator.1"), "ops-eks_operator.1");
        assert_eq!(safe_name("a/b c"), "a%2Fb%20c");
        assert_eq!(safe_name(".."), "%2E.");
    }
}
