//! Waits across machines: `inbox --wait`, `wait` and `wait --ack` on one clone return when
//! the thing arrives from another clone through the bare remote, with no polling loop in
//! the test: the tool's own waits sync while they poll.

mod common;
mod sync_net;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{assert_exit, comm_in, stdout, BIN};
use sync_net::{ok, sync_ok, Net};

fn spawn(dir: &std::path::Path, args: &[&str]) -> Child {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_COMM_AGENT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: Child, within: Duration, started: Instant) -> std::process::Output {
    let out = child.wait_with_output().unwrap();
    assert!(started.elapsed() < within, "took {:?}", started.elapsed());
    out
}

fn joined_pair() -> (Net, std::path::PathBuf, std::path::PathBuf) {
    let net = Net::new();
    let (a, b) = net.pair();
    sync_ok(&a);
    sync_ok(&b);
    sync_ok(&a);
    (net, a, b)
}

#[test]
fn inbox_wait_on_one_clone_returns_with_mail_sent_on_another() {
    let (_net, a, b) = joined_pair();
    let started = Instant::now();
    let waiter = spawn(
        &b,
        &[
            "--as", "bob", "--format", "compact", "inbox", "--wait", "60",
        ],
    );
    ok(
        &a,
        &[
            "--as",
            "alice",
            "send",
            "bob",
            "-s",
            "over the wire",
            "-m",
            "",
        ],
    );
    sync_ok(&a);
    let out = finish(waiter, Duration::from_secs(40), started);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout(&out).contains("over the wire"), "{}", stdout(&out));
}

#[test]
fn inbox_wait_local_never_syncs() {
    let (_net, a, b) = joined_pair();
    ok(
        &a,
        &[
            "--as",
            "alice",
            "send",
            "bob",
            "-s",
            "stays remote",
            "-m",
            "",
        ],
    );
    sync_ok(&a);
    let out = comm_in(&b, &["--as", "bob", "inbox", "--wait", "1", "--local"]);
    assert_exit(&out, 1, "no new mail for bob");
}

#[test]
fn wait_returns_when_an_artifact_is_published_on_another_clone() {
    let (_net, a, b) = joined_pair();
    let started = Instant::now();
    let waiter = spawn(
        &b,
        &["--as", "bob", "wait", "api/schema", "--timeout", "60"],
    );
    std::fs::write(a.join("schema.json"), "{}\n").unwrap();
    ok(
        &a,
        &["--as", "alice", "publish", "api/schema", "schema.json"],
    );
    sync_ok(&a);
    let out = finish(waiter, Duration::from_secs(40), started);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout(&out).starts_with("api/schema@v1 "),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_version_an_earlier_sync_brought_in_is_not_missed() {
    let (_net, a, b) = joined_pair();
    std::fs::write(a.join("schema.json"), "{}\n").unwrap();
    ok(
        &a,
        &["--as", "alice", "publish", "api/schema", "schema.json"],
    );
    sync_ok(&a);
    sync_ok(&b); // v1 arrives before bob waits
    let out = ok(&b, &["--as", "bob", "wait", "api/schema", "--timeout", "5"]);
    assert!(out.starts_with("api/schema@v1 "), "{out}");
}

#[test]
fn wait_ack_returns_when_every_recipient_acked() {
    let (_net, a, b) = joined_pair();
    let sent = ok(
        &a,
        &[
            "--as",
            "alice",
            "--format",
            "compact",
            "send",
            "bob",
            "-s",
            "please confirm",
            "-m",
            "",
            "--ack",
        ],
    );
    let id = sent.trim().to_string();
    sync_ok(&a);
    let pending = comm_in(
        &a,
        &[
            "--as",
            "alice",
            "wait",
            "--ack",
            &id,
            "--timeout",
            "1",
            "--local",
        ],
    );
    assert_exit(&pending, 1, "not acked within 1s by: bob");
    let started = Instant::now();
    let waiter = spawn(
        &a,
        &["--as", "alice", "wait", "--ack", &id, "--timeout", "60"],
    );
    sync_ok(&b);
    ok(&b, &["--as", "bob", "ack", &id]);
    sync_ok(&b);
    let out = finish(waiter, Duration::from_secs(40), started);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout(&out).contains("acked by bob"), "{}", stdout(&out));
    let shown = ok(&a, &["--as", "alice", "show", &id]);
    assert!(shown.contains("acked by: bob"), "{shown}");
}
