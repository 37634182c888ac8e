//! Bad input is refused with exit 2, a clear error, and nothing written.

mod common;

use common::{assert_exit, TestRepo};

fn repo_with(agents: &[&str]) -> TestRepo {
    let t = TestRepo::new();
    for a in agents {
        t.ok_as(a, &["join"]);
    }
    t
}

/// Run `args` as `agent`, expect exit 2 naming `needle`, and no namespace ref changed.
fn refused_unchanged(t: &TestRepo, agent: &str, args: &[&str], needle: &str) {
    let before = t.comm_refs();
    assert_exit(&t.comm_as(agent, args), 2, needle);
    assert_eq!(t.comm_refs(), before, "{args:?} wrote something");
}

#[test]
fn the_same_exclusive_key_twice_is_refused_and_points_at_renew() {
    let t = repo_with(&["alice"]);
    t.ok_as("alice", &["lease", "task:1"]);
    refused_unchanged(&t, "alice", &["lease", "task:1"], "already holds task:1");
    t.ok_as("alice", &["lease", "src/**"]);
    refused_unchanged(&t, "alice", &["lease", "./src/**"], "git comm renew");
    t.ok_as("alice", &["lease", "src/api/**"]); // overlapping, not identical: allowed
}

#[test]
fn bad_resources_are_refused() {
    let t = repo_with(&["alice"]);
    refused_unchanged(&t, "alice", &["lease", "/abs/path"], "absolute path");
    refused_unchanged(&t, "alice", &["lease", "task:"], "word:value");
    refused_unchanged(&t, "alice", &["lease", ":x"], "word:value");
    refused_unchanged(&t, "alice", &["lease", "src/../x"], "'..'");
}

#[test]
fn git_ref_names_are_not_agent_names() {
    let t = TestRepo::new();
    for name in [
        "HEAD",
        "head",
        "FETCH_HEAD",
        "all",
        "../x",
        "a/b",
        ".hidden",
    ] {
        refused_unchanged(&t, name, &["join", name], "invalid agent name");
    }
}

#[test]
fn short_and_non_hex_ids_say_so() {
    let t = repo_with(&["alice", "bob"]);
    t.ok_as("alice", &["send", "bob", "-s", "hi", "-m", ""]);
    assert_exit(&t.comm_as("bob", &["show", "abc"]), 2, "too short");
    assert_exit(&t.comm_as("bob", &["show", "xyz1"]), 2, "not an id");
    t.ok_as("alice", &["lease", "task:9"]);
    assert_exit(&t.comm_as("alice", &["release", "ab"]), 2, "too short");
}

#[test]
fn config_duplicate_keys_and_bad_names_are_errors_with_file_and_line() {
    let t = repo_with(&["alice"]);
    let cases = [
        (
            "version: 1\ndomains:\n  api:\n    scope: [\"a/**\"]\n  api:\n    scope: [\"b/**\"]\n",
            "duplicate key `api`",
        ),
        (
            "version: 1\nagents:\n  x: {}\n  x: {}\n",
            "duplicate key `x`",
        ),
        (
            "version: 1\ndomains:\n  a/b:\n    scope: [\"a/**\"]\n",
            "config.yaml:3",
        ),
        ("version: 1\nagents:\n  ../x: {}\n", "config.yaml:3"),
    ];
    for (text, needle) in cases {
        t.write(".comm-node/config.yaml", text);
        refused_unchanged(&t, "alice", &["lease", "task:1"], needle);
        let doctor = t.comm_as("alice", &["doctor"]);
        assert!(
            String::from_utf8_lossy(&doctor.stdout).contains("FAIL config"),
            "doctor must flag {text:?}"
        );
    }
}

#[test]
fn commits_record_the_real_identity_as_committer() {
    let t = repo_with(&["alice", "bob"]);
    t.ok_as("alice", &["send", "bob", "-s", "hi", "-m", "x"]);
    let who = t.git(&["log", "-1", "--format=%an via %cn", "refs/comm-node/mail"]);
    assert_eq!(who.trim(), "alice via Test");
}

/// Issue 20 item 10: `task add` refuses an undeclared domain as `join` and `halt` do, even
/// when the config declares none.
#[test]
fn task_add_refuses_an_unknown_domain_like_join_and_halt() {
    let t = repo_with(&["alice"]);
    refused_unchanged(
        &t,
        "alice",
        &["task", "add", "x", "--domain", "nosuch"],
        "unknown domain 'nosuch'",
    );
    refused_unchanged(
        &t,
        "alice",
        &["join", "--domain", "nosuch"],
        "unknown domain 'nosuch'",
    );
    t.write(
        ".comm-node/config.yaml",
        "version: 1\ndomains:\n  api: { scope: [\"src/api/**\"] }\n",
    );
    refused_unchanged(
        &t,
        "alice",
        &["task", "add", "x", "--domain", "nosuch"],
        "known domains: api",
    );
    t.ok_as("alice", &["task", "add", "x", "--domain", "api"]);
}

/// Issue 20 item 10: a state cannot name a task that does not exist.
#[test]
fn state_refuses_a_task_that_does_not_exist() {
    let t = repo_with(&["alice"]);
    refused_unchanged(
        &t,
        "alice",
        &["state", "busy", "--task", "t-00000000"],
        "no task 't-00000000'",
    );
    let added: serde_json::Value =
        serde_json::from_str(&t.ok_as("alice", &["--json", "task", "add", "x"])).unwrap();
    let id = added["id"].as_str().unwrap();
    let out = t.ok_as("alice", &["--json", "state", "busy", "--task", &id[..6]]);
    let state: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        state["task"], id,
        "a prefix is stored as the full id: {out}"
    );
}

/// Issue 20 item 10: a 120 KB subject is refused at send time; 1,000 bytes pass.
#[test]
fn an_overlong_subject_is_refused_before_anything_is_written() {
    let t = repo_with(&["alice", "bob"]);
    let huge = "s".repeat(120_000);
    refused_unchanged(
        &t,
        "alice",
        &["send", "bob", "-s", &huge],
        "subject is 120000 bytes, over the limit of 1000",
    );
    let longest = "s".repeat(1000);
    t.ok_as("alice", &["send", "bob", "-s", &longest]);
    let over = "s".repeat(1001);
    refused_unchanged(&t, "alice", &["send", "bob", "-s", &over], "over the limit");
}
