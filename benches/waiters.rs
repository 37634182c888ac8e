//! Waiters benchmark: wake-up latency and remote requests with 1, 8 and 32 agents waiting
//! (`inbox --wait`) in one clone, and 32 spread over 8 clones, through `git daemon` on
//! 127.0.0.1 behind delaying proxies (every chunk forwarded after `LATENCY`, both ways).
//! Each waiter clone has its own proxy, which counts its requests; the sender has another.
//!
//! Latency: from the sender's `sync` returning to each waiter's `inbox --wait` returning
//! with the message (a waiter starts its next wait at once). Messages go out at random
//! gaps of 1 to 3 s; then, after `QUIET_SECS` (default 65 s) without mail, one more
//! message measures agents that have waited over a minute. Requests per second per
//! clone: over the whole run, and over the quiet stretch alone.
//! Run: `cargo bench --bench waiters` (`QUIET_SECS=5` for a quick look).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "support/mod.rs"]
mod support;
use support::{children_cpu, comm_with, free_port, git, Daemon, DelayingProxy};

/// The binary under test: this build's, or `GIT_COMM_BIN` to compare another build in the
/// same run.
fn bin() -> String {
    std::env::var("GIT_COMM_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_git-comm").to_string())
}
const LATENCY: Duration = Duration::from_millis(20);
const MESSAGES: usize = 8;
/// After the last regular message, before the quiet stretch is measured.
const SETTLE: Duration = Duration::from_secs(5);

fn comm(dir: &Path, args: &[&str]) -> String {
    comm_with(&bin(), dir, args)
}

/// Deterministic gaps between messages (xorshift), 1000 to 3000 ms.
struct Gaps(u64);

impl Gaps {
    fn next(&mut self) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        Duration::from_millis(1000 + self.0 % 2000)
    }
}

fn subject(k: usize) -> String {
    format!("wake-k{k:02}")
}

/// What each wait that returned saw: when it returned and what it printed.
type Woken = Arc<Mutex<Vec<(Instant, String)>>>;

/// Wait, record, wait again, until `stop` is set when a wait returns.
fn waiter(dir: PathBuf, agent: String, woken: Woken, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        let out = Command::new(bin())
            .args([
                "--as", &agent, "--format", "compact", "inbox", "--wait", "600",
            ])
            .current_dir(&dir)
            .output()
            .unwrap();
        let at = Instant::now();
        woken
            .lock()
            .unwrap()
            .push((at, String::from_utf8_lossy(&out.stdout).into_owned()));
    }
}

struct Clone {
    dir: PathBuf,
    proxy: DelayingProxy,
}

fn clone(root: &Path, daemon_port: u16, name: &str, agents: &[String]) -> Clone {
    let proxy = DelayingProxy::start(daemon_port, LATENCY);
    let url = format!("git://127.0.0.1:{}/repo.git", proxy.port);
    git(root, &["clone", "-q", &url, name]);
    let dir = root.join(name);
    git(&dir, &["config", "user.name", name]);
    git(
        &dir,
        &["config", "user.email", &format!("{name}@example.com")],
    );
    for agent in agents {
        comm(&dir, &["--as", agent, "join"]);
    }
    Clone { dir, proxy }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

/// The largest requests/s of one clone between two samples of the per-clone counters.
fn max_rate(from: &(Instant, Vec<usize>), to: &(Instant, Vec<usize>)) -> f64 {
    let span = to.0.duration_since(from.0).as_secs_f64().max(0.001);
    from.1
        .iter()
        .zip(&to.1)
        .map(|(a, b)| (b - a) as f64 / span)
        .fold(0.0, f64::max)
}

fn secs(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64())
}

fn run(clones: usize, per_clone: usize, quiet: Duration) {
    let started = Instant::now();
    let cpu_before = children_cpu();
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    git(root, &["init", "-q", "--bare", "repo.git"]);
    let port = free_port();
    let _daemon = Daemon::start(root, port);
    let sender = clone(root, port, "sender", &["boss".to_string()]);
    let waiting: Vec<(Clone, Vec<String>)> = (0..clones)
        .map(|c| {
            let agents: Vec<String> = (0..per_clone).map(|i| format!("w{c}-{i}")).collect();
            (clone(root, port, &format!("c{c}"), &agents), agents)
        })
        .collect();
    for _ in 0..2 {
        comm(&sender.dir, &["sync"]);
        for (c, _) in &waiting {
            comm(&c.dir, &["sync"]);
        }
    }
    let woken: Woken = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = waiting
        .iter()
        .flat_map(|(c, agents)| agents.iter().map(move |a| (c.dir.clone(), a.clone())))
        .map(|(dir, agent)| {
            let (woken, stop) = (woken.clone(), stop.clone());
            std::thread::spawn(move || waiter(dir, agent, woken, stop))
        })
        .collect();
    let requests = || {
        waiting
            .iter()
            .map(|(c, _)| c.proxy.count())
            .collect::<Vec<_>>()
    };
    let measured_from = Instant::now();
    let first = requests();
    let mut synced = Vec::new();
    let mut quiet_counts = Vec::new();
    let mut gaps = Gaps(0x9e37_79b9_7f4a_7c15);
    for k in 0..=MESSAGES {
        if k < MESSAGES {
            std::thread::sleep(gaps.next());
        } else {
            // Quiet: measured once the last wake-ups are over.
            std::thread::sleep(SETTLE);
            quiet_counts.push((Instant::now(), requests()));
            std::thread::sleep(quiet.saturating_sub(SETTLE));
            quiet_counts.push((Instant::now(), requests()));
            stop.store(true, Ordering::Relaxed); // the last message ends every waiter
        }
        comm(
            &sender.dir,
            &["--as", "boss", "send", "all", "-s", &subject(k), "-m", ""],
        );
        comm(&sender.dir, &["sync"]);
        synced.push(Instant::now());
    }
    for t in threads {
        t.join().unwrap();
    }
    let window = measured_from.elapsed().as_secs_f64();
    let last = requests();
    let all_rate = max_rate(
        &(measured_from, first),
        &(measured_from + Duration::from_secs_f64(window), last),
    );
    let (mut regular, mut long) = (Vec::new(), Vec::new());
    for (at, text) in woken.lock().unwrap().iter() {
        for (k, sent) in synced.iter().enumerate() {
            if text.contains(&subject(k)) {
                let latency = at.saturating_duration_since(*sent);
                if k == MESSAGES {
                    long.push(latency);
                } else {
                    regular.push(latency);
                }
            }
        }
    }
    regular.sort();
    long.sort();
    let quiet_rate = max_rate(&quiet_counts[0], &quiet_counts[1]);
    println!(
        "| {} | {clones} | {} | {} | {} | {} | {} | {} | {:.2} | {:.2} | {:.1} | {:.1} |",
        clones * per_clone,
        regular.len(),
        secs(percentile(&regular, 0.5)),
        secs(percentile(&regular, 0.95)),
        secs(regular.last().copied().unwrap_or_default()),
        secs(percentile(&long, 0.5)),
        secs(percentile(&long, 0.95)),
        all_rate,
        quiet_rate,
        started.elapsed().as_secs_f64(),
        (children_cpu() - cpu_before).as_secs_f64(),
    );
    assert_eq!(
        long.len(),
        clones * per_clone,
        "a waiter missed the last message"
    );
}

/// (clones, waiters per clone) to run: all four, or `SHAPES` such as `8x4,1x32`.
fn shapes() -> Vec<(usize, usize)> {
    let Ok(list) = std::env::var("SHAPES") else {
        return vec![(1, 1), (1, 8), (1, 32), (8, 4)];
    };
    list.split(',')
        .map(|shape| {
            let (clones, per_clone) = shape.split_once('x').expect("SHAPES: CLONESxWAITERS,...");
            (clones.parse().unwrap(), per_clone.parse().unwrap())
        })
        .collect()
}

fn main() {
    let quiet = Duration::from_secs(
        std::env::var("QUIET_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(65),
    );
    println!(
        "latency {} ms per chunk each way (a loopback proxy per clone in front of git daemon), {MESSAGES} messages at 1-3 s gaps, then one after {} s of quiet; comm.pollInterval default (1 s)\n",
        LATENCY.as_millis(),
        quiet.as_secs()
    );
    println!("| waiters | clones | wake-ups | p50 (s) | p95 (s) | max (s) | after quiet p50 (s) | after quiet p95 (s) | requests/s per clone (max) | quiet requests/s per clone (max) | wall (s) | CPU (s) |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (clones, per_clone) in shapes() {
        run(clones, per_clone, quiet);
    }
}
