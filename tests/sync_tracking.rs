//! The remote-tracking copies live in one file per remote (`.git/comm-node/tracking/<remote>`),
//! not in a ref each: a sync writes no `refs/comm-node-remotes/…` ref, the file holds exactly
//! what the remote holds after a sync, an earlier version's tracking refs are taken over and
//! deleted, a writer that loses the compare-and-swap changes nothing, and a sync killed while
//! writing the file leaves a lock that the next sync clears, losing nothing.

mod common;
mod sync_net;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::BIN;
use git_comm::repo::{tracking, ObjectId, Repo};
use sync_net::{exchange, ok, refs, remote_namespace, subjects, sync_ok, Net};

fn tracking_file(dir: &Path) -> PathBuf {
    dir.join(".git/comm-node/tracking/origin")
}

fn copies(dir: &Path) -> BTreeMap<String, ObjectId> {
    tracking::read(&Repo::discover(dir).unwrap(), "origin").unwrap()
}

/// `dir`'s tracking copies are the remote's namespace, and its mail holds `subject`.
fn assert_holds_the_remote(net: &Net, dir: &Path, subject: &str) {
    assert_eq!(
        copies(dir),
        remote_namespace(net),
        "the copies are the remote"
    );
    assert!(subjects(dir).contains(&subject.to_string()), "{subject}");
}

#[test]
fn a_sync_keeps_the_tracking_copies_in_one_file_equal_to_the_remote() {
    let net = Net::new();
    let (a, b) = net.pair();
    exchange(&a, &b);
    for dir in [&a, &b] {
        assert_eq!(refs(dir, "refs/comm-node-remotes/"), "", "no tracking ref");
        assert!(tracking_file(dir).exists());
    }
    assert_holds_the_remote(&net, &a, "back");
}

#[test]
fn a_tracking_write_that_expected_another_value_changes_nothing() {
    let net = Net::new();
    let (a, _b) = net.pair();
    sync_ok(&a);
    let repo = Repo::discover(&a).unwrap();
    let before = copies(&a);
    let (suffix, &value) = before.iter().next().unwrap();
    let other = ObjectId::from_hex(b"00000000000000000000000000000000000000aa").unwrap();
    let stale = tracking::Move {
        suffix: suffix.clone(),
        expected: Some(other),
        new: None,
    };
    assert!(!tracking::swap(&repo, "origin", &[stale]).unwrap());
    assert_eq!(copies(&a), before, "the entry stays");
    let absent = tracking::Move {
        suffix: "agents/nobody".to_string(),
        expected: Some(value),
        new: None,
    };
    assert!(!tracking::swap(&repo, "origin", &[absent]).unwrap());
    assert_eq!(copies(&a), before, "nothing written for an absent entry");
}

#[test]
fn tracking_refs_of_an_earlier_version_are_taken_over_and_deleted() {
    let net = Net::new();
    let (a, b) = net.pair();
    sync_ok(&a);
    sync_ok(&b);
    // What an earlier version left in `a`: a ref per copy, no file.
    let legacy = copies(&a);
    let mut script = String::new();
    for (suffix, value) in &legacy {
        script.push_str(&format!(
            "create refs/comm-node-remotes/origin/{suffix} {value}\n"
        ));
    }
    common::git_stdin(&a, &["update-ref", "--stdin"], &script);
    std::fs::remove_file(tracking_file(&a)).unwrap();
    assert_eq!(
        copies(&a),
        legacy,
        "read from the refs while there is no file"
    );

    ok(
        &b,
        &["--as", "bob", "send", "alice", "-s", "after the upgrade"],
    );
    sync_ok(&b);
    let out = sync_ok(&a);
    assert!(!out.contains("quarantin"), "{out}");
    assert_eq!(refs(&a, "refs/comm-node-remotes/"), "", "the refs are gone");
    assert_holds_the_remote(&net, &a, "after the upgrade");
}

#[test]
fn a_sync_killed_while_writing_the_copies_leaves_a_lock_the_next_sync_clears() {
    let net = Net::new();
    let (a, b) = net.pair();
    sync_ok(&a);
    sync_ok(&b);
    ok(&b, &["--as", "bob", "send", "alice", "-s", "while a dies"]);
    sync_ok(&b);
    let killed = Command::new(BIN)
        .args(["sync"])
        .current_dir(&a)
        .env("FAILPOINTS", "tracking-before-rename=return")
        .output()
        .unwrap();
    assert_eq!(killed.status.code(), None, "killed at the failpoint");
    let lock = a.join(".git/comm-node/tracking/origin.lock");
    assert!(lock.exists(), "the dead writer's lock is left");

    let out = common::comm_in(&a, &["sync"]);
    common::assert_success(&out, &["sync"]);
    assert!(
        common::stderr(&out).contains("removed stale lock"),
        "{}",
        common::stderr(&out)
    );
    assert!(!lock.exists());
    assert_holds_the_remote(&net, &a, "while a dies");
    ok(&a, &["--as", "alice", "send", "bob", "-s", "still works"]);
    sync_ok(&a);
    sync_ok(&b);
    assert!(subjects(&b).contains(&"still works".to_string()));
}
