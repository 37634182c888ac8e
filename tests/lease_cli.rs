//! `git comm lease|renew|release|leases` on real repositories.

mod common;

use common::{assert_exit, stdout, TestRepo};
use serde_json::Value;

fn repo_with(agents: &[&str]) -> TestRepo {
    let t = TestRepo::new();
    for a in agents {
        t.ok_as(a, &["join"]);
    }
    t
}

fn lease_id(t: &TestRepo, agent: &str, args: &[&str]) -> String {
    let mut full = vec!["--json", "lease"];
    full.extend_from_slice(args);
    let out: Value = serde_json::from_str(&t.ok_as(agent, &full)).unwrap();
    assert_eq!(out["granted"], true);
    out["lease"]["id"].as_str().unwrap().to_string()
}

fn live(t: &TestRepo) -> Vec<Value> {
    serde_json::from_str(&t.ok_as("alice", &["--json", "leases"])).unwrap()
}

fn ledger_log(t: &TestRepo) -> String {
    t.git(&["log", "--format=%an|%s", "refs/comm-node/leases"])
}

#[test]
fn conflict_names_holder_resources_reason_and_expiry() {
    let t = repo_with(&["alice", "bob"]);
    let id = lease_id(
        &t,
        "alice",
        &["src/**", "--reason", "api refactor", "--ttl", "2h"],
    );
    let before = t.comm_refs();
    let out = t.comm_as("bob", &["lease", "src/api/x.ts"]);
    assert_exit(&out, 1, "held by alice");
    let err = common::stderr(&out);
    for needle in [
        "src/**",
        "api refactor",
        &id,
        "until 20",
        "git comm send alice",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in {err}");
    }
    assert_eq!(t.comm_refs(), before, "a refused lease writes nothing");

    let out = t.comm_as("bob", &["--json", "lease", "src/api/x.ts"]);
    assert_eq!(out.status.code(), Some(1));
    let json: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["granted"], false);
    assert_eq!(json["conflicts"][0]["holder"], "alice");
    assert_eq!(json["conflicts"][0]["id"], id.as_str());
}

#[test]
fn multi_resource_request_is_all_or_nothing() {
    let t = repo_with(&["alice", "bob"]);
    lease_id(&t, "alice", &["src/api/**"]);
    let before = t.comm_refs();
    let out = t.comm_as("bob", &["lease", "lib/**", "docs/a.md", "src/api/x.ts"]);
    assert_exit(&out, 1, "held by alice");
    assert_eq!(t.comm_refs(), before);
    let listed = live(&t);
    let holders: Vec<&str> = listed
        .iter()
        .map(|l| l["holder"].as_str().unwrap())
        .collect();
    assert_eq!(holders, ["alice"]);
    // Without the conflicting part the same request succeeds as one lease.
    let id = lease_id(&t, "bob", &["lib/**", "docs/a.md", "src/ui/**"]);
    let mine: Value =
        serde_json::from_str(&t.ok_as("bob", &["--json", "leases", "--mine"])).unwrap();
    assert_eq!(mine[0]["id"], id.as_str());
    assert_eq!(mine[0]["resources"].as_array().unwrap().len(), 3);
}

#[test]
fn shared_coexist_exclusive_do_not_and_own_leases_never_block() {
    let t = repo_with(&["alice", "bob", "carol"]);
    lease_id(&t, "alice", &["docs/**", "--shared"]);
    lease_id(&t, "bob", &["docs/guide.md", "--shared"]);
    assert_exit(
        &t.comm_as("carol", &["lease", "docs/guide.md"]),
        1,
        "shared",
    );
    lease_id(&t, "carol", &["src/**"]);
    assert_exit(
        &t.comm_as("alice", &["lease", "src/a.ts", "--shared"]),
        1,
        "held by carol",
    );
    lease_id(&t, "carol", &["src/a.ts"]);
    assert!(t.ok_as("carol", &["leases", "--mine"]).lines().count() == 2);
}

#[test]
fn named_keys_conflict_only_with_the_same_key() {
    let t = repo_with(&["alice", "bob"]);
    lease_id(&t, "alice", &["task:123", "slot:deploy"]);
    assert_exit(
        &t.comm_as("bob", &["lease", "slot:deploy"]),
        1,
        "slot:deploy",
    );
    lease_id(&t, "bob", &["task:124"]);
    lease_id(&t, "bob", &["**"]);
}

#[test]
fn bad_input_exits_2_and_writes_nothing() {
    let t = repo_with(&["alice"]);
    let before = t.comm_refs();
    assert_exit(
        &t.comm_as("alice", &["lease", "src/**", "--ttl", "5x"]),
        2,
        "invalid ttl",
    );
    assert_exit(
        &t.comm_as("alice", &["lease", "src/**", "--ttl", "0s"]),
        2,
        "invalid ttl",
    );
    assert_exit(
        &t.comm_as("alice", &["lease", "../etc"]),
        2,
        "invalid resource",
    );
    assert_exit(
        &t.comm_as("zed", &["lease", "src/**"]),
        2,
        "unknown agent 'zed'",
    );
    assert_exit(
        &t.comm_as("bad name", &["lease", "src/**"]),
        2,
        "invalid agent name",
    );
    assert_exit(&t.comm(&["lease", "src/**"]), 2, "no agent identity");
    assert_exit(&t.comm_as("alice", &["release"]), 2, "which lease");
    assert_exit(
        &t.comm_as("alice", &["renew", "ffffffffffff"]),
        2,
        "no live lease",
    );
    assert_exit(&t.comm_as("alice", &["lease"]), 2, "RESOURCE");
    assert_eq!(t.comm_refs(), before);
}

#[test]
fn expired_leases_do_not_block_and_are_pruned() {
    let t = repo_with(&["alice", "bob"]);
    let old = lease_id(&t, "alice", &["src/**", "--ttl", "1s"]);
    // 100 s later: expired, but within the 5-minute clock-skew tolerance it still blocks.
    let within = common::comm_at(t.path(), 100, &["--as", "bob", "lease", "src/a.ts"]);
    assert_exit(&within, 1, &old);
    // 400 s later: past expiry plus the tolerance, it neither blocks nor is listed.
    let later = |args: &[&str]| common::comm_at(t.path(), 400, args);
    let listed: Vec<Value> =
        serde_json::from_slice(&later(&["--as", "alice", "--json", "leases"]).stdout).unwrap();
    assert!(
        listed.is_empty(),
        "expired leases are not listed: {listed:?}"
    );
    let out = later(&["--as", "bob", "--json", "lease", "src/a.ts"]);
    let granted: Value = serde_json::from_slice(&out.stdout).unwrap();
    let new = granted["lease"]["id"].as_str().unwrap().to_string();
    let log = ledger_log(&t);
    assert!(
        log.contains(&format!("bob|expire {old} alice: src/**")),
        "{log}"
    );
    assert!(
        log.starts_with(&format!("bob|grant {new} bob: src/a.ts")),
        "{log}"
    );
    let files = t.lease_files();
    let mut files: Vec<&str> = files.lines().collect();
    files.sort();
    let mut want = vec![format!("{new}.json"), format!("{old}.end")];
    want.sort();
    assert_eq!(
        files, want,
        "the live lease and the expired one's tombstone"
    );
    assert_exit(
        &later(&["--as", "alice", "renew", &old]),
        2,
        "no live lease",
    );
}

#[test]
fn renew_extends_and_release_gives_back() {
    let t = repo_with(&["alice", "bob"]);
    let a = lease_id(&t, "alice", &["src/**", "--ttl", "10m"]);
    let b = lease_id(&t, "alice", &["task:9"]);
    let before = live(&t).iter().find(|l| l["id"] == a.as_str()).unwrap()["expires"]
        .as_i64()
        .unwrap();
    let out: Value =
        serde_json::from_str(&t.ok_as("alice", &["--json", "renew", &a[..6], "--ttl", "2h"]))
            .unwrap();
    let after = out["renewed"][0]["expires"].as_i64().unwrap();
    assert!(after >= before + 6000, "{before} -> {after}");
    assert_exit(&t.comm_as("bob", &["release", &a]), 2, "held by alice");
    assert_exit(&t.comm_as("bob", &["renew", &a]), 2, "held by alice");
    t.ok_as("alice", &["release", &b]);
    assert_eq!(live(&t).len(), 1);
    t.ok_as("alice", &["release", "--all"]);
    assert!(live(&t).is_empty());
    let log = ledger_log(&t);
    assert!(
        log.contains(&format!("alice|renew {a} alice: src/**")),
        "{log}"
    );
    assert!(
        log.contains(&format!("alice|release {b} alice: task:9")),
        "{log}"
    );
    assert!(
        log.contains(&format!("alice|release {a} alice: src/**")),
        "{log}"
    );
}

#[test]
fn force_break_is_recorded_with_who_and_why() {
    let t = repo_with(&["alice", "bob"]);
    let id = lease_id(&t, "alice", &["src/**"]);
    assert_exit(
        &t.comm_as("bob", &["release", "--force", &id]),
        2,
        "--reason",
    );
    t.ok_as(
        "bob",
        &["release", "--force", &id, "--reason", "alice went offline"],
    );
    assert!(live(&t).is_empty());
    let log = t.git(&["log", "-1", "--format=%an|%s%n%b", "refs/comm-node/leases"]);
    assert!(
        log.starts_with(&format!("bob|break {id} by bob: alice went offline")),
        "{log}"
    );
    assert!(log.contains("holder: alice"), "{log}");
    lease_id(&t, "bob", &["src/a.ts"]);
}

#[test]
fn output_formats() {
    let t = repo_with(&["alice"]);
    let id = lease_id(&t, "alice", &["src/**", "--task", "T-1"]);
    let compact = t.ok_as("alice", &["--format", "compact", "leases"]);
    assert!(compact.starts_with(&format!("{id} alice x ")), "{compact}");
    let human = t.ok_as("alice", &["leases"]);
    assert!(
        human.contains("exclusive") && human.contains("task T-1"),
        "{human}"
    );
    assert_eq!(live(&t)[0]["task"], "T-1");
    assert_eq!(
        t.ok_as("alice", &["--format", "compact", "lease", "x/**"])
            .trim()
            .len(),
        12
    );
}

#[test]
fn lease_sync_without_a_remote_grants_nothing() {
    let t = repo_with(&["alice"]);
    let before = t.comm_refs();
    assert_exit(
        &t.comm_as("alice", &["lease", "--sync", "src/**"]),
        2,
        "no remote 'origin'",
    );
    t.git(&["config", "comm.leaseSync", "true"]);
    assert_exit(
        &t.comm_as("alice", &["lease", "src/**"]),
        2,
        "no remote 'origin'",
    );
    assert_eq!(t.comm_refs(), before, "a refused lease must not be written");
}

/// `git comm ARGS` as `agent` with the time zone `tz`.
fn comm_in_tz(t: &TestRepo, tz: &str, agent: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(common::BIN)
        .args(["--as", agent])
        .args(args)
        .current_dir(t.path())
        .env("TZ", tz)
        .output()
        .unwrap();
    common::assert_success(&out, args);
    stdout(&out)
}

fn until(text: &str) -> String {
    let at = text.find("until ").expect("an expiry") + "until ".len();
    text[at..at + 16].to_string()
}

#[test]
fn status_shows_lease_expiry_in_local_time() {
    let t = repo_with(&["alice"]);
    lease_id(&t, "alice", &["src/**", "--ttl", "2h"]);
    let tokyo = comm_in_tz(&t, "Asia/Tokyo", "alice", &["status"]);
    let utc = comm_in_tz(&t, "UTC", "alice", &["status"]);
    let listed = comm_in_tz(&t, "Asia/Tokyo", "alice", &["leases"]);
    assert!(!tokyo.contains("expires in"), "{tokyo}");
    assert_eq!(until(&tokyo), until(&listed), "{tokyo}\n{listed}");
    assert_ne!(until(&tokyo), until(&utc), "Tokyo is 9 hours off UTC");
    assert!(tokyo.contains("left)  src/**"), "{tokyo}");
}

#[test]
fn renew_without_ttl_keeps_each_leases_own_ttl() {
    let t = repo_with(&["alice"]);
    let long = lease_id(&t, "alice", &["src/**", "--ttl", "2h"]);
    let short = lease_id(&t, "alice", &["task:1", "--ttl", "10m"]);
    let out: Value = serde_json::from_str(&t.ok_as("alice", &["--json", "renew"])).unwrap();
    let term = |id: &str| {
        let l = out["renewed"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["id"] == id)
            .unwrap()
            .clone();
        l["expires"].as_i64().unwrap() - l["created"].as_i64().unwrap()
    };
    assert_eq!(term(&long), 7200, "the 2h lease was not shortened");
    assert_eq!(term(&short), 600);
}
