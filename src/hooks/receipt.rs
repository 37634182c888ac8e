//! pre-commit leaves a receipt of what it approved; post-commit skips its re-check when the
//! receipt comes from the pre-commit of the very `git commit` now running its post-commit,
//! and checks in full otherwise (a `--no-verify` bypass, a commit pre-commit never saw).
//!
//! "The very `git commit`": both hooks are children of one git process, named in the receipt
//! by its pid and its start time (`/proc/PID/stat`), which no later process can share. git
//! commits the index as it stands after pre-commit, so that process commits what was
//! approved. On Linux the post-commit shim makes this comparison itself, without starting
//! git-comm at all; elsewhere (no `/proc`) the receipt carries the approved change set's
//! digest and a time, and post-commit compares those.

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

#[cfg(not(unix))]
fn git_process() -> Option<(u32, String)> {
    None
}

/// The git process that runs this hook (our parent: the shim execs us): its pid and start
/// time, or `None` where `/proc` does not tell.
#[cfg(unix)]
fn git_process() -> Option<(u32, String)> {
    let pid = std::os::unix::process::parent_id();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which may hold spaces: the 22nd field is the start time.
    let after_name = &stat[stat.rfind(") ")? + 2..];
    let start = after_name.split_whitespace().nth(19)?;
    Some((pid, start.to_string()))
}

/// Record that pre-commit approved `changes` now: `TIME DIGEST [PID START]`. The line is
/// read by the post-commit shim too (`hooks/shim.sh`). Best effort: without a receipt
/// post-commit simply checks in full.
pub fn record(repo: &Repo, changes: &[Change], now: i64) {
    let file = path(repo);
    if let Some(dir) = file.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let mut line = format!("{now} {}", digest(changes));
    if let Some((pid, start)) = git_process() {
        line.push_str(&format!(" {pid} {start}"));
    }
    // A new file, not the old one truncated: ext4 flushes a file rewritten through
    // truncation at close (auto_da_alloc) and, on a `discard` mount, discards the freed
    // blocks, which measured more than the rest of the receipt's work.
    let _ = std::fs::remove_file(&file);
    let _ = std::fs::write(file, line + "\n");
}

/// Consume the receipt; true when the pre-commit of this same git process wrote it, or,
/// where processes cannot be told apart, when it approved exactly `changes`, recently.
pub fn take_matching(repo: &Repo, changes: &[Change], now: i64) -> bool {
    let file = path(repo);
    let Ok(text) = std::fs::read_to_string(&file) else {
        return false;
    };
    let _ = std::fs::remove_file(&file);
    let fields: Vec<&str> = text.split_whitespace().collect();
    match fields[..] {
        [_, _, pid, start] => {
            git_process().is_some_and(|(p, s)| p.to_string() == pid && s == start)
        }
        [when, approved] => {
            let fresh = when
                .parse::<i64>()
                .is_ok_and(|t| now - t >= 0 && now - t <= MAX_AGE_SECS);
            fresh && git_process().is_none() && approved == digest(changes)
        }
        _ => false,
    }
}
