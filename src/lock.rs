//! One lock per session key: a dedicated `.lock` file in the user's cache dir (never the
//! data file, never a shared temp dir; see int128/kubelogin#627 and #1144 for why), held
//! across re-read → MFA → AssumeRole → store, so N parallel callers prompt once.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::cache::{Area, CacheDir};
use crate::error::{Error, Result};

/// How often a waiter retries; waiters finish within this of the winner storing.
const POLL: Duration = Duration::from_millis(10);

/// An exclusive advisory lock, released on drop (or when the process dies).
#[derive(Debug)]
pub(crate) struct SessionLock {
    _file: File,
}

/// What happened while waiting, for the caller to report.
pub(crate) trait WaitObserver {
    /// Called once, after `notice_after` of waiting.
    fn still_waiting(&mut self);
}

/// Takes the lock for `profile`, waiting at most `give_up_after`.
pub(crate) fn acquire(
    cache: &CacheDir,
    profile: &str,
    notice_after: Duration,
    give_up_after: Duration,
    observer: &mut dyn WaitObserver,
) -> Result<SessionLock> {
    cache.ensure(Area::Locks)?;
    let path = &cache.file(Area::Locks, profile);
    let file = open_lock_file(path)?;
    let start = Instant::now();
    let mut noticed = false;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(SessionLock { _file: file }),
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => return Err(Error::io("cannot lock", path, e)),
        }
        let waited = start.elapsed();
        if !noticed && waited >= notice_after {
            observer.still_waiting();
            noticed = true;
        }
        if waited >= give_up_after {
            return Err(Error::LockTimeout {
                profile: profile.to_string(),
                waited_seconds: give_up_after.as_secs(),
            });
        }
        std::thread::sleep(POLL);
    }
}

/// Whether another process holds the lock right now (an MFA login in progress).
pub(crate) fn held_elsewhere(cache: &CacheDir, profile: &str) -> Result<bool> {
    let path = &cache.file(Area::Locks, profile);
    if !path.exists() {
        return Ok(false);
    }
    let file = open_lock_file(path)?;
    match file.try_lock() {
        Ok(()) => Ok(false),
        Err(TryLockError::WouldBlock) => Ok(true),
        Err(TryLockError::Error(e)) => Err(Error::io("cannot lock", path, e)),
    }
}

fn open_lock_file(path: &Path) -> Result<File> {
    let mut opts = OpenOptions::new();
    opts.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
        .map_err(|e| Error::io("cannot open lock file", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Count(usize);
    impl WaitObserver for Count {
        fn still_waiting(&mut self) {
            self.0 += 1;
        }
    }

    #[test]
    fn second_holder_waits_notices_once_and_gives_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = CacheDir::at(dir.path());
        let held = acquire(&path, "p", Duration::ZERO, Duration::ZERO, &mut Count(0)).unwrap();
        let mut seen = Count(0);
        let err = acquire(
            &path,
            "p",
            Duration::from_millis(20),
            Duration::from_millis(80),
            &mut seen,
        )
        .unwrap_err();
        assert_eq!(seen.0, 1);
        assert!(
            err.to_string().contains("eksop-auth login --profile p"),
            "{err}"
        );
        drop(held);
        acquire(
            &path,
            "p",
            Duration::ZERO,
            Duration::from_millis(80),
            &mut Count(0),
        )
        .unwrap();
    }
}
