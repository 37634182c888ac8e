//! The incoming area lives in a ref store of its own (`.git/comm-node/incoming`), sharing
//! the repository's objects: a sync writes no `refs/comm-node-incoming/…` ref into the
//! repository, the store holds exactly what the remote held at the fetch, a store kept in
//! files (what git before 2.45 makes) works as one in a reftable does, incoming refs an
//! earlier version kept in the repository are dropped, and a store cut short while being
//! made is made again.

mod common;
mod sync_net;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::git_in;
use git_comm::repo::{incoming, Repo};
use sync_net::{exchange, ok, refs, remote_namespace, subjects, sync_ok, Net};

fn store(dir: &Path) -> PathBuf {
    dir.join(".git/comm-node/incoming")
}

fn repo(dir: &Path) -> Repo {
    Repo::discover(dir).unwrap()
}

/// Can this machine's git keep refs in a reftable (git 2.45 and later)?
fn git_has_reftable() -> bool {
    let dir = tempfile::tempdir().unwrap();
    Command::new("git")
        .args(["init", "-q", "--bare", "--ref-format=reftable"])
        .arg(dir.path().join("probe.git"))
        .status()
        .unwrap()
        .success()
}

/// `dir`'s incoming store holds the remote's namespace, and no incoming ref is in the
/// repository itself.
fn assert_store_is_the_remote(net: &Net, dir: &Path) {
    assert_eq!(refs(dir, "refs/comm-node-incoming/"), "", "no incoming ref");
    let fetched = incoming::read(&repo(dir), "origin").unwrap();
    assert_eq!(fetched, remote_namespace(net), "the store is the remote");
}

#[test]
fn a_sync_fetches_into_a_store_of_its_own() {
    let net = Net::new();
    let (a, b) = net.pair();
    exchange(&a, &b);
    for dir in [&a, &b] {
        assert_store_is_the_remote(&net, dir);
        let made = incoming::existing(&repo(dir)).expect("the store was made");
        assert_eq!(made.reftable, git_has_reftable(), "reftable when git can");
    }
    assert!(subjects(&a).contains(&"back".to_string()));
    assert!(subjects(&b).contains(&"hello".to_string()));
    // The store never collects garbage: its config says so to git itself.
    let precious = git_in(
        &a,
        &[
            "config",
            "--file",
            ".git/comm-node/incoming/config",
            "extensions.preciousObjects",
        ],
    );
    assert_eq!(precious.trim(), "true");
}

#[test]
fn a_store_kept_in_files_works_as_a_reftable_does() {
    let net = Net::new();
    let (a, b) = net.pair();
    for dir in [&a, &b] {
        // What git before 2.45 makes: the store in files, with the same config otherwise.
        std::fs::create_dir_all(dir.join(".git/comm-node")).unwrap();
        let made = Command::new("git")
            .args(["init", "-q", "--bare", "--template="])
            .arg(store(dir))
            .status()
            .unwrap();
        assert!(made.success());
        std::fs::write(
            store(dir).join("config"),
            "[include]\n\tpath = ../../config\n[core]\n\trepositoryformatversion = 1\n\tbare = true\n[gc]\n\tauto = 0\n[extensions]\n\tpreciousObjects = true\n",
        )
        .unwrap();
    }
    exchange(&a, &b);
    for dir in [&a, &b] {
        assert!(!incoming::existing(&repo(dir)).unwrap().reftable);
        assert!(store(dir).join("refs/comm-node-incoming/origin").is_dir());
        assert_store_is_the_remote(&net, dir);
    }
    assert!(subjects(&a).contains(&"back".to_string()));
}

#[test]
fn incoming_refs_an_earlier_version_kept_in_the_repository_are_dropped() {
    let net = Net::new();
    let (a, b) = net.pair();
    exchange(&a, &b);
    // An earlier version's `init --remote`: plain `git fetch` into the repository.
    let old_spec = "+refs/comm-node/*:refs/comm-node-incoming/origin/*";
    git_in(&b, &["config", "--add", "remote.origin.fetch", old_spec]);
    git_in(&b, &["fetch", "-q"]);
    assert!(refs(&b, "refs/comm-node-incoming/origin/").contains("/outbox/"));
    ok(&a, &["--as", "alice", "send", "bob", "-s", "again"]);
    sync_ok(&a);
    sync_ok(&b);
    assert!(subjects(&b).contains(&"again".to_string()));
    assert_store_is_the_remote(&net, &b);
    // `init --remote` removes the old refspec and adds no fetch refspec of its own.
    let out = ok(&b, &["init", "--remote", "origin"]);
    assert!(
        out.contains(&format!("removed remote.origin.fetch {old_spec}")),
        "{out}"
    );
    let fetches = git_in(&b, &["config", "--get-all", "remote.origin.fetch"]);
    assert!(!fetches.contains("comm-node"), "{fetches}");
}

#[test]
fn a_store_cut_short_while_being_made_is_made_again() {
    let net = Net::new();
    let (a, b) = net.pair();
    exchange(&a, &b);
    // A store without its config: git init was killed half way.
    std::fs::remove_file(store(&b).join("config")).unwrap();
    assert!(incoming::existing(&repo(&b)).is_none());
    ok(&a, &["--as", "alice", "send", "bob", "-s", "after"]);
    sync_ok(&a);
    sync_ok(&b);
    assert!(subjects(&b).contains(&"after".to_string()));
    assert_store_is_the_remote(&net, &b);
}

#[test]
fn a_damaged_store_is_made_again_and_nothing_is_skipped() {
    let net = Net::new();
    let (a, b) = net.pair();
    exchange(&a, &b);
    let made = incoming::existing(&repo(&b)).unwrap();
    let mut damages: Vec<PathBuf> = vec![store(&b).join("HEAD")];
    if made.reftable {
        damages.push(store(&b).join("reftable/tables.list"));
    }
    for (round, damaged) in damages.iter().enumerate() {
        std::fs::write(damaged, "garbage\n").unwrap();
        let subject = format!("after damage {round}");
        ok(&a, &["--as", "alice", "send", "bob", "-s", &subject]);
        sync_ok(&a);
        let out = sync_net::sync(&b);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(!stderr.contains("skipped"), "{stderr}");
        assert!(subjects(&b).contains(&subject));
        assert_store_is_the_remote(&net, &b);
    }
}
