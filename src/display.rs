//! How ids and times are shown to people: shared by the CLI and by hook messages.

/// Characters of an id shown to people; reads accept any unique prefix.
pub const SHORT_ID: usize = 10;

pub fn short(id: &impl ToString) -> String {
    let mut s = id.to_string();
    s.truncate(SHORT_ID);
    s
}

/// Local date and time, minute precision: `2026-11-21 14:03`.
pub fn local_time(unix: i64) -> String {
    match jiff::Timestamp::from_second(unix) {
        Ok(ts) => ts
            .to_zoned(jiff::tz::TimeZone::system())
            .strftime("%Y-%m-%d %H:%M")
            .to_string(),
        Err(_) => unix.to_string(),
    }
}

/// RFC 3339 UTC timestamp for JSON.
pub fn iso_time(unix: i64) -> String {
    jiff::Timestamp::from_second(unix)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| unix.to_string())
}

/// `3m ago`, `2h ago`, `4d ago`.
pub fn ago(unix: i64, now: i64) -> String {
    let secs = (now - unix).max(0);
    match secs {
        0..=59 => format!("{secs}s ago"),
        60..=3599 => format!("{}m ago", secs / 60),
        3600..=86_399 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86_400),
    }
}

/// The one item whose id starts with `prefix` (already checked long enough): `what` names
/// the kind of id in the errors (`lease`, `task`), `missing` what was not found (`live
/// lease`), and `list` the command that lists them.
pub fn unique_by_prefix<'a, T>(
    items: &'a [T],
    id_of: impl Fn(&T) -> &str,
    prefix: &str,
    what: &str,
    missing: &str,
    list: &str,
) -> crate::error::Result<&'a T> {
    use crate::error::Error;
    let matching: Vec<&T> = items
        .iter()
        .filter(|i| id_of(i).starts_with(prefix))
        .collect();
    match matching.as_slice() {
        [one] => Ok(one),
        [] => Err(Error::usage(format!("no {missing} '{prefix}'"))
            .with_hint(format!("list {what}s with `{list}`"))),
        _ => Err(Error::usage(format!("{what} id '{prefix}' is ambiguous"))
            .with_hint("use more characters of the id")),
    }
}
