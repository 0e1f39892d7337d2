//! The TOTP replay guard: AWS accepts a code once, so remember (per MFA device) a hash of
//! the last accepted code and its 30-second step, and refuse the same code again before
//! spending an AWS call on it. The hash, never the code, is kept.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::cache::{self, Area, CacheDir};
use crate::timefmt::unix_seconds;

#[derive(Debug, Serialize, Deserialize)]
struct LastCode {
    step: u64,
    hash: String,
}

const TOTP_STEP: u64 = 30;

fn code_hash(serial: &str, code: &str) -> String {
    cache::key(&["mfa code", serial, code])
}

/// Where the guard for `serial` is kept.
fn device_key(serial: &str) -> String {
    cache::key(&["mfa device", serial])
}

/// Seconds until the next code if `code` was already accepted in this or the previous
/// 30-second step (a TOTP code stays valid across one step boundary).
pub(crate) fn already_used(
    cache: &CacheDir,
    serial: &str,
    code: &str,
    now: SystemTime,
) -> Option<u64> {
    let bytes = cache.read(Area::Mfa, &device_key(serial)).ok()??;
    let last: LastCode = serde_json::from_slice(&bytes).ok()?;
    let now_s = unix_seconds(now);
    let step = now_s / TOTP_STEP;
    (last.hash == code_hash(serial, code) && step.saturating_sub(last.step) <= 1)
        .then(|| TOTP_STEP - now_s % TOTP_STEP)
}

/// Records an accepted code (best effort: the guard only saves a wasted call).
pub(crate) fn remember(cache: &CacheDir, serial: &str, code: &str, now: SystemTime) {
    let last = LastCode {
        step: unix_seconds(now) / TOTP_STEP,
        hash: code_hash(serial, code),
    };
    let _ = cache.write(
        Area::Mfa,
        &device_key(serial),
        &serde_json::to_vec(&last).unwrap_or_default(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timefmt::from_unix;

    #[test]
    fn a_code_is_refused_for_its_step_and_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CacheDir::at(dir.path());
        remember(&cache, "m", "123456", from_unix(3_000));
        assert_eq!(
            already_used(&cache, "m", "123456", from_unix(3_010)),
            Some(20)
        );
        assert!(already_used(&cache, "m", "123456", from_unix(3_045)).is_some());
        assert_eq!(already_used(&cache, "m", "123456", from_unix(3_061)), None);
        assert_eq!(already_used(&cache, "m", "654321", from_unix(3_010)), None);
        assert_eq!(
            already_used(&cache, "other", "123456", from_unix(3_010)),
            None
        );
    }
}
