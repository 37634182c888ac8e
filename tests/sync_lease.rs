//! Leases through a remote: a grant counts only once the ledger push succeeds, so two
//! clones racing for one exclusive lease get exactly one winner; and the ledger merge.

mod common;
mod sync_net;

use std::path::Path;
use std::sync::{Arc, Barrier};

use common::*;
use git_comm::error::Kind;
use git_comm::lease::{self, ledger, Event, Lease, Request};
use git_comm::repo::Repo;
use sync_net::*;

fn request(resource: &str) -> Request {
    Request {
        resources: vec![resource.to_string()],
        exclusive: true,
        ttl_secs: 600,
        reason: None,
        task: None,
    }
}

/// `git comm lease RESOURCE --sync` through the real binary: granted locally, then
/// confirmed by pushing the ledger. A refusal comes back as an error of the exit code's kind.
fn grant_synced(dir: &Path, me: &str, resource: &str) -> Result<Lease, git_comm::Error> {
    let out = comm_in(
        dir,
        &[
            "--as", me, "--json", "lease", resource, "--sync", "--ttl", "10m",
        ],
    );
    if out.status.success() {
        let value: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
        return Ok(serde_json::from_value(value["lease"].clone()).unwrap());
    }
    let message = stderr(&out);
    Err(match out.status.code() {
        Some(1) => git_comm::Error::blocked(message),
        _ => git_comm::Error::usage(message),
    })
}

fn release_synced(dir: &Path, me: &str, id: &str) {
    let repo = Repo::discover(dir).unwrap();
    ledger::write(&repo, me, |snap| {
        Ok(snap
            .live
            .iter()
            .filter(|l| l.id == id)
            .cloned()
            .map(Event::Release)
            .collect())
    })
    .unwrap();
    sync_ok(dir);
}

fn remote_live(net: &Net) -> Vec<Lease> {
    let repo = Repo::discover(&net.remote).unwrap();
    ledger::live_leases(&repo).unwrap()
}

#[test]
fn two_clones_racing_for_one_exclusive_lease_exactly_one_wins_each_round() {
    let net = Net::new();
    let (a, b) = net.pair();
    sync_ok(&a);
    sync_ok(&b);
    let mut wins = [0usize; 2];
    for round in 0..20 {
        let barrier = Arc::new(Barrier::new(2));
        let racers: Vec<_> = [(a.clone(), "alice"), (b.clone(), "bob")]
            .into_iter()
            .map(|(dir, me)| {
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    grant_synced(&dir, me, "src/api/**")
                })
            })
            .collect();
        let results: Vec<_> = racers.into_iter().map(|t| t.join().unwrap()).collect();
        let winners: Vec<usize> = (0..2).filter(|&i| results[i].is_ok()).collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        let w = winners[0];
        let loser = results[1 - w].as_ref().unwrap_err();
        assert_eq!(loser.kind, Kind::Blocked, "round {round}: {loser}");
        assert!(
            loser.message.contains("lease refused") || loser.message.contains("held locally"),
            "{loser}"
        );
        wins[w] += 1;
        let lease = results[w].as_ref().unwrap();
        // The remote holds exactly the winner's lease; the loser's clone no longer has its own.
        let live = remote_live(&net);
        assert_eq!(live.len(), 1, "round {round}: {live:?}");
        assert_eq!(live[0].id, lease.id);
        let loser_dir = if w == 0 { &b } else { &a };
        let loser_name = if w == 0 { "bob" } else { "alice" };
        let loser_live = ledger::live_leases(&Repo::discover(loser_dir).unwrap()).unwrap();
        assert!(
            loser_live.iter().all(|l| l.holder != loser_name),
            "{loser_live:?}"
        );
        // Winner releases; both clones catch up for the next round.
        let winner_dir = if w == 0 { &a } else { &b };
        release_synced(winner_dir, &lease.holder, &lease.id);
        sync_ok(loser_dir);
        assert!(remote_live(&net).is_empty());
    }
    assert_eq!(wins[0] + wins[1], 20);
}

#[test]
fn lease_sync_withdraws_the_grant_when_the_remote_is_unreachable() {
    let net = Net::new();
    let a = net.clone("a");
    ok(&a, &["--as", "alice", "join"]);
    git_in(
        &a,
        &["remote", "set-url", "origin", "/nonexistent/remote.git"],
    );
    let err = grant_synced(&a, "alice", "src/x.rs").unwrap_err();
    assert!(
        err.message.contains("not granted") && err.message.contains("cannot fetch"),
        "{err}"
    );
    let live = ledger::live_leases(&Repo::discover(&a).unwrap()).unwrap();
    assert!(
        live.is_empty(),
        "the unconfirmed grant must be withdrawn: {live:?}"
    );
}

#[test]
fn ledger_merge_applies_deletions_keeps_additions_and_remote_wins_conflicts() {
    let net = Net::new();
    let (a, b) = net.pair();
    // Shared base: alice holds base-1, bob holds base-2.
    let base1 = grant_synced(&a, "alice", "docs/**").unwrap();
    sync_ok(&b);
    let base2 = grant_synced(&b, "bob", "tests/**").unwrap();
    sync_ok(&a);
    // Offline: alice releases base-1 and grants ui/**; bob releases base-2, grants
    // src/api/** and also, conflicting with nothing remote, src/cli/**.
    let repo_a = Repo::discover(&a).unwrap();
    let repo_b = Repo::discover(&b).unwrap();
    let local_grant = |repo: &Repo, me: &str, res: &str| -> Lease {
        let req = request(res);
        let l = lease::grant(
            &[],
            &req,
            me,
            git_comm::agent::now_secs(),
            0,
            lease::new_id(me, &req.resources),
        )
        .unwrap();
        ledger::write(repo, me, |_| Ok(vec![Event::Grant(l.clone())])).unwrap();
        l
    };
    let release = |repo: &Repo, me: &str, l: &Lease| {
        ledger::write(repo, me, |_| Ok(vec![Event::Release(l.clone())])).unwrap();
    };
    release(&repo_a, "alice", &base1);
    let ui = local_grant(&repo_a, "alice", "src/ui/**");
    let api_alice = local_grant(&repo_a, "alice", "src/api/**");
    release(&repo_b, "bob", &base2);
    let api_bob = local_grant(&repo_b, "bob", "src/api/handlers/**");
    let cli = local_grant(&repo_b, "bob", "src/cli/**");

    sync_ok(&a); // alice's ledger reaches the remote first
    let out = sync_ok(&b);
    assert!(
        out.contains(&format!("dropped lease {} of bob", api_bob.id)),
        "{out}"
    );
    assert!(out.contains(&api_alice.id), "{out}");
    sync_ok(&a);
    let mut ids: Vec<String> = remote_live(&net).into_iter().map(|l| l.id).collect();
    ids.sort();
    let mut want = vec![ui.id.clone(), api_alice.id.clone(), cli.id.clone()];
    want.sort();
    assert_eq!(
        ids, want,
        "both releases applied, additions kept, bob's conflicting grant dropped"
    );
    for dir in [&a, &b] {
        let mut local: Vec<String> = ledger::live_leases(&Repo::discover(dir).unwrap())
            .unwrap()
            .into_iter()
            .map(|l| l.id)
            .collect();
        local.sort();
        assert_eq!(local, want);
    }
    // The merge is in the audit trail with the reason.
    let log = git_in(&b, &["log", "--format=%B", "refs/comm-node/leases"]);
    assert!(
        log.contains(&format!("dropped {} of bob", api_bob.id)),
        "{log}"
    );
}
