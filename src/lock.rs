//! One lock per session key: a dedicated `.lock` file in the user's cache dir (never the
//! data file, never a shared temp dir; see int128/kubelogin#627 and #1144 for why), held
//! across re-read → MFA → AssumeRole → store, so N parallel callers prompt once.

use std::fs::{File, TryLockError};
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

/// Takes the lock filed under `key` (the profile's session key), waiting at most
/// `give_up_after`; `profile` is for messages.
pub(crate) fn acquire(
    cache: &CacheDir,
    key: &str,
    profile: &str,
    notice_after: Duration,
    give_up_after: Duration,
    observer: &mut dyn WaitObserver,
) -> Result<SessionLock> {
    let file = cache.open_lock(key)?;
    let start = Instant::now();
    let mut noticed = false;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(SessionLock { _file: file }),
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => {
                return Err(Error::io("cannot lock", cache.file(Area::Locks, key), e));
            }
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

/// The lock for `key` if nobody holds it now, without waiting.
pub(crate) fn try_acquire(cache: &CacheDir, key: &str) -> Result<Option<SessionLock>> {
    let file = cache.open_lock(key)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(SessionLock { _file: file })),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => {
            Err(Error::io("cannot lock", cache.file(Area::Locks, key), e))
        }
    }
}

/// Whether another process holds the lock right now (an MFA login in progress).
pub(crate) fn held_elsewhere(cache: &CacheDir, key: &str) -> Result<bool> {
    let Some(file) = cache.existing_lock(key)? else {
        return Ok(false);
    };
    match file.try_lock() {
        Ok(()) => Ok(false),
        Err(TryLockError::WouldBlock) => Ok(true),
        Err(TryLockError::Error(e)) => {
            Err(Error::io("cannot lock", cache.file(Area::Locks, key), e))
        }
    }
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
        let cache = CacheDir::at(dir.path());
        let take = |wait_ms, seen: &mut Count| {
            acquire(
                &cache,
                "k",
                "p",
                Duration::from_millis(20),
                Duration::from_millis(wait_ms),
                seen,
            )
        };
        let held = take(0, &mut Count(0)).unwrap();
        assert!(held_elsewhere(&cache, "k").unwrap());
        let mut seen = Count(0);
        let err = take(80, &mut seen).unwrap_err();
        assert_eq!(seen.0, 1);
        assert!(
            err.to_string().contains("eksop-auth login --profile p"),
            "{err}"
        );
        drop(held);
        assert!(!held_elsewhere(&cache, "k").unwrap());
        take(80, &mut Count(0)).unwrap();
    }
}
