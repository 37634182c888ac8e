//! Cost of verified identity: the same swarm with `identity.signed: off` (no signing key)
//! and `required` (every commit signed with ed25519 by ssh-keygen, verified in-process),
//! measured in one run with the runs of both interleaved. Run: `cargo bench --bench signing`.
//!
//! - send: one `git comm send` (the write that signs: one `ssh-keygen -Y sign`);
//! - sync, 10 new: a clone's sync that admits 10 new messages (each verified) and writes its
//!   own signed merge;
//! - sync, fresh clone: a new clone's first sync, admitting the whole 200-message history;
//! - guard, 10 new: the pre-receive hook judging a push that adds 10 messages to an outbox;
//! - guard, 200: the hook judging a push of a whole 200-message outbox.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

#[path = "support/mod.rs"]
mod support;
use support::{children_cpu, comm, git, time_pre_receive};

const AGENTS: usize = 4;
const MESSAGES: usize = 200;
const RUNS: usize = 7;
/// Messages one increment adds (a typical sync's worth).
const STEP: usize = 10;

struct Setup {
    root: tempfile::TempDir,
    bare: PathBuf,
    key: Option<PathBuf>,
    writer: PathBuf,
    reader: PathBuf,
    send: Vec<(Duration, Duration)>,
}

fn agent(i: usize) -> String {
    format!("agent-{i}")
}

fn setup(mode: &'static str) -> Setup {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    git(dir, &["init", "-q", "--bare", "remote.git"]);
    let bare = dir.join("remote.git");
    let key = (mode != "off").then(|| {
        let key = dir.join("key");
        let out = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&key)
            .output()
            .unwrap();
        assert!(out.status.success());
        key
    });
    let admin = clone(&bare, dir, "admin", None);
    let principals: Vec<String> = (0..AGENTS).map(agent).collect();
    let signers = match &key {
        Some(key) => {
            let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
            format!("{} {}", principals.join(","), public)
        }
        None => String::new(),
    };
    std::fs::create_dir_all(admin.join(".comm-node")).unwrap();
    std::fs::write(admin.join(".comm-node/allowed_signers"), signers).unwrap();
    std::fs::write(
        admin.join(".comm-node/config.yaml"),
        format!("version: 1\nidentity:\n  signed: {mode}\n  allowed_signers: .comm-node/allowed_signers\n"),
    )
    .unwrap();
    git(&admin, &["add", ".comm-node"]);
    git(&admin, &["commit", "-q", "-m", "identity"]);
    git(&admin, &["push", "-q", "origin", "HEAD:refs/heads/main"]);
    git(&bare, &["symbolic-ref", "HEAD", "refs/heads/main"]);
    let writer = clone(&bare, dir, "writer", key.as_deref());
    let mut send = Vec::new();
    for a in &principals {
        comm(&writer, &["--as", a, "join"]);
    }
    for i in 0..MESSAGES {
        let from = &principals[i % AGENTS];
        let cpu = children_cpu();
        let wall = comm(
            &writer,
            &["--as", from, "send", "all", "-s", "note", "-m", "body"],
        );
        send.push((wall, children_cpu() - cpu));
    }
    comm(&writer, &["sync"]);
    let reader = clone(&bare, dir, "reader", key.as_deref());
    comm(&reader, &["--as", &agent(0), "sync"]);
    Setup {
        root,
        bare,
        key,
        writer,
        reader,
        send,
    }
}

/// The reader's sync after the writer pushed `STEP` new messages.
fn time_sync_step(s: &Setup) -> (Duration, Duration) {
    for i in 0..STEP {
        let from = agent(i % AGENTS);
        comm(
            &s.writer,
            &["--as", &from, "send", "all", "-s", "more", "-m", "body"],
        );
    }
    comm(&s.writer, &["sync"]);
    let cpu = children_cpu();
    let wall = comm(&s.reader, &["--as", &agent(0), "sync"]);
    (wall, children_cpu() - cpu)
}

fn clone(bare: &Path, dir: &Path, name: &str, key: Option<&Path>) -> PathBuf {
    git(dir, &["clone", "-q", bare.to_str().unwrap(), name]);
    let path = dir.join(name);
    git(&path, &["config", "user.name", "Bench"]);
    git(&path, &["config", "user.email", "bench@example.com"]);
    if let Some(key) = key {
        git(&path, &["config", "gpg.format", "ssh"]);
        git(&path, &["config", "user.signingkey", key.to_str().unwrap()]);
    }
    path
}

/// A fresh clone's first sync: (wall, CPU of the process).
fn time_sync_fresh(s: &Setup, run: usize) -> (Duration, Duration) {
    let reader = clone(
        &s.bare,
        s.root.path(),
        &format!("reader-{run}"),
        s.key.as_deref(),
    );
    let cpu = children_cpu();
    let wall = comm(&reader, &["--as", &agent(0), "sync"]);
    (wall, children_cpu() - cpu)
}

/// The pre-receive hook judging a push of the writer's outbox: from nothing (`whole`), or
/// the last `STEP` commits of its first-parent line.
fn time_guard(s: &Setup, whole: bool) -> (Duration, Duration) {
    let outbox = git(
        &s.bare,
        &[
            "for-each-ref",
            "--format=%(objectname) %(refname)",
            "refs/comm-node/outbox/",
        ],
    );
    let first = outbox.lines().next().expect("the writer's outbox");
    let old = if whole {
        "0".repeat(40)
    } else {
        let tip = first.split(' ').next().unwrap();
        git(&s.bare, &["rev-parse", &format!("{tip}~{STEP}")])
            .trim()
            .to_string()
    };
    let line = format!("{old} {first}\n");
    time_pre_receive(&s.bare, &line)
}

fn median(mut samples: Vec<(Duration, Duration)>) -> (f64, f64) {
    samples.sort();
    let (wall, cpu) = samples[samples.len() / 2];
    (wall.as_secs_f64() * 1e3, cpu.as_secs_f64() * 1e3)
}

fn main() {
    let setups = [setup("off"), setup("required")];
    let cases = [
        "sync, 10 new messages",
        "sync, fresh clone (200 messages)",
        "guard, push adding 10 messages",
        "guard, push of 200 messages",
    ];
    let mut samples = vec![vec![Vec::new(), Vec::new()]; cases.len()];
    for run in 0..RUNS {
        for (i, s) in setups.iter().enumerate() {
            samples[0][i].push(time_sync_step(s));
            samples[1][i].push(time_sync_fresh(s, run));
            samples[2][i].push(time_guard(s, false));
            samples[3][i].push(time_guard(s, true));
        }
    }
    println!("{AGENTS} agents; medians of {RUNS} runs (send: of {MESSAGES}), wall / CPU in ms");
    println!("| case | signed: off | signed: required | ratio (wall) | ratio (CPU) |");
    println!("| --- | --- | --- | --- | --- |");
    let send = [
        median(setups[0].send.clone()),
        median(setups[1].send.clone()),
    ];
    row("send, one message", send[0], send[1]);
    for (name, runs) in cases.iter().zip(samples) {
        row(name, median(runs[0].clone()), median(runs[1].clone()));
    }
}

fn row(name: &str, off: (f64, f64), on: (f64, f64)) {
    println!(
        "| {name} | {:.1} / {:.1} | {:.1} / {:.1} | {:.2}x | {:.2}x |",
        off.0,
        off.1,
        on.0,
        on.1,
        on.0 / off.0,
        on.1 / off.1
    );
}
