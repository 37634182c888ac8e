//! Contention benchmark: 8, 32, 64 and 128 clones each sending a message and syncing, in a
//! loop, through one remote: `git daemon` on 127.0.0.1 behind a delaying TCP proxy (every
//! chunk forwarded after `LATENCY_MS`, in both directions). Each connection is served by its
//! own `git daemon --inetd`, as xinetd or systemd socket activation run it; `SERVER=daemon`
//! puts one listening `git daemon` behind the proxy instead, whose single accept loop
//! (backlog 5, 32 connections, a one-second sleep per connection past them) sets the pace
//! at 128 clones. Reports sync success rate, syncs done at their first attempt, merge commits
//! per message and per sync, messages per second, and CPU per message: the clones' (every
//! git and git-comm process they ran) and, in inetd mode, the server's; checks at the end
//! that every message sent reached the remote (nothing lost).
//! Run: `cargo bench --bench contention` (release binary; `ROUNDS` per clone); choose sizes
//! with `CLONES=8,32 cargo bench --bench contention`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "support/mod.rs"]
mod support;
use support::{children_cpu, free_port, git, Daemon, DelayingProxy};

/// The binary under test: this build's, or `GIT_COMM_BIN` to compare another build in the
/// same run.
fn bin() -> String {
    std::env::var("GIT_COMM_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_git-comm").to_string())
}
const LATENCY_MS: u64 = 20;
const ROUNDS: usize = 4;

fn comm(dir: &Path, args: &[&str]) -> (bool, String) {
    let (ok, out, _) = comm_err(dir, args);
    (ok, out)
}

/// Success, stdout and the first line of stderr.
fn comm_err(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(bin())
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string(),
    )
}

#[derive(Default)]
struct Tally {
    syncs: usize,
    ok: usize,
    first_attempt: usize,
    retries: usize,
    /// Every sync, the final catch-up ones included (each may add a merge).
    all_syncs: usize,
    /// Messages sent (a send that fails is reported, not counted).
    sent: usize,
    /// Why measured sends and syncs failed (first line of stderr).
    failures: Vec<String>,
}

fn worker(dir: PathBuf, name: String, peers: Vec<String>) -> Tally {
    let mut tally = Tally::default();
    for round in 0..ROUNDS {
        let to = &peers[(round + name.len()) % peers.len()];
        let (sent, _, why) = comm_err(
            &dir,
            &[
                "--as",
                &name,
                "send",
                to,
                "-s",
                &format!("{name} round {round}"),
            ],
        );
        if !sent {
            tally.failures.push(format!("send: {why}"));
            continue;
        }
        tally.sent += 1;
        let (ok, out, err) = comm_err(&dir, &["--json", "sync"]);
        tally.syncs += 1;
        if !ok {
            tally.failures.push(format!("sync: {err}"));
        }
        if ok {
            tally.ok += 1;
            let report: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
            let attempts = report["attempts"].as_u64().unwrap_or(1);
            tally.retries += attempts.saturating_sub(1) as usize;
            tally.first_attempt += usize::from(attempts == 1);
        }
    }
    tally.all_syncs = tally.syncs;
    // Until everything is out: a failed sync is retried here, so loss would show below.
    for _ in 0..20 {
        tally.all_syncs += 1;
        if comm(&dir, &["sync"]).0 {
            break;
        }
    }
    tally
}

fn run(clones: usize) {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    git(root, &["init", "-q", "--bare", "repo.git"]);
    let latency = Duration::from_millis(LATENCY_MS);
    let listening = std::env::var("SERVER").is_ok_and(|s| s == "daemon");
    let (_daemon, proxy) = if listening {
        let port = free_port();
        let daemon = Daemon::start(root, port);
        (Some(daemon), DelayingProxy::start(port, latency))
    } else {
        (None, DelayingProxy::inetd(root, latency))
    };
    let url = format!("git://127.0.0.1:{}/repo.git", proxy.port);
    let names: Vec<String> = (0..clones).map(|i| format!("c{i}")).collect();
    let dirs: Vec<PathBuf> = names
        .iter()
        .map(|n| {
            git(root, &["clone", "-q", &url, n]);
            let dir = root.join(n);
            git(&dir, &["config", "user.name", n]);
            git(&dir, &["config", "user.email", &format!("{n}@example.com")]);
            comm(&dir, &["--as", n, "join"]);
            dir
        })
        .collect();
    // Everyone knows everyone before the measured loop.
    for _ in 0..2 {
        for dir in &dirs {
            comm(dir, &["sync"]);
        }
    }
    let started = Instant::now();
    let cpu_before = children_cpu();
    let connections_before = proxy.count();
    let server_cpu_before = proxy.server_cpu();
    let handles: Vec<_> = dirs
        .iter()
        .zip(&names)
        .map(|(dir, name)| {
            let (dir, name) = (dir.clone(), name.clone());
            let peers: Vec<String> = names.iter().filter(|p| **p != name).cloned().collect();
            std::thread::spawn(move || worker(dir, name, peers))
        })
        .collect();
    let tallies: Vec<Tally> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let elapsed = started.elapsed();
    let all_cpu = children_cpu() - cpu_before;
    // The server's processes are the proxy's children, reaped by it: counted in both.
    let server_cpu = proxy.server_cpu() - server_cpu_before;
    let cpu = all_cpu.saturating_sub(server_cpu);
    let connections = proxy.count() - connections_before;
    let bare = root.join("repo.git");
    // Every clone's outbox (and a legacy shared mail ref, if any): the remote's mail.
    let log = git(
        &bare,
        &[
            "log",
            "--format=%P|%s",
            "--glob=refs/comm-node/outbox/*",
            "--glob=refs/comm-node/mail",
        ],
    );
    let messages = log
        .lines()
        .filter(|l| l.contains(" round ") && !l.split('|').next().unwrap().contains(' '))
        .count();
    let merges = log
        .lines()
        .filter(|l| l.split('|').next().unwrap().contains(' '))
        .count();
    let sent: usize = tallies.iter().map(|t| t.sent).sum();
    let syncs: usize = tallies.iter().map(|t| t.syncs).sum();
    let ok: usize = tallies.iter().map(|t| t.ok).sum();
    let retries: usize = tallies.iter().map(|t| t.retries).sum();
    let first: usize = tallies.iter().map(|t| t.first_attempt).sum();
    let all_syncs: usize = tallies.iter().map(|t| t.all_syncs).sum();
    println!(
        "| {clones} | {sent} | {messages} | {:.1}% | {:.1}% | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} | {:.1} | {:.1} |",
        100.0 * ok as f64 / syncs as f64,
        100.0 * first as f64 / syncs as f64,
        retries as f64 / ok.max(1) as f64,
        merges as f64 / messages.max(1) as f64,
        merges as f64 / all_syncs.max(1) as f64,
        messages as f64 / elapsed.as_secs_f64(),
        cpu.as_secs_f64() * 1000.0 / messages.max(1) as f64,
        server_cpu.as_secs_f64() * 1000.0 / messages.max(1) as f64,
        elapsed.as_secs_f64()
    );
    let mut failures: std::collections::BTreeMap<String, usize> = Default::default();
    for why in tallies.iter().flat_map(|t| &t.failures) {
        *failures.entry(why.clone()).or_default() += 1;
    }
    eprintln!(
        "  {clones} clones: {:.2} connections per sync, {} connects slower than 500 ms",
        connections as f64 / all_syncs.max(1) as f64,
        proxy.slow()
    );
    for (why, n) in failures {
        eprintln!("  {n} failed at {clones} clones: {why}");
    }
    assert_eq!(
        messages, sent,
        "messages lost: {sent} sent, {messages} on the remote"
    );
}

fn main() {
    let server = match std::env::var("SERVER").as_deref() {
        Ok("daemon") => "one listening git daemon",
        _ => "git daemon --inetd per connection",
    };
    println!(
        "latency {LATENCY_MS} ms per chunk each way (loopback proxy in front of {server}), {ROUNDS} rounds of send + sync per clone\n"
    );
    println!("| clones | sent | on remote | syncs ok | first attempt | retries per sync | merges per message | merges per sync | messages/s | clients' CPU per message (ms) | server's CPU per message (ms) | wall (s) |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let sizes: Vec<usize> = std::env::var("CLONES")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![8, 32, 64, 128]);
    for clones in sizes {
        run(clones);
    }
}
