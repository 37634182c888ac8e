//! A claim killed at each of its steps (failpoints: the binary built with `--features
//! failpoints`, run with `FAILPOINTS=NAME=return`, aborts there as kill -9 would) leaves no
//! task stranded: on the claiming clone after its next command and on an observer clone after
//! `sync`, every task agrees with its `task:ID` lease, nobody is granted it twice, and a
//! second agent can claim it once the first's lease is really gone.

mod common;
mod sync_net;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{assert_exit, comm_in, BIN};
use git_comm::repo::Repo;
use serde_json::Value;
use sync_net::{ok, Net};

/// A bare remote, alice's clone `a` and bob's clone `b`, one task both have seen, and
/// alice's `next --claim --sync` aborted at failpoint `point`.
fn claim_killed_at(point: &str) -> (Net, PathBuf, PathBuf, String) {
    let net = Net::new();
    let (a, b) = net.pair();
    let added: Value =
        serde_json::from_str(&ok(&a, &["--as", "alice", "--json", "task", "add", "work"])).unwrap();
    let id = added["id"].as_str().unwrap().to_string();
    ok(&a, &["--as", "alice", "sync"]);
    ok(&b, &["--as", "bob", "sync"]);
    let killed = Command::new(BIN)
        .args(["--as", "alice", "next", "--claim", "--sync"])
        .current_dir(&a)
        .env_remove("GIT_COMM_AGENT")
        .env("FAILPOINTS", format!("{point}=return"))
        .output()
        .unwrap();
    assert_eq!(
        killed.status.code(),
        None,
        "{point}: the claim should have been killed there: {}",
        common::stderr(&killed)
    );
    (net, a, b, id)
}

/// Check that task `id` and its `task:ID` lease agree in clone `dir` (the stored ledger,
/// not a view of it), and that at most one lease claims it; the claim's holder, if any.
fn agreed_holder(dir: &Path, id: &str) -> Option<String> {
    let repo = Repo::discover(dir).unwrap();
    let task = git_comm::task::ledger::all(&repo)
        .unwrap()
        .into_iter()
        .find(|t| t.id == id)
        .unwrap();
    let key = format!("task:{id}");
    let claims: Vec<_> = git_comm::lease::live_leases(&repo)
        .unwrap()
        .into_iter()
        .filter(|l| l.resources.contains(&key))
        .collect();
    assert!(claims.len() <= 1, "granted twice: {claims:?}");
    let recorded = matches!(task.state.as_str(), "claimed" | "in_progress");
    match claims.first() {
        Some(lease) => {
            assert!(recorded, "lease {} but the task is {task:?}", lease.id);
            assert_eq!(task.assignee.as_deref(), Some(lease.holder.as_str()));
            assert_eq!(task.claim.as_deref(), Some(lease.id.as_str()));
            Some(lease.holder.clone())
        }
        None => {
            assert!(!recorded, "no claim lease but the task is {task:?}");
            None
        }
    }
}

fn claim_lease(dir: &Path, id: &str) -> String {
    let leases: Value = serde_json::from_str(&ok(dir, &["--json", "leases"])).unwrap();
    leases
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l.to_string().contains(&format!("task:{id}")))
        .map(|l| l["id"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no claim lease for {id}: {leases}"))
}

/// bob claims `id` across machines, and both clones end up agreeing he holds it.
fn bob_claims(a: &Path, b: &Path, id: &str) {
    ok(b, &["--as", "bob", "task", "claim", id, "--sync"]);
    ok(b, &["--as", "bob", "sync"]);
    ok(a, &["--as", "alice", "sync"]);
    assert_eq!(agreed_holder(a, id).as_deref(), Some("bob"));
    assert_eq!(agreed_holder(b, id).as_deref(), Some("bob"));
}

#[test]
fn killed_before_the_remote_confirmed_the_lease_nothing_is_claimed() {
    let (_net, a, b, id) = claim_killed_at("lease-after-local-grant");
    ok(&b, &["--as", "bob", "sync"]);
    assert_eq!(agreed_holder(&b, &id), None);
    // alice's next command withdraws the unconfirmed grant.
    ok(&a, &["--as", "alice", "sync"]);
    assert_eq!(agreed_holder(&a, &id), None);
    bob_claims(&a, &b, &id);
}

/// The lease is on the remote; the claim's record is missing everywhere (killed before the
/// ledger write) or only on the claiming clone (killed after it, before any push).
fn stranded_claim_is_repaired(point: &str) {
    let (_net, a, b, id) = claim_killed_at(point);
    // The claiming clone's listing agrees with its lease at once.
    let listed: Value = serde_json::from_str(&ok(&a, &["--json", "task", "list"])).unwrap();
    let shown = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id.as_str())
        .unwrap();
    assert_eq!(
        (shown["state"].as_str(), shown["assignee"].as_str()),
        (Some("claimed"), Some("alice")),
        "{point}: {shown}"
    );
    // The observer repairs the ledger in its sync.
    let synced = ok(&b, &["--as", "bob", "sync"]);
    assert_eq!(agreed_holder(&b, &id).as_deref(), Some("alice"), "{point}");
    if point == "claim-after-lease" {
        assert!(
            synced.contains(&format!("repaired: claim {id} by alice")),
            "{synced}"
        );
    }
    // The claiming clone agrees after its next command.
    ok(&a, &["--as", "alice", "sync"]);
    assert_eq!(agreed_holder(&a, &id).as_deref(), Some("alice"), "{point}");
    // Nobody is granted it twice.
    assert_exit(
        &comm_in(&b, &["--as", "bob", "task", "claim", &id, "--sync"]),
        1,
        "alice",
    );
    assert_eq!(agreed_holder(&b, &id).as_deref(), Some("alice"), "{point}");
    // Once alice's claim lease is really gone (broken, on record), the task is open again
    // everywhere and bob can claim it.
    let lease = claim_lease(&b, &id);
    ok(
        &b,
        &[
            "--as",
            "bob",
            "release",
            "--force",
            &lease,
            "--reason",
            "alice crashed",
        ],
    );
    ok(&b, &["--as", "bob", "sync"]);
    assert_eq!(agreed_holder(&b, &id), None, "{point}");
    ok(&a, &["--as", "alice", "sync"]);
    assert_eq!(agreed_holder(&a, &id), None, "{point}");
    bob_claims(&a, &b, &id);
}

#[test]
fn killed_after_the_lease_reached_the_remote_the_claim_is_recorded_by_any_clone() {
    stranded_claim_is_repaired("claim-after-lease");
}

#[test]
fn killed_after_the_ledger_write_the_claim_reaches_every_clone() {
    stranded_claim_is_repaired("claim-after-ledger-write");
}
