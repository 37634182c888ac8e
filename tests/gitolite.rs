//! Through a real hosting stack (gitolite3 over sshd on 127.0.0.1, one key per agent, the
//! server guard as the repositories' pre-receive hook): sync, `lease --sync` and
//! `task claim --sync` between clones with their own keys, every refusal of the guard
//! reaching the pushing client over ssh with the server unchanged, the authority rules
//! refusing writes by the wrong agent (pushed with keys gitolite lets write), and gitolite's
//! own access rules still applying. One stack serves the whole file (`Hosting::shared`);
//! each test has its own repository.
#![cfg(unix)]

mod common;
#[path = "common/gitolite.rs"]
mod gitolite;

use std::process::Output;
use std::sync::{Arc, Barrier};

use common::stderr;
use gitolite::{Clone, Hosted, Hosting, CONF};
use serde_json::Value;

/// A fresh hosted repository with a `main` branch, and alice's clone, joined and synced.
fn solo(name: &str) -> (Hosted<'static>, Clone) {
    let hosted = Hosting::shared().repo(name);
    let a = hosted.clone_as("alice");
    a.commit_file("README.md", "shared\n");
    a.git(&["push", "-q", "origin", "HEAD:main"]);
    a.ok(&["join"]);
    a.ok(&["sync"]);
    (hosted, a)
}

/// `agent`'s clone of `hosted`, on `main`.
fn on_main(hosted: &Hosted<'static>, agent: &str) -> Clone {
    let clone = hosted.clone_as(agent);
    clone.git(&["fetch", "-q", "origin", "main"]);
    clone.git(&["checkout", "-q", "-B", "main", "FETCH_HEAD"]);
    clone
}

/// Like `solo`, with bob's clone too, joined and synced both ways.
fn team(name: &str) -> (Hosted<'static>, Clone, Clone) {
    let (hosted, a) = solo(name);
    let b = on_main(&hosted, "bob");
    b.ok(&["join"]);
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    (hosted, a, b)
}

/// The push failed and the client saw each of `expect` (the guard's text comes back as
/// `remote:` lines).
fn refused(out: &Output, expect: &[&str]) -> String {
    let err = stderr(out);
    assert!(
        !out.status.success(),
        "push should have been refused: {err}"
    );
    for e in expect {
        assert!(err.contains(e), "expected {e:?} in:\n{err}");
    }
    err
}

/// Run `attempt` in each clone at once; the outputs in clone order.
fn race(clones: [&Clone; 2], attempt: &[&str]) -> Vec<Output> {
    let barrier = Arc::new(Barrier::new(2));
    std::thread::scope(|scope| {
        let runs: Vec<_> = clones
            .iter()
            .map(|clone| {
                let barrier = barrier.clone();
                scope.spawn(move || {
                    barrier.wait();
                    clone.comm(attempt)
                })
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    })
}

fn one_winner(outs: &[Output]) -> (usize, &Output) {
    let winners: Vec<usize> = (0..outs.len())
        .filter(|&i| outs[i].status.success())
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "{}\n---\n{}",
        stderr(&outs[0]),
        stderr(&outs[1])
    );
    let winner = winners[0];
    (winner, &outs[1 - winner])
}

#[test]
fn sync_carries_mail_both_ways_and_gitolite_names_the_pusher_to_the_hook() {
    let (hosted, a, b) = team("sync");
    a.ok(&["send", "bob", "-s", "schema ready", "-m", "v1 published"]);
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    let inbox = b.ok(&["--format", "compact", "inbox"]);
    assert!(inbox.contains("schema ready"), "{inbox}");
    b.ok(&["send", "alice", "-s", "thanks", "-m", "pulling it"]);
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    let inbox = a.ok(&["--format", "compact", "inbox"]);
    assert!(inbox.contains("thanks"), "{inbox}");
    let pushers = hosted.pushers();
    assert!(
        pushers.lines().any(|u| u == "alice") && pushers.lines().any(|u| u == "bob"),
        "GL_USER seen by the hook: {pushers:?}"
    );
}

#[test]
fn lease_sync_race_between_two_clones_grants_one_and_refuses_the_other() {
    let (hosted, a, b) = team("lease-race");
    let outs = race([&a, &b], &["lease", "src/api/**", "--sync", "--ttl", "10m"]);
    let (winner, loser) = one_winner(&outs);
    let winner_name = ["alice", "bob"][winner];
    assert_eq!(loser.status.code(), Some(1), "{}", stderr(loser));
    assert!(stderr(loser).contains(winner_name), "{}", stderr(loser));
    let repo = git_comm::repo::Repo::discover(&hosted.bare).unwrap();
    let live = git_comm::lease::ledger::live_leases(&repo).unwrap();
    let holders: Vec<&str> = live.iter().map(|l| l.holder.as_str()).collect();
    assert_eq!(holders, vec![winner_name], "the server's live leases");
}

#[test]
fn task_claim_sync_race_has_one_winner() {
    let (_hosted, a, b) = team("claim-race");
    let added: Value =
        serde_json::from_str(&a.ok(&["--json", "task", "add", "build api"])).unwrap();
    let id = added["id"].as_str().unwrap().to_string();
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    let outs = race([&a, &b], &["task", "claim", &id, "--sync"]);
    let (winner, loser) = one_winner(&outs);
    assert_eq!(loser.status.code(), Some(1), "{}", stderr(loser));
    let winner_name = ["alice", "bob"][winner];
    let (winner_clone, loser_clone) = if winner == 0 { (&a, &b) } else { (&b, &a) };
    loser_clone.ok(&["sync"]);
    for clone in [winner_clone, loser_clone] {
        let task: Value =
            serde_json::from_str(&clone.ok(&["--json", "task", "show", &id])).unwrap();
        assert_eq!(task["task"]["assignee"], winner_name, "{task}");
    }
}

#[test]
fn deleting_a_namespace_ref_is_refused() {
    let (hosted, a) = solo("delete-namespace");
    a.ok(&["lease", "docs/**", "--sync"]);
    let before = hosted.refs();
    assert!(before.contains("refs/comm-node/leases"), "{before}");
    refused(
        &a.push(&["origin", ":refs/comm-node/leases"]),
        &["refs/comm-node/leases", "deleting shared state is refused"],
    );
    assert_eq!(hosted.refs(), before, "a refused push changed the server");
}

#[test]
fn rewinding_the_task_ledger_is_refused() {
    let (hosted, a) = solo("rewind-tasks");
    a.ok(&["task", "add", "first"]);
    a.ok(&["task", "add", "second"]);
    a.ok(&["sync"]);
    let tip = hosted.ref_target("refs/comm-node/tasks");
    let parent = a.git(&["rev-parse", "refs/comm-node/tasks~1"]);
    refused(
        &a.push(&[
            "--force",
            "origin",
            &format!("{}:refs/comm-node/tasks", parent.trim()),
        ]),
        &[
            "refs/comm-node/tasks",
            "not a fast-forward",
            "git comm sync",
        ],
    );
    assert_eq!(hosted.ref_target("refs/comm-node/tasks"), tip);
}

#[test]
fn rewinding_an_outbox_is_refused() {
    let (hosted, a) = solo("rewind-outbox");
    a.ok(&["send", "all", "-s", "first", "-m", ""]);
    a.ok(&["sync"]);
    a.ok(&["send", "all", "-s", "second", "-m", ""]);
    a.ok(&["sync"]);
    let outbox = format!(
        "refs/comm-node/outbox/{}",
        a.git(&["config", "comm.outbox"]).trim()
    );
    let tip = hosted.ref_target(&outbox);
    let parent = a.git(&["rev-parse", &format!("{tip}~1")]);
    refused(
        &a.push(&["--force", "origin", &format!("{}:{outbox}", parent.trim())]),
        &[&outbox, "not a fast-forward", "git comm sync"],
    );
    assert_eq!(hosted.ref_target(&outbox), tip);
}

#[test]
fn a_ref_name_outside_the_namespace_schema_is_refused() {
    let (hosted, a) = solo("bad-name");
    let before = hosted.refs();
    let card = a.git(&["rev-parse", "refs/comm-node/agents/alice"]);
    refused(
        &a.push(&["origin", &format!("{}:refs/comm-node/notes/x", card.trim())]),
        &["refs/comm-node/notes/x", "not a git-comm ref"],
    );
    refused(
        &a.push(&[
            "origin",
            &format!("{}:refs/comm-node/agents/-alice", card.trim()),
        ]),
        &["refs/comm-node/agents/-alice"],
    );
    assert_eq!(hosted.refs(), before, "a refused push changed the server");
}

#[test]
fn an_artifact_tag_on_a_commit_is_refused() {
    let (hosted, a) = solo("artifact-on-commit");
    a.git(&["tag", "-a", "-m", "not a blob", "fake", "HEAD"]);
    let tag = a.git(&["rev-parse", "fake"]);
    let artifact = "refs/comm-node/artifacts/api/schema";
    refused(
        &a.push(&["origin", &format!("{}:{artifact}", tag.trim())]),
        &[artifact, "refused by the storage gate"],
    );
    assert_eq!(hosted.ref_target(artifact), "");
}

#[test]
fn a_protected_branch_commit_on_another_agents_lease_is_refused() {
    let (hosted, a) = solo("protected-lease");
    let b = on_main(&hosted, "bob");
    a.ok(&["lease", "src/api/index.ts", "--sync"]);
    let main = hosted.ref_target("refs/heads/main");
    let bad = b.commit_file("src/api/index.ts", "export const api = 2;\n");
    refused(
        &b.push(&["origin", "HEAD:main"]),
        &[
            &bad,
            "refs/heads/main",
            "src/api/index.ts",
            "leased exclusively by alice",
            "fix:",
        ],
    );
    assert_eq!(hosted.ref_target("refs/heads/main"), main);
    // An unprotected branch takes the same commit.
    b.git(&["push", "-q", "origin", "HEAD:feature"]);
}

#[test]
fn deleting_main_is_refused() {
    let (hosted, a) = solo("delete-main");
    let main = hosted.ref_target("refs/heads/main");
    refused(
        &a.push(&["origin", ":main"]),
        &["refs/heads/main", "deleting a protected branch"],
    );
    assert_eq!(hosted.ref_target("refs/heads/main"), main);
}

/// gitolite refuses a key without write access before any hook runs; once the rules give
/// that key write access (an admin push, which recompiles every repository's hooks), the
/// guard is still in place and still refuses what it refused.
#[test]
fn gitolite_access_rules_still_apply_and_a_recompile_keeps_the_guard() {
    let hosting = Hosting::shared();
    let (hosted, _a) = solo("access");
    let eve = on_main(&hosted, "eve");
    eve.commit_file("notes.md", "eve was here\n");
    let before = hosted.refs();
    refused(
        &eve.push(&["origin", "HEAD:main"]),
        &["FATAL: W any t/access eve DENIED by fallthru"],
    );
    assert_eq!(hosted.refs(), before, "gitolite let a read-only key write");
    assert!(!hosted.pushers().contains("eve"), "{}", hosted.pushers());

    let hook = std::fs::read_to_string(hosted.bare.join("hooks/pre-receive")).unwrap();
    hosting.push_admin(&format!(
        "{CONF}\nrepo {}\n    RW+     =   eve\n",
        hosted.name
    ));
    let after_compile = std::fs::read_to_string(hosted.bare.join("hooks/pre-receive")).unwrap();
    assert_eq!(after_compile, hook, "gitolite rewrote the pre-receive hook");
    eve.git(&["push", "-q", "origin", "HEAD:main"]);
    assert!(hosted.pushers().lines().any(|u| u == "eve"));
    let main = hosted.ref_target("refs/heads/main");
    refused(
        &eve.push(&["origin", ":main"]),
        &["deleting a protected branch"],
    );
    assert_eq!(hosted.ref_target("refs/heads/main"), main);
}

/// A stack of its own: dropped while a test panics, its sshd is killed and waited for.
#[test]
fn a_panicking_test_leaves_no_sshd_behind() {
    let started = std::sync::Mutex::new(None);
    let result = std::panic::catch_unwind(|| {
        let hosting = Hosting::start();
        *started.lock().unwrap() = Some((hosting.sshd_pid().unwrap(), hosting.home()));
        assert!(process_exists(hosting.sshd_pid().unwrap()));
        panic!("a failing test");
    });
    assert!(result.is_err());
    let (pid, home) = started.lock().unwrap().take().expect("sshd started");
    assert!(!process_exists(pid), "sshd {pid} outlived a panicking test");
    assert!(!home.exists(), "{} was left behind", home.display());
}

fn process_exists(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

// Hostile pushes from issue 21, each by a key gitolite lets write: the guard's authority
// rules refuse them (the hook sees the key's user), and the server stays as it was.

const FAKE_LEASE: &str = "0123456789ab";

/// Where task `id` lives in the ledger's fan-out tree.
fn task_path(id: &str) -> String {
    format!("{}/{id}.json", &id[2..4])
}

/// A task's JSON in `clone`'s ledger, changed by `change`, as (path, content).
fn changed_task(clone: &Clone, id: &str, change: impl FnOnce(&mut Value)) -> (String, String) {
    let path = task_path(id);
    let text = clone.git(&["show", &format!("refs/comm-node/tasks:{path}")]);
    let mut task: Value = serde_json::from_str(&text).unwrap();
    change(&mut task);
    (path, task.to_string())
}

/// `team`, with a task alice added, known to both clones; its id.
fn team_with_task(name: &str) -> (Hosted<'static>, Clone, Clone, String) {
    let (hosted, a, b) = team(name);
    let added: Value = serde_json::from_str(&a.ok(&["--json", "task", "add", "build it"])).unwrap();
    let id = added["id"].as_str().unwrap().to_string();
    a.ok(&["sync"]);
    b.ok(&["sync"]);
    (hosted, a, b, id)
}

/// mallory's clone: a key with write access, no agent; the shared refs copied raw.
fn mallory(hosted: &Hosted<'static>, refs: &[&str]) -> Clone {
    let clone = on_main(hosted, "mallory");
    for suffix in refs {
        clone.fetch_ref(suffix);
    }
    clone
}

fn halt_json(by: &str, since: i64) -> String {
    serde_json::json!({"halted": true, "reason": "pwned", "by": by, "since": since}).to_string()
}

#[test]
fn bob_pushing_a_claim_for_alice_on_a_lease_that_does_not_exist_is_refused() {
    let (hosted, _a, b, id) = team_with_task("forged-claim");
    let before = hosted.ref_target("refs/comm-node/tasks");
    let (path, task) = changed_task(&b, &id, |t| {
        t["state"] = "claimed".into();
        t["assignee"] = "alice".into();
        t["claim"] = FAKE_LEASE.into();
    });
    let forged = b.forge("tasks", "bob", &[(&path, Some(&task))]);
    refused(
        &b.push_ref(&forged, "tasks"),
        &[
            "refs/comm-node/tasks",
            "rule claim-lease",
            FAKE_LEASE,
            "by bob",
            "fix:",
        ],
    );
    assert_eq!(hosted.ref_target("refs/comm-node/tasks"), before);
    // A real claim passes the same guard.
    b.ok(&["task", "claim", &id, "--sync"]);
}

#[test]
fn mallory_marking_a_task_done_is_refused() {
    let (hosted, _a, b, id) = team_with_task("forged-done");
    b.ok(&["task", "claim", &id, "--sync"]);
    let m = mallory(&hosted, &["tasks"]);
    let before = hosted.ref_target("refs/comm-node/tasks");
    let (path, task) = changed_task(&m, &id, |t| t["state"] = "done".into());
    let forged = m.forge("tasks", "mallory", &[(&path, Some(&task))]);
    refused(
        &m.push_ref(&forged, "tasks"),
        &[
            "refs/comm-node/tasks",
            "rule task-owner",
            "by mallory",
            "fix:",
        ],
    );
    assert_eq!(hosted.ref_target("refs/comm-node/tasks"), before);
    assert!(hosted.pushers().lines().any(|u| u == "mallory"));
}

#[test]
fn mallory_halting_everyone_is_refused() {
    let (hosted, _a, _b) = team("forged-halt");
    let m = mallory(&hosted, &[]);
    let halt = halt_json("mallory", common::unix_now());
    let forged = m.forge("halt", "mallory", &[("halt.json", Some(&halt))]);
    refused(
        &m.push_ref(&forged, "halt"),
        &["refs/comm-node/halt", "rule overseer", "mallory", "fix:"],
    );
    assert_eq!(hosted.ref_target("refs/comm-node/halt"), "");
}

#[test]
fn a_halt_dated_in_the_year_9999_is_refused() {
    let (hosted, a, _b) = team("halt-9999");
    let halt = halt_json("alice", 253_402_300_799); // 9999-12-31
    let forged = a.forge("halt", "alice", &[("halt.json", Some(&halt))]);
    refused(
        &a.push_ref(&forged, "halt"),
        &["refs/comm-node/halt", "rule time-cap", "in the future"],
    );
    assert_eq!(hosted.ref_target("refs/comm-node/halt"), "");
    // An agent's real halt passes (no overseers named).
    a.ok(&["halt", "--reason", "checking"]);
    a.ok(&["sync"]);
    assert_ne!(hosted.ref_target("refs/comm-node/halt"), "");
}

#[test]
fn signed_identity_through_gitolite_only_the_authors_key_writes_as_that_agent() {
    let hosted = Hosting::shared().repo("t/signed");
    let keys = |agent: &str| hosted.hosting.key(agent);
    let a = hosted.clone_as("alice");
    std::fs::create_dir_all(a.dir.join(".comm-node")).unwrap();
    std::fs::write(
        a.dir.join(".comm-node/config.yaml"),
        common::identity_config("required"),
    )
    .unwrap();
    let (alice_key, bob_key) = (keys("alice"), keys("bob"));
    std::fs::write(
        a.dir.join(".comm-node/allowed_signers"),
        common::allowed_signers(&[("alice", &alice_key), ("bob", &bob_key)]),
    )
    .unwrap();
    a.git(&["add", ".comm-node"]);
    a.git(&["commit", "-qm", "signed identity required", "--no-verify"]);
    a.git(&["push", "-q", "origin", "HEAD:main"]);
    // Each agent signs with its own key (the one gitolite knows it by).
    common::sign_with(&a.dir, &alice_key);
    a.ok(&["join"]);
    a.ok(&["sync"]);
    let b = on_main(&hosted, "bob");
    common::sign_with(&b.dir, &bob_key);
    b.ok(&["join"]);
    b.ok(&["sync"]);
    b.ok(&["send", "alice", "-s", "signed by bob"]);
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    let inbox = a.ok(&["--format", "compact", "inbox"]);
    assert!(inbox.contains("signed by bob"), "{inbox}");
    // alice's clone, alice's key, writing as bob: refused by the guard over ssh.
    let before = hosted.refs();
    let forged = a
        .comm_command()
        .args(["--as", "bob", "send", "alice", "-s", "forged as bob"])
        .output()
        .unwrap();
    assert!(forged.status.success(), "{}", stderr(&forged));
    let out = a.comm(&["sync"]);
    assert!(
        !out.status.success(),
        "a write as bob with alice's key passed"
    );
    let err = stderr(&out);
    assert!(err.contains("does not list for 'bob'"), "{err}");
    let after = hosted.refs();
    let mail = |refs: &str| {
        refs.lines()
            .filter(|l| l.contains("/outbox/"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        mail(&before),
        mail(&after),
        "the forged mail reached the server"
    );
}
