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

/// `14:03`: the user's local time of day, to the minute (`round_up`: the first whole
/// minute not before `t`, so "after 14:05" is never early).
pub(crate) fn local_hm(t: SystemTime, round_up: bool) -> String {
    let t = if round_up {
        let into_minute = t.duration_since(UNIX_EPOCH).map_or(Duration::ZERO, |d| {
            Duration::from_millis(u64::try_from(d.as_millis() % 60_000).unwrap_or(0))
                + Duration::from_nanos(u64::from(d.subsec_nanos() % 1_000_000))
        });
        if into_minute.is_zero() {
            t
        } else {
            t + (Duration::from_secs(60) - into_minute)
        }
    } else {
        t
    };
    chrono::DateTime::<chrono::Local>::from(t)
        .format("%H:%M")
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
        assert_eq!(from_unix_millis(unix_millis(from_unix(7))), from_unix(7));
        // Rounded up to a whole minute, never early; a whole minute stays as it is.
        let (mid, next) = (from_unix(1_767_226_470), from_unix(1_767_226_500));
        assert_eq!(local_hm(mid, true), local_hm(next, false));
        assert_eq!(local_hm(next, true), local_hm(next, false));
        assert_eq!(
            local_hm(mid, false),
            local_hm(from_unix(1_767_226_440), false)
        );
    }
}
