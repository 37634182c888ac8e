//! Who may write what, judged on the remote: the server guard (a real pre-receive hook run by
//! real `git push`) refuses writes by the wrong agent, and sync quarantines them when a
//! remote has no guard. Forged values are built with git's own plumbing, as a hostile
//! writer would; honest ones with git comm.

mod common;
mod hooks_common;
mod sync_net;

use std::path::Path;
use std::process::{Command, Output};

use common::{comm_in, git_in, stderr, stdout};
use hooks_common::path_with_comm;
use sync_net::{ok, sync_ok, Net};

const FAKE_LEASE: &str = "0123456789ab";

fn install(net: &Net) {
    let out = comm_in(
        net.root.path(),
        &["server", "install", net.remote.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

fn push(dir: &Path, commit: &str, suffix: &str) -> Output {
    Command::new("git")
        .args([
            "push",
            "origin",
            &format!("{commit}:refs/comm-node/{suffix}"),
        ])
        .current_dir(dir)
        .env("PATH", path_with_comm())
        .output()
        .unwrap()
}

/// [`common::forge`] with owned paths and contents.
fn forge(dir: &Path, suffix: &str, author: &str, edits: &[(String, Option<String>)]) -> String {
    let edits: Vec<(&str, Option<&str>)> = edits
        .iter()
        .map(|(path, content)| (path.as_str(), content.as_deref()))
        .collect();
    common::forge(dir, suffix, author, &edits)
}

/// Forge in `dir` signing with `key` (none: unsigned).
fn with_key<T>(dir: &Path, key: Option<&Path>, forge: impl FnOnce() -> T) -> T {
    let _ = Command::new("git")
        .args(["config", "--unset", "user.signingkey"])
        .current_dir(dir)
        .output();
    if let Some(key) = key {
        common::sign_with(dir, key);
    }
    forge()
}

fn task_path(id: &str) -> String {
    format!("{}/{id}.json", &id[2..4])
}

fn task_json(dir: &Path, id: &str) -> serde_json::Value {
    let text = git_in(
        dir,
        &["show", &format!("refs/comm-node/tasks:{}", task_path(id))],
    );
    serde_json::from_str(&text).unwrap()
}

fn forged_task(
    dir: &Path,
    id: &str,
    author: &str,
    change: impl FnOnce(&mut serde_json::Value),
) -> String {
    let mut task = task_json(dir, id);
    change(&mut task);
    forge(
        dir,
        "tasks",
        author,
        &[(task_path(id), Some(task.to_string()))],
    )
}

fn forged_halt(dir: &Path, by: &str, since: i64) -> String {
    let halt = serde_json::json!({"halted": true, "reason": "pwned", "by": by, "since": since});
    forge(
        dir,
        "halt",
        by,
        &[("halt.json".to_string(), Some(halt.to_string()))],
    )
}

/// The remote's value of `refs/comm-node/<suffix>`, empty when it has none.
fn server_ref(net: &Net, suffix: &str) -> String {
    let out = Command::new("git")
        .args([
            "rev-parse",
            "-q",
            "--verify",
            &format!("refs/comm-node/{suffix}"),
        ])
        .current_dir(&net.remote)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

fn refused(out: &Output, expect: &[&str]) {
    let err = stderr(out);
    assert!(!out.status.success(), "the forged push was accepted: {err}");
    for e in expect {
        assert!(err.contains(e), "expected {e:?} in:\n{err}");
    }
}

/// Two clones behind a guarded remote: alice in `a`, bob in `b`, and a task the lead added
/// in `a`, known to both.
fn team(net: &Net) -> (std::path::PathBuf, std::path::PathBuf, String) {
    install(net);
    let (a, b) = net.pair();
    ok(&a, &["--as", "lead", "join", "--role", "lead"]);
    let id = ok(&a, &["--as", "lead", "--json", "task", "add", "build it"]);
    let id = serde_json::from_str::<serde_json::Value>(&id).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    sync_ok(&a);
    sync_ok(&b);
    (a, b, id)
}

#[test]
fn a_claim_for_another_agent_on_a_lease_that_does_not_exist_is_refused() {
    let net = Net::new();
    let (_a, b, id) = team(&net);
    let before = server_ref(&net, "tasks");
    let forged = forged_task(&b, &id, "bob", |t| {
        t["state"] = "claimed".into();
        t["assignee"] = "alice".into();
        t["claim"] = FAKE_LEASE.into();
    });
    refused(
        &push(&b, &forged, "tasks"),
        &[
            "refs/comm-node/tasks",
            "rule claim-lease",
            FAKE_LEASE,
            "by bob",
            "fix:",
        ],
    );
    assert_eq!(before, server_ref(&net, "tasks"), "the remote changed");
    // A real claim passes the same guard.
    ok(&b, &["--as", "bob", "task", "claim", &id, "--sync"]);
    sync_ok(&b);
    let shared = serde_json::from_str::<serde_json::Value>(&git_in(
        &net.remote,
        &["show", &format!("refs/comm-node/tasks:{}", task_path(&id))],
    ))
    .unwrap();
    assert_eq!(shared["assignee"], "bob");
}

#[test]
fn a_stranger_finishing_a_claimed_task_is_refused_and_a_forced_finish_is_recorded() {
    let net = Net::new();
    let (a, b, id) = team(&net);
    ok(&b, &["--as", "bob", "task", "claim", &id, "--sync"]);
    sync_ok(&a);
    let before = server_ref(&net, "tasks");
    let forged = forged_task(&a, &id, "mallory", |t| t["state"] = "done".into());
    refused(
        &push(&a, &forged, "tasks"),
        &["rule task-owner", "by mallory", "fix:"],
    );
    let by_alice = forged_task(&a, &id, "alice", |t| t["state"] = "done".into());
    refused(
        &push(&a, &by_alice, "tasks"),
        &["rule task-owner", "bob holds"],
    );
    assert_eq!(before, server_ref(&net, "tasks"));
    // Forcing it on record is allowed: the ledger says who and why.
    ok(
        &a,
        &[
            "--as",
            "alice",
            "task",
            "done",
            &id,
            "--force",
            "--reason",
            "bob vanished",
        ],
    );
    sync_ok(&a);
    let log = git_in(
        &net.remote,
        &["log", "-1", "--format=%an %B", "refs/comm-node/tasks"],
    );
    assert!(
        log.contains("alice") && log.contains("Comm-Forced:"),
        "{log}"
    );
}

#[test]
fn a_stranger_halting_every_agent_is_refused() {
    let net = Net::new();
    let (a, _b, _id) = team(&net);
    let forged = forged_halt(&a, "mallory", common::unix_now());
    refused(
        &push(&a, &forged, "halt"),
        &["refs/comm-node/halt", "rule overseer", "mallory", "fix:"],
    );
    assert!(
        server_ref(&net, "halt").trim().is_empty(),
        "the remote is halted"
    );
    // An agent of the repository may halt when no overseers are named.
    ok(&a, &["--as", "alice", "halt", "--reason", "checking"]);
    sync_ok(&a);
    assert!(!server_ref(&net, "halt").trim().is_empty());
}

#[test]
fn only_overseers_halt_when_the_config_names_them() {
    let net = Net::new();
    let (a, b, _id) = team(&net);
    std::fs::create_dir_all(a.join(".comm-node")).unwrap();
    std::fs::write(
        a.join(".comm-node/config.yaml"),
        "version: 1\noverseers: [lead]\n",
    )
    .unwrap();
    git_in(&a, &["add", ".comm-node/config.yaml"]);
    git_in(&a, &["commit", "-qm", "overseers", "--no-verify"]);
    git_in(&a, &["push", "-q", "origin", "HEAD:main"]);
    git_in(&net.remote, &["symbolic-ref", "HEAD", "refs/heads/main"]);
    git_in(&b, &["pull", "-q", "origin", "main"]);
    ok(&b, &["--as", "bob", "halt", "--reason", "not mine to call"]);
    let out = comm_in(&b, &["sync"]);
    assert!(
        !out.status.success(),
        "bob's halt was pushed: {}",
        stdout(&out)
    );
    assert!(stderr(&out).contains("rule overseer"), "{}", stderr(&out));
    assert!(server_ref(&net, "halt").trim().is_empty());
    // The lead's role names it an overseer.
    ok(&a, &["--as", "lead", "halt", "--reason", "release freeze"]);
    sync_ok(&a);
    assert!(!server_ref(&net, "halt").trim().is_empty());
}

#[test]
fn a_halt_from_the_far_future_is_refused() {
    let net = Net::new();
    let (a, _b, _id) = team(&net);
    let forged = forged_halt(&a, "alice", 253_402_300_799); // 9999-12-31
    refused(
        &push(&a, &forged, "halt"),
        &["rule time-cap", "in the future"],
    );
    assert!(server_ref(&net, "halt").trim().is_empty());
}

#[test]
fn sync_quarantines_a_forged_claim_from_an_unguarded_remote() {
    let net = Net::new();
    let (a, b) = net.pair();
    let id = ok(&a, &["--as", "alice", "--json", "task", "add", "x"]);
    let id = serde_json::from_str::<serde_json::Value>(&id).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    sync_ok(&a);
    sync_ok(&b);
    let forged = forged_task(&b, &id, "bob", |t| {
        t["state"] = "claimed".into();
        t["assignee"] = "alice".into();
        t["claim"] = FAKE_LEASE.into();
    });
    let out = push(&b, &forged, "tasks");
    assert!(out.status.success(), "{}", stderr(&out));
    let synced = comm_in(&a, &["--json", "sync"]);
    let report = format!("{}{}", stdout(&synced), stderr(&synced));
    assert!(report.contains("claim-lease"), "{report}");
    let task = task_json(&a, &id);
    assert_eq!(task["state"], "open", "the forged claim was merged: {task}");
}

/// A small deterministic generator (xorshift), so a failure names its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// One forged write: the ref it targets and the commit.
fn random_forgery(
    rng: &mut Rng,
    dir: &Path,
    tasks: &[String],
    claimed: &str,
) -> (String, &'static str) {
    let strangers = ["mallory", "eve", "trudy"];
    let who = strangers[rng.below(strangers.len())];
    let id = &tasks[rng.below(tasks.len())];
    let now = common::unix_now();
    match rng.below(9) {
        0 => (
            forged_task(dir, id, "bob", |t| {
                t["state"] = "claimed".into();
                t["assignee"] = "alice".into();
                t["claim"] = format!("{:012x}", rng.below(1 << 30)).into();
            }),
            "tasks",
        ),
        1 => (
            forged_task(dir, id, who, |t| t["state"] = "done".into()),
            "tasks",
        ),
        2 => (
            forged_task(dir, claimed, "alice", |t| t["state"] = "failed".into()),
            "tasks",
        ),
        3 => (
            forged_task(dir, id, "lead", |t| {
                t["updated"] = (now + 86_400 * 365).into()
            }),
            "tasks",
        ),
        4 => (
            forge(dir, "tasks", "lead", &[(task_path(id), None)]),
            "tasks",
        ),
        5 => (forged_halt(dir, who, now), "halt"),
        6 => (
            forged_halt(dir, "alice", now + 86_400 * (1 + rng.below(3000) as i64)),
            "halt",
        ),
        7 => {
            let lease_id = format!("{:012x}", 0xabc000000000u64 + rng.below(1 << 30) as u64);
            let lease = serde_json::json!({"id": lease_id, "holder": "alice",
                "resources": ["src/**"], "exclusive": true, "created": now, "expires": now + 600});
            let path = format!("{}/{lease_id}.json", &lease_id[..2]);
            (
                forge(dir, "leases", who, &[(path, Some(lease.to_string()))]),
                "leases",
            )
        }
        _ => {
            let card = serde_json::json!({"name": "alice", "role": "lead", "joined": now, "last_seen": now});
            (
                forge(
                    dir,
                    "agents/alice",
                    who,
                    &[("card.json".to_string(), Some(card.to_string()))],
                ),
                "agents/alice",
            )
        }
    }
}

#[test]
fn two_hundred_random_forged_writes_are_all_refused_and_honest_ones_pass() {
    let net = Net::new();
    let (a, b, first) = team(&net);
    let mut tasks = vec![first];
    for title in ["two", "three"] {
        let id = ok(&a, &["--as", "lead", "--json", "task", "add", title]);
        tasks.push(
            serde_json::from_str::<serde_json::Value>(&id).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    sync_ok(&a);
    sync_ok(&b);
    ok(&b, &["--as", "bob", "task", "claim", &tasks[1], "--sync"]);
    ok(&b, &["--as", "bob", "lease", "src/**", "--sync"]);
    sync_ok(&a);
    let seed = 0x5eed_2026_1207_u64;
    let mut rng = Rng(seed);
    let mut accepted = Vec::new();
    let mut rules = std::collections::BTreeSet::new();
    for n in 0..200 {
        let (commit, suffix) = random_forgery(&mut rng, &a, &tasks, &tasks[1]);
        let out = push(&a, &commit, suffix);
        if out.status.success() {
            accepted.push(format!("#{n} {suffix} {commit}"));
        } else if let Some(rule) = stderr(&out).split("breaks rule ").nth(1) {
            rules.insert(rule.split(':').next().unwrap_or_default().to_string());
        } else {
            panic!("#{n} refused by no rule of who may write: {}", stderr(&out));
        }
    }
    assert!(
        accepted.is_empty(),
        "seed {seed:#x}: {} forged writes accepted: {accepted:?}",
        accepted.len()
    );
    let expected = [
        "claim-lease",
        "lease-holder",
        "overseer",
        "own-card",
        "task-kept",
        "task-owner",
        "time-cap",
    ];
    assert_eq!(rules.into_iter().collect::<Vec<_>>(), expected);
    // Honest writes still pass the same guard.
    ok(&b, &["--as", "bob", "task", "done", &tasks[1]]);
    sync_ok(&b);
    ok(&a, &["--as", "alice", "task", "claim", &tasks[2], "--sync"]);
    ok(&a, &["--as", "alice", "send", "bob", "-s", "done here"]);
    sync_ok(&a);
    sync_ok(&b);
    let inbox = ok(&b, &["--as", "bob", "--format", "compact", "inbox"]);
    assert!(inbox.contains("done here"), "{inbox}");
}

/// Signed identity on: 200 random writes, each either breaking a rule of who may write while
/// signed with the key of the agent it claims to be, or honest in content but signed with a
/// key that is not its author's (another agent's, a stranger's, or none). None is accepted.
#[test]
fn two_hundred_random_writes_by_wrong_agents_or_with_wrong_keys_are_all_refused() {
    let net = Net::new();
    install(&net);
    let keys = tempfile::tempdir().unwrap();
    let [ka, kb, km] = ["alice", "bob", "mallory"].map(|n| common::ssh_key(keys.path(), n));
    let a = net.clone("a");
    std::fs::create_dir_all(a.join(".comm-node")).unwrap();
    std::fs::write(
        a.join(".comm-node/config.yaml"),
        common::identity_config("required"),
    )
    .unwrap();
    let signers = format!(
        "alice,lead {}\nbob {}\n",
        common::public_key(&ka),
        common::public_key(&kb)
    );
    std::fs::write(a.join(".comm-node/allowed_signers"), signers).unwrap();
    git_in(&a, &["add", ".comm-node"]);
    git_in(&a, &["commit", "-qm", "signed identity", "--no-verify"]);
    git_in(&a, &["push", "-q", "origin", "HEAD:main"]);
    git_in(&net.remote, &["symbolic-ref", "HEAD", "refs/heads/main"]);
    common::sign_with(&a, &ka);
    let b = net.clone("b");
    common::sign_with(&b, &kb);
    ok(&a, &["--as", "alice", "join"]);
    ok(&a, &["--as", "lead", "join", "--role", "lead"]);
    ok(&b, &["--as", "bob", "join"]);
    let mut tasks = Vec::new();
    for title in ["one", "two", "three"] {
        let id = ok(&a, &["--as", "lead", "--json", "task", "add", title]);
        tasks.push(
            serde_json::from_str::<serde_json::Value>(&id).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    sync_ok(&a);
    sync_ok(&b);
    ok(&b, &["--as", "bob", "task", "claim", &tasks[1], "--sync"]);
    sync_ok(&b);
    sync_ok(&a);

    let mut rng = Rng(0x5eed_0021_u64);
    let mut accepted = Vec::new();
    let (mut by_rule, mut by_key) = (0, 0);
    for n in 0..200 {
        let wrong_key = rng.below(2) == 0;
        let (commit, suffix) = if wrong_key {
            let key = [Some(kb.as_path()), Some(km.as_path()), None][rng.below(3)];
            with_key(&a, key, || honest_card_of_alice(&a, n))
        } else {
            with_key(&a, Some(&ka), || {
                random_forgery(&mut rng, &a, &tasks, &tasks[1])
            })
        };
        let out = push(&a, &commit, suffix);
        let err = stderr(&out);
        if out.status.success() {
            accepted.push(format!("#{n} {suffix} {commit}"));
        } else if err.contains("breaks rule") {
            by_rule += 1;
        } else if err.contains("not signed") || err.contains("does not list") {
            by_key += 1;
        } else {
            panic!("#{n} refused for another reason: {err}");
        }
    }
    assert!(accepted.is_empty(), "forged writes accepted: {accepted:?}");
    assert!(
        by_rule > 20 && by_key > 50,
        "rules {by_rule}, keys {by_key}"
    );
    // Honest, signed writes still pass.
    with_key(&a, Some(&ka), || ());
    ok(&a, &["--as", "alice", "task", "claim", &tasks[2], "--sync"]);
    ok(
        &a,
        &["--as", "alice", "send", "bob", "-s", "signed and sound"],
    );
    sync_ok(&a);
    sync_ok(&b);
    let inbox = ok(&b, &["--as", "bob", "--format", "compact", "inbox"]);
    assert!(inbox.contains("signed and sound"), "{inbox}");
}

/// alice's own card, refreshed: a write the rules allow, if alice's key signed it.
fn honest_card_of_alice(dir: &Path, n: usize) -> (String, &'static str) {
    let now = common::unix_now() + n as i64 % 7;
    let card = serde_json::json!({"name": "alice", "joined": now, "last_seen": now});
    (
        forge(
            dir,
            "agents/alice",
            "alice",
            &[("card.json".to_string(), Some(card.to_string()))],
        ),
        "agents/alice",
    )
}
