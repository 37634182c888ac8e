//! kill -9 at arbitrary points of `send`, `lease`, `publish` and `sync`: the repository
//! stays consistent (`git fsck`), the next command of the same kind succeeds (stale locks
//! are cleared), nothing is recorded twice, and no published version is lost to `git gc`.

mod common;
mod sync_net;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{comm_in, git_in, stderr, BIN};
use sync_net::{ok, subjects, Net};

const ROUNDS: u64 = 12;

/// Spawn `git comm ARGS` in `dir` and kill -9 it after `delay_ms`; returns its exit code
/// (None when the kill landed first).
fn run_and_kill(dir: &Path, args: &[&str], delay_ms: u64) -> Option<i32> {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_COMM_AGENT")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The deliberate kill point: a delay that varies per round, then SIGKILL.
    std::thread::sleep(Duration::from_millis(delay_ms));
    let _ = child.kill();
    child.wait().unwrap().code()
}

/// A deterministic delay per round, 0..8 ms: a command runs a few ms, so kills land before,
/// during and after its writes.
fn delay(round: u64, salt: u64) -> u64 {
    (round * 7919 + salt * 104_729) % 9
}

fn fsck(dir: &Path) {
    git_in(dir, &["fsck", "--no-dangling"]);
}

#[test]
fn killed_sends_leave_each_message_at_most_once_and_the_channel_open() {
    let net = Net::new();
    let (a, _b) = net.pair();
    let mut finished = Vec::new();
    for round in 0..ROUNDS {
        let subject = format!("kill {round}");
        let code = run_and_kill(
            &a,
            &["--as", "alice", "send", "all", "-s", &subject, "-m", "x"],
            delay(round, 1),
        );
        if code == Some(0) {
            finished.push(subject.clone());
        }
        fsck(&a);
        let next = comm_in(
            &a,
            &[
                "--as",
                "alice",
                "send",
                "all",
                "-s",
                &format!("after {round}"),
                "-m",
                "",
            ],
        );
        assert!(next.status.success(), "round {round}: {}", stderr(&next));
    }
    let all = subjects(&a);
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for s in &all {
        *counts.entry(s.as_str()).or_default() += 1;
    }
    assert!(
        counts.values().all(|&n| n == 1),
        "a message stored twice: {all:?}"
    );
    for s in &finished {
        assert!(all.contains(s), "{s} exited 0 but is missing");
    }
}

#[test]
fn killed_lease_writers_never_block_the_ledger() {
    let t = common::TestRepo::new();
    t.ok_as("alice", &["join"]);
    for round in 0..ROUNDS {
        run_and_kill(
            t.path(),
            &["--as", "alice", "lease", "task:1"],
            delay(round, 2),
        );
        fsck(t.path());
        // Whatever happened, alice can release and take it again.
        t.ok_as("alice", &["release", "--all"]);
        t.ok_as("alice", &["lease", "task:1"]);
        t.ok_as("alice", &["release", "--all"]);
    }
    let live = t.ok_as("alice", &["leases", "--json"]);
    assert_eq!(live.trim(), "[]");
}

#[test]
fn killed_publishes_lose_no_version() {
    let t = common::TestRepo::new();
    t.ok_as("alice", &["join"]);
    t.write("schema.json", "{}\n");
    for round in 0..ROUNDS {
        t.write("schema.json", &format!("{{\"round\": {round}}}\n"));
        run_and_kill(
            t.path(),
            &["--as", "alice", "publish", "api/schema", "schema.json"],
            delay(round, 3),
        );
        fsck(t.path());
        t.ok_as("alice", &["publish", "api/schema", "schema.json"]);
    }
    git_in(t.path(), &["gc", "--quiet", "--prune=now"]);
    let list: serde_json::Value =
        serde_json::from_str(&t.ok_as("alice", &["artifacts", "--json"])).unwrap();
    let latest = list[0]["version"].as_u64().expect("a version");
    assert!(latest >= ROUNDS, "at least one version per round: {latest}");
    for v in 1..=latest {
        let out = comm_in(t.path(), &["get", &format!("api/schema@{v}")]);
        assert!(out.status.success(), "v{v} lost: {}", stderr(&out));
    }
}

#[test]
fn killed_syncs_leave_both_clones_able_to_sync() {
    let net = Net::new();
    let (a, b) = net.pair();
    for round in 0..ROUNDS {
        ok(
            &a,
            &[
                "--as",
                "alice",
                "send",
                "all",
                "-s",
                &format!("a {round}"),
                "-m",
                "",
            ],
        );
        run_and_kill(&a, &["sync"], delay(round, 4) * 6);
        fsck(&a);
        let out = comm_in(&a, &["sync"]);
        assert!(out.status.success(), "round {round}: {}", stderr(&out));
        let out = comm_in(&b, &["sync"]);
        assert!(out.status.success(), "round {round}: {}", stderr(&out));
    }
    let want: Vec<String> = subjects(&a);
    assert_eq!(subjects(&b), want);
    assert_eq!(want.len(), ROUNDS as usize);
}
