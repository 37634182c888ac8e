//! What judging who may write what costs the server guard, at swarm size: a bare remote
//! with the guard installed and a 10,000-task ledger.
//!
//! - `plan`: the push of one commit creating 10,000 tasks, judged from nothing (every task's
//!   creator checked);
//! - `claim`: the push of one claim (task ledger commit plus its lease) on that ledger.
//!
//! Each is timed two ways: the whole `git comm hook pre-receive` process as git runs it, and
//! in process the gate's admission with the authority rules (`gate::admit`) beside the same
//! value's schema check alone (`gate::check_value`), so the rules' own share shows.
//! Run: `cargo bench --bench authority`. Wall time is the median of 15 runs; CPU the child's
//! user + system time (hook) or the process's own (in process).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "support/mod.rs"]
mod support;
use support::{comm, git, ms, time_pre_receive};

use git_comm::repo::{gate, ObjectId, Repo};

const BIN: &str = env!("CARGO_BIN_EXE_git-comm");
const TASKS: usize = 10_000;
const RUNS: usize = 15;

fn plan_text(n: usize) -> String {
    let mut plan = String::from("kickoff: build it\nagents:\n  lead: {}\ntasks:\n");
    for i in 0..n {
        plan.push_str(&format!(
            "  - {{key: k{i}, title: \"task {i} of the plan\"}}\n"
        ));
    }
    plan
}

fn median(mut walls: Vec<Duration>) -> Duration {
    walls.sort();
    walls[walls.len() / 2]
}

fn process_cpu() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

/// Median wall and mean CPU of `f` over the runs.
fn in_process(mut f: impl FnMut()) -> (Duration, Duration) {
    let cpu_before = process_cpu();
    let walls: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .collect();
    (median(walls), (process_cpu() - cpu_before) / RUNS as u32)
}

fn hook_runs(bare: &Path, lines: &str) -> (Duration, Duration) {
    let mut cpu = Duration::ZERO;
    let walls = (0..RUNS)
        .map(|_| {
            let (wall, c) = time_pre_receive(bare, lines);
            cpu += c;
            wall
        })
        .collect();
    (median(walls), cpu / RUNS as u32)
}

/// The ref's value, all zeros when it does not exist (as pre-receive's input says it).
fn rev(dir: &Path, name: &str) -> String {
    let out = Command::new("git")
        .args(["rev-parse", "-q", "--verify", name])
        .current_dir(dir)
        .output()
        .unwrap();
    let id = String::from_utf8(out.stdout).unwrap().trim().to_string();
    if id.is_empty() {
        "0".repeat(40)
    } else {
        id
    }
}

fn row(what: &str, (wall, cpu): (Duration, Duration)) {
    println!("| {what} | {} | {} |", ms(wall), ms(cpu));
}

fn main() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    git(root, &["init", "-q", "--bare", "server.git"]);
    let bare = root.join("server.git");
    comm(root, &["server", "install", bare.to_str().unwrap()]);
    git(root, &["clone", "-q", bare.to_str().unwrap(), "a"]);
    let a = root.join("a");
    git(&a, &["config", "user.name", "Bench"]);
    git(&a, &["config", "user.email", "bench@example.com"]);
    comm(&a, &["--as", "lead", "join"]);
    comm(&a, &["--as", "alice", "join"]);
    std::fs::write(a.join("plan.yaml"), plan_text(TASKS)).unwrap();
    comm(&a, &["--as", "lead", "plan", "plan.yaml"]);
    comm(&a, &["sync"]);
    let plan_tip = rev(&a, "refs/comm-node/tasks");

    let (tasks_before, leases_before) = (plan_tip.clone(), rev(&a, "refs/comm-node/leases"));
    let listed = Command::new(BIN)
        .args([
            "--as", "alice", "--format", "compact", "task", "list", "--ready",
        ])
        .current_dir(&a)
        .output()
        .unwrap();
    let first = String::from_utf8_lossy(&listed.stdout)
        .split_whitespace()
        .find(|w| w.starts_with("t-"))
        .expect("a ready task")
        .to_string();
    comm(&a, &["--as", "alice", "task", "claim", &first]);
    let (tasks_after, leases_after) = (
        rev(&a, "refs/comm-node/tasks"),
        rev(&a, "refs/comm-node/leases"),
    );
    // The claim's objects reach the server under refs the guard does not judge.
    git(
        &a,
        &[
            "push",
            "-q",
            "origin",
            "refs/comm-node/tasks:refs/bench/tasks",
            "refs/comm-node/leases:refs/bench/leases",
        ],
    );
    let zero = "0".repeat(40);
    let plan_line = format!("{zero} {plan_tip} refs/comm-node/tasks\n");
    let claim_lines = format!(
        "{tasks_before} {tasks_after} refs/comm-node/tasks\n{leases_before} {leases_after} refs/comm-node/leases\n"
    );

    println!("| server guard, {TASKS}-task ledger | median wall (ms) | mean CPU (ms) |");
    println!("|---|---:|---:|");
    row(
        "hook: push of a plan of 10,000 tasks (one commit)",
        hook_runs(&bare, &plan_line),
    );
    row(
        "hook: push of one claim (tasks + lease)",
        hook_runs(&bare, &claim_lines),
    );

    let repo = Repo::discover(&bare).unwrap();
    let id = |hex: &str| ObjectId::from_hex(hex.as_bytes()).unwrap();
    let plan = id(&plan_tip);
    let schema = in_process(|| gate::check_value(&repo, "tasks", plan).unwrap());
    let full = in_process(|| gate::admit(&repo, "tasks", plan, &[]).unwrap());
    row("in process: plan, schema only (check_value)", schema);
    row(
        "in process: plan, schema + history + who may write (admit)",
        full,
    );
    let (before, after) = (id(&tasks_before), id(&tasks_after));
    let pending = vec![("leases".to_string(), id(&leases_after))];
    let claim = in_process(|| gate::admit_in(&repo, "tasks", after, &[before], &pending).unwrap());
    row(
        "in process: claim on the 10,000-task ledger (admit, lease in the same push)",
        claim,
    );
    println!(
        "\nwho may write adds {:.2}x to the plan's admission (10,000 creations judged)",
        full.0.as_secs_f64() / schema.0.as_secs_f64()
    );
}
