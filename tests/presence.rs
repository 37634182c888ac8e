//! Presence: every command acting as an agent, reads included, refreshes its last-seen
//! without adding a commit to any history; sync carries it.

mod common;
mod sync_net;

use common::{comm_at, git_in};
use serde_json::Value;
use sync_net::{ok, Net};

fn commits_in_all_history(dir: &std::path::Path) -> usize {
    git_in(dir, &["rev-list", "--all", "--count"])
        .trim()
        .parse()
        .unwrap()
}

fn last_seen(dir: &std::path::Path, agent: &str) -> i64 {
    let who: Value = serde_json::from_str(&ok(dir, &["who", "--json"])).unwrap();
    let row = who
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == agent)
        .unwrap_or_else(|| panic!("{agent} in {who}"))
        .clone();
    let text = row["last_seen"].as_str().unwrap().to_string();
    jiff::Timestamp::from_str_lenient(&text)
}

trait Lenient {
    fn from_str_lenient(text: &str) -> i64;
}

impl Lenient for jiff::Timestamp {
    fn from_str_lenient(text: &str) -> i64 {
        text.parse::<jiff::Timestamp>().unwrap().as_second()
    }
}

#[test]
fn reads_refresh_presence_without_commits_and_sync_carries_it() {
    let net = Net::new();
    let (a, b) = net.pair();
    ok(&a, &["sync"]);
    ok(&b, &["sync"]);
    ok(&a, &["sync"]);
    let before = commits_in_all_history(&a);
    // An hour later alice only reads: inbox, leases, status.
    for args in [
        ["inbox", "--peek"],
        ["leases", "--json"],
        ["status", "--json"],
    ] {
        let mut full = vec!["--as", "alice"];
        full.extend_from_slice(&args);
        let out = comm_at(&a, 3600, &full);
        assert!(out.status.success(), "{args:?}");
    }
    assert_eq!(commits_in_all_history(&a), before, "presence added commits");
    let log = git_in(&a, &["log", "--all", "--format=%s"]);
    assert!(!log.contains("seen alice"), "{log}");
    assert!(last_seen(&a, "alice") >= jiff::Timestamp::now().as_second() + 3500);
    // Sync carries it to the other clone.
    ok(&a, &["sync"]);
    ok(&b, &["sync"]);
    assert!(last_seen(&b, "alice") >= jiff::Timestamp::now().as_second() + 3500);
}

#[test]
fn agents_declare_state_and_stale_agents_are_flagged_with_their_leases() {
    let t = common::TestRepo::new();
    t.write(
        ".comm-node/config.yaml",
        "version: 1\npresence: { stale: 1m }\n",
    );
    t.ok_as("alice", &["join"]);
    t.ok_as("bob", &["join"]);
    let out = t.ok_as(
        "alice",
        &[
            "state",
            "busy",
            "--task",
            "T-1",
            "--note",
            "wiring the form",
        ],
    );
    assert_eq!(out.trim(), "alice is busy on T-1: wiring the form");
    let lease: Value =
        serde_json::from_str(&t.ok_as("alice", &["--json", "lease", "src/**"])).unwrap();
    let id = lease["lease"]["id"].as_str().unwrap().to_string();
    let who: Value = serde_json::from_str(&t.ok_as("bob", &["who", "--json"])).unwrap();
    let alice = who
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "alice")
        .unwrap();
    assert_eq!(alice["state"], "busy");
    assert_eq!(alice["task"], "T-1");
    assert_eq!(alice["stale"], false);
    // Two minutes later (bob's view), alice has not been seen for longer than 1m.
    let later = comm_at(t.path(), 120, &["--as", "bob", "who", "--json"]);
    let who: Value = serde_json::from_slice(&later.stdout).unwrap();
    let alice = who
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "alice")
        .unwrap();
    assert_eq!(alice["stale"], true, "{who}");
    assert_eq!(alice["leases_at_risk"], serde_json::json!([id]));
    let human = comm_at(t.path(), 120, &["--as", "bob", "who"]);
    assert!(
        String::from_utf8_lossy(&human.stdout).contains(&format!("STALE (leases at risk: {id})")),
        "{}",
        String::from_utf8_lossy(&human.stdout)
    );
    let bad = t.comm_as("alice", &["state", "sleeping"]);
    assert_eq!(bad.status.code(), Some(2));
}
