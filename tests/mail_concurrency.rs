//! N processes sending at once lose nothing and duplicate nothing.

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::*;

const WRITERS: usize = 8;
const PER_WRITER: usize = 100;

/// One shell process per writer, each sending PER_WRITER messages back to back.
fn spawn_writer(dir: &Path, writer: usize) -> Child {
    let script = format!(
        "for i in $(seq 1 {PER_WRITER}); do \"$BIN\" --as w{writer} send sink -s \"w{writer} m$i\" >/dev/null || exit 1; done"
    );
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .env("BIN", BIN)
        .current_dir(dir)
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn writer")
}

fn join_all(repo: &TestRepo) {
    repo.ok_as("sink", &["join"]);
    for w in 0..WRITERS {
        repo.ok_as(&format!("w{w}"), &["join"]);
    }
}

fn run_writers(dirs: &[PathBuf]) {
    let children: Vec<Child> = (0..WRITERS)
        .map(|w| spawn_writer(&dirs[w % dirs.len()], w))
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success(), "a writer failed");
    }
}

fn assert_exactly_all_messages(repo: &TestRepo) {
    let subjects = repo.git(&["log", "--format=%s", "refs/comm-node/mail"]);
    let lines: Vec<&str> = subjects.lines().collect();
    assert_eq!(lines.len(), WRITERS * PER_WRITER, "message count");
    let unique: HashSet<&str> = lines.iter().copied().collect();
    assert_eq!(unique.len(), WRITERS * PER_WRITER, "duplicates found");
    for w in 0..WRITERS {
        for i in 1..=PER_WRITER {
            assert!(
                unique.contains(format!("w{w} m{i}").as_str()),
                "lost w{w} m{i}"
            );
        }
    }
    // History is one linear chain: no message was re-parented away.
    let merges = repo.git(&["rev-list", "--merges", "--count", "refs/comm-node/mail"]);
    assert_eq!(merges.trim(), "0");
    let inbox: serde_json::Value =
        serde_json::from_str(repo.ok_as("sink", &["inbox", "--json"]).trim()).unwrap();
    assert_eq!(
        inbox["messages"].as_array().unwrap().len(),
        WRITERS * PER_WRITER
    );
}

#[test]
fn eight_processes_one_repo() {
    let repo = TestRepo::new();
    join_all(&repo);
    run_writers(&[repo.path().to_path_buf()]);
    assert_exactly_all_messages(&repo);
}

#[test]
fn eight_processes_two_worktrees() {
    let repo = TestRepo::new();
    repo.initial_commit();
    join_all(&repo);
    let wt = repo.path().join("linked");
    repo.git(&["worktree", "add", "-q", wt.to_str().unwrap()]);
    run_writers(&[repo.path().to_path_buf(), wt]);
    assert_exactly_all_messages(&repo);
}
