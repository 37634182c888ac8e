//! Artifacts: publish, versions, byte-identical get, diff, wait, and input validation.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn setup() -> TestRepo {
    let repo = TestRepo::new();
    repo.ok_as("alice", &["join"]);
    repo.ok_as("bob", &["join"]);
    repo
}

fn binary_content(seed: u8) -> Vec<u8> {
    (0..70_000u32)
        .map(|i| (i.wrapping_mul(31).wrapping_add(seed as u32) % 256) as u8)
        .collect()
}

#[test]
fn binary_get_is_byte_identical_on_stdout_and_file() {
    let repo = setup();
    let bytes = binary_content(7);
    std::fs::write(repo.path().join("blob.bin"), &bytes).unwrap();
    let out = repo.ok_as(
        "alice",
        &["publish", "api/blob.bin", "blob.bin", "-m", "raw"],
    );
    assert!(out.starts_with("published api/blob.bin@v1"), "{out}");

    let got = repo.comm(&["get", "api/blob.bin"]);
    assert_success(&got, &["get"]);
    assert_eq!(got.stdout, bytes);

    let target = repo.path().join("copy.bin");
    repo.ok_as(
        "bob",
        &["get", "api/blob.bin@v1", "-o", target.to_str().unwrap()],
    );
    assert_eq!(std::fs::read(&target).unwrap(), bytes);

    let again = repo.comm(&["get", "api/blob.bin", "-o", target.to_str().unwrap()]);
    assert_exit(&again, 2, "exists");
    std::fs::write(&target, b"changed").unwrap();
    repo.ok_as(
        "bob",
        &[
            "get",
            "api/blob.bin",
            "-o",
            target.to_str().unwrap(),
            "--force",
        ],
    );
    assert_eq!(std::fs::read(&target).unwrap(), bytes);

    let listed: serde_json::Value =
        serde_json::from_str(&repo.ok_as("bob", &["artifacts", "--json"])).unwrap();
    assert_eq!(listed[0]["media_type"], "application/octet-stream");
    assert_eq!(listed[0]["size"], bytes.len());
    assert_eq!(listed[0]["publisher"], "alice");
}

#[test]
fn versions_chain_and_diff() {
    let repo = setup();
    repo.write("schema.txt", "id: int\nname: str\n");
    repo.ok_as(
        "alice",
        &["publish", "api/schema", "schema.txt", "-m", "v one"],
    );
    repo.write("schema.txt", "id: int\nname: str\nemail: str\n");
    repo.ok_as("alice", &["publish", "api/schema", "schema.txt"]);
    repo.write("schema.txt", "id: uuid\n");
    let out = repo.ok_as(
        "bob",
        &[
            "publish",
            "api/schema",
            "schema.txt",
            "--type",
            "text/x-schema",
        ],
    );
    assert!(out.starts_with("published api/schema@v3"), "{out}");

    let v1 = repo.ok_as("bob", &["get", "api/schema@1"]);
    assert_eq!(v1, "id: int\nname: str\n");
    let latest = repo.ok_as("bob", &["get", "api/schema"]);
    assert_eq!(latest, "id: uuid\n");

    let default_diff = repo.ok_as("bob", &["diff", "api/schema"]);
    assert!(default_diff.contains("--- api/schema@v2"), "{default_diff}");
    assert!(default_diff.contains("+++ api/schema@v3"), "{default_diff}");
    assert!(default_diff.contains("-email: str") && default_diff.contains("+id: uuid"));
    let explicit = repo.ok_as("bob", &["diff", "api/schema", "1", "v2"]);
    assert!(explicit.contains("+email: str"), "{explicit}");
    assert!(!explicit.contains("uuid"), "{explicit}");

    // The tag chain: v3 names v2, v2 names v1, v1 names nothing.
    let tag3 = repo.git(&["rev-parse", "refs/comm-node/artifacts/api/schema"]);
    let text3 = repo.git(&["cat-file", "-p", tag3.trim()]);
    assert!(
        text3.contains("type blob") && text3.contains("tagger bob"),
        "{text3}"
    );
    assert!(text3.contains("Media-Type: text/x-schema"), "{text3}");
    let tag2 = repo.git(&[
        "rev-parse",
        "refs/comm-node/artifact-versions/api/schema/v2",
    ]);
    assert!(
        text3.contains(&format!("Previous: {}", tag2.trim())),
        "{text3}"
    );
    let tag1 = repo.git(&[
        "rev-parse",
        "refs/comm-node/artifact-versions/api/schema/v1",
    ]);
    let text1 = repo.git(&["cat-file", "-p", tag1.trim()]);
    assert!(!text1.contains("Previous:"), "{text1}");

    // Publishing announced each version to everyone.
    let inbox = repo.ok_as(
        "bob",
        &["inbox", "--type", "artifact", "--format", "compact"],
    );
    assert!(inbox.contains("published api/schema@v1: v one"), "{inbox}");
    assert!(inbox.contains("published api/schema@v2"), "{inbox}");
    let msgs: serde_json::Value =
        serde_json::from_str(&repo.ok_as("alice", &["inbox", "--json"])).unwrap();
    let artifacts: Vec<_> = msgs["messages"]
        .as_array()
        .map(|a| a.iter().filter_map(|m| m["artifact"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(artifacts, vec!["api/schema@v3"]);
}

#[test]
fn binary_diff_is_reported_not_printed() {
    let repo = setup();
    std::fs::write(repo.path().join("b.bin"), binary_content(1)).unwrap();
    repo.ok_as("alice", &["publish", "ui/b.bin", "b.bin"]);
    std::fs::write(repo.path().join("b.bin"), binary_content(2)).unwrap();
    repo.ok_as("alice", &["publish", "ui/b.bin", "b.bin"]);
    let out = repo.ok_as("alice", &["diff", "ui/b.bin"]);
    assert!(out.starts_with("ui/b.bin: binary content differs"), "{out}");
    assert_eq!(out.lines().count(), 1);
}

#[test]
fn bad_names_and_versions_change_nothing() {
    let repo = setup();
    repo.write("x.txt", "x\n");
    repo.ok_as("alice", &["publish", "api/x", "x.txt"]);
    let before = repo.comm_refs();
    for bad in [
        "api",
        "api/x/y",
        "api/..",
        "api/x.lock",
        "a pi/x",
        "api/x@2",
    ] {
        let out = repo.comm_as("alice", &["publish", bad, "x.txt"]);
        assert_exit(&out, 2, "invalid");
    }
    assert_exit(
        &repo.comm_as("alice", &["publish", "api/x", "missing.txt"]),
        2,
        "cannot read missing.txt",
    );
    assert_exit(
        &repo.comm_as("nobody", &["publish", "api/x", "x.txt"]),
        2,
        "unknown agent",
    );
    assert_exit(&repo.comm(&["get", "api/x@9"]), 2, "no version 9");
    assert_exit(&repo.comm(&["get", "api/nope"]), 2, "no artifact api/nope");
    assert_exit(&repo.comm(&["diff", "api/x"]), 2, "only one version");
    assert_eq!(repo.comm_refs(), before);
}

#[test]
fn wait_returns_on_first_and_on_newer_version_and_times_out() {
    let repo = setup();
    let spawn_wait = || {
        Command::new(BIN)
            .args(["--as", "bob", "wait", "api/spec", "--timeout", "20"])
            .current_dir(repo.path())
            .env_remove("GIT_COMM_AGENT")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Not published yet: returns once v1 appears.
    let waiter = spawn_wait();
    std::thread::sleep(Duration::from_millis(300));
    repo.write("spec.txt", "one\n");
    repo.ok_as("alice", &["publish", "api/spec", "spec.txt"]);
    let out = waiter.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(stdout(&out).starts_with("api/spec@v1 "), "{}", stdout(&out));

    // bob has seen v1: the next wait returns only when v2 appears.
    let started = Instant::now();
    let waiter = spawn_wait();
    std::thread::sleep(Duration::from_millis(600));
    repo.write("spec.txt", "two\n");
    repo.ok_as("alice", &["publish", "api/spec", "spec.txt"]);
    let out = waiter.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(stdout(&out).starts_with("api/spec@v2 "), "{}", stdout(&out));
    assert!(started.elapsed() >= Duration::from_millis(600));

    let timed_out = repo.comm_as("bob", &["wait", "api/spec", "--timeout", "1"]);
    assert_exit(
        &timed_out,
        1,
        "no version of api/spec newer than v2 within 1s",
    );
    // carol never saw a version: v2 is news to her, at once; --after sets the baseline.
    let carol = repo.ok_as("carol", &["wait", "api/spec", "--timeout", "5"]);
    assert!(carol.starts_with("api/spec@v2 "), "{carol}");
    let after = repo.comm_as(
        "carol",
        &["wait", "api/spec", "--after", "1", "--timeout", "5"],
    );
    assert!(stdout(&after).starts_with("api/spec@v2 "));
}

#[test]
fn concurrent_publishers_get_distinct_consecutive_versions() {
    let repo = setup();
    // Distinct content per publisher: identical bytes by the same agent in the same second
    // make an identical tag object, and two such first publishes coalesce into one v1.
    for i in 0..8 {
        repo.write(&format!("c{i}.txt"), &format!("c{i}\n"));
    }
    let children: Vec<_> = (0..8)
        .map(|i| {
            Command::new(BIN)
                .args(["--as", "alice", "publish", "api/c", &format!("c{i}.txt")])
                .current_dir(repo.path())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut versions: Vec<String> = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert_success(&out, &["publish"]);
            stdout(&out).split_whitespace().nth(1).unwrap().to_string()
        })
        .collect();
    versions.sort_by_key(|v| v.rsplit('v').next().unwrap().parse::<u32>().unwrap());
    let expected: Vec<String> = (1..=8).map(|i| format!("api/c@v{i}")).collect();
    assert_eq!(versions, expected);
    let refs = repo.git(&["for-each-ref", "refs/comm-node/artifact-versions/api/c/"]);
    assert_eq!(refs.lines().count(), 8);
}

#[test]
fn publish_refuses_a_domain_the_config_does_not_declare() {
    let repo = setup();
    repo.write(
        ".comm-node/config.yaml",
        "version: 1\ndomains:\n  api:\n    scope: [\"src/api/**\"]\n",
    );
    repo.write("x.txt", "x\n");
    let before = repo.comm_refs();
    assert_exit(
        &repo.comm_as("alice", &["publish", "apii/x", "x.txt"]),
        2,
        "unknown domain 'apii'",
    );
    assert!(
        stderr(&repo.comm_as("alice", &["publish", "apii/x", "x.txt"]))
            .contains("known domains: api")
    );
    assert_eq!(
        repo.comm_refs(),
        before,
        "nothing published, nothing mailed"
    );
    repo.ok_as("alice", &["publish", "api/x", "x.txt"]);
    let missing = repo.comm(&["get", "api/x@4"]);
    assert_exit(&missing, 2, "api/x has no version 4 (latest is v1)");
    assert!(stderr(&missing).contains("hint: "), "{}", stderr(&missing));
}
