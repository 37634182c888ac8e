//! A shared bare remote with several clones, for sync tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use git_comm::mail::{mailbox, Draft};
use std::collections::BTreeMap;

use git_comm::repo::{ObjectId, Repo};

use crate::common::{assert_success, comm_in, git_in, stdout};

pub struct Net {
    pub root: tempfile::TempDir,
    pub remote: PathBuf,
}

impl Net {
    pub fn new() -> Net {
        let root = tempfile::tempdir().expect("tempdir");
        let remote = root.path().join("remote.git");
        git_in(root.path(), &["init", "-q", "--bare", "remote.git"]);
        Net { root, remote }
    }

    /// A clone of the remote at `root/name`, with a user configured.
    pub fn clone(&self, name: &str) -> PathBuf {
        git_in(
            self.root.path(),
            &["clone", "-q", self.remote.to_str().unwrap(), name],
        );
        let dir = self.root.path().join(name);
        git_in(&dir, &["config", "user.name", "Test"]);
        git_in(&dir, &["config", "user.email", "test@example.com"]);
        dir
    }

    /// Clones `a` (where alice joined) and `b` (where bob joined), not yet synced.
    pub fn pair(&self) -> (PathBuf, PathBuf) {
        let a = self.clone("a");
        let b = self.clone("b");
        ok(&a, &["--as", "alice", "join"]);
        ok(&b, &["--as", "bob", "join"]);
        (a, b)
    }
}

pub fn ok(dir: &Path, args: &[&str]) -> String {
    let out = comm_in(dir, args);
    assert_success(&out, args);
    stdout(&out)
}

pub fn sync(dir: &Path) -> Output {
    comm_in(dir, &["sync"])
}

pub fn sync_ok(dir: &Path) -> String {
    ok(dir, &["sync"])
}

/// Send `n` messages from `from` to all through the library (fast, no process per message).
pub fn send_many(dir: &Path, from: &str, n: usize) {
    let repo = Repo::discover(dir).unwrap();
    for i in 0..n {
        let draft = Draft {
            subject: format!("{from} message {i}"),
            body: format!("body {i}"),
            to: vec!["all".to_string()],
            kind: "info".to_string(),
            ..Draft::default()
        };
        mailbox::append(&repo, from, &draft).unwrap();
    }
}

/// Subjects of every message in the mailbox, sorted.
pub fn subjects(dir: &Path) -> Vec<String> {
    let repo = Repo::discover(dir).unwrap();
    let mut all: Vec<String> = mailbox::all(&repo)
        .unwrap()
        .into_iter()
        .map(|m| m.subject)
        .collect();
    all.sort();
    all
}

/// The full mail history (every commit id, merges included) in a stable order.
pub fn history(dir: &Path) -> String {
    git_in(dir, &["rev-list", "--topo-order", "refs/comm-node/mail"])
}

pub fn refs(dir: &Path, prefix: &str) -> String {
    git_in(
        dir,
        &["for-each-ref", "--format=%(refname) %(objectname)", prefix],
    )
}

/// The remote's namespace refs: suffix -> value.
pub fn remote_namespace(net: &Net) -> BTreeMap<String, ObjectId> {
    let listed = git_in(
        &net.remote,
        &[
            "for-each-ref",
            "--format=%(objectname) %(refname)",
            "refs/comm-node/",
        ],
    );
    listed
        .lines()
        .map(|line| {
            let (hex, name) = line.split_once(' ').unwrap();
            (
                name.strip_prefix("refs/comm-node/").unwrap().to_string(),
                ObjectId::from_hex(hex.as_bytes()).unwrap(),
            )
        })
        .collect()
}

/// Alice (`a`) and Bob (`b`) mail each other through the remote ("hello", then "back"),
/// each syncing after sending, and each syncing last after the other's last push.
pub fn exchange(a: &Path, b: &Path) {
    sync_ok(b);
    sync_ok(a);
    ok(a, &["--as", "alice", "send", "bob", "-s", "hello"]);
    sync_ok(a);
    sync_ok(b);
    ok(b, &["--as", "bob", "send", "alice", "-s", "back"]);
    sync_ok(b);
    sync_ok(a);
    sync_ok(b);
}
