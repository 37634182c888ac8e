//! What the benchmark harnesses share: running git, and the CPU time of finished children.
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_git-comm");

/// `git ARGS` in `dir`, asserting success; stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// CPU time (user + system) of all waited-for children so far (getrusage, microseconds).
pub fn children_cpu() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

/// `git comm ARGS` in `dir`, asserting success; its wall time (process start included).
pub fn comm(dir: &Path, args: &[&str]) -> Duration {
    let started = Instant::now();
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    elapsed
}

/// `messages` mail commits among `agents` over the last `span_secs`, written with
/// `git fast-import` as `git comm send` writes them (one in ten to all).
pub fn import_mail(dir: &Path, agents: &[String], messages: usize, span_secs: u64) {
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = std::io::BufWriter::new(child.stdin.take().unwrap());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let start = now - span_secs;
    for i in 0..messages {
        let from = &agents[i % agents.len()];
        let to = if i % 10 == 0 {
            "all"
        } else {
            &agents[(i * 7 + 3) % agents.len()]
        };
        let body = "a line of a message body about the work\n".repeat(1 + i % 5);
        let msg = format!(
            "message {i}\n\n{body}\nComm-To: {to}\nComm-Type: info\nComm-Priority: normal\n"
        );
        let time = start + (i as u64 * span_secs) / messages as u64;
        writeln!(input, "commit refs/comm-node/mail").unwrap();
        writeln!(input, "author {from} <{from}@comm-node> {time} +0000").unwrap();
        writeln!(input, "committer {from} <{from}@comm-node> {time} +0000").unwrap();
        writeln!(input, "data {}\n{}", msg.len(), msg).unwrap();
        writeln!(input, "deleteall\n").unwrap();
    }
    drop(input);
    assert!(child.wait().unwrap().success());
}

/// Median wall time and mean CPU time (the child's user + system) of `runs` runs.
pub fn measure(dir: &Path, runs: usize, args: &[&str]) -> (Duration, Duration) {
    let cpu_before = children_cpu();
    let mut samples: Vec<Duration> = (0..runs).map(|_| comm(dir, args)).collect();
    let cpu = (children_cpu() - cpu_before) / runs as u32;
    samples.sort();
    (samples[runs / 2], cpu)
}

/// Milliseconds with one decimal.
pub fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}
