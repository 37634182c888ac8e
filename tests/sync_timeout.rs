//! Bounded network: a remote that accepts the connection and never answers must not hang
//! `sync`, `lease --sync` or `doctor` (`comm.timeout`), must leave no git process behind,
//! and a `lease --sync` killed mid-confirmation must not leave a grant the next sync
//! publishes.

mod common;
mod sync_net;

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::*;
use git_comm::lease::ledger;
use git_comm::repo::Repo;
use sync_net::*;

/// Well above `comm.timeout` (2 s) plus process start-up, well below "hangs forever".
const DEADLINE: Duration = Duration::from_secs(15);

/// A TCP server on 127.0.0.1 that accepts every connection and never says a word. The
/// accepted sockets stay open until it is dropped.
struct Silent {
    port: u16,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Silent {
    fn start() -> Silent {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, stopping) = (accepted.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut held: Vec<TcpStream> = Vec::new();
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    held.push(stream);
                    count.fetch_add(1, Ordering::SeqCst);
                }
            }
            // Dropping `held` closes every connection: stuck clients see the end.
        });
        Silent {
            port,
            accepted,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self) -> String {
        format!("git://127.0.0.1:{}/repo", self.port)
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A clone where alice joined, with `silent` as a remote and `comm.timeout` set.
fn clone_with_silent_remote(net: &Net, silent_url: &str, timeout: &str) -> std::path::PathBuf {
    let a = net.clone("a");
    ok(&a, &["--as", "alice", "join"]);
    git_in(&a, &["remote", "add", "silent", silent_url]);
    git_in(&a, &["config", "comm.timeout", timeout]);
    a
}

/// Run `git comm ARGS` in `dir`, returning its output and how long it took. A command
/// still running after `HUNG` is killed and the test fails (rather than hanging with it).
fn timed(dir: &Path, args: &[&str]) -> (std::process::Output, Duration) {
    const HUNG: Duration = Duration::from_secs(60);
    let started = Instant::now();
    let mut child = Command::new(bin_path())
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_COMM_AGENT")
        .env("TZ", "UTC")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run git-comm");
    let read = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let out_reader = read(Box::new(child.stdout.take().unwrap()));
    let err_reader = read(Box::new(child.stderr.take().unwrap()));
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > HUNG {
            let _ = child.kill();
            let _ = child.wait();
            panic!("git comm {args:?} still running after {HUNG:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = started.elapsed();
    let out = std::process::Output {
        status,
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    };
    (out, took)
}

/// Processes (not zombies) whose command line mentions any of `needles`.
fn processes_mentioning(needles: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    let me = std::process::id().to_string();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) || pid == me {
            continue;
        }
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&raw).replace('\0', " ");
        if !needles.iter().any(|n| cmdline.contains(n.as_str())) {
            continue;
        }
        let zombie = std::fs::read_to_string(entry.path().join("stat"))
            .ok()
            .and_then(|stat| {
                stat.rsplit_once(") ")
                    .map(|(_, rest)| rest.starts_with('Z'))
            })
            .unwrap_or(true); // gone meanwhile
        if !zombie {
            found.push(format!("{pid}: {cmdline}"));
        }
    }
    found
}

/// No git process of this test is left: killed helpers may take a moment to be reaped
/// by whoever inherited them, so look again until a deadline.
fn assert_no_processes_left(needles: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = processes_mentioning(needles);
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "git processes left behind: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn needles(net: &Net, silent: &Silent) -> Vec<String> {
    vec![
        net.root.path().display().to_string(),
        format!("127.0.0.1:{}", silent.port),
    ]
}

fn ledger_subjects(dir: &Path) -> Vec<String> {
    git_in(dir, &["log", "--format=%s", "refs/comm-node/leases"])
        .lines()
        .map(str::to_string)
        .collect()
}

fn markers(dir: &Path) -> Vec<String> {
    match std::fs::read_dir(dir.join(".git/comm-node/pending-grants")) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn sync_against_a_silent_remote_times_out_and_leaves_nothing_behind() {
    let net = Net::new();
    let silent = Silent::start();
    let a = clone_with_silent_remote(&net, &silent.url(), "2s");
    ok(&a, &["--as", "alice", "send", "all", "-s", "offline"]);
    let before = refs(&a, "refs/comm-node/");

    let (out, took) = timed(&a, &["sync", "silent"]);
    assert!(took < DEADLINE, "sync took {took:?}");
    assert_exit(
        &out,
        1,
        "git fetch from silent timed out after 2s (comm.timeout)",
    );
    let err = stderr(&out);
    assert!(err.contains("git remote -v"), "{err}");
    assert!(err.contains("git config comm.timeout"), "{err}");
    assert!(err.contains("local state is unchanged"), "{err}");
    assert!(
        silent.accepted.load(Ordering::SeqCst) >= 1,
        "git never connected"
    );
    assert_no_processes_left(&needles(&net, &silent));
    assert_eq!(refs(&a, "refs/comm-node/"), before);

    // The URL itself works the same way, and names itself.
    let url = silent.url();
    let (out, took) = timed(&a, &["sync", &url]);
    assert!(took < DEADLINE, "sync took {took:?}");
    assert_exit(&out, 1, &format!("git fetch from {url} timed out after 2s"));
    assert_no_processes_left(&needles(&net, &silent));
    assert_eq!(refs(&a, "refs/comm-node/"), before);
}

#[test]
fn helpers_of_a_timed_out_git_are_killed_with_it() {
    // Over http, git fetch runs git-remote-http as a child: the whole group must go.
    let net = Net::new();
    let silent = Silent::start();
    let url = format!("http://127.0.0.1:{}/repo.git", silent.port);
    let a = clone_with_silent_remote(&net, &url, "2s");
    let before = refs(&a, "refs/comm-node/");
    let (out, took) = timed(&a, &["sync", "silent"]);
    assert!(took < DEADLINE, "sync took {took:?}");
    assert_exit(&out, 1, "timed out after 2s");
    assert_no_processes_left(&needles(&net, &silent));
    assert_eq!(refs(&a, "refs/comm-node/"), before);
}

#[test]
fn lease_sync_against_a_silent_remote_times_out_and_withdraws_the_grant() {
    let net = Net::new();
    let silent = Silent::start();
    let a = clone_with_silent_remote(&net, &silent.url(), "2s");

    let (out, took) = timed(
        &a,
        &[
            "--as", "alice", "lease", "src/x.rs", "--sync", "--remote", "silent",
        ],
    );
    assert!(took < DEADLINE, "lease --sync took {took:?}");
    assert_exit(&out, 1, "the local grant was withdrawn");
    let err = stderr(&out);
    assert!(err.contains("timed out after 2s"), "{err}");
    assert!(err.contains("silent"), "{err}");
    assert_no_processes_left(&needles(&net, &silent));

    let live: serde_json::Value =
        serde_json::from_str(&ok(&a, &["--json", "leases"])).expect("leases --json");
    assert_eq!(live, serde_json::json!([]), "no live lease may remain");
    let log = ledger_subjects(&a);
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(
        log[0].starts_with("release ") && log[0].ends_with("alice: src/x.rs"),
        "{log:?}"
    );
    assert!(
        log[1].starts_with("grant ") && log[1].ends_with("alice: src/x.rs"),
        "{log:?}"
    );
    assert!(markers(&a).is_empty(), "{:?}", markers(&a));
}

#[test]
fn doctor_reports_a_silent_remote_unreachable_within_the_timeout() {
    let net = Net::new();
    let silent = Silent::start();
    let a = clone_with_silent_remote(&net, &silent.url(), "2s");
    let (out, took) = timed(&a, &["--as", "alice", "doctor", "silent"]);
    assert!(took < DEADLINE, "doctor took {took:?}");
    assert_exit(&out, 1, "check(s) failed");
    let text = stdout(&out);
    assert!(
        text.contains("FAIL remote: silent unreachable: no answer within 2s (comm.timeout)"),
        "{text}"
    );
    assert!(
        text.contains("ok   pending: no unconfirmed lease --sync grants"),
        "{text}"
    );
    assert_no_processes_left(&needles(&net, &silent));
}

#[test]
fn invalid_timeout_is_a_config_error_naming_the_key_and_changes_nothing() {
    let net = Net::new();
    let silent = Silent::start();
    let a = clone_with_silent_remote(&net, &silent.url(), "soon");
    let before = refs(&a, "refs/comm-node/");
    let out = comm_in(&a, &["sync"]);
    assert_exit(&out, 2, "invalid git config comm.timeout 'soon'");
    let out = comm_in(&a, &["--as", "alice", "lease", "src/x.rs", "--sync"]);
    assert_exit(&out, 2, "comm.timeout");
    assert_eq!(refs(&a, "refs/comm-node/"), before, "nothing granted");
    assert_eq!(silent.accepted.load(Ordering::SeqCst), 0);
    // Plain seconds are fine.
    git_in(&a, &["config", "comm.timeout", "30"]);
    sync_ok(&a);
}

#[test]
fn killed_lease_sync_leaves_no_grant_for_the_next_sync_to_publish() {
    let net = Net::new();
    let silent = Silent::start();
    // Long enough that only the kill ends it.
    let a = clone_with_silent_remote(&net, &silent.url(), "10m");
    sync_ok(&a); // the bare remote knows alice; its ledger has no lease yet

    let mut child = Command::new(bin_path())
        .args([
            "--as", "alice", "lease", "src/x.rs", "--sync", "--remote", "silent",
        ])
        .current_dir(&a)
        .env_remove("GIT_COMM_AGENT")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start lease --sync");
    // Wait until it is stuck in the confirmation: marker there, grant in the local ledger,
    // git connected to the silent remote.
    let deadline = Instant::now() + Duration::from_secs(30);
    let id = loop {
        let live = ledger::live_leases(&Repo::discover(&a).unwrap()).unwrap();
        let marked = markers(&a);
        if let (Some(lease), [marker]) = (live.first(), marked.as_slice()) {
            if &lease.id == marker && silent.accepted.load(Ordering::SeqCst) >= 1 {
                break lease.id.clone();
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("lease --sync ended ({status}) before the test killed it: {err}");
        }
        assert!(
            Instant::now() < deadline,
            "lease --sync never reached the remote"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    child.kill().expect("kill -9 lease --sync"); // SIGKILL: no cleanup runs
    child.wait().unwrap();
    assert_eq!(
        markers(&a),
        vec![id.clone()],
        "the marker outlives the process"
    );

    let doctor = stdout(&comm_in(&a, &["--as", "alice", "doctor"]));
    assert!(
        doctor.contains(&format!("FAIL pending: lease {id} of alice"))
            && doctor.contains("(stale)"),
        "{doctor}"
    );

    let out = sync(&a);
    assert_success(&out, &["sync"]);
    let err = stderr(&out);
    assert!(
        err.contains(&format!("notice: withdrew lease {id} of alice [src/x.rs]"))
            && err.contains("never confirmed"),
        "{err}"
    );
    assert!(markers(&a).is_empty(), "{:?}", markers(&a));
    assert!(ledger::live_leases(&Repo::discover(&a).unwrap())
        .unwrap()
        .is_empty());
    // The bare remote got the ledger with the withdrawal: the grant was never live there.
    let remote_repo = Repo::discover(&net.remote).unwrap();
    assert!(ledger::live_leases(&remote_repo).unwrap().is_empty());
    let remote_log = ledger_subjects(&net.remote);
    assert_eq!(
        remote_log.first().map(String::as_str),
        Some(
            format!("break {id} by alice: withdrawn: lease --sync never confirmed (process died)")
                .as_str()
        ),
        "{remote_log:?}"
    );
    // A second sync has nothing left to withdraw.
    let again = sync(&a);
    assert_success(&again, &["sync"]);
    assert!(!stderr(&again).contains("notice:"), "{}", stderr(&again));
    drop(silent); // closes the killed process's orphaned connection, so its git exits
}

#[test]
fn a_live_lease_sync_keeps_its_marker_while_others_sweep() {
    let net = Net::new();
    let silent = Silent::start();
    let a = clone_with_silent_remote(&net, &silent.url(), "10m");
    let mut child = Command::new(bin_path())
        .args([
            "--as", "alice", "lease", "src/x.rs", "--sync", "--remote", "silent",
        ])
        .current_dir(&a)
        .env_remove("GIT_COMM_AGENT")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start lease --sync");
    let deadline = Instant::now() + Duration::from_secs(30);
    while markers(&a).is_empty() || silent.accepted.load(Ordering::SeqCst) == 0 {
        assert!(
            Instant::now() < deadline,
            "lease --sync never reached the remote"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "lease --sync ended early"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let id = markers(&a)[0].clone();
    // Another lease command sweeps: the marker is locked, so the grant stays.
    let out = comm_in(&a, &["--as", "alice", "lease", "docs/**"]);
    assert_success(&out, &["lease", "docs/**"]);
    assert!(!stderr(&out).contains("notice:"), "{}", stderr(&out));
    let live = ledger::live_leases(&Repo::discover(&a).unwrap()).unwrap();
    assert!(live.iter().any(|l| l.id == id), "{live:?}");
    let doctor = stdout(&comm_in(&a, &["--as", "alice", "doctor"]));
    assert!(
        doctor.contains(&format!("ok   pending: lease {id} of alice")) && doctor.contains("(live)"),
        "{doctor}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    drop(silent);
}
