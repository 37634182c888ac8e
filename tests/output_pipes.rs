//! Integrity under faults at the process edges: output that cannot be written (a reader
//! that went away, a full device, a closed stdout) and bodies that arrive late, never, or
//! too big. Real processes, real pipes; no timing races (late data is gated on the
//! command having finished, and waits poll against a deadline).

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

const MIB: usize = 1 << 20;
const LIMIT_MESSAGE: &str = "over the limit of 1 MiB (mail.max_body in .comm-node/config.yaml)";

fn two_agents() -> TestRepo {
    let repo = TestRepo::new();
    repo.ok_as("alice", &["join"]);
    repo.ok_as("bob", &["join"]);
    repo
}

/// The binary in the repo, as `comm_in` runs it, with the caller choosing the stdio.
fn command(repo: &TestRepo, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(repo.path())
        .env_remove("GIT_COMM_AGENT")
        .env("TZ", "UTC");
    cmd
}

/// A shell running `script` in the repo, with `$BIN` set to the binary.
fn shell(repo: &TestRepo, script: &str) -> Command {
    let mut cmd = Command::new("sh");
    cmd.args(["-c", script])
        .current_dir(repo.path())
        .env("BIN", BIN)
        .env_remove("GIT_COMM_AGENT")
        .env("TZ", "UTC");
    cmd
}

/// Wait for `child`, failing the test if it is still running at the deadline.
fn wait_within(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn unread_count(repo: &TestRepo, agent: &str) -> usize {
    let out = repo.ok_as(agent, &["inbox", "--peek", "--json"]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("inbox json");
    v["messages"].as_array().expect("messages").len()
}

/// Bodies of every message to `agent`, oldest first.
fn bodies(repo: &TestRepo, agent: &str) -> Vec<String> {
    let out = repo.ok_as(agent, &["inbox", "--all", "--json"]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("inbox json");
    v["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["body"].as_str().expect("body").to_string())
        .collect()
}

fn assert_no_panic(out: &Output, what: &str) {
    let err = stderr(out);
    assert!(
        !err.contains("panicked")
            && !err.contains("RUST_BACKTRACE")
            && !err.contains("stack backtrace"),
        "{what}: panic output on stderr: {err}"
    );
    assert_ne!(out.status.code(), Some(101), "{what}: exit 101 (panic)");
}

/// The `error:` lines on stderr: an output failure is reported once.
fn error_lines(out: &Output) -> Vec<String> {
    stderr(out)
        .lines()
        .filter(|l| l.starts_with("error:"))
        .map(str::to_string)
        .collect()
}

/// A pipe whose read end is already closed: the first write gets EPIPE, always.
fn reader_gone() -> Stdio {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    Stdio::from(writer)
}

fn dev_full() -> Option<Stdio> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .ok()?;
    Some(Stdio::from(file))
}

/// Alice sends bob `n` messages whose bodies together exceed a 64 KiB pipe buffer.
fn send_long_mail(repo: &TestRepo, n: usize) {
    let body = "x".repeat(20_000);
    for i in 0..n {
        repo.ok_as(
            "alice",
            &["send", "bob", "-s", &format!("long {i}"), "-m", &body],
        );
    }
}

// ---- output into a pipe, a full device, a closed stdout ---------------------------------

#[test]
fn inbox_into_a_pipe_whose_reader_left_exits_0_and_keeps_mail_unread() {
    let repo = two_agents();
    send_long_mail(&repo, 8); // 160 KB: more than a pipe buffer holds
    let mut child = command(&repo, &["--as", "bob", "inbox"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take()); // the reader goes away without reading
    let out = child.wait_with_output().expect("wait");
    assert_no_panic(&out, "inbox | (closed)");
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    assert_eq!(stderr(&out), "", "EPIPE is silent");
    assert_eq!(unread_count(&repo, "bob"), 8, "the cursor must not move");

    // Small output into a pipe closed before the first write: same outcome.
    let out = command(&repo, &["--as", "bob", "inbox", "--format", "compact"])
        .stdout(reader_gone())
        .output()
        .expect("run");
    assert_no_panic(&out, "inbox --format compact | (closed)");
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    assert_eq!(stderr(&out), "");
    assert_eq!(unread_count(&repo, "bob"), 8);

    // A plain inbox afterwards still shows the mail, and then marks it read.
    let listing = repo.ok_as("bob", &["inbox", "--format", "compact"]);
    assert_eq!(listing.lines().count(), 8, "{listing}");
    assert_eq!(unread_count(&repo, "bob"), 0);
}

#[test]
fn inbox_to_a_full_device_exits_2_with_one_error_and_keeps_mail_unread() {
    let Some(full) = dev_full() else { return };
    let repo = two_agents();
    send_long_mail(&repo, 2);
    let out = command(&repo, &["--as", "bob", "inbox"])
        .stdout(full)
        .output()
        .expect("run");
    assert_no_panic(&out, "inbox >/dev/full");
    assert_eq!(out.status.code(), Some(2), "stderr: {}", stderr(&out));
    let errors = error_lines(&out);
    assert_eq!(errors.len(), 1, "{}", stderr(&out));
    assert!(
        errors[0].starts_with("error: cannot write output:"),
        "{}",
        errors[0]
    );
    assert!(
        stderr(&out).contains("nothing was marked read"),
        "{}",
        stderr(&out)
    );
    assert_eq!(unread_count(&repo, "bob"), 2);

    // --json reports the same failure as a JSON object on stderr.
    let out = command(&repo, &["--as", "bob", "inbox", "--json"])
        .stdout(dev_full().expect("/dev/full"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_str(stderr(&out).trim()).expect("json error");
    assert_eq!(v["kind"], "output");
    assert_eq!(unread_count(&repo, "bob"), 2);
}

#[test]
fn inbox_with_stdout_closed_exits_2_and_keeps_mail_unread() {
    let repo = two_agents();
    send_long_mail(&repo, 1);
    // `>&-` in a shell; Rust would otherwise quietly reopen fd 1 on /dev/null.
    let out = shell(&repo, r#"exec "$BIN" --as bob inbox >&-"#)
        .output()
        .expect("run");
    assert_no_panic(&out, "inbox >&-");
    assert_eq!(out.status.code(), Some(2), "stderr: {}", stderr(&out));
    let errors = error_lines(&out);
    assert_eq!(errors.len(), 1, "{}", stderr(&out));
    assert!(errors[0].contains("cannot write output"), "{}", errors[0]);
    assert!(
        stderr(&out).contains("nothing was marked read"),
        "{}",
        stderr(&out)
    );
    assert_eq!(unread_count(&repo, "bob"), 1);
}

#[test]
fn listing_commands_never_panic_on_a_closed_pipe_a_full_device_or_a_closed_stdout() {
    let repo = two_agents();
    repo.initial_commit();
    let sent = repo.ok_as(
        "alice",
        &["send", "bob", "-s", "hello", "-m", "hi", "--json"],
    );
    let id: serde_json::Value = serde_json::from_str(sent.trim()).unwrap();
    let id = id["id"].as_str().unwrap().to_string();
    repo.ok_as("alice", &["lease", "task:1", "--reason", "pipes"]);
    repo.write("schema.json", "{}\n");
    repo.ok_as("alice", &["publish", "api/schema.json", "schema.json"]);
    let unread = unread_count(&repo, "bob");

    let commands: Vec<Vec<&str>> = vec![
        vec!["leases"],
        vec!["who"],
        vec!["whoami"],
        vec!["search", "hello"],
        vec!["thread", &id],
        vec!["show", &id],
        vec!["artifacts"],
        vec!["get", "api/schema.json"],
        vec!["status"],
        vec!["init"],
        vec!["inbox", "--peek"],
        vec!["hooks", "status"],
        vec!["check"],
        vec!["graph"],
    ];
    for args in &commands {
        let mut full = vec!["--as", "bob"];
        full.extend_from_slice(args);
        let what = args.join(" ");

        let out = command(&repo, &full)
            .stdout(reader_gone())
            .output()
            .expect("run");
        assert_no_panic(&out, &format!("{what} | (closed)"));
        assert_eq!(
            out.status.code(),
            Some(0),
            "{what} | (closed): {}",
            stderr(&out)
        );
        assert_eq!(stderr(&out), "", "{what} | (closed) must be silent");

        if let Some(full_dev) = dev_full() {
            let out = command(&repo, &full)
                .stdout(full_dev)
                .output()
                .expect("run");
            assert_no_panic(&out, &format!("{what} >/dev/full"));
            assert_eq!(
                out.status.code(),
                Some(2),
                "{what} >/dev/full: {}",
                stderr(&out)
            );
            assert_eq!(error_lines(&out).len(), 1, "{what}: {}", stderr(&out));
            assert!(stderr(&out).contains("cannot write output"), "{what}");
        }

        let out = shell(&repo, r#"exec "$BIN" "$@" >&-"#)
            .arg("sh")
            .args(&full)
            .output()
            .expect("run");
        assert_no_panic(&out, &format!("{what} >&-"));
        assert_eq!(out.status.code(), Some(2), "{what} >&-: {}", stderr(&out));
        assert!(stderr(&out).contains("cannot write output"), "{what} >&-");
    }
    assert_eq!(
        unread_count(&repo, "bob"),
        unread,
        "peeks and failures read nothing"
    );
}

#[test]
fn a_failed_confirmation_says_the_message_was_sent() {
    let Some(full) = dev_full() else { return };
    let repo = two_agents();
    let out = command(
        &repo,
        &["--as", "alice", "send", "bob", "-s", "once", "-m", "x"],
    )
    .stdout(full)
    .output()
    .expect("run");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("do not send it again"),
        "{}",
        stderr(&out)
    );
    assert_eq!(unread_count(&repo, "bob"), 1);
}

// ---- where a body comes from --------------------------------------------------------

#[test]
fn a_late_piped_body_is_refused_not_dropped() {
    let repo = two_agents();
    let before = repo.comm_refs();
    let gate = repo.path().join("gate");
    let rc = repo.path().join("rc");
    let mkfifo = Command::new("mkfifo").arg(&gate).status().expect("mkfifo");
    assert!(mkfifo.success());
    // `(wait; echo body) | git comm send ...`: the body is written only once the test opens
    // the gate, which it does after send has finished: late, whatever the machine's speed.
    let child = shell(
        &repo,
        r#"(read _ < "$1"; echo body) | { "$BIN" --as alice send bob -s late; echo $? > "$2"; }"#,
    )
    .arg("sh")
    .arg(&gate)
    .arg(&rc)
    .stderr(Stdio::piped())
    .stdout(Stdio::null())
    .spawn()
    .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(20);
    let code = loop {
        let text = std::fs::read_to_string(&rc).unwrap_or_default();
        if text.ends_with('\n') {
            break text.trim().to_string();
        }
        assert!(Instant::now() < deadline, "send did not finish");
        std::thread::sleep(Duration::from_millis(20));
    };
    std::fs::OpenOptions::new()
        .write(true)
        .open(&gate)
        .expect("open gate")
        .write_all(b"\n")
        .expect("open the gate");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(code, "2", "stderr: {}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("the body is unknown"), "{err}");
    assert!(err.contains("-F -") && err.contains("-m ''"), "{err}");
    assert_no_panic(&out, "late body");
    assert_eq!(repo.comm_refs(), before, "nothing sent");
}

#[test]
fn a_late_body_with_dash_f_is_read_to_the_end() {
    let repo = two_agents();
    let out = shell(
        &repo,
        r#"(sleep 0.5; echo body; sleep 0.2; echo more) | "$BIN" --as alice send bob -s late -F -"#,
    )
    .output()
    .expect("run");
    assert_success(&out, &["send -F - (late)"]);
    assert_eq!(bodies(&repo, "bob"), vec!["body\nmore"]);
}

#[test]
fn a_piped_body_is_read_to_the_end() {
    let repo = two_agents();
    // `printf body | git comm send ...`: the data is in the pipe, then end of input.
    let (reader, mut writer) = std::io::pipe().expect("pipe");
    writer.write_all(b"body").unwrap();
    drop(writer);
    let out = command(&repo, &["--as", "alice", "send", "bob", "-s", "piped"])
        .stdin(reader)
        .output()
        .expect("run");
    assert_success(&out, &["printf body | send"]);

    // A body that starts in time is read until the writer closes, however long that takes:
    // the first line is waiting in the pipe, the rest comes while send runs.
    let (reader, mut writer) = std::io::pipe().expect("pipe");
    writer.write_all(b"first\n").unwrap();
    let mut child = command(&repo, &["--as", "alice", "send", "bob", "-s", "slow"])
        .stdin(reader)
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    writer.write_all(b"second\n").unwrap();
    drop(writer);
    let status = wait_within(&mut child, Duration::from_secs(20));
    assert!(status.success());
    assert_eq!(bodies(&repo, "bob"), vec!["body", "first\nsecond"]);
}

#[test]
fn stdin_at_end_of_input_means_no_body() {
    let repo = two_agents();
    let out = command(&repo, &["--as", "alice", "send", "bob", "-s", "empty"])
        .stdin(Stdio::null())
        .output()
        .expect("run");
    assert_success(&out, &["send </dev/null"]);
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(writer);
    let out = command(&repo, &["--as", "alice", "send", "bob", "-s", "closed"])
        .stdin(reader)
        .output()
        .expect("run");
    assert_success(&out, &["send (closed empty pipe)"]);
    assert_eq!(bodies(&repo, "bob"), vec!["", ""]);
}

#[test]
fn an_open_silent_stdin_is_refused_quickly_for_send_and_reply() {
    let repo = two_agents();
    let sent = repo.ok_as("bob", &["send", "alice", "-s", "q", "-m", "?", "--json"]);
    let v: serde_json::Value = serde_json::from_str(sent.trim()).unwrap();
    let id = v["id"].as_str().unwrap().to_string();
    let before = repo.comm_refs();
    for args in [
        vec!["--as", "alice", "send", "bob", "-s", "silent"],
        vec!["--as", "alice", "reply", &id],
    ] {
        let mut child = command(&repo, &args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let held_open = child.stdin.take(); // open, never written
        let status = wait_within(&mut child, Duration::from_secs(10));
        let out = child.wait_with_output().expect("output");
        drop(held_open);
        assert_eq!(status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("the body is unknown"),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(repo.comm_refs(), before, "nothing sent");
}

// ---- the body limit -----------------------------------------------------------------

fn write_bytes(path: &Path, n: usize) {
    std::fs::write(path, "a".repeat(n)).unwrap();
}

#[test]
fn bodies_over_the_limit_are_refused_from_a_file_and_from_stdin() {
    let repo = two_agents();
    let big = repo.path().join("big.md");
    write_bytes(&big, MIB + 1);
    let before = repo.comm_refs();
    let big_arg = big.to_str().unwrap();

    let out = repo.comm_as("alice", &["send", "bob", "-s", "big", "-F", big_arg]);
    assert_exit(
        &out,
        2,
        &format!("body is {} bytes, {LIMIT_MESSAGE}", MIB + 1),
    );

    // Stdin (a pipe fed by a thread: more than a pipe buffer), with -F - and implicitly.
    for extra in [&["-F", "-"][..], &[][..]] {
        let mut args = vec!["--as", "alice", "send", "bob", "-s", "big"];
        args.extend_from_slice(extra);
        let mut child = command(&repo, &args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let mut stdin = child.stdin.take().unwrap();
        let feeder = std::thread::spawn(move || {
            // Much more than the limit: send must stop reading at limit + 1 (then EPIPE).
            let chunk = vec![b'a'; 64 * 1024];
            for _ in 0..64 {
                if stdin.write_all(&chunk).is_err() {
                    return;
                }
            }
        });
        let out = child.wait_with_output().expect("wait");
        feeder.join().unwrap();
        assert_exit(
            &out,
            2,
            &format!("body is more than {MIB} bytes, {LIMIT_MESSAGE}"),
        );
    }

    // A regular file as stdin (`send < big.md`).
    let out = command(&repo, &["--as", "alice", "send", "bob", "-s", "big"])
        .stdin(std::fs::File::open(&big).unwrap())
        .output()
        .expect("run");
    assert_exit(&out, 2, LIMIT_MESSAGE);
    assert_eq!(repo.comm_refs(), before, "nothing sent");
}

#[test]
fn a_body_exactly_at_the_limit_is_accepted() {
    let repo = two_agents();
    let exact = repo.path().join("exact.md");
    write_bytes(&exact, MIB);
    repo.ok_as(
        "alice",
        &["send", "bob", "-s", "file", "-F", exact.to_str().unwrap()],
    );
    let out = command(
        &repo,
        &["--as", "alice", "send", "bob", "-s", "stdin", "-F", "-"],
    )
    .stdin(std::fs::File::open(&exact).unwrap())
    .output()
    .expect("run");
    assert_success(&out, &["send -F - < exact"]);
    let lens: Vec<usize> = bodies(&repo, "bob").iter().map(String::len).collect();
    assert_eq!(lens, vec![MIB, MIB]);
}

#[test]
fn a_configured_limit_applies_to_every_source() {
    let repo = two_agents();
    repo.write(
        ".comm-node/config.yaml",
        "version: 1\nmail:\n  max_body: 1KiB\n",
    );
    let sent = repo.ok_as("bob", &["send", "alice", "-s", "q", "-m", "?", "--json"]);
    let v: serde_json::Value = serde_json::from_str(sent.trim()).unwrap();
    let id = v["id"].as_str().unwrap().to_string();
    let before = repo.comm_refs();
    let limit = "over the limit of 1 KiB (mail.max_body in .comm-node/config.yaml)";
    let over = "a".repeat(1025);
    let out = repo.comm_as("alice", &["send", "bob", "-s", "m", "-m", &over]);
    assert_exit(&out, 2, &format!("body is 1025 bytes, {limit}"));
    let file = repo.path().join("over.md");
    write_bytes(&file, 1025);
    let out = repo.comm_as(
        "alice",
        &["send", "bob", "-s", "f", "-F", file.to_str().unwrap()],
    );
    assert_exit(&out, 2, &format!("body is 1025 bytes, {limit}"));
    let out = command(
        &repo,
        &["--as", "alice", "send", "bob", "-s", "s", "-F", "-"],
    )
    .stdin(std::fs::File::open(&file).unwrap())
    .output()
    .expect("run");
    assert_exit(&out, 2, &format!("body is more than 1024 bytes, {limit}"));
    let out = repo.comm_as("alice", &["ack", &id, "-m", &over]);
    assert_exit(&out, 2, &format!("body is 1025 bytes, {limit}"));
    assert_eq!(repo.comm_refs(), before, "nothing sent");

    let exact = "a".repeat(1024);
    repo.ok_as("alice", &["send", "bob", "-s", "ok", "-m", &exact]);
    assert_eq!(bodies(&repo, "bob"), vec![exact]);
}

#[test]
fn a_bad_max_body_is_a_config_error_with_file_and_line() {
    let repo = two_agents();
    for value in ["lots", "1GB", "-1", "4096MiB"] {
        repo.write(
            ".comm-node/config.yaml",
            &format!("version: 1\nagents: {{}}\nmail:\n  max_body: {value}\n"),
        );
        let out = repo.comm_as("alice", &["send", "bob", "-s", "x", "-m", "y"]);
        assert_exit(&out, 2, ".comm-node/config.yaml:4");
        assert!(
            stderr(&out).contains("max_body") || stderr(&out).contains(value),
            "{}",
            stderr(&out)
        );
    }
}
