//! The one clock every timestamp comes from (lease expiries, commit and tag times), and
//! the clock-skew tolerance the swarm agrees on.
//!
//! Machines' clocks disagree. Within the tolerance (default 5 minutes, `clock_skew:` in
//! `.comm-node/config.yaml`) skew never causes a double grant: a lease blocks competing
//! requests until its expiry plus the tolerance. Beyond it, `git comm doctor` flags
//! commits from the future and the storage gate refuses entries whose own timestamps are
//! inconsistent.
//!
//! `GIT_COMM_CLOCK_OFFSET` (seconds, may be negative) shifts this process's clock, so tests
//! can run agents with skewed clocks without faking the system time; `@UNIX` pins it to
//! that second, so a scripted history has exact durations.

use crate::error::{Error, Result};

pub const OFFSET_ENV: &str = "GIT_COMM_CLOCK_OFFSET";
/// Default tolerated skew between machines' clocks: 5 minutes.
pub const DEFAULT_SKEW_SECS: i64 = 5 * 60;

/// Seconds to add to the system clock.
fn offset() -> i64 {
    let Ok(value) = std::env::var(OFFSET_ENV) else {
        return 0;
    };
    let value = value.trim();
    match value.strip_prefix('@') {
        Some(pinned) => pinned
            .parse::<i64>()
            .map_or(0, |at| at - jiff::Timestamp::now().as_second()),
        None => value.parse::<i64>().unwrap_or(0),
    }
}

/// Now, in unix seconds.
pub fn now_secs() -> i64 {
    jiff::Timestamp::now().as_second() + offset()
}

/// Now, as a git timestamp (local offset when known, else UTC).
pub fn now_time() -> gix::date::Time {
    let mut time = gix::date::Time::now_local_or_utc();
    time.seconds += offset();
    time
}

/// `500ms`, `90s`, `30m`, `2h`, `1d` or plain seconds (`90`) -> milliseconds; `None` when
/// it is not such a duration or overflows.
pub fn parse_millis(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    if number.is_empty() {
        return None;
    }
    let value: u64 = number.parse().ok()?;
    let scale: u64 = match unit.trim() {
        "ms" => 1,
        "" | "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    value.checked_mul(scale)
}

/// A duration in whole seconds, at most `max`: `90s`, `30m`, `2h`, `1d` or plain seconds.
pub fn parse_duration(text: &str, max: i64) -> Result<i64> {
    let bad = || {
        Error::usage(format!("invalid duration '{text}'"))
            .with_hint("use a number and a unit: 90s, 30m, 2h, 1d")
    };
    let millis = parse_millis(text).ok_or_else(bad)?;
    if millis % 1000 != 0 {
        return Err(bad());
    }
    let secs = i64::try_from(millis / 1000).map_err(|_| bad())?;
    if secs > max {
        return Err(bad());
    }
    Ok(secs)
}

/// A point in time for `--since`: a duration back from now (`2h`, `7d`), a date
/// (`2026-11-23`, midnight UTC) or an RFC 3339 timestamp; unix seconds.
pub fn parse_since(text: &str) -> Result<i64> {
    if let Ok(secs) = parse_duration(text, 100 * 365 * 86_400) {
        return Ok(now_secs() - secs);
    }
    if let Ok(t) = text.parse::<jiff::Timestamp>() {
        return Ok(t.as_second());
    }
    if let Ok(d) = text.parse::<jiff::civil::Date>() {
        if let Ok(z) = d.to_zoned(jiff::tz::TimeZone::UTC) {
            return Ok(z.timestamp().as_second());
        }
    }
    Err(Error::usage(format!("invalid time '{text}'")).with_hint(
        "use a duration back from now (2h, 7d), a date (2026-11-23) or 2026-11-23T10:00:00Z",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_accepts_durations_dates_and_timestamps() {
        let now = now_secs();
        assert!((parse_since("2h").unwrap() - (now - 7200)).abs() <= 1);
        assert_eq!(parse_since("2026-11-23").unwrap(), 1_795_392_000);
        assert_eq!(parse_since("2026-11-23T00:00:10Z").unwrap(), 1_795_392_010);
        assert!(parse_since("yesterday").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("300", 10_000).unwrap(), 300);
        assert_eq!(parse_duration("5m", 10_000).unwrap(), 300);
        assert_eq!(parse_duration("0s", 10_000).unwrap(), 0);
        assert_eq!(parse_duration("2h", 10_000).unwrap(), 7200);
        for bad in ["", "m", "-5m", "1.5h", "5w", "3h"] {
            assert!(parse_duration(bad, 10_000).is_err(), "{bad:?}");
        }
    }
}
