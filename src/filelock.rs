//! The `<file>.lock` convention kubectl's own writes use (client-go `lockFile`): a file
//! created exclusively next to the one being changed, removed when done. `setup` takes it
//! for both files it edits, so two `setup`s (or a `kubectl config` command) at once never
//! lose each other's entries.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// Held while a file is changed; the lock file goes when this is dropped.
#[derive(Debug)]
pub(crate) struct FileLock {
    path: PathBuf,
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The lock file for `target`.
pub(crate) fn lock_path(target: &Path) -> PathBuf {
    let mut name = target.as_os_str().to_os_string();
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes the lock on `target`, waiting at most `wait` for another writer to finish.
pub(crate) fn lock(target: &Path, wait: Duration) -> Result<FileLock> {
    let path = lock_path(target);
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
        && !dir.exists()
    {
        crate::fsutil::private_dir(dir)?;
    }
    let start = Instant::now();
    loop {
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        match opts.open(&path) {
            Ok(_) => return Ok(FileLock { path }),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::io("cannot create lock file", &path, e)),
        }
        if start.elapsed() >= wait {
            return Err(Error::FileLocked {
                path: target.to_path_buf(),
                lock: path,
                waited_seconds: wait.as_secs(),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether the lock on `target` could be taken, asked before slow work: a folder where the
/// lock file cannot be made fails at once, and a lock held now is waited for (at most
/// `wait`) before, not after, an MFA prompt. It is not kept: `lock` takes it later.
pub(crate) fn probe(target: &Path, wait: Duration) -> Result<()> {
    let path = lock_path(target);
    if path
        .parent()
        .is_some_and(|d| !d.as_os_str().is_empty() && !d.exists())
    {
        return Ok(());
    }
    drop(lock(target, wait)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_writer_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("config");
        let held = lock(&target, Duration::ZERO).unwrap();
        assert!(lock_path(&target).exists());
        let e = lock(&target, Duration::from_millis(50))
            .unwrap_err()
            .to_string();
        assert!(e.contains("config.lock") && e.contains("remove"), "{e}");
        drop(held);
        assert!(!lock_path(&target).exists());
        lock(&target, Duration::ZERO).unwrap();
    }
}
