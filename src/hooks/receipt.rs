//! pre-commit leaves a receipt of the exact change set it approved; post-commit skips its
//! re-check when the new commit is exactly that set (the usual case) and checks in full
//! when it is not (a `--no-verify` bypass, or a commit pre-commit never saw). This halves
//! the per-commit cost of the guard without trusting anything but content ids.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::changes::Change;
use crate::repo::Repo;

/// An approval older than this is not trusted (leases may have changed meanwhile). It must
/// cover the time a person spends writing the message in the editor after pre-commit.
const MAX_AGE_SECS: i64 = 600;

fn path(repo: &Repo) -> PathBuf {
    // Per worktree: two worktrees committing at once must not consume each other's receipt.
    repo.git_dir().join("comm-node").join("pre-commit-approved")
}

/// Content digest of a change set: sorted `path NUL blob-or-dash` lines.
fn digest(changes: &[Change]) -> String {
    let mut lines: Vec<String> = changes
        .iter()
        .map(|c| {
            let blob = c.blob.map(|b| b.to_string()).unwrap_or_else(|| "-".into());
            format!("{}\0{blob}\n", c.path)
        })
        .collect();
    lines.sort();
    let mut hasher = Sha256::new();
    for line in &lines {
        hasher.update(line.as_bytes());
    }
    format!("{:x}", hasher.finalize())
}

/// Record that pre-commit approved `changes` now. Best effort: without a receipt
/// post-commit simply checks in full.
pub fn record(repo: &Repo, changes: &[Change], now: i64) {
    let file = path(repo);
    if let Some(dir) = file.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::write(file, format!("{now} {}\n", digest(changes)));
}

/// Consume the receipt; true when it approved exactly `changes`, recently.
pub fn take_matching(repo: &Repo, changes: &[Change], now: i64) -> bool {
    let file = path(repo);
    let Ok(text) = std::fs::read_to_string(&file) else {
        return false;
    };
    let _ = std::fs::remove_file(&file);
    let Some((when, approved)) = text.trim().split_once(' ') else {
        return false;
    };
    let fresh = when
        .parse::<i64>()
        .is_ok_and(|t| now - t >= 0 && now - t <= MAX_AGE_SECS);
    fresh && approved == digest(changes)
}
