//! Mail end to end: the real binary on real temporary repositories.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

fn two_agents() -> TestRepo {
    let repo = TestRepo::new();
    repo.ok_as("alice", &["join", "--role", "lead"]);
    repo.ok_as("bob", &["join"]);
    repo
}

fn sent_id(out: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    v["id"].as_str().expect("id").to_string()
}

fn inbox_json(repo: &TestRepo, agent: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["inbox", "--json"];
    args.extend_from_slice(extra);
    serde_json::from_str(repo.ok_as(agent, &args).trim()).expect("inbox json")
}

#[test]
fn send_then_inbox_then_cursor_marks_read() {
    let repo = two_agents();
    let out = repo.ok_as(
        "alice",
        &["send", "bob", "-s", "API ready", "-m", "details", "--json"],
    );
    let id = sent_id(&out);
    assert_eq!(id.len(), 40);

    let inbox = inbox_json(&repo, "bob", &[]);
    let messages = inbox["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["id"], id.as_str());
    assert_eq!(messages[0]["from"], "alice");
    assert_eq!(messages[0]["subject"], "API ready");
    assert_eq!(messages[0]["body"], "details");

    let again = inbox_json(&repo, "bob", &[]);
    assert!(again["messages"].as_array().unwrap().is_empty());
    assert!(repo.ok_as("bob", &["inbox"]).contains("no unread mail"));
    // The sender does not receive its own mail.
    assert!(inbox_json(&repo, "alice", &[])["messages"]
        .as_array()
        .unwrap()
        .is_empty());
    // --all still shows it, and the cursor ref is plain git.
    assert_eq!(
        inbox_json(&repo, "bob", &["--all"])["messages"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let cursor = repo.git(&["rev-parse", "refs/comm-node/cursors/bob"]);
    assert_eq!(cursor.trim(), id);
}

#[test]
fn message_is_a_commit_readable_by_plain_git() {
    let repo = two_agents();
    let id = sent_id(&repo.ok_as(
        "alice",
        &[
            "send",
            "bob",
            "-s",
            "Schema v2",
            "-m",
            "see body",
            "--type",
            "question",
            "--priority",
            "high",
            "--task",
            "T-7",
            "--json",
        ],
    ));
    let log = repo.git(&["log", "--format=%H|%an|%s", "refs/comm-node/mail"]);
    assert_eq!(log.trim(), format!("{id}|alice|Schema v2"));
    let body = repo.git(&["log", "-1", "--format=%B", &id]);
    assert!(body.contains("see body"));
    assert!(body.contains("Comm-To: bob"));
    assert!(body.contains("Comm-Type: question"));
    assert!(body.contains("Comm-Priority: high"));
    assert!(body.contains("Comm-Task: T-7"));
}

#[test]
fn body_cannot_spoof_recipients() {
    let repo = two_agents();
    repo.ok_as("mallory", &["join"]);
    repo.ok_as(
        "alice",
        &[
            "send",
            "bob",
            "-s",
            "hello",
            "-m",
            "text\n\nComm-To: mallory\nComm-Type: urgent",
        ],
    );
    assert!(inbox_json(&repo, "mallory", &[])["messages"]
        .as_array()
        .unwrap()
        .is_empty());
    let bob = inbox_json(&repo, "bob", &[]);
    assert_eq!(bob["messages"][0]["type"], "info");
}

#[test]
fn reply_thread_ack_and_show() {
    let repo = two_agents();
    let root = sent_id(&repo.ok_as(
        "alice",
        &["send", "bob", "-s", "Question", "--ack", "--json"],
    ));
    let reply = sent_id(&repo.ok_as("bob", &["reply", &root[..8], "-m", "answer", "--json"]));
    repo.ok_as("bob", &["ack", &root]);

    let thread: serde_json::Value =
        serde_json::from_str(repo.ok_as("alice", &["thread", &reply, "--json"]).trim()).unwrap();
    let thread = thread.as_array().unwrap();
    assert_eq!(thread.len(), 3);
    assert_eq!(thread[0]["id"], root.as_str());
    assert_eq!(thread[1]["subject"], "Re: Question");
    assert_eq!(thread[1]["reply_to"], root.as_str());
    assert_eq!(thread[1]["thread"], root.as_str());
    assert_eq!(thread[2]["type"], "ack");

    let show: serde_json::Value =
        serde_json::from_str(repo.ok_as("alice", &["show", &root, "--json"]).trim()).unwrap();
    assert_eq!(show["acked_by"], serde_json::json!(["bob"]));
    assert_eq!(show["message"]["ack"], "requested");
    assert!(repo
        .ok_as("alice", &["show", &root])
        .contains("acked by: bob"));

    // Alice's inbox holds the reply and the ack, oldest first.
    let inbox = inbox_json(&repo, "alice", &[]);
    let subjects: Vec<&str> = inbox["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, vec!["Re: Question", "ack: Question"]);
}

#[test]
fn domain_and_broadcast_recipients() {
    let repo = TestRepo::new();
    repo.write(
        ".comm-node/config.yaml",
        "version: 1\ndomains:\n  api:\n    scope: [\"src/api/**\"]\n  ui:\n    scope: [\"src/ui/**\"]\nagents:\n  carol: { domain: ui }\n",
    );
    repo.ok_as("alice", &["join", "--domain", "api"]);
    repo.ok_as("bob", &["join", "--domain", "api"]);
    repo.ok_as("carol", &["join"]);
    repo.ok_as("carol", &["send", "@api", "-s", "to api"]);
    repo.ok_as("alice", &["send", "all", "-s", "to everyone"]);

    let subjects = |agent: &str| -> Vec<String> {
        inbox_json(&repo, agent, &["--peek"])["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["subject"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(subjects("bob"), vec!["to api", "to everyone"]);
    assert_eq!(subjects("alice"), vec!["to api"]);
    assert_eq!(subjects("carol"), vec!["to everyone"]);

    let out = repo.comm_as("carol", &["send", "@nope", "-s", "x"]);
    assert_exit(&out, 2, "unknown domain 'nope'");
}

#[test]
fn filters_do_not_move_the_cursor() {
    let repo = two_agents();
    repo.ok_as("carl", &["join"]);
    repo.ok_as(
        "alice",
        &["send", "bob", "-s", "from alice", "--type", "question"],
    );
    repo.ok_as("carl", &["send", "bob", "-s", "from carl"]);
    let filtered = inbox_json(&repo, "bob", &["--from", "carl"]);
    assert_eq!(filtered["messages"].as_array().unwrap().len(), 1);
    let by_type = inbox_json(&repo, "bob", &["--type", "question"]);
    assert_eq!(by_type["messages"][0]["subject"], "from alice");
    assert_eq!(
        inbox_json(&repo, "bob", &[])["messages"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn compact_format_is_one_line_per_message() {
    let repo = two_agents();
    for i in 0..3 {
        repo.ok_as(
            "alice",
            &["send", "bob", "-s", &format!("m{i}"), "-m", "line1\nline2"],
        );
    }
    let out = repo.ok_as("bob", &["inbox", "--format", "compact"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[0].contains("alice>bob") && lines[0].ends_with("m0"),
        "{out}"
    );
}

#[test]
fn budget_keeps_most_important_and_points_to_the_rest() {
    let repo = two_agents();
    let long_body = "x".repeat(400);
    for i in 0..10 {
        repo.ok_as(
            "alice",
            &[
                "send",
                "bob",
                "-s",
                &format!("low {i}"),
                "-m",
                &long_body,
                "--priority",
                "low",
            ],
        );
    }
    repo.ok_as(
        "alice",
        &[
            "send",
            "bob",
            "-s",
            "URGENT one",
            "-m",
            &long_body,
            "--priority",
            "urgent",
        ],
    );
    let out = repo.ok_as("bob", &["inbox", "--budget", "200"]);
    assert!(
        out.len() <= 200 * 4,
        "output {} chars exceeds budget",
        out.len()
    );
    let first = out.lines().next().unwrap();
    assert!(
        out.lines().nth(1).unwrap().contains("URGENT one"),
        "{first}\n{out}"
    );
    let pointer = out.lines().last().unwrap();
    assert!(
        pointer.starts_with('+') && pointer.contains("git comm show"),
        "{out}"
    );
}

#[test]
fn search_finds_subject_and_body() {
    let repo = two_agents();
    repo.ok_as(
        "alice",
        &["send", "bob", "-s", "Deploy window", "-m", "friday"],
    );
    repo.ok_as("alice", &["send", "bob", "-s", "Other", "-m", "nothing"]);
    let hits: serde_json::Value =
        serde_json::from_str(repo.ok_as("bob", &["search", "FRIDAY", "--json"]).trim()).unwrap();
    assert_eq!(hits.as_array().unwrap().len(), 1);
    assert_eq!(hits[0]["subject"], "Deploy window");
}

#[test]
fn inbox_wait_returns_when_mail_arrives() {
    let repo = two_agents();
    let dir = repo.path().to_path_buf();
    let waiter = std::thread::spawn(move || {
        let started = Instant::now();
        let out = comm_in(&dir, &["--as", "bob", "inbox", "--wait", "20", "--json"]);
        (out, started.elapsed())
    });
    std::thread::sleep(Duration::from_millis(700));
    repo.ok_as("alice", &["send", "bob", "-s", "wake up"]);
    let (out, elapsed) = waiter.join().unwrap();
    assert_success(&out, &["inbox", "--wait"]);
    assert!(stdout(&out).contains("wake up"));
    assert!(elapsed < Duration::from_secs(10), "waited {elapsed:?}");

    let started = Instant::now();
    // Nothing new within the wait is a timeout: exit 1, like `wait`, said once: one line
    // on stderr, nothing on stdout.
    let empty = repo.comm_as("bob", &["inbox", "--wait", "1"]);
    assert_exit(&empty, 1, "no new mail for bob within 1s");
    assert_eq!(stdout(&empty), "");
    assert_eq!(stderr(&empty).lines().count(), 1, "{}", stderr(&empty));
    assert!(started.elapsed() >= Duration::from_millis(900));
    let json = repo.comm_as("bob", &["inbox", "--wait", "1", "--json"]);
    assert_eq!(json.status.code(), Some(1));
    assert_eq!(stdout(&json), "");
    let error: serde_json::Value = serde_json::from_str(stderr(&json).trim()).unwrap();
    assert_eq!(error["error"], "no new mail for bob within 1s");
}

#[test]
fn identity_from_env_and_per_worktree_config() {
    let repo = two_agents();
    repo.initial_commit();
    let out = Command::new(BIN)
        .args(["whoami"])
        .current_dir(repo.path())
        .env("GIT_COMM_AGENT", "alice")
        .output()
        .unwrap();
    assert_eq!(stdout(&out).trim(), "alice");

    repo.git(&["config", "extensions.worktreeConfig", "true"]);
    repo.git(&["config", "--worktree", "comm.agent", "bob"]);
    let wt = repo.path().join("wt");
    repo.git(&["worktree", "add", "-q", wt.to_str().unwrap()]);
    git_in(&wt, &["config", "--worktree", "comm.agent", "alice"]);
    assert_eq!(stdout(&comm_in(repo.path(), &["whoami"])).trim(), "bob");
    assert_eq!(stdout(&comm_in(&wt, &["whoami"])).trim(), "alice");

    // Mail sent from the linked worktree lands in the shared mail ref.
    assert_success(
        &comm_in(&wt, &["send", "bob", "-s", "from worktree"]),
        &["send"],
    );
    assert!(repo.ok_as("bob", &["inbox"]).contains("from worktree"));
}

#[test]
fn who_lists_agents_with_domain_and_last_seen() {
    let repo = TestRepo::new();
    repo.write(
        ".comm-node/config.yaml",
        "version: 1\ndomains:\n  api: { scope: [\"src/**\"] }\nagents:\n  cfg-only: { domain: api }\n",
    );
    repo.ok_as(
        "alice",
        &[
            "join",
            "--domain",
            "api",
            "--program",
            "claude-code",
            "--model",
            "m1",
        ],
    );
    let out = repo.ok_as("alice", &["who"]);
    assert!(
        out.contains("alice domain=api seen=0s ago program=claude-code model=m1"),
        "{out}"
    );
    assert!(out.contains("cfg-only domain=api seen=never"), "{out}");
    let who: serde_json::Value =
        serde_json::from_str(repo.ok_as("alice", &["who", "--json"]).trim()).unwrap();
    assert_eq!(who.as_array().unwrap().len(), 2);
    let me: serde_json::Value =
        serde_json::from_str(repo.ok_as("alice", &["whoami", "--json"]).trim()).unwrap();
    assert_eq!(me["domain"], "api");
    assert_eq!(me["joined"], true);
}

#[test]
fn init_is_idempotent() {
    let repo = TestRepo::new();
    let first = repo.comm(&["init"]);
    assert_success(&first, &["init"]);
    assert!(stdout(&first).starts_with("created .comm-node/config.yaml"));
    repo.write(
        ".comm-node/config.yaml",
        "version: 1\ndomains: {}\n# mine\n",
    );
    let second = repo.comm(&["init"]);
    assert!(stdout(&second).starts_with("exists"));
    let kept = std::fs::read_to_string(repo.path().join(".comm-node/config.yaml")).unwrap();
    assert!(kept.contains("# mine"));
}

/// Every bad input exits 2 with a clear message and writes nothing.
#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let repo = two_agents();
    repo.ok_as("alice", &["send", "bob", "-s", "seed"]);
    let before = repo.comm_refs();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--as", "bob", "show", "deadbeef"],
            "unknown message id 'deadbeef'",
        ),
        (
            vec!["--as", "bob", "reply", "0123456789abcdef", "-m", "x"],
            "unknown message id",
        ),
        (
            vec!["--as", "alice", "send", "bob", "-s", ""],
            "empty subject",
        ),
        (
            vec!["--as", "alice", "send", "bob", "-s", "a\nb"],
            "single line",
        ),
        (
            vec!["--as", "bad/name", "send", "bob", "-s", "x"],
            "invalid agent name 'bad/name'",
        ),
        (
            vec!["--as", "alice", "send", "../x", "-s", "x"],
            "invalid agent name",
        ),
        (
            vec!["--as", "alice", "send", "nobody", "-s", "x"],
            "unknown agent 'nobody'",
        ),
        (
            vec!["--as", "eve", "send", "bob", "-s", "x"],
            "unknown agent 'eve'",
        ),
        (
            vec![
                "--as",
                "alice",
                "send",
                "bob",
                "-s",
                "x",
                "--priority",
                "max",
            ],
            "unknown priority",
        ),
        (
            vec![
                "--as", "alice", "send", "bob", "-s", "x", "--type", "Not Ok",
            ],
            "invalid message type",
        ),
        (vec!["send", "bob", "-s", "x"], "no agent identity"),
        (vec!["join", "all"], "reserved"),
    ];
    for (args, expected) in cases {
        let out = repo.comm(&args);
        assert_exit(&out, 2, expected);
        assert!(
            stderr(&out).contains("hint:") || expected == "reserved",
            "{args:?}: no hint"
        );
        assert_eq!(repo.comm_refs(), before, "{args:?} changed refs");
    }
    let outside = tempfile::tempdir().unwrap();
    assert_exit(
        &comm_in(outside.path(), &["--as", "alice", "inbox"]),
        2,
        "not a git repository",
    );
}

#[test]
fn malformed_config_is_reported_with_file_and_line() {
    let repo = two_agents();
    repo.write(
        ".comm-node/config.yaml",
        "version: 1\ndomains:\n  api:\n    scopes: [\"x\"]\n",
    );
    let out = repo.comm_as("alice", &["send", "bob", "-s", "x"]);
    assert_exit(&out, 2, ".comm-node/config.yaml:4");
    assert!(stderr(&out).contains("scopes"), "{}", stderr(&out));
    let json_err = repo.comm_as("alice", &["inbox", "--json"]);
    let v: serde_json::Value = serde_json::from_str(stderr(&json_err).trim()).unwrap();
    assert_eq!(v["kind"], "config");
}

#[test]
fn body_from_stdin_and_open_stdin_does_not_hang() {
    use std::io::Write;
    use std::process::Stdio;
    let repo = two_agents();
    let mut piped = Command::new(BIN)
        .args(["--as", "alice", "send", "bob", "-s", "piped"])
        .current_dir(repo.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    piped
        .stdin
        .take()
        .unwrap()
        .write_all(b"body from a pipe\n")
        .unwrap();
    assert!(piped.wait().unwrap().success());

    // An agent's shell may leave stdin open and silent: send must not wait for EOF, and
    // must not guess "no body" either (the body might come late): it refuses.
    let started = Instant::now();
    let mut silent = Command::new(BIN)
        .args(["--as", "alice", "send", "bob", "-s", "silent"])
        .current_dir(repo.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _held_open = silent.stdin.take();
    assert_eq!(silent.wait().unwrap().code(), Some(2));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    let inbox = inbox_json(&repo, "bob", &[]);
    let bodies: Vec<&str> = inbox["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, vec!["body from a pipe"]);
}

#[test]
fn send_names_the_cc_and_join_no_domain_unbinds() {
    let repo = TestRepo::new();
    repo.write(
        ".comm-node/config.yaml",
        "version: 1\ndomains:\n  api:\n    scope: [\"src/api/**\"]\n",
    );
    repo.ok_as("alice", &["join"]);
    repo.ok_as("bob", &["join", "--domain", "api"]);
    repo.ok_as("lead", &["join"]);
    let out = repo.ok_as(
        "alice",
        &["send", "bob", "--cc", "lead", "-s", "hi", "-m", ""],
    );
    assert!(out.contains("to bob, cc lead"), "{out}");
    let unbound = repo.ok_as("bob", &["--json", "join", "--no-domain"]);
    let card: serde_json::Value = serde_json::from_str(&unbound).unwrap();
    assert!(card.get("domain").is_none(), "{unbound}");
}
