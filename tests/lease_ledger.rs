//! The ledger format other code relies on: ref, flat tree of `<id>.json`, one commit per
//! event with the agreed subject, author = acting agent, expired leases pruned.

mod common;

use common::TestRepo;
use git_comm::lease::{self, ledger, Event, Lease, Request};
use git_comm::repo::Repo;

fn request(resources: &[&str], ttl_secs: i64) -> Request {
    Request {
        resources: resources.iter().map(|s| s.to_string()).collect(),
        exclusive: true,
        ttl_secs,
        reason: Some("work".into()),
        task: None,
    }
}

fn grant(repo: &Repo, who: &str, req: &Request) -> git_comm::Result<Lease> {
    let id = lease::new_id(who, &req.resources);
    let events = ledger::write(repo, who, |snap| {
        lease::grant(&snap.live, req, who, snap.now, snap.skew, id.clone())
            .map(|l| vec![Event::Grant(l)])
            .map_err(|blocking| git_comm::Error::blocked(format!("{} blocking", blocking.len())))
    })?;
    Ok(events.last().unwrap().lease().clone())
}

#[test]
fn ledger_format_is_the_agreed_one() {
    let t = TestRepo::new();
    let repo = Repo::discover(t.path()).unwrap();
    let granted = grant(&repo, "alice", &request(&["src/**", "task:7"], 600)).unwrap();
    assert_eq!(granted.id.len(), 12);

    let files = t.lease_files();
    assert_eq!(files.trim(), format!("{}.json", granted.id));
    let blob = t.git(&[
        "show",
        &format!(
            "refs/comm-node/leases:{}/{}.json",
            &granted.id[..2],
            granted.id
        ),
    ]);
    let json: serde_json::Value = serde_json::from_str(&blob).unwrap();
    for key in [
        "id",
        "holder",
        "resources",
        "exclusive",
        "reason",
        "task",
        "created",
        "expires",
    ] {
        assert!(json.get(key).is_some(), "missing {key} in {blob}");
    }
    assert_eq!(json["resources"], serde_json::json!(["src/**", "task:7"]));
    assert_eq!(json["task"], serde_json::Value::Null);

    let log = t.git(&["log", "--format=%an|%s", "refs/comm-node/leases"]);
    assert_eq!(
        log.trim(),
        format!("alice|grant {} alice: src/** task:7", granted.id)
    );

    let refused = grant(&repo, "bob", &request(&["src/a.ts"], 600));
    assert!(refused.is_err());
    assert_eq!(
        t.git(&["rev-list", "--count", "refs/comm-node/leases"])
            .trim(),
        "1"
    );
    assert_eq!(lease::live_leases(&repo).unwrap(), vec![granted]);
}

#[test]
fn expired_leases_are_pruned_by_the_next_write() {
    let t = TestRepo::new();
    let mut repo = Repo::discover(t.path()).unwrap();
    repo.set_policy(git_comm::repo::Policy {
        skew_secs: 0,
        ..Default::default()
    });
    let short = grant(&repo, "alice", &request(&["src/**"], 1)).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !lease::live_leases(&repo).unwrap().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the 1s lease never expired"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let next = grant(&repo, "bob", &request(&["src/a.ts"], 600)).unwrap();
    let log = t.git(&["log", "--format=%an|%s", "refs/comm-node/leases"]);
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines[0], format!("bob|grant {} bob: src/a.ts", next.id));
    assert_eq!(lines[1], format!("bob|expire {} alice: src/**", short.id));
    let files = t.lease_files();
    let mut files: Vec<&str> = files.lines().collect();
    files.sort();
    let mut want = vec![format!("{}.json", next.id), format!("{}.end", short.id)];
    want.sort();
    assert_eq!(
        files, want,
        "the live lease and the expired one's tombstone"
    );
}

fn release(repo: &Repo, who: &str, lease: &Lease) {
    ledger::write(repo, who, |_| Ok(vec![Event::Release(lease.clone())])).unwrap();
}

/// The tree a whole write of the tip's state gives (what every write did before the
/// edit-based one), with the parsed-state cache out of the way.
fn tree_written_whole(t: &TestRepo, repo: &Repo) -> String {
    remove_state_cache(t);
    let tip = repo.read_ref("refs/comm-node/leases").unwrap().unwrap();
    let state = ledger::state_at(repo, tip).unwrap();
    ledger::write_tree(repo, &state).unwrap().to_string()
}

fn remove_state_cache(t: &TestRepo) {
    let _ = std::fs::remove_file(t.path().join(".git/comm-node/leases/state.json"));
}

#[test]
fn each_write_edits_the_tree_to_what_a_whole_write_of_its_state_gives() {
    let t = TestRepo::new();
    let repo = Repo::discover(t.path()).unwrap();
    let mut held = Vec::new();
    for i in 0..40 {
        let who = ["alice", "bob", "carol"][i % 3];
        held.push((
            who,
            grant(&repo, who, &request(&[&format!("src/m{i}/**")], 600)).unwrap(),
        ));
        if i % 4 == 3 {
            let (who, lease) = held.remove(i % held.len());
            release(&repo, who, &lease);
        }
        let tip_tree = t.git(&["rev-parse", "refs/comm-node/leases^{tree}"]);
        assert_eq!(
            tip_tree.trim(),
            tree_written_whole(&t, &repo),
            "after write {i}"
        );
    }
    let files = t.lease_files();
    assert_eq!(
        files.lines().filter(|f| f.ends_with(".json")).count(),
        held.len()
    );
    assert_eq!(files.lines().filter(|f| f.ends_with(".end")).count(), 10);
}

#[test]
fn the_parsed_state_cache_is_used_only_for_its_own_tree_and_a_bad_one_is_ignored() {
    let t = TestRepo::new();
    let repo = Repo::discover(t.path()).unwrap();
    let a = grant(&repo, "alice", &request(&["src/a/**"], 600)).unwrap();
    let cache = t.path().join(".git/comm-node/leases/state.json");
    assert!(cache.exists(), "a write leaves the state of its tree");
    // A cache of another tree (the ledger moved by someone else) is not used.
    let stale = std::fs::read(&cache).unwrap();
    let b = grant(&repo, "bob", &request(&["src/b/**"], 600)).unwrap();
    std::fs::write(&cache, &stale).unwrap();
    let live: Vec<String> = lease::live_leases(&repo)
        .unwrap()
        .into_iter()
        .map(|l| l.id)
        .collect();
    assert!(live.contains(&a.id) && live.contains(&b.id), "{live:?}");
    // A corrupt or truncated cache is read past; conflicts are still found.
    for bad in [&b"{not json"[..], &stale[..stale.len() / 2]] {
        std::fs::write(&cache, bad).unwrap();
        let refused = grant(&repo, "carol", &request(&["src/a/x.ts"], 600));
        assert!(refused.is_err(), "alice's lease must still block carol");
    }
    release(&repo, "alice", &a);
    assert!(grant(&repo, "carol", &request(&["src/a/x.ts"], 600)).is_ok());
}

#[test]
fn a_write_that_forgets_old_tombstones_edits_the_tree_to_a_whole_writes() {
    let t = TestRepo::new();
    let mut repo = Repo::discover(t.path()).unwrap();
    repo.set_policy(git_comm::repo::Policy {
        skew_secs: 0,
        ..Default::default()
    });
    let keep = grant(&repo, "bob", &request(&["docs/**"], 600)).unwrap();
    let short = grant(&repo, "alice", &request(&["src/**"], 1)).unwrap();
    release(&repo, "alice", &short);
    assert!(t.lease_files().contains(&format!("{}.end", short.id)));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while jiff::Timestamp::now().as_second() <= short.expires {
        assert!(
            std::time::Instant::now() < deadline,
            "the 1s lease never expired"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    grant(&repo, "carol", &request(&["src/a.ts"], 600)).unwrap();
    let files = t.lease_files();
    assert!(
        !files.contains(&short.id),
        "the old tombstone is forgotten: {files}"
    );
    assert!(files.contains(&format!("{}.json", keep.id)), "{files}");
    let tip_tree = t.git(&["rev-parse", "refs/comm-node/leases^{tree}"]);
    assert_eq!(tip_tree.trim(), tree_written_whole(&t, &repo));
}
