//! Unified text diff between two artifact versions.

use similar::TextDiff;

use super::{is_text, Version};

pub enum Outcome {
    Same,
    Binary,
    Text(String),
}

/// Diff `old` against `new` (their contents given); binary content is not diffed.
pub fn diff(old: &Version, old_bytes: &[u8], new: &Version, new_bytes: &[u8]) -> Outcome {
    if old.blob == new.blob {
        return Outcome::Same;
    }
    if !is_text(old_bytes) || !is_text(new_bytes) {
        return Outcome::Binary;
    }
    let old_text = String::from_utf8_lossy(old_bytes);
    let new_text = String::from_utf8_lossy(new_bytes);
    let key = &old.meta.key;
    let text = TextDiff::from_lines(old_text.as_ref(), new_text.as_ref())
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("{key}@v{}", old.meta.version),
            &format!("{key}@v{}", new.meta.version),
        )
        .to_string();
    Outcome::Text(text)
}
