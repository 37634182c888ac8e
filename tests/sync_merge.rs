//! Per-ref merge policy across clones: agent cards, cursors, artifacts.

mod common;
mod sync_net;

use common::*;
use git_comm::agent::{read_card, write_card};
use git_comm::repo::Repo;
use sync_net::*;

#[test]
fn diverged_cards_merge_to_the_newer_last_seen_with_both_parents() {
    let net = Net::new();
    let a = net.clone("a");
    let b = net.clone("b");
    ok(&a, &["--as", "carol", "join", "--role", "old"]);
    sync_ok(&a);
    sync_ok(&b);
    let ra = Repo::discover(&a).unwrap();
    let rb = Repo::discover(&b).unwrap();
    let card = read_card(&ra, "carol").unwrap().unwrap();
    let newer = git_comm::agent::Card {
        role: Some("newer".into()),
        last_seen: card.last_seen + 500,
        ..card.clone()
    };
    let older = git_comm::agent::Card {
        role: Some("older".into()),
        last_seen: card.last_seen + 100,
        ..card
    };
    write_card(&ra, &older, "update carol").unwrap();
    write_card(&rb, &newer, "update carol").unwrap();
    let tip_a = git_in(&a, &["rev-parse", "refs/comm-node/agents/carol"]);
    let tip_b = git_in(&b, &["rev-parse", "refs/comm-node/agents/carol"]);
    sync_ok(&a);
    let out = sync_ok(&b);
    assert!(out.contains("merged agents/carol"), "{out}");
    sync_ok(&a);
    for dir in [&a, &b] {
        let card = read_card(&Repo::discover(dir).unwrap(), "carol")
            .unwrap()
            .unwrap();
        assert_eq!(card.role.as_deref(), Some("newer"));
        let parents = git_in(
            dir,
            &[
                "rev-list",
                "--parents",
                "-n1",
                "refs/comm-node/agents/carol",
            ],
        );
        assert!(
            parents.contains(tip_a.trim()) && parents.contains(tip_b.trim()),
            "{parents}"
        );
    }
    let who = ok(&a, &["who"]);
    assert!(who.contains("carol") && who.contains("role=newer"), "{who}");
}

#[test]
fn cursors_take_the_descendant() {
    let net = Net::new();
    let a = net.clone("a");
    let b = net.clone("b");
    ok(&a, &["--as", "alice", "join"]);
    ok(&a, &["--as", "bob", "join"]);
    ok(&a, &["--as", "alice", "send", "bob", "-s", "one"]);
    sync_ok(&a);
    sync_ok(&b);
    // Bob reads on clone b (cursor advances there), clone a has an older (absent) cursor.
    let inbox = ok(&b, &["--as", "bob", "inbox", "--format", "compact"]);
    assert!(inbox.contains("one"), "{inbox}");
    ok(&a, &["--as", "alice", "send", "bob", "-s", "two"]);
    sync_ok(&b); // pushes bob's cursor
    sync_ok(&a); // pushes "two", adopts bob's cursor
    sync_ok(&b);
    let unread = ok(&b, &["--as", "bob", "inbox", "--format", "compact"]);
    assert!(
        unread.contains("two") && !unread.contains("one"),
        "{unread}"
    );
    sync_ok(&b);
    sync_ok(&a);
    assert_eq!(
        git_in(&a, &["rev-parse", "refs/comm-node/cursors/bob"]),
        git_in(&b, &["rev-parse", "refs/comm-node/cursors/bob"])
    );
    let again = ok(&a, &["--as", "bob", "inbox", "--format", "compact"]);
    assert!(again.contains("no unread"), "{again}");
}

#[test]
fn artifacts_fast_forward_and_divergent_versions_are_republished_not_lost() {
    let net = Net::new();
    let (a, b) = net.pair();
    let bin: Vec<u8> = (0..50_000u32).map(|i| (i * 7 % 256) as u8).collect();
    std::fs::write(a.join("v1.bin"), &bin).unwrap();
    ok(
        &a,
        &[
            "--as", "alice", "publish", "api/blob", "v1.bin", "-m", "first",
        ],
    );
    sync_ok(&a);
    sync_ok(&b);
    // Fast-forward: b gets v1 byte-identical.
    let got = comm_in(&b, &["get", "api/blob"]);
    assert_eq!(got.stdout, bin);

    // Both publish v2 offline.
    std::fs::write(a.join("a.txt"), "from alice\n").unwrap();
    std::fs::write(b.join("b.txt"), "from bob\n").unwrap();
    ok(
        &a,
        &[
            "--as", "alice", "publish", "api/blob", "a.txt", "-m", "alice v2",
        ],
    );
    ok(
        &b,
        &[
            "--as", "bob", "publish", "api/blob", "b.txt", "-m", "bob v2",
        ],
    );
    sync_ok(&a);
    let out = sync_ok(&b);
    assert!(
        out.contains("republished api/blob@v2 as api/blob@v3"),
        "{out}"
    );
    sync_ok(&a);
    for dir in [&a, &b] {
        assert_eq!(comm_in(dir, &["get", "api/blob@1"]).stdout, bin);
        assert_eq!(
            stdout(&comm_in(dir, &["get", "api/blob@2"])),
            "from alice\n"
        );
        assert_eq!(stdout(&comm_in(dir, &["get", "api/blob@3"])), "from bob\n");
        let list = ok(dir, &["artifacts"]);
        assert!(list.starts_with("api/blob@v3 "), "{list}");
        let diff = ok(dir, &["diff", "api/blob"]);
        assert!(
            diff.contains("-from alice") && diff.contains("+from bob"),
            "{diff}"
        );
    }
    assert_eq!(
        refs(&a, "refs/comm-node/artifact"),
        refs(&b, "refs/comm-node/artifact")
    );
    // The re-publish was announced in the mail.
    let inbox = ok(
        &a,
        &[
            "--as", "alice", "inbox", "--type", "artifact", "--format", "compact",
        ],
    );
    assert!(
        inbox.contains("republished api/blob@v3 (was v2 before sync)"),
        "{inbox}"
    );
}

#[test]
fn status_reports_last_sync_and_divergence() {
    let net = Net::new();
    let a = net.clone("a");
    ok(&a, &["--as", "alice", "join", "--role", "dev"]);
    let before = ok(&a, &["--as", "alice", "status"]);
    assert!(before.contains("me: alice domain=- unread=0"), "{before}");
    assert!(
        before.contains("remote: origin last sync never"),
        "{before}"
    );
    ok(&a, &["--as", "alice", "send", "all", "-s", "first"]);
    sync_ok(&a);
    ok(&a, &["--as", "alice", "send", "all", "-s", "pending"]);
    std::fs::write(a.join("f.txt"), "x\n").unwrap();
    ok(&a, &["--as", "alice", "publish", "api/f", "f.txt"]);
    let after = ok(&a, &["--as", "alice", "status"]);
    assert!(
        after.contains("remote: origin last sync 0s ago") || after.contains("last sync 1s ago"),
        "{after}"
    );
    assert!(after.contains("mail: ahead 2, behind 0"), "{after}");
    assert!(after.contains("artifacts/api/f: local only"), "{after}");
    assert!(after.contains("api/f@v1"), "{after}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(&a, &["--as", "alice", "status", "--json"])).unwrap();
    assert_eq!(json["me"], "alice");
    assert!(json["last_sync"].is_string());
    sync_ok(&a);
    let synced = ok(&a, &["--as", "alice", "status"]);
    assert!(synced.contains("in step"), "{synced}");
}
