//! Mail benchmark: inbox cost against history length and unread count, and send latency.
//! Run: `cargo bench --bench mail` (release build of the real binary, real repositories).
//! History is written with `git fast-import` (one pack, as after `git gc`) so that
//! 100,000 messages take seconds to set up; the messages are the same commits
//! `git comm send` writes.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

#[path = "support/mod.rs"]
mod support;
use support::{children_cpu, comm, git};

const RUNS: usize = 15;

/// Append `count` messages from alice to carol on top of the mail ref via fast-import.
fn import_history(dir: &Path, count: usize) {
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = std::io::BufWriter::new(child.stdin.take().unwrap());
    let start = 1_700_000_000u64;
    for i in 0..count {
        let msg = format!(
            "history {i}\n\nold body {i}\n\nComm-To: carol\nComm-Type: info\nComm-Priority: normal\n"
        );
        writeln!(input, "commit refs/comm-node/mail").unwrap();
        writeln!(
            input,
            "author alice <alice@comm-node> {} +0000",
            start + i as u64
        )
        .unwrap();
        writeln!(
            input,
            "committer alice <alice@comm-node> {} +0000",
            start + i as u64
        )
        .unwrap();
        writeln!(input, "data {}\n{}", msg.len(), msg).unwrap();
        writeln!(input, "deleteall\n").unwrap();
    }
    drop(input);
    assert!(child.wait().unwrap().success());
}

/// Median wall time and mean CPU time of `runs` calls of `op`.
fn measure(runs: usize, mut op: impl FnMut(usize) -> Duration) -> (Duration, Duration) {
    let cpu_before = children_cpu();
    let samples: Vec<Duration> = (0..runs).map(&mut op).collect();
    let cpu = (children_cpu() - cpu_before) / runs as u32;
    (median(samples), cpu)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// A repo with `history` old messages bob has read and `unread` new ones for him.
fn setup(history: usize, unread: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    git(path, &["init", "-q"]);
    for agent in ["alice", "bob", "carol"] {
        comm(path, &["join", agent]);
    }
    import_history(path, history);
    // bob has read everything so far.
    let tip = git(path, &["rev-parse", "refs/comm-node/mail"]);
    git(
        path,
        &["update-ref", "refs/comm-node/cursors/bob", tip.trim()],
    );
    for i in 0..unread {
        comm(
            path,
            &["--as", "alice", "send", "bob", "-s", &format!("new {i}")],
        );
    }
    dir
}

fn time_inbox(dir: &Path) -> (Duration, Duration) {
    measure(RUNS, |_| {
        comm(
            dir,
            &["--as", "bob", "inbox", "--peek", "--format", "compact"],
        )
    })
}

fn main() {
    println!("| history | unread | inbox median wall (ms) | inbox mean CPU (ms) |");
    println!("|---:|---:|---:|---:|");
    for (history, unread) in [(100, 10), (100_000, 10), (100, 100), (100_000, 100)] {
        let dir = setup(history, unread);
        let (wall, cpu) = time_inbox(dir.path());
        println!("| {history} | {unread} | {} | {} |", ms(wall), ms(cpu));
    }

    println!("\n| operation | median wall (ms) | mean CPU (ms) |\n|---|---:|---:|");
    for history in [100, 100_000] {
        let dir = setup(history, 0);
        let (wall, cpu) = time_send(dir.path());
        println!("| send (history {history}) | {} | {} |", ms(wall), ms(cpu));
    }
}

fn time_send(dir: &Path) -> (Duration, Duration) {
    measure(RUNS, |i| {
        comm(
            dir,
            &["--as", "alice", "send", "bob", "-s", &format!("s{i}")],
        )
    })
}
