//! Cost of verified identity: the same swarm with `identity.signed: off` (no signing key)
//! and `required` (every commit signed with ed25519 by ssh-keygen, verified in-process),
//! measured in one run with the runs of both interleaved. Run: `cargo bench --bench signing`.
//!
//! - send: one `git comm send` (the write that signs, one `ssh-keygen -Y sign`);
//! - sync: a fresh clone's first `git comm sync`, admitting 200 messages (each verified)
//!   from 4 agents and writing its own signed commits;
//! - guard: the pre-receive hook judging a push of the writer's outbox (its whole
//!   200-message mail history).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "support/mod.rs"]
mod support;
use support::{children_cpu, comm, git};

const BIN: &str = env!("CARGO_BIN_EXE_git-comm");
const AGENTS: usize = 4;
const MESSAGES: usize = 200;
const RUNS: usize = 7;

struct Setup {
    root: tempfile::TempDir,
    bare: PathBuf,
    key: Option<PathBuf>,
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
    Setup {
        root,
        bare,
        key,
        send,
    }
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
fn time_sync(s: &Setup, run: usize) -> (Duration, Duration) {
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

/// The pre-receive hook judging a push of the whole mail history.
fn time_guard(s: &Setup) -> (Duration, Duration) {
    let outbox = git(
        &s.bare,
        &[
            "for-each-ref",
            "--format=%(objectname) %(refname)",
            "refs/comm-node/outbox/",
        ],
    );
    let first = outbox.lines().next().expect("the writer's outbox");
    let line = format!("{} {first}\n", "0".repeat(40));
    let cpu = children_cpu();
    let started = Instant::now();
    let mut child = Command::new(BIN)
        .args(["hook", "pre-receive"])
        .current_dir(&s.bare)
        .env("GIT_DIR", &s.bare)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(line.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let wall = started.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (wall, children_cpu() - cpu)
}

fn median(mut samples: Vec<(Duration, Duration)>) -> (f64, f64) {
    samples.sort();
    let (wall, cpu) = samples[samples.len() / 2];
    (wall.as_secs_f64() * 1e3, cpu.as_secs_f64() * 1e3)
}

fn main() {
    let setups = [setup("off"), setup("required")];
    let mut sync: Vec<Vec<(Duration, Duration)>> = vec![Vec::new(), Vec::new()];
    let mut guard: Vec<Vec<(Duration, Duration)>> = vec![Vec::new(), Vec::new()];
    for run in 0..RUNS {
        for (i, s) in setups.iter().enumerate() {
            sync[i].push(time_sync(s, run));
            guard[i].push(time_guard(s));
        }
    }
    println!("{MESSAGES} messages from {AGENTS} agents; medians, wall / CPU in ms");
    println!("| case | signed: off | signed: required | ratio (wall) |");
    println!("| --- | --- | --- | --- |");
    let cases = [
        (
            "send (one message)",
            median(setups[0].send.clone()),
            median(setups[1].send.clone()),
        ),
        (
            "sync (fresh clone, 200 messages)",
            median(sync[0].clone()),
            median(sync[1].clone()),
        ),
        (
            "guard (push of 200 messages)",
            median(guard[0].clone()),
            median(guard[1].clone()),
        ),
    ];
    for (name, off, on) in cases {
        println!(
            "| {name} | {:.1} / {:.1} | {:.1} / {:.1} | {:.2}x |",
            off.0,
            off.1,
            on.0,
            on.1,
            on.0 / off.0
        );
    }
}
