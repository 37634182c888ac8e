//! Remotes that fail or refuse, other transports (git daemon), refspec setup, doctor.

mod common;
mod sync_net;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use sync_net::*;

fn pre_receive(remote: &Path, script: &str) {
    let hook = remote.join("hooks").join("pre-receive");
    std::fs::write(&hook, script).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[test]
fn bad_remote_is_reported_and_changes_nothing() {
    let net = Net::new();
    let a = net.clone("a");
    ok(&a, &["--as", "alice", "join"]);
    ok(&a, &["--as", "alice", "send", "all", "-s", "offline"]);
    let before = refs(&a, "refs/comm-node/");
    let out = comm_in(&a, &["sync", "nosuchremote"]);
    assert_exit(&out, 2, "no remote 'nosuchremote'");
    let out = comm_in(&a, &["sync", "/definitely/not/here.git"]);
    assert_exit(&out, 2, "cannot fetch from /definitely/not/here.git");
    assert!(
        stderr(&out).contains("local state is unchanged"),
        "{}",
        stderr(&out)
    );
    assert_eq!(refs(&a, "refs/comm-node/"), before);
    // Offline first: everything else still works.
    ok(&a, &["--as", "alice", "send", "all", "-s", "still offline"]);
    ok(&a, &["--as", "alice", "status"]);
}

#[test]
fn remote_that_disappears_mid_life_leaves_local_state_intact() {
    let net = Net::new();
    let a = net.clone("a");
    ok(&a, &["--as", "alice", "join"]);
    ok(&a, &["--as", "alice", "send", "all", "-s", "one"]);
    sync_ok(&a);
    ok(&a, &["--as", "alice", "send", "all", "-s", "two"]);
    std::fs::rename(&net.remote, net.root.path().join("moved.git")).unwrap();
    let before = refs(&a, "refs/comm-node/");
    let out = sync(&a);
    assert_exit(&out, 2, "cannot fetch from origin");
    assert_eq!(refs(&a, "refs/comm-node/"), before);
    assert_eq!(subjects(&a), vec!["one", "two"]);
    // It comes back: the next sync delivers what was pending.
    std::fs::rename(net.root.path().join("moved.git"), &net.remote).unwrap();
    sync_ok(&a);
    assert_eq!(
        remote_outbox_tip(&net.remote, &a),
        git_in(&a, &["rev-parse", "refs/comm-node/mail"])
    );
}

/// What the remote holds of `clone`'s mail: its own outbox ref.
fn remote_outbox_tip(remote: &std::path::Path, clone: &std::path::Path) -> String {
    let outbox = git_in(clone, &["config", "comm.outbox"]);
    git_in(
        remote,
        &[
            "rev-parse",
            &format!("refs/comm-node/outbox/{}", outbox.trim()),
        ],
    )
}

#[test]
fn rejected_push_is_reported_and_keeps_merged_local_state() {
    let net = Net::new();
    let a = net.clone("a");
    let b = net.clone("b");
    ok(&a, &["--as", "alice", "join"]);
    ok(&a, &["--as", "alice", "send", "all", "-s", "from a"]);
    sync_ok(&a);
    ok(&b, &["--as", "bob", "join"]);
    ok(&b, &["--as", "bob", "send", "all", "-s", "from b"]);
    pre_receive(
        &net.remote,
        "#!/bin/sh\necho 'comm refs are frozen' >&2\nexit 1\n",
    );
    let remote_before = refs(&net.remote, "refs/");
    let out = sync(&b);
    assert_exit(&out, 1, "origin refused the push");
    assert!(
        stderr(&out).contains("pre-receive hook declined"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("nothing was lost"),
        "{}",
        stderr(&out)
    );
    // Short and exact: the refused ref and the remote's words, no object ids, no padding.
    let first = stderr(&out).lines().next().unwrap_or_default().to_string();
    assert!(
        first.contains("refs/comm-node/outbox/o-")
            && first.contains("[remote rejected] (pre-receive hook declined)")
            && first.contains("remote: comm refs are frozen)")
            && !first.contains("failed to push some refs")
            && !first
                .split(|c: char| !c.is_ascii_hexdigit())
                .any(|w| w.len() == 40),
        "{first}"
    );
    assert_eq!(refs(&net.remote, "refs/"), remote_before);
    // Local state: both messages, merged, nothing lost.
    assert_eq!(subjects(&b), vec!["from a", "from b"]);
    std::fs::remove_file(net.remote.join("hooks/pre-receive")).unwrap();
    sync_ok(&b);
    sync_ok(&a);
    assert_eq!(subjects(&a), vec!["from a", "from b"]);
    assert_eq!(history(&a), history(&b));
}

#[test]
fn push_race_is_retried_until_it_lands() {
    // A hook that lets every push through but makes each one slow widens the race window.
    // Mail goes through per-clone outboxes and never races; the lease ledger is one shared
    // ref (its compare-and-swap is what makes a grant count everywhere), so three clones
    // granting at once race on it.
    let net = Net::new();
    pre_receive(&net.remote, "#!/bin/sh\nsleep 0.2\nexit 0\n");
    let clones: Vec<_> = (0..3).map(|i| net.clone(&format!("c{i}"))).collect();
    for (i, c) in clones.iter().enumerate() {
        send_many(c, &format!("agent{i}"), 5);
        ok(c, &["--as", &format!("agent{i}"), "join"]);
        ok(
            c,
            &["--as", &format!("agent{i}"), "lease", &format!("p{i}/**")],
        );
    }
    let children: Vec<Child> = clones
        .iter()
        .map(|c| {
            Command::new(BIN)
                .args(["sync", "--json"])
                .current_dir(c)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut retried = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_success(&out, &["sync"]);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        if report["attempts"].as_u64().unwrap() > 1 {
            retried += 1;
        }
    }
    assert!(
        retried >= 1,
        "at least one racer must have lost and retried"
    );
    for c in &clones {
        sync_ok(c);
    }
    assert_eq!(subjects(&clones[0]).len(), 15);
    assert_eq!(history(&clones[0]), history(&clones[2]));
    let leases = ok(&clones[0], &["leases", "--json"]);
    for i in 0..3 {
        assert!(leases.contains(&format!("p{i}/**")), "{leases}");
    }
}

#[test]
fn sync_over_git_daemon() {
    let net = Net::new();
    std::fs::write(net.remote.join("git-daemon-export-ok"), "").unwrap();
    let port = free_port();
    let _daemon = Killed(
        git_daemon()
            .args([
                "--export-all",
                "--enable=receive-pack",
                "--reuseaddr",
                "--listen=127.0.0.1",
                &format!("--port={port}"),
                &format!("--base-path={}", net.root.path().display()),
            ])
            .arg(net.root.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("git daemon"),
    );
    let url = format!("git://127.0.0.1:{port}/remote.git");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "git daemon did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut clones = Vec::new();
    for name in ["a", "b"] {
        git_in(net.root.path(), &["clone", "-q", &url, name]);
        clones.push(net.root.path().join(name));
    }
    let (a, b) = (&clones[0], &clones[1]);
    ok(a, &["--as", "alice", "join"]);
    send_many(a, "alice", 10);
    std::fs::write(a.join("x.bin"), [0u8, 159, 146, 150, 255]).unwrap();
    ok(a, &["--as", "alice", "publish", "api/x", "x.bin"]);
    ok(b, &["--as", "bob", "join"]);
    send_many(b, "bob", 10);
    sync_ok(a);
    sync_ok(b);
    sync_ok(a);
    assert_eq!(subjects(a).len(), 21);
    assert_eq!(history(a), history(b));
    assert_eq!(
        comm_in(b, &["get", "api/x"]).stdout,
        vec![0u8, 159, 146, 150, 255]
    );
    let doctor = comm_in(b, &["--as", "bob", "doctor"]);
    assert!(
        stdout(&doctor).contains("ok   remote: origin reachable"),
        "{}",
        stdout(&doctor)
    );
    assert!(
        stdout(&doctor).contains("ok   namespace: origin accepts refs/comm-node/*"),
        "{}",
        stdout(&doctor)
    );
    assert!(refs(&net.remote, "refs/comm-node/doctor-probe/").is_empty());
}

#[test]
fn init_remote_makes_plain_push_carry_the_namespace() {
    let net = Net::new();
    let a = net.clone("a");
    let b = net.clone("b");
    git_in(&a, &["commit", "-q", "--allow-empty", "-m", "base"]);
    let out = ok(&a, &["init", "--remote", "origin"]);
    assert!(
        out.contains("configured remote.origin.push refs/comm-node/*:refs/comm-node/*"),
        "{out}"
    );
    let again = ok(&a, &["init", "--remote", "origin"]);
    assert!(again.contains("refspecs already configured"), "{again}");
    assert_exit(
        &comm_in(&a, &["init", "--remote", "nope"]),
        2,
        "no remote 'nope'",
    );
    ok(&a, &["--as", "alice", "join"]);
    ok(
        &a,
        &["--as", "alice", "send", "all", "-s", "via plain push"],
    );
    git_in(&a, &["push", "-q"]);
    // The branch went too (HEAD kept in the push refspecs).
    assert!(
        git_in(&net.remote, &["for-each-ref", "refs/heads/"]).contains("refs/heads/main")
            || git_in(&net.remote, &["for-each-ref", "refs/heads/"]).contains("refs/heads/master")
    );
    ok(&b, &["init", "--remote", "origin"]);
    // Plain fetch leaves the namespace to sync, which fetches it into its own store.
    git_in(&b, &["fetch", "-q"]);
    assert_eq!(refs(&b, "refs/comm-node-incoming/"), "");
    sync_ok(&b);
    assert_eq!(subjects(&b), vec!["via plain push"]);
}

#[test]
fn doctor_flags_a_remote_that_refuses_the_namespace_and_a_branch_namespace_works() {
    let net = Net::new();
    pre_receive(
        &net.remote,
        "#!/bin/sh\nwhile read old new ref; do case \"$ref\" in refs/heads/*) ;; *) echo \"only branches\" >&2; exit 1;; esac; done\n",
    );
    let a = net.clone("a");
    let b = net.clone("b");
    ok(&a, &["--as", "alice", "join"]);
    let out = comm_in(&a, &["--as", "alice", "doctor"]);
    assert_exit(&out, 1, "check(s) failed");
    let text = stdout(&out);
    assert!(
        text.contains("FAIL namespace: origin refuses refs under refs/comm-node/"),
        "{text}"
    );
    assert!(
        text.contains("git config comm.namespace refs/heads/comm-node/"),
        "{text}"
    );
    assert!(text.contains("FAIL hooks:"), "{text}");
    assert!(text.contains("ok   identity: alice, joined"), "{text}");

    for dir in [&a, &b] {
        git_in(dir, &["config", "comm.namespace", "refs/heads/comm-node/"]);
        ok(
            dir,
            &["--as", if dir == &a { "alice" } else { "bob" }, "join"],
        );
    }
    ok(
        &a,
        &["--as", "alice", "send", "all", "-s", "through branches"],
    );
    sync_ok(&a);
    sync_ok(&b);
    assert_eq!(subjects(&b), vec!["through branches"]);
    let inbox = ok(&b, &["--as", "bob", "inbox", "--format", "compact"]);
    assert!(inbox.contains("through branches"), "{inbox}");
    assert!(refs(&net.remote, "refs/heads/comm-node/").contains("refs/heads/comm-node/outbox/o-"));
    std::fs::write(a.join("x.txt"), "x").unwrap();
    let refused = comm_in(&a, &["--as", "alice", "publish", "api/x", "x.txt"]);
    assert_exit(
        &refused,
        2,
        "artifacts cannot live under the branch namespace",
    );
    let doctor = stdout(&comm_in(&a, &["--as", "alice", "doctor"]));
    assert!(
        doctor.contains("ok   namespace: origin accepts refs/heads/comm-node/*"),
        "{doctor}"
    );
}

#[test]
fn doctor_reports_a_broken_config_instead_of_failing_on_it() {
    let net = Net::new();
    let a = net.clone("a");
    std::fs::create_dir_all(a.join(".comm-node")).unwrap();
    std::fs::write(
        a.join(".comm-node/config.yaml"),
        "version: 1\nbogus: true\n",
    )
    .unwrap();
    let out = comm_in(&a, &["doctor", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let config = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "config")
        .unwrap();
    assert_eq!(config["ok"], false);
    assert!(
        config["detail"].as_str().unwrap().contains("bogus"),
        "{config}"
    );
    let identity = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "identity")
        .unwrap();
    assert_eq!(identity["ok"], false);
}
