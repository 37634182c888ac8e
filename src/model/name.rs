//! Names of agents and domains: they appear inside ref names, so they are ref-safe.

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
