//! The git CLI for the network: fetch and push honour the user's credentials, ssh config
//! and proxies, which gix cannot push through. Nothing else goes through the CLI.

use std::path::Path;
use std::process::{Command, Output};

use crate::error::{Error, Result};
use crate::repo::ObjectId;

/// One ref update for `push`: set `name` to `new`, only if the remote still holds `expected`.
#[derive(Debug, Clone)]
pub struct Update {
    pub name: String,
    pub new: ObjectId,
    pub expected: Option<ObjectId>,
}

/// How a push ended.
#[derive(Debug)]
pub enum PushOutcome {
    Done,
    /// The remote moved since we fetched (lease or fast-forward check failed): refetch, retry.
    Stale(String),
    /// The remote refused for another reason (hook, permissions, namespace): do not retry.
    Refused(String),
}

fn git(git_dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("--git-dir")
        .arg(git_dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_WORK_TREE");
    cmd
}

fn run(mut cmd: Command, what: &str) -> Result<Output> {
    cmd.output().map_err(|e| {
        Error::git(format!("cannot run git to {what}: {e}"))
            .with_hint("install git and make sure it is on PATH")
    })
}

/// Last few lines of git's stderr, for error messages: trimmed (remote lines end in
/// padding), without the "failed to push some refs" line the caller already says.
pub fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("error: failed to push some refs"))
        .collect();
    lines[lines.len().saturating_sub(4)..].join("; ")
}

/// `!\t<sha>:<ref>\t[remote rejected] (why)` -> `<ref> [remote rejected] (why)`.
fn rejected_detail(line: &str) -> String {
    let fields: Vec<&str> = line.trim_start_matches('!').trim().split('\t').collect();
    match fields.as_slice() {
        [refspec, summary, ..] => {
            let target = refspec.rsplit_once(':').map_or(*refspec, |(_, to)| to);
            format!("{target} {summary}")
        }
        _ => fields.join(" "),
    }
}

/// Fetch `source_prefix*` of `remote` into `tracking_prefix*` (forced, pruned).
pub fn fetch(
    git_dir: &Path,
    remote: &str,
    source_prefix: &str,
    tracking_prefix: &str,
) -> Result<()> {
    let mut cmd = git(git_dir);
    cmd.args([
        "fetch",
        "--quiet",
        "--no-tags",
        "--prune",
        "--no-write-fetch-head",
        "--no-recurse-submodules",
        remote,
    ])
    .arg(format!("+{source_prefix}*:{tracking_prefix}*"));
    let out = run(cmd, "fetch")?;
    if out.status.success() {
        return Ok(());
    }
    Err(Error::git(format!("cannot fetch from {remote}: {}", tail(&out.stderr))).with_hint(
        "check the remote (`git remote -v`) and the network; local state is unchanged and every other command works offline",
    ))
}

/// Push `updates` atomically with a lease per ref; never a bare force.
pub fn push(git_dir: &Path, remote: &str, updates: &[Update]) -> Result<PushOutcome> {
    let mut cmd = git(git_dir);
    cmd.args(["push", "--porcelain", "--atomic", "--no-verify", "--quiet"]);
    for u in updates {
        let expected = u.expected.map(|e| e.to_string()).unwrap_or_default();
        cmd.arg(format!("--force-with-lease={}:{expected}", u.name));
    }
    cmd.arg(remote);
    for u in updates {
        cmd.arg(format!("{}:{}", u.new, u.name));
    }
    let out = run(cmd, "push")?;
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        return Ok(PushOutcome::Done);
    }
    let rejected: Vec<&str> = report.lines().filter(|l| l.starts_with('!')).collect();
    let stderr = tail(&out.stderr);
    if rejected.is_empty() {
        return Ok(PushOutcome::Refused(stderr));
    }
    let stale = is_stale(&rejected, &stderr);
    let detail = rejected
        .iter()
        .map(|l| rejected_detail(l))
        .collect::<Vec<_>>()
        .join("; ");
    if stale || stderr.is_empty() {
        Ok(if stale {
            PushOutcome::Stale(detail)
        } else {
            PushOutcome::Refused(detail)
        })
    } else {
        Ok(PushOutcome::Refused(format!("{detail} ({stderr})")))
    }
}

/// Did the push lose a race (the remote moved since our fetch), as opposed to being
/// refused by a hook or a permission? Lost races are retried after a fetch.
fn is_stale(rejected: &[&str], stderr: &str) -> bool {
    const REFUSED: [&str; 3] = ["hook declined", "denied", "permission"];
    const RACED: [&str; 6] = [
        "stale info",
        "fetch first",
        "non-fast-forward",
        "cannot lock ref",
        "but expected",
        "atomic transaction failed",
    ];
    let all = format!("{} {stderr}", rejected.join(" "));
    !REFUSED.iter().any(|m| all.contains(m)) && RACED.iter().any(|m| all.contains(m))
}

/// Is `remote` reachable? Returns git's complaint when it is not.
pub fn probe(
    git_dir: &Path,
    remote: &str,
    prefix: &str,
) -> Result<std::result::Result<(), String>> {
    let mut cmd = git(git_dir);
    cmd.args(["ls-remote", "--quiet", remote])
        .arg(format!("{prefix}*"));
    let out = run(cmd, "reach the remote")?;
    Ok(if out.status.success() {
        Ok(())
    } else {
        Err(tail(&out.stderr))
    })
}

/// Delete `name` on the remote if it still holds `expected` (used by doctor's probe).
pub fn delete_remote_ref(
    git_dir: &Path,
    remote: &str,
    name: &str,
    expected: ObjectId,
) -> Result<bool> {
    let mut cmd = git(git_dir);
    cmd.args(["push", "--porcelain", "--no-verify", "--quiet"])
        .arg(format!("--force-with-lease={name}:{expected}"))
        .arg(remote)
        .arg(format!(":{name}"));
    Ok(run(cmd, "push")?.status.success())
}

/// `git config --get-all KEY`, empty when unset.
pub fn config_get_all(git_dir: &Path, key: &str) -> Result<Vec<String>> {
    let mut cmd = git(git_dir);
    cmd.args(["config", "--get-all", key]);
    let out = run(cmd, "read config")?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect())
}

/// `git config --add KEY VALUE`.
pub fn config_add(git_dir: &Path, key: &str, value: &str) -> Result<()> {
    let mut cmd = git(git_dir);
    cmd.args(["config", "--add", key, value]);
    let out = run(cmd, "write config")?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::git(format!(
            "cannot set {key}: {}",
            tail(&out.stderr)
        )))
    }
}
