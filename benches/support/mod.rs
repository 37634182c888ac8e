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

/// `git comm hook pre-receive` in the bare repository `bare`, fed `lines` (`<old> <new>
/// <ref>` each) on stdin exactly as git runs the installed hook; asserts it accepted the push.
/// Its wall time, and the CPU time of the child beside it.
pub fn time_pre_receive(bare: &Path, lines: &str) -> (Duration, Duration) {
    let cpu_before = children_cpu();
    let started = Instant::now();
    let mut child = Command::new(BIN)
        .args(["hook", "pre-receive"])
        .current_dir(bare)
        .env("GIT_DIR", bare)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let wall = started.elapsed();
    assert!(
        out.status.success(),
        "hook refused: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (wall, children_cpu() - cpu_before)
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

/// A loopback TCP proxy in front of `git daemon` that forwards every chunk after a delay
/// (both ways) and counts the connections it accepted: one per fetch, push or ls-refs.
pub struct DelayingProxy {
    pub port: u16,
    pub connections: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl DelayingProxy {
    pub fn start(target: u16, latency: Duration) -> DelayingProxy {
        use std::net::{TcpListener, TcpStream};
        use std::sync::atomic::Ordering;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = connections.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                counter.fetch_add(1, Ordering::Relaxed);
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || pump(client, server, latency));
                std::thread::spawn(move || pump(s2, c2, latency));
            }
        });
        DelayingProxy { port, connections }
    }

    pub fn count(&self) -> usize {
        self.connections.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Forward `from` to `to`, each chunk after `latency`.
fn pump(mut from: std::net::TcpStream, mut to: std::net::TcpStream, latency: Duration) {
    use std::io::{Read, Write};
    let mut buf = [0u8; 64 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                std::thread::sleep(latency);
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `git-daemon` itself (not `git daemon`, whose wrapper process would be killed instead of
/// the daemon, leaving it running).
fn git_daemon_path() -> std::path::PathBuf {
    std::path::PathBuf::from(git(Path::new("."), &["--exec-path"]).trim()).join("git-daemon")
}

/// `git daemon` serving every repository under `root` (push enabled), killed on drop.
pub struct Daemon(std::process::Child);

impl Daemon {
    pub fn start(root: &Path, port: u16) -> Daemon {
        let child = Command::new(git_daemon_path())
            .args([
                "--reuseaddr",
                "--listen=127.0.0.1",
                &format!("--port={port}"),
                &format!("--base-path={}", root.display()),
                "--export-all",
                "--enable=receive-pack",
            ])
            .arg(root)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "git daemon did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Daemon(child)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
