//! Helpers for hook tests: run real `git` with the test binary's directory on PATH, as
//! the agent of our choice.
#![allow(dead_code)]

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Output};

use crate::common::{bin_path, stderr, stdout, TestRepo};

/// PATH with the git-comm under test first.
pub fn path_with_comm() -> OsString {
    let dir = bin_path().parent().unwrap().to_path_buf();
    let mut paths = vec![dir];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(paths).unwrap()
}

/// PATH without any directory holding a `git-comm`.
pub fn path_without_comm() -> OsString {
    let paths: Vec<_> = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .filter(|p| !p.join("git-comm").exists())
        .collect();
    std::env::join_paths(paths).unwrap()
}

/// `git ARGS` in `dir` as `agent` (None: no identity), hooks finding our binary.
pub fn git_as(dir: &Path, agent: Option<&str>, args: &[&str]) -> Output {
    git_with_path(dir, agent, args, path_with_comm())
}

pub fn git_with_path(dir: &Path, agent: Option<&str>, args: &[&str], path: OsString) -> Output {
    git_with_clock(dir, agent, args, path, 0)
}

/// Like `git_with_path`, with git-comm's clock shifted by `offset_secs` (what a machine
/// whose clock runs ahead, or a later moment, looks like to the hooks).
pub fn git_with_clock(
    dir: &Path,
    agent: Option<&str>,
    args: &[&str],
    path: OsString,
    offset_secs: i64,
) -> Output {
    let mut cmd = Command::new("git");
    cmd.env("GIT_COMM_CLOCK_OFFSET", offset_secs.to_string());
    cmd.args(args)
        .current_dir(dir)
        .env("PATH", path)
        .env("TZ", "UTC")
        .env_remove("GIT_COMM_AGENT");
    if let Some(agent) = agent {
        cmd.env("GIT_COMM_AGENT", agent);
    }
    cmd.output().expect("run git")
}

pub fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({:?}):\nstdout: {}\nstderr: {}",
        out.status.code(),
        stdout(out),
        stderr(out)
    );
    stdout(out)
}

pub fn refused(out: &Output, what: &str) -> String {
    assert!(
        !out.status.success(),
        "{what} should have been refused:\nstdout: {}\nstderr: {}",
        stdout(out),
        stderr(out)
    );
    stderr(out)
}

/// A repo with a first commit, agents alice and bob, and the hooks installed.
pub fn guarded_repo() -> TestRepo {
    let t = TestRepo::new();
    t.write("src/a.ts", "export const a = 1;\n");
    t.write("docs/guide.md", "# guide\n");
    t.initial_commit();
    t.git(&["add", "."]);
    t.git(&["commit", "-q", "-m", "files"]);
    t.ok_as("alice", &["join"]);
    t.ok_as("bob", &["join"]);
    t.ok_as("alice", &["hooks", "install"]);
    t
}

/// Stage `content` at `rel` and commit it as `agent`.
pub fn commit_file(
    t: &TestRepo,
    agent: Option<&str>,
    rel: &str,
    content: &str,
    extra: &[&str],
) -> Output {
    t.write(rel, content);
    t.git(&["add", rel]);
    let mut args = vec!["commit", "-q", "-m", "change"];
    args.extend_from_slice(extra);
    git_as(t.path(), agent, &args)
}

/// `commit_file` with git-comm's clock `offset_secs` ahead.
pub fn commit_file_at(
    t: &TestRepo,
    agent: Option<&str>,
    rel: &str,
    content: &str,
    offset_secs: i64,
) -> Output {
    t.write(rel, content);
    t.git(&["add", rel]);
    let args = ["commit", "-q", "-m", "change"];
    git_with_clock(t.path(), agent, &args, path_with_comm(), offset_secs)
}
