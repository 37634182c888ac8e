//! Integrity under hostile remote state, local corruption and clock skew: nothing local is
//! replaced by a bad remote value, the rest of the sync goes on, doctor says what is wrong
//! and `doctor --repair` restores the last good state.

mod common;
mod sync_net;

use std::path::Path;

use common::{assert_exit, comm_at, comm_in, git_in, stderr, stdout};
use sync_net::{ok, refs, subjects, sync_ok, Net};

/// Run a git plumbing command in `dir` feeding `input` on stdin; returns trimmed stdout.
fn plumb(dir: &Path, args: &[&str], input: &str) -> String {
    common::git_stdin(dir, args, input).trim().to_string()
}

fn blob(dir: &Path, content: &str) -> String {
    plumb(dir, &["hash-object", "-w", "--stdin"], content)
}

/// A commit in `dir` whose tree holds `files` (name, content), on top of `parent`.
fn commit_with(dir: &Path, files: &[(&str, &str)], parent: Option<&str>) -> String {
    let entries: String = files
        .iter()
        .map(|(name, content)| format!("100644 blob {}\t{name}\n", blob(dir, content)))
        .collect();
    let tree = plumb(dir, &["mktree"], &entries);
    let mut args = vec!["commit-tree", tree.as_str(), "-m", "hostile"];
    if let Some(p) = parent {
        args.extend(["-p", p]);
    }
    let env_args: Vec<&str> = args.clone();
    plumb(dir, &env_args, "")
}

fn lease_json(id: &str, holder: &str, resource: &str, created: i64, expires: i64) -> String {
    format!(
        r#"{{"id":"{id}","holder":"{holder}","resources":["{resource}"],"exclusive":true,"reason":null,"task":null,"created":{created},"expires":{expires}}}"#
    )
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Two clones with mail and a lease, in sync.
fn swarm() -> (Net, std::path::PathBuf, std::path::PathBuf) {
    let net = Net::new();
    let (a, b) = net.pair();
    ok(
        &a,
        &["--as", "alice", "send", "all", "-s", "before", "-m", ""],
    );
    ok(&a, &["--as", "alice", "lease", "task:1"]);
    sync_ok(&a);
    sync_ok(&b);
    sync_ok(&a);
    (net, a, b)
}

fn assert_usable(dir: &Path) {
    git_in(dir, &["fsck", "--no-dangling"]);
    git_in(dir, &["gc", "--quiet"]);
    git_in(dir, &["fetch", "-q"]);
    for args in [
        ["inbox", "--peek"],
        ["leases", "--json"],
        ["who", "--json"],
        ["status", "--json"],
    ] {
        let mut full = vec!["--as", "bob"];
        full.extend_from_slice(&args);
        let out = comm_in(dir, &full);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    }
}

/// Poison `ref_name` in the remote with `value`, then check b keeps its own value for that
/// ref, warns, stays usable, doctor flags it, and what alice syncs through other refs arrives.
fn poisoned(ref_name: &str, make: impl Fn(&Path) -> String, reason: &str) {
    let (net, a, b) = swarm();
    let value = make(&net.remote);
    git_in(&net.remote, &["update-ref", ref_name, &value]);
    let mine_before = refs(&b, ref_name);
    let out = comm_in(&b, &["sync"]);
    assert_exit(&out, 0, &format!("warning: skipped {ref_name} from origin"));
    assert!(
        stderr(&out).contains(reason),
        "{ref_name}: {}",
        stderr(&out)
    );
    assert_eq!(
        refs(&b, ref_name),
        mine_before,
        "{ref_name} replaced locally"
    );
    assert_usable(&b);
    let doctor = comm_in(&b, &["doctor"]);
    assert_eq!(doctor.status.code(), Some(1));
    assert!(
        stdout(&doctor).contains(&format!("FAIL quarantine: origin's {ref_name}")),
        "{}",
        stdout(&doctor)
    );
    // The rest of the sync goes on: what alice does through other refs reaches b.
    if ref_name != "refs/comm-node/mail" {
        ok(
            &a,
            &["--as", "alice", "send", "bob", "-s", "after", "-m", ""],
        );
        comm_in(&a, &["sync"]);
        comm_in(&b, &["sync"]);
        assert!(subjects(&b).contains(&"after".to_string()), "{ref_name}");
    } else {
        ok(&a, &["--as", "alice", "lease", "task:2"]);
        comm_in(&a, &["sync"]);
        comm_in(&b, &["sync"]);
        let leases = stdout(&comm_in(&b, &["leases", "--json"]));
        assert!(leases.contains("task:2"), "{leases}");
    }
}

/// The newest mail commit on the remote: clones push their mail to their own
/// `outbox/<clone>` refs, so a hostile `refs/comm-node/mail` is planted on top of one.
fn remote_mail_tip(remote: &std::path::Path) -> String {
    let tips = git_in(
        remote,
        &[
            "for-each-ref",
            "--sort=-committerdate",
            "--count=1",
            "--format=%(objectname)",
            "refs/comm-node/outbox/",
        ],
    );
    assert!(!tips.trim().is_empty(), "the remote has no outbox");
    tips.trim().to_string()
}

#[test]
fn mail_pointing_at_a_blob_or_tree_or_files_is_refused() {
    poisoned(
        "refs/comm-node/mail",
        |r| blob(r, "garbage"),
        "is a blob, not a commit",
    );
    poisoned(
        "refs/comm-node/mail",
        |r| plumb(r, &["mktree"], ""),
        "is a tree, not a commit",
    );
    poisoned(
        "refs/comm-node/mail",
        |r| {
            let tip = remote_mail_tip(r);
            commit_with(r, &[("x", "y")], Some(tip.trim()))
        },
        "carries files",
    );
    // Another clone's outbox is mail too: the same checks, and the rest of the mail flows.
    poisoned(
        "refs/comm-node/outbox/o-evil",
        |r| blob(r, "garbage"),
        "is a blob, not a commit",
    );
}

#[test]
fn bad_agent_refs_and_cards_are_refused() {
    poisoned(
        "refs/comm-node/agents/-rf",
        |r| {
            commit_with(
                r,
                &[("card.json", r#"{"name":"-rf","joined":1,"last_seen":1}"#)],
                None,
            )
        },
        "not a valid name",
    );
    poisoned(
        "refs/comm-node/agents/nested/deep",
        |r| commit_with(r, &[("card.json", "{}")], None),
        "not a ref git-comm knows",
    );
    poisoned(
        "refs/comm-node/agents/bob",
        |r| commit_with(r, &[("card.json", "not json")], None),
        "is not a card",
    );
    poisoned(
        "refs/comm-node/agents/carol",
        |r| {
            commit_with(
                r,
                &[(
                    "card.json",
                    r#"{"name":"mallory","joined":1,"last_seen":1}"#,
                )],
                None,
            )
        },
        "stored as the card of 'carol'",
    );
}

#[test]
fn bad_lease_entries_are_refused() {
    let n = now();
    let cases: [(String, &str); 4] = [
        ("not json".to_string(), "not a lease"),
        (
            lease_json("aaaaaaaaaaaa", "../../x", "task:9", n, n + 60),
            "invalid agent name",
        ),
        (
            lease_json("aaaaaaaaaaaa", "mallory", "task:9", n, 99_999_999_999),
            "not within 30 days",
        ),
        (
            lease_json(
                "aaaaaaaaaaaa",
                "mallory",
                "task:9",
                n + 315_360_000,
                n + 315_361_800,
            ),
            "past the 30-day cap",
        ),
    ];
    for (entry, reason) in cases {
        poisoned(
            "refs/comm-node/leases",
            |r| {
                let tip = git_in(r, &["rev-parse", "refs/comm-node/leases"]);
                commit_with(r, &[("aaaaaaaaaaaa.json", &entry)], Some(tip.trim()))
            },
            reason,
        );
    }
}

#[test]
fn an_artifact_that_is_not_a_tag_on_a_blob_is_refused() {
    poisoned(
        "refs/comm-node/artifacts/api/schema",
        |r| commit_with(r, &[("x", "y")], None),
        "not an annotated tag",
    );
}

#[test]
fn doctor_repair_restores_a_corrupted_ref_from_its_reflog() {
    let (_net, _a, b) = swarm();
    ok(
        &b,
        &["--as", "bob", "send", "alice", "-s", "mine", "-m", ""],
    );
    let good = git_in(&b, &["rev-parse", "refs/comm-node/mail"]);
    let junk = blob(&b, "junk");
    git_in(&b, &["update-ref", "refs/comm-node/mail", &junk]);
    assert_exit(&comm_in(&b, &["--as", "bob", "inbox"]), 2, "doctor");
    let doctor = comm_in(&b, &["doctor"]);
    assert!(
        stdout(&doctor).contains("FAIL refs: refs/comm-node/mail"),
        "{}",
        stdout(&doctor)
    );
    let repaired = stdout(&comm_in(&b, &["doctor", "--repair"]));
    assert!(
        repaired.contains("repaired: restored refs/comm-node/mail"),
        "{repaired}"
    );
    assert_eq!(git_in(&b, &["rev-parse", "refs/comm-node/mail"]), good);
    assert!(stdout(&comm_in(&b, &["doctor"])).contains("ok   refs:"));
    assert_eq!(subjects(&b), vec!["before".to_string(), "mine".to_string()]);
}

#[test]
fn a_stale_lock_is_cleared_and_a_held_one_is_not() {
    let (_net, _a, b) = swarm();
    let lock = b.join(".git/refs/comm-node/leases.lock");
    std::fs::write(&lock, "").unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    std::fs::File::options()
        .write(true)
        .open(&lock)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let out = comm_in(&b, &["--as", "bob", "lease", "task:5"]);
    assert_exit(&out, 0, "notice: removed stale lock");
    assert!(!lock.exists());
    // A lock a live process holds open is never taken for stale.
    let _held = std::fs::File::create(&lock).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&lock)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let doctor = stdout(&comm_in(&b, &["doctor"]));
    assert!(doctor.contains("is held by a running writer"), "{doctor}");
}

#[test]
fn clock_skew_within_the_tolerance_never_double_grants() {
    let (_net, a, b) = swarm();
    ok(&a, &["--as", "alice", "lease", "task:7", "--ttl", "1m"]);
    sync_ok(&a);
    sync_ok(&b);
    // bob's clock runs 4 minutes past the lease's expiry: still inside the 5-minute tolerance.
    let early = comm_at(&b, 60 + 240, &["--as", "bob", "lease", "task:7"]);
    assert_exit(&early, 1, "alice");
    let late = comm_at(&b, 60 + 301, &["--as", "bob", "lease", "task:7"]);
    assert!(late.status.success(), "{}", stderr(&late));
}

#[test]
fn a_clock_years_ahead_cannot_plant_a_long_lease_on_others() {
    let (_net, a, b) = swarm();
    let ten_years = "315360000";
    let out = comm_at(&a, 315_360_000, &["--as", "alice", "lease", "task:8"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = comm_at(&a, 315_360_000, &["sync"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let before = refs(&b, "refs/comm-node/leases");
    let out = comm_in(&b, &["sync"]);
    assert_exit(&out, 0, "skipped refs/comm-node/leases from origin");
    assert_eq!(refs(&b, "refs/comm-node/leases"), before);
    assert!(
        !stdout(&comm_in(&b, &["leases"])).contains("task:8"),
        "{ten_years}"
    );
    let doctor = stdout(&comm_in(&a, &["doctor"]));
    assert!(doctor.contains("FAIL clock"), "{doctor}");
}

#[test]
fn a_remote_commit_with_a_blob_parent_is_skipped_and_the_rest_still_syncs() {
    let (net, a, b) = swarm();
    let tip = remote_mail_tip(&net.remote);
    let junk = blob(&net.remote, "x");
    let raw = format!(
        "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nparent {}\nparent {junk}\nauthor a <a@x> 1 +0000\ncommitter a <a@x> 1 +0000\n\nevil\n",
        tip.trim()
    );
    let evil = plumb(
        &net.remote,
        &[
            "hash-object",
            "-t",
            "commit",
            "--literally",
            "-w",
            "--stdin",
        ],
        &raw,
    );
    git_in(&net.remote, &["update-ref", "refs/comm-node/mail", &evil]);
    ok(&a, &["--as", "alice", "lease", "task:3"]);
    let pushed = comm_in(&a, &["sync"]);
    assert_exit(
        &pushed,
        0,
        "skipped refs/comm-node/mail from origin: cannot be fetched",
    );
    let mine = refs(&b, "refs/comm-node/mail");
    let out = comm_in(&b, &["sync"]);
    assert_exit(
        &out,
        0,
        "skipped refs/comm-node/mail from origin: cannot be fetched",
    );
    assert_eq!(refs(&b, "refs/comm-node/mail"), mine);
    assert!(stdout(&comm_in(&b, &["leases"])).contains("task:3"));
    git_in(&b, &["fsck", "--no-dangling"]);
}
