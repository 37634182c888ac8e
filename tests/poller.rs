//! One poller per repository, through a real `git daemon` on 127.0.0.1 whose verbose log
//! counts every request the clones make: waiters in one clone (and in two worktrees of
//! it) share one poller; the poller killed with kill -9 is replaced by another waiter; a
//! wait woken by mail has fetched what the mail points to.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{assert_success, free_port, git_in, stderr, stdout, Killed, BIN};

/// `git daemon --verbose` serving `root`, its log in `root/daemon.log`.
struct Daemon {
    _child: Killed,
    log: PathBuf,
    url: String,
    root: tempfile::TempDir,
}

impl Daemon {
    fn start() -> Daemon {
        let root = tempfile::tempdir().unwrap();
        git_in(root.path(), &["init", "-q", "--bare", "repo.git"]);
        let port = free_port();
        let log = root.path().join("daemon.log");
        let mut child = common::git_daemon()
            .args([
                "--verbose",
                "--reuseaddr",
                "--listen=127.0.0.1",
                &format!("--port={port}"),
                &format!("--base-path={}", root.path().display()),
                "--export-all",
                "--enable=receive-pack",
            ])
            .arg(root.path())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("git daemon");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(child.try_wait().unwrap().is_none(), "git daemon exited");
            assert!(Instant::now() < deadline, "git daemon did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        Daemon {
            _child: Killed(child),
            log,
            url: format!("git://127.0.0.1:{port}/repo.git"),
            root,
        }
    }

    /// Requests served so far (upload-pack: fetch, ls-refs; receive-pack: push).
    fn requests(&self) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("Request "))
            .count()
    }

    /// A clone at `root/name` where `agents` joined, synced.
    fn clone(&self, name: &str, agents: &[&str]) -> PathBuf {
        git_in(self.root.path(), &["clone", "-q", &self.url, name]);
        let dir = self.root.path().join(name);
        git_in(&dir, &["config", "user.name", "Test"]);
        git_in(&dir, &["config", "user.email", "test@example.com"]);
        for agent in agents {
            ok(&dir, &["--as", agent, "join"]);
        }
        ok(&dir, &["sync"]);
        dir
    }
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = common::comm_in(dir, args);
    assert_success(&out, args);
    stdout(&out)
}

fn spawn(dir: &Path, args: &[&str]) -> Child {
    spawn_with(dir, args, &[])
}

fn spawn_with(dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> Child {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dir)
        .env_remove("GIT_COMM_AGENT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in env {
        cmd.env(key, value);
    }
    cmd.spawn().unwrap()
}

fn inbox_wait(dir: &Path, agent: &str, secs: u64) -> Child {
    spawn(
        dir,
        &[
            "--as",
            agent,
            "--format",
            "compact",
            "inbox",
            "--wait",
            &secs.to_string(),
        ],
    )
}

/// The lock file of the repository's poller (in the common git dir).
fn lock_file(clone: &Path) -> PathBuf {
    clone.join(".git/comm-node/poller/origin.lock")
}

/// The pid of the poller's holder (which it writes into the lock file), while it lives.
fn holder(clone: &Path) -> Option<u32> {
    let pid = std::fs::read_to_string(lock_file(clone))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    alive(pid).then_some(pid)
}

fn alive(pid: u32) -> bool {
    // A killed child stays a zombie until reaped: that is not alive.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(") ")
            .is_some_and(|(_, r)| !r.starts_with('Z'))
    })
}

/// Wait (up to `limit`) until `condition` holds.
fn eventually(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn finish(child: Child) -> Output {
    child.wait_with_output().unwrap()
}

fn send_and_sync(dir: &Path, from: &str, to: &[&str], subject: &str) {
    let mut args = vec!["--as", from, "send"];
    args.extend_from_slice(to);
    args.extend_from_slice(&["-s", subject, "-m", ""]);
    ok(dir, &args);
    ok(dir, &["sync"]);
}

/// Requests per second while `waiters` run to their timeout, measured over their lifetime.
fn rate_while(daemon: &Daemon, waiters: Vec<Child>) -> (f64, Vec<Output>) {
    let before = daemon.requests();
    let started = Instant::now();
    let outs: Vec<Output> = waiters.into_iter().map(finish).collect();
    let secs = started.elapsed().as_secs_f64();
    let requests = daemon.requests() - before;
    eprintln!("{requests} requests in {secs:.1} s");
    (requests as f64 / secs, outs)
}

#[test]
fn four_waiters_in_one_clone_share_one_poller() {
    let daemon = Daemon::start();
    let agents = ["bob", "carol", "dave", "erin"];
    let b = daemon.clone("b", &agents);
    let waiters = agents.iter().map(|a| inbox_wait(&b, a, 8)).collect();
    let (rate, outs) = rate_while(&daemon, waiters);
    for out in &outs {
        assert_eq!(out.status.code(), Some(1), "{}", stderr(out));
    }
    assert!(
        rate <= 1.2,
        "{rate:.2} requests/s for 4 waiters: they do not share one poller"
    );
    assert!(
        rate >= 0.5,
        "{rate:.2} requests/s: nobody polled the remote"
    );
}

#[test]
fn waiters_in_two_worktrees_share_one_poller_and_both_wake() {
    let daemon = Daemon::start();
    let a = daemon.clone("a", &["alice"]);
    let b = daemon.clone("b", &["bob", "carol", "dave", "erin"]);
    let b2 = daemon.root.path().join("b2");
    git_in(&b, &["worktree", "add", "-q", b2.to_str().unwrap()]);
    ok(&a, &["sync"]);
    ok(&b, &["sync"]);
    let quiet = vec![
        inbox_wait(&b, "bob", 6),
        inbox_wait(&b2, "carol", 6),
        inbox_wait(&b2, "dave", 6),
    ];
    let (rate, outs) = rate_while(&daemon, quiet);
    assert!(outs.iter().all(|o| o.status.code() == Some(1)));
    assert!(rate <= 1.2, "{rate:.2} requests/s over two worktrees");

    let woken = [inbox_wait(&b, "bob", 60), inbox_wait(&b2, "carol", 60)];
    eventually(Duration::from_secs(10), "a poller", || holder(&b).is_some());
    send_and_sync(&a, "alice", &["bob", "carol"], "to both worktrees");
    for out in woken.map(finish) {
        assert_success(&out, &["inbox", "--wait"]);
        assert!(
            stdout(&out).contains("to both worktrees"),
            "{}",
            stdout(&out)
        );
    }
}

#[cfg(target_os = "linux")]
#[test]
fn the_poller_killed_with_kill_9_is_replaced_and_no_wait_hangs() {
    let daemon = Daemon::start();
    let a = daemon.clone("a", &["alice"]);
    let b = daemon.clone("b", &["bob", "carol", "dave"]);
    ok(&a, &["sync"]);
    let mut waiters: Vec<Child> = ["bob", "carol", "dave"]
        .iter()
        .map(|agent| inbox_wait(&b, agent, 60))
        .collect();
    eventually(Duration::from_secs(10), "a poller", || holder(&b).is_some());
    let first = holder(&b).unwrap();
    let index = waiters.iter().position(|w| w.id() == first).unwrap();
    let mut killed = waiters.remove(index);
    killed.kill().unwrap(); // SIGKILL: no cleanup runs
    killed.wait().unwrap();
    eventually(
        Duration::from_secs(10),
        "another waiter to take over",
        || holder(&b).is_some_and(|pid| pid != first),
    );
    let started = Instant::now();
    send_and_sync(&a, "alice", &["bob", "carol", "dave"], "after the kill");
    for out in waiters.into_iter().map(finish) {
        assert_success(&out, &["inbox", "--wait"]);
        assert!(stdout(&out).contains("after the kill"), "{}", stdout(&out));
    }
    assert!(started.elapsed() < Duration::from_secs(15));

    // A wait that holds the poller ends at its timeout and hands the poller on.
    for agent in ["bob", "carol", "dave"] {
        ok(&b, &["--as", agent, "inbox"]); // the killed waiter's mail stays unread
    }
    let started = Instant::now();
    let out = finish(inbox_wait(&b, "bob", 2));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    let next = inbox_wait(&b, "carol", 60);
    eventually(Duration::from_secs(5), "the next waiter to poll", || {
        holder(&b) == Some(next.id())
    });
    send_and_sync(&a, "alice", &["carol"], "after the handover");
    let out = finish(next);
    assert!(
        stdout(&out).contains("after the handover"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_wait_woken_by_mail_has_fetched_the_artifact_and_tasks_it_announces() {
    let daemon = Daemon::start();
    let a = daemon.clone("a", &["alice"]);
    let b = daemon.clone("b", &["bob"]);
    ok(&a, &["sync"]);
    let trace = daemon.root.path().join("trace");
    let waiter = spawn_with(
        &b,
        &[
            "--as", "bob", "--format", "compact", "inbox", "--wait", "60",
        ],
        &[("GIT_TRACE", &trace)],
    );
    eventually(Duration::from_secs(10), "a poller", || holder(&b).is_some());
    ok(
        &a,
        &["--as", "alice", "task", "add", "build the orders api"],
    );
    std::fs::write(a.join("contract.json"), "{\"orders\": 1}\n").unwrap();
    ok(
        &a,
        &["--as", "alice", "publish", "api/contract", "contract.json"],
    );
    send_and_sync(&a, "alice", &["bob"], "kickoff: tasks and contract are out");
    let out = finish(waiter);
    assert_success(&out, &["inbox", "--wait"]);
    assert!(stdout(&out).contains("kickoff"), "{}", stdout(&out));
    // No sync in between: the wait brought the whole namespace.
    let got = ok(&b, &["--as", "bob", "get", "api/contract"]);
    assert!(got.contains("\"orders\": 1"), "{got}");
    let tasks = ok(&b, &["--as", "bob", "task", "list"]);
    assert!(tasks.contains("build the orders api"), "{tasks}");
    // Polls and the syncs they started never ran git's auto maintenance.
    let traced = std::fs::read_to_string(&trace).unwrap();
    assert!(
        traced.contains("git fetch --quiet"),
        "the poll was not traced"
    );
    assert!(!traced.contains("maintenance run"), "maintenance ran");
    assert!(!traced.contains(" gc --auto"), "auto gc ran");
}

#[test]
fn a_bad_poll_interval_is_a_config_error_before_waiting() {
    let daemon = Daemon::start();
    let b = daemon.clone("b", &["bob"]);
    for bad in ["soon", "10ms", "0"] {
        git_in(&b, &["config", "comm.pollInterval", bad]);
        let started = Instant::now();
        let out = common::comm_in(&b, &["--as", "bob", "inbox", "--wait", "30"]);
        common::assert_exit(&out, 2, "invalid git config comm.pollInterval");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
    git_in(&b, &["config", "comm.pollInterval", "500ms"]);
    let out = common::comm_in(&b, &["--as", "bob", "inbox", "--wait", "1"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}
