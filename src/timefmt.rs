//! Times as text: the one place that formats a time, for wire formats (UTC RFC 3339) and for
//! people (local time, "1h05m"). Pure: the time is always an argument.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `2026-01-01T00:14:00Z`: UTC, whole seconds, as aws-cli and client-go write it.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t)
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// `2026-11-30 05:52:10 +09:00`: the user's local time.
pub(crate) fn local_time(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Local>::from(t)
        .format("%Y-%m-%d %H:%M:%S %:z")
        .to_string()
}

/// `1h05m`, `12h`, `7m`: a remaining lifetime for people.
pub(crate) fn human_duration(d: Duration) -> String {
    let mins = d.as_secs() / 60;
    match (mins / 60, mins % 60) {
        (0, m) => format!("{m}m"),
        (h, 0) => format!("{h}h"),
        (h, m) => format!("{h}h{m:02}m"),
    }
}

/// Seconds since the epoch (0 for earlier times).
pub(crate) fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The time `secs` after the epoch, saturating at the year 9999 (a damaged value must not
/// overflow the date arithmetic).
pub(crate) fn from_unix(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs.min(253_402_300_799))
}

/// Milliseconds since the epoch (0 for earlier times).
pub(crate) fn unix_millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The time `ms` milliseconds after the epoch, saturating as `from_unix` does.
pub(crate) fn from_unix_millis(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms.min(253_402_300_799_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(rfc3339(from_unix(1_767_226_440)), "2026-01-01T00:14:00Z");
        assert_eq!(human_duration(Duration::from_secs(43_200)), "12h");
        assert_eq!(human_duration(Duration::from_secs(3_900)), "1h05m");
        assert_eq!(human_duration(Duration::from_secs(420)), "7m");
        assert_eq!(unix_seconds(from_unix(42)), 42);
    }
}
