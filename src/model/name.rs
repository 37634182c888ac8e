//! Names of agents and domains: they appear inside ref names, so they are ref-safe.

use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Recipient meaning "every agent"; reserved, so no agent may be called that.
pub const EVERYONE: &str = "all";
const MAX_NAME_LEN: usize = 64;
/// git's own special ref names: an agent called HEAD would be confused with them.
const RESERVED_NAMES: [&str; 10] = [
    "HEAD",
    "FETCH_HEAD",
    "ORIG_HEAD",
    "MERGE_HEAD",
    "CHERRY_PICK_HEAD",
    "REVERT_HEAD",
    "BISECT_HEAD",
    "REBASE_HEAD",
    "AUTO_MERGE",
    "MERGE_AUTOSTASH",
];

/// Check that `name` can be used as an agent name (and thus inside a ref name).
pub fn validate_name(name: &str) -> Result<()> {
    let problem = name_problem(name);
    match problem {
        None => Ok(()),
        Some(why) => Err(Error::usage(format!("invalid agent name '{name}': {why}"))
            .with_hint("use letters, digits, '.', '_' or '-', starting with a letter or digit")),
    }
}

fn name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("empty");
    }
    if name.len() > MAX_NAME_LEN {
        return Some("longer than 64 characters");
    }
    if name == EVERYONE {
        return Some("'all' is reserved for broadcast");
    }
    if RESERVED_NAMES.iter().any(|r| r.eq_ignore_ascii_case(name)) {
        return Some("a name git uses for its own refs (HEAD, FETCH_HEAD, ...)");
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Some("must start with a letter or digit");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Some("contains a character that is not allowed in a ref name");
    }
    if name.contains("..") || name.ends_with(".lock") || name.ends_with('.') {
        return Some("'..', a trailing '.' or '.lock' are not allowed in ref names");
    }
    None
}

/// A fresh id: `bytes` bytes, in hex, of a hash of `parts` (each after a 0 byte but the
/// first), the time, the process and a counter. Lease, task and outbox ids are made so:
/// unique across machines without coordination, as two would need the same inputs in the
/// same nanosecond.
pub fn unique_hex(parts: &[&str], bytes: usize) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mut hasher = Sha256::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            hasher.update([0]);
        }
        hasher.update(part.as_bytes());
    }
    hasher.update(nanos.to_le_bytes());
    hasher.update(std::process::id().to_le_bytes());
    hasher.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    hasher
        .finalize()
        .iter()
        .take(bytes)
        .map(|b| format!("{b:02x}"))
        .collect()
}
