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
    // Sync, an hour later too, carries it to the other clone.
    assert!(comm_at(&a, 3600, &["sync"]).status.success());
    ok(&b, &["sync"]);
    assert!(last_seen(&b, "alice") >= jiff::Timestamp::now().as_second() + 3500);
}

/// The presence blob of `agent` on the bare remote.
fn remote_presence(net: &Net, agent: &str) -> Value {
    let blob = git_in(
        &net.remote,
        &[
            "cat-file",
            "-p",
            &format!("refs/comm-node/presence/{agent}"),
        ],
    );
    serde_json::from_str(&blob).unwrap()
}

/// `last_seen` of `agent`'s presence on the remote.
fn remote_last_seen(net: &Net, agent: &str) -> i64 {
    remote_presence(net, agent)["last_seen"].as_i64().unwrap()
}

#[test]
fn sync_pushes_a_mere_refresh_only_when_the_pushed_presence_is_a_quarter_stale() {
    let net = Net::new();
    let (a, b) = net.pair();
    ok(&a, &["sync"]);
    ok(&b, &["sync"]);
    let pushed = remote_last_seen(&net, "alice");
    // 60 s later alice only reads and syncs: presence.stale is 10m, so a refresh younger
    // than 150 s stays local (no ref moves on the remote for it).
    assert!(comm_at(&a, 60, &["--as", "alice", "inbox", "--peek"])
        .status
        .success());
    assert!(comm_at(&a, 60, &["sync"]).status.success());
    assert_eq!(remote_last_seen(&net, "alice"), pushed);
    assert!(
        last_seen(&a, "alice") >= pushed + 60,
        "the local presence is fresh"
    );
    // A declared state is news: pushed at once.
    assert!(comm_at(&a, 61, &["--as", "alice", "state", "busy"])
        .status
        .success());
    assert!(comm_at(&a, 61, &["sync"]).status.success());
    let now = remote_presence(&net, "alice");
    assert_eq!(now["state"], "busy");
    let pushed = now["last_seen"].as_i64().unwrap();
    // 150 s after that push, a mere refresh goes out again, and bob sees it.
    assert!(comm_at(&a, 211, &["--as", "alice", "inbox", "--peek"])
        .status
        .success());
    assert!(comm_at(&a, 211, &["sync"]).status.success());
    assert!(remote_last_seen(&net, "alice") >= pushed + 150);
    ok(&b, &["sync"]);
    assert!(last_seen(&b, "alice") >= pushed + 150);
}

/// Alice (clone `a`, whose config says `presence: {stale: 1m}`, so a refresh is due after
/// 15 s) and bob, each knowing the other, alice's presence pushed.
fn alice_with_one_minute_staleness() -> (Net, std::path::PathBuf, std::path::PathBuf) {
    let net = Net::new();
    let (a, b) = net.pair();
    std::fs::create_dir_all(a.join(".comm-node")).unwrap();
    std::fs::write(
        a.join(".comm-node/config.yaml"),
        "version: 1\npresence: { stale: 1m }\n",
    )
    .unwrap();
    for dir in [&a, &b, &a] {
        ok(dir, &["sync"]);
    }
    (net, a, b)
}

/// A waiting agent's presence goes out with its poller's syncs as often as the configured
/// `presence.stale` needs (a quarter of it), not the default's: with `stale: 1m`, a refresh
/// 30 s after the last push is pushed, or the others would see a waiting agent as stale.
#[test]
fn a_poller_sync_pushes_presence_as_often_as_the_configured_staleness_needs() {
    let (net, a, b) = alice_with_one_minute_staleness();
    let pushed = remote_last_seen(&net, "alice");
    ok(&b, &["--as", "bob", "send", "alice", "-s", "are you there"]);
    ok(&b, &["sync"]);
    let waited = comm_at(&a, 30, &["--as", "alice", "inbox", "--wait", "20"]);
    assert!(
        waited.status.success(),
        "{}",
        String::from_utf8_lossy(&waited.stderr)
    );
    assert!(String::from_utf8_lossy(&waited.stdout).contains("are you there"));
    let now = remote_last_seen(&net, "alice");
    assert!(
        now >= pushed + 30,
        "the poller's sync kept alice's refresh local: pushed {pushed}, remote {now}"
    );
}

/// A wait that nothing ends still keeps its agent present on the remote: the poller
/// pushes the refreshed presence once it is due, though no other ref moved.
#[test]
fn a_long_quiet_wait_keeps_the_agent_present_on_the_remote() {
    let (net, a, b) = alice_with_one_minute_staleness();
    let pushed = remote_last_seen(&net, "alice");
    let waited = comm_at(&a, 30, &["--as", "alice", "inbox", "--wait", "3"]);
    assert_eq!(waited.status.code(), Some(1), "nothing arrives: a timeout");
    let now = remote_last_seen(&net, "alice");
    assert!(now >= pushed + 30, "pushed {pushed}, remote {now}");
    ok(&b, &["sync"]);
    assert!(last_seen(&b, "alice") >= pushed + 30);
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
    let task: Value =
        serde_json::from_str(&t.ok_as("alice", &["--json", "task", "add", "form"])).unwrap();
    let task = task["id"].as_str().unwrap().to_string();
    let out = t.ok_as(
        "alice",
        &[
            "state",
            "busy",
            "--task",
            &task,
            "--note",
            "wiring the form",
        ],
    );
    assert_eq!(
        out.trim(),
        format!("alice is busy on {task}: wiring the form")
    );
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
    assert_eq!(alice["task"], task.as_str());
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

/// The per-agent row of `who --json`.
fn who_row(t: &common::TestRepo, viewer: &str, agent: &str) -> Value {
    let who: Value = serde_json::from_str(&t.ok_as(viewer, &["who", "--json"])).unwrap();
    who.as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == agent)
        .unwrap_or_else(|| panic!("{agent} in {who}"))
        .clone()
}

/// Issue 20 item 5: cards `plan` creates say the agent was never seen (who, status, watch
/// and the report agree); an agent the config binds is known to `status`.
#[test]
fn agents_nobody_has_seen_are_shown_never_seen() {
    let t = common::TestRepo::new();
    t.initial_commit();
    t.write(
        ".comm-node/config.yaml",
        "version: 1\ndomains:\n  api: { scope: [\"api/**\"] }\n  web: { scope: [\"web/**\"] }\nagents:\n  carol: { domain: web }\n",
    );
    t.write(
        "plan.yaml",
        "kickoff: go\nagents:\n  backend: { domain: api }\n  frontend: { domain: web }\n",
    );
    t.ok_as("lead", &["join"]);
    t.ok_as("lead", &["plan", "plan.yaml"]);
    let who = t.ok_as("lead", &["who"]);
    for line in [
        "backend domain=api seen=never",
        "frontend domain=web seen=never",
        "carol domain=web seen=never",
    ] {
        assert!(who.contains(line), "{line} in:\n{who}");
    }
    assert_eq!(who_row(&t, "lead", "frontend")["last_seen"], Value::Null);
    let status = t.ok_as("lead", &["status"]);
    assert!(
        status.contains("  frontend domain=web seen=never"),
        "{status}"
    );
    let watch = t.ok_as("lead", &["watch", "--once", "--local"]);
    assert!(watch.contains("frontend - seen never"), "{watch}");
    let page = t.path().join("report.html");
    t.ok_as("lead", &["report", "-o", page.to_str().unwrap()]);
    let html = std::fs::read_to_string(&page).unwrap();
    let row = html
        .split("<tr><td>frontend")
        .nth(1)
        .and_then(|r| r.split("</tr>").next())
        .expect("a report row for frontend");
    assert!(row.contains("seen never"), "{row}");

    // carol is bound by the config: known, with her domain, never seen (until now).
    let status = t.ok_as("carol", &["status"]);
    let me = status.lines().next().unwrap();
    assert!(me.starts_with("me: carol domain=web unread="), "{status}");
    assert!(!status.contains("not joined"), "{status}");
    let status: Value = serde_json::from_str(&t.ok_as("carol", &["status", "--json"])).unwrap();
    assert_eq!(status["joined"], true);
    // Running commands is being seen.
    assert_ne!(who_row(&t, "lead", "carol")["last_seen"], Value::Null);
    t.ok_as("frontend", &["inbox"]);
    assert!(!t
        .ok_as("lead", &["who"])
        .contains("frontend domain=web seen=never"));
}

/// Issue 20 item 5: `state busy --task T` no longer names T once T is done (whoever
/// finished it) or handed back.
#[test]
fn a_finished_task_leaves_the_state() {
    let t = common::TestRepo::new();
    t.ok_as("alice", &["join"]);
    let add = |title: &str| -> String {
        let v: Value =
            serde_json::from_str(&t.ok_as("alice", &["--json", "task", "add", title])).unwrap();
        v["id"].as_str().unwrap().to_string()
    };
    let (first, second) = (add("first"), add("second"));
    t.ok_as("alice", &["task", "claim", &first]);
    t.ok_as("alice", &["state", "busy", "--task", &first]);
    assert_eq!(who_row(&t, "alice", "alice")["task"], first.as_str());
    t.ok_as("alice", &["task", "done", &first]);
    let row = who_row(&t, "alice", "alice");
    assert_eq!(
        (row["state"].as_str(), row["task"].as_str()),
        (Some("busy"), None)
    );
    assert!(!t.ok_as("alice", &["who"]).contains("task="));

    // Claimed and declared, then handed to bob later: no longer alice's task.
    t.ok_as("bob", &["join"]);
    t.ok_as("alice", &["task", "claim", &second]);
    t.ok_as("alice", &["state", "busy", "--task", &second]);
    assert_eq!(who_row(&t, "alice", "alice")["task"], second.as_str());
    let handed = comm_at(
        t.path(),
        2,
        &["--as", "alice", "task", "reassign", &second, "bob"],
    );
    assert!(handed.status.success(), "{}", common::stderr(&handed));
    let who = comm_at(t.path(), 2, &["--as", "bob", "who", "--json"]);
    let who: Value = serde_json::from_slice(&who.stdout).unwrap();
    let alice = who
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "alice")
        .unwrap();
    assert_eq!(alice["task"], Value::Null, "{who}");
}
