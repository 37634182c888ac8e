//! Offline-first mail: clones send while apart and converge on one history through sync.

mod common;
mod sync_net;

use std::time::Instant;

use common::*;
use sync_net::*;

fn converge(first_syncs_a: bool) {
    let net = Net::new();
    let (a, b) = net.pair();
    send_many(&a, "alice", 500);
    send_many(&b, "bob", 500);
    let (first, second) = if first_syncs_a { (&a, &b) } else { (&b, &a) };
    sync_ok(first);
    let out = sync_ok(second);
    assert!(out.contains("merged mail"), "{out}");
    assert!(
        out.contains("mail 500 in, 500 out"),
        "sync names what moved: {out}"
    );
    sync_ok(first);

    let expected: Vec<String> = {
        let mut s: Vec<String> = (0..500)
            .flat_map(|i| [format!("alice message {i}"), format!("bob message {i}")])
            .collect();
        s.sort();
        s
    };
    assert_eq!(subjects(&a), expected);
    assert_eq!(subjects(&b), expected);
    assert_eq!(history(&a), history(&b));
    // 1000 messages + exactly one merge commit joining the two offline histories.
    assert_eq!(history(&a).lines().count(), 1001);
    // a's mail went out through a's own outbox on the remote, which the local mail contains.
    let outbox = git_in(&a, &["config", "comm.outbox"]);
    let outbox = format!("refs/comm-node/outbox/{}", outbox.trim());
    let remote_log = git_in(&net.remote, &["log", "--no-merges", "--format=%s", &outbox]);
    let from_alice = remote_log
        .lines()
        .filter(|l| l.starts_with("alice "))
        .count();
    assert_eq!(from_alice, 500, "{remote_log}");
    let remote_tip = git_in(&net.remote, &["rev-parse", &outbox]);
    git_in(
        &a,
        &[
            "merge-base",
            "--is-ancestor",
            remote_tip.trim(),
            "refs/comm-node/mail",
        ],
    );
    // Both agents' cards travelled too.
    assert_eq!(
        refs(&a, "refs/comm-node/agents/"),
        refs(&b, "refs/comm-node/agents/")
    );
    // Syncing again changes nothing.
    let again = sync_ok(second);
    assert!(
        again.starts_with("synced origin: nothing changed"),
        "{again}"
    );
}

#[test]
fn five_hundred_each_a_first() {
    let started = Instant::now();
    converge(true);
    assert!(started.elapsed().as_secs() < 60);
}

#[test]
fn five_hundred_each_b_first() {
    converge(false);
}

#[test]
fn message_ids_are_stable_and_inbox_sees_remote_mail() {
    let net = Net::new();
    let (a, b) = net.pair();
    sync_ok(&a);
    sync_ok(&b);
    sync_ok(&a);
    let sent = ok(&a, &["--as", "alice", "send", "bob", "-s", "hello bob"]);
    let id = sent.split_whitespace().nth(1).unwrap().to_string();
    ok(&b, &["--as", "bob", "send", "alice", "-s", "hello alice"]);
    sync_ok(&a);
    sync_ok(&b);
    // The id alice got at send time still names the message on bob's clone after the merge.
    let shown = ok(&b, &["--as", "bob", "show", &id]);
    assert!(shown.contains("hello bob"), "{shown}");
    let inbox = ok(&b, &["--as", "bob", "inbox", "--format", "compact"]);
    assert!(inbox.contains("alice>bob [info] hello bob"), "{inbox}");
    // Bob's cursor travels: after sync, alice's clone knows bob read it.
    sync_ok(&b);
    sync_ok(&a);
    assert_eq!(
        git_in(&a, &["rev-parse", "refs/comm-node/cursors/bob"]),
        git_in(&b, &["rev-parse", "refs/comm-node/cursors/bob"])
    );
}

#[test]
fn sync_from_a_worktree_and_with_many_clones_racing() {
    let net = Net::new();
    let a = net.clone("a");
    git_in(&a, &["commit", "-q", "--allow-empty", "-m", "base"]);
    let wt = net.root.path().join("a-wt");
    git_in(&a, &["worktree", "add", "-q", wt.to_str().unwrap()]);
    ok(&wt, &["--as", "alice", "join"]);
    send_many(&wt, "alice", 3);
    sync_ok(&wt);
    assert_eq!(
        subjects(&a).len(),
        3,
        "worktree and main checkout share the refs"
    );

    let clones: Vec<_> = (0..4).map(|i| net.clone(&format!("c{i}"))).collect();
    for (i, c) in clones.iter().enumerate() {
        send_many(c, &format!("agent{i}"), 20);
    }
    // All four push at once: losers see a stale lease, refetch, merge and retry.
    let children: Vec<_> = clones
        .iter()
        .map(|c| {
            std::process::Command::new(BIN)
                .arg("sync")
                .current_dir(c)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_success(&out, &["sync"]);
    }
    // Everyone syncs once more (sequentially) to pick up the others' pushes.
    for c in clones.iter().chain([&a]) {
        sync_ok(c);
    }
    for c in &clones {
        sync_ok(c);
    }
    let want = subjects(&a);
    assert_eq!(want.len(), 3 + 4 * 20);
    // The same messages everywhere; each clone's joins of the others' mail stay its own.
    let messages = |dir: &std::path::Path| {
        let mut ids: Vec<String> = git_in(dir, &["rev-list", "--no-merges", "refs/comm-node/mail"])
            .lines()
            .map(str::to_string)
            .collect();
        ids.sort();
        ids
    };
    for c in &clones {
        assert_eq!(subjects(c), want);
        assert_eq!(messages(c), messages(&a));
    }
}

/// Each clone pushes its mail to its own outbox ref: eight clones sending and syncing at the
/// same moment never make each other's push stale, so every sync succeeds at its first
/// attempt, and afterwards every clone has every message.
#[test]
fn concurrent_senders_on_eight_clones_never_contend() {
    let net = Net::new();
    let names: Vec<String> = (0..8).map(|i| format!("c{i}")).collect();
    let dirs: Vec<std::path::PathBuf> = names
        .iter()
        .map(|n| {
            let dir = net.clone(n);
            ok(&dir, &["--as", n, "join"]);
            dir
        })
        .collect();
    for _ in 0..2 {
        for dir in &dirs {
            sync_ok(dir);
        }
    }
    let threads: Vec<_> = dirs
        .iter()
        .zip(&names)
        .map(|(dir, name)| {
            let (dir, name) = (dir.clone(), name.clone());
            std::thread::spawn(move || {
                let mut attempts = Vec::new();
                for round in 0..3 {
                    ok(
                        &dir,
                        &[
                            "--as",
                            &name,
                            "send",
                            "all",
                            "-s",
                            &format!("{name} round {round}"),
                        ],
                    );
                    let report: serde_json::Value =
                        serde_json::from_str(&ok(&dir, &["--json", "sync"])).unwrap();
                    attempts.push(report["attempts"].as_u64().unwrap());
                }
                attempts
            })
        })
        .collect();
    for t in threads {
        let attempts = t.join().unwrap();
        assert!(
            attempts.iter().all(|a| *a == 1),
            "a sync had to retry: {attempts:?}"
        );
    }
    for dir in &dirs {
        sync_ok(dir);
    }
    let expected = names.len() * 3;
    for dir in &dirs {
        let got = subjects(dir)
            .iter()
            .filter(|s| s.contains(" round "))
            .count();
        assert_eq!(
            got,
            expected,
            "{} has {got} of {expected} messages",
            dir.display()
        );
    }
    let outboxes = git_in(
        &net.remote,
        &[
            "for-each-ref",
            "--format=%(refname)",
            "refs/comm-node/outbox/",
        ],
    );
    assert_eq!(outboxes.lines().count(), names.len(), "{outboxes}");
}

/// Sync counts records, not refs: each message, each ack and each artifact version, however
/// many merges join them (issue 20 item 8: three messages once read "mail 1 out").
#[test]
fn sync_counts_messages_acks_and_versions() {
    let net = Net::new();
    let (a, b) = net.pair();
    sync_ok(&a);
    sync_ok(&b);
    sync_ok(&a);
    for i in 0..3 {
        ok(
            &a,
            &["--as", "alice", "send", "bob", "-s", &format!("a{i}")],
        );
    }
    ok(&b, &["--as", "bob", "send", "alice", "-s", "b0"]);
    assert!(sync_ok(&b).contains("mail 1 out"));
    let out = sync_ok(&a);
    assert!(out.contains("mail 1 in, 3 out"), "{out}");
    assert!(out.contains("merged mail"), "{out}");
    let out = sync_ok(&b);
    assert!(out.ends_with("mail 3 in\n"), "{out}");

    let inbox = ok(&b, &["--as", "bob", "inbox", "--json"]);
    let inbox: serde_json::Value = serde_json::from_str(&inbox).unwrap();
    let id = inbox["messages"][0]["id"].as_str().unwrap().to_string();
    ok(&b, &["--as", "bob", "ack", &id]);
    let out = ok(&b, &["--json", "sync"]);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["moved"]["acks_out"], 1, "{out}");
    assert_eq!(report["moved"]["mail_out"], 0, "{out}");
    assert!(sync_ok(&a).contains("acks 1 in"));

    for v in 0..3 {
        std::fs::write(a.join("x.txt"), format!("v{v}")).unwrap();
        ok(&a, &["--as", "alice", "publish", "api/x", "x.txt"]);
    }
    let out = sync_ok(&a);
    assert!(
        out.contains("artifacts out api/x@v1 api/x@v2 api/x@v3"),
        "{out}"
    );
    let out = sync_ok(&b);
    assert!(out.contains("mail 3 in"), "{out}");
    assert!(
        out.contains("artifacts in api/x@v1 api/x@v2 api/x@v3"),
        "{out}"
    );
}
