//! What the benchmark harnesses share: running git, and the CPU time of finished children.
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_git-comm");

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
    comm_with(BIN, dir, args);
    started.elapsed()
}

/// The `bin` build's `git comm ARGS` in `dir`, asserting success; stdout.
pub fn comm_with(bin: &str, dir: &Path, args: &[&str]) -> String {
    let out = Command::new(bin)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
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
    /// Connections whose connect to the server took more than 500 ms (a full accept queue).
    pub slow_connects: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// CPU of the server processes the proxy started and reaped (inetd mode), microseconds.
    pub server_cpu_micros: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// Where the proxy sends a connection: the listening `git daemon` on a port, or a
/// `git daemon --inetd` of its own serving the repositories under a root.
enum Upstream {
    Port(u16),
    Inetd(std::path::PathBuf),
}

type Halves = (
    Box<dyn std::io::Read + Send>,
    Box<dyn std::io::Write + Send>,
    Option<std::process::Child>,
);

impl Upstream {
    fn open(&self) -> Option<Halves> {
        match self {
            Upstream::Port(port) => {
                let stream = std::net::TcpStream::connect(("127.0.0.1", *port)).ok()?;
                let reader = stream.try_clone().ok()?;
                Some((Box::new(reader), Box::new(HalfClose(stream)), None))
            }
            Upstream::Inetd(root) => {
                let mut child = Command::new(git_daemon_path())
                    .args([
                        "--inetd",
                        &format!("--base-path={}", root.display()),
                        "--export-all",
                        "--enable=receive-pack",
                    ])
                    .arg(root)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .ok()?;
                let (stdin, stdout) = (child.stdin.take()?, child.stdout.take()?);
                Some((Box::new(stdout), Box::new(stdin), Some(child)))
            }
        }
    }
}

/// The write half of a TCP stream: dropping it tells the peer that nothing more comes.
struct HalfClose(std::net::TcpStream);

impl std::io::Write for HalfClose {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

impl Drop for HalfClose {
    fn drop(&mut self) {
        let _ = self.0.shutdown(std::net::Shutdown::Write);
    }
}

impl DelayingProxy {
    /// In front of the `git daemon` listening on `target`.
    pub fn start(target: u16, latency: Duration) -> DelayingProxy {
        Self::serve(Upstream::Port(target), latency)
    }

    /// Each connection served by its own `git daemon --inetd` for the repositories under
    /// `root`, as xinetd or systemd socket activation run it: no single accept loop (git
    /// daemon's listens with a backlog of 5 and sleeps a second per connection past its
    /// limit) sets the pace of a swarm.
    pub fn inetd(root: &Path, latency: Duration) -> DelayingProxy {
        Self::serve(Upstream::Inetd(root.to_path_buf()), latency)
    }

    fn serve(upstream: Upstream, latency: Duration) -> DelayingProxy {
        use std::net::TcpListener;
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let slow_connects = Arc::new(AtomicUsize::new(0));
        let server_cpu_micros = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (counter, slow, server_cpu) = (
            connections.clone(),
            slow_connects.clone(),
            server_cpu_micros.clone(),
        );
        let upstream = Arc::new(upstream);
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let (counter, slow, upstream, server_cpu) = (
                    counter.clone(),
                    slow.clone(),
                    upstream.clone(),
                    server_cpu.clone(),
                );
                // Connect in the connection's own thread: a server slow to accept must not
                // hold up the other clients' connections, as it would not on a network.
                std::thread::spawn(move || {
                    let began = Instant::now();
                    let Some((from_server, to_server, child)) = upstream.open() else {
                        return;
                    };
                    if began.elapsed() > Duration::from_millis(500) {
                        slow.fetch_add(1, Ordering::Relaxed);
                    }
                    counter.fetch_add(1, Ordering::Relaxed);
                    let to_client = HalfClose(client.try_clone().unwrap());
                    let back = std::thread::spawn(move || pump(from_server, to_client, latency));
                    pump(client, to_server, latency);
                    let _ = back.join();
                    if let Some(child) = child {
                        server_cpu.fetch_add(reap(child), Ordering::Relaxed);
                    }
                });
            }
        });
        DelayingProxy {
            port,
            connections,
            slow_connects,
            server_cpu_micros,
        }
    }

    pub fn count(&self) -> usize {
        self.connections.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn slow(&self) -> usize {
        self.slow_connects
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// CPU of the server processes (inetd mode) that ended so far.
    pub fn server_cpu(&self) -> Duration {
        Duration::from_micros(
            self.server_cpu_micros
                .load(std::sync::atomic::Ordering::Relaxed),
        )
    }
}

/// Wait for `child` and return its CPU time with that of the processes it reaped
/// (upload-pack, receive-pack and what they run), in microseconds.
fn reap(child: std::process::Child) -> u64 {
    let pid = child.id() as libc::pid_t;
    // SAFETY: wait4 writes only the status and the rusage it is given; the child is ours
    // and not reaped yet (its `Child` was never waited for).
    let usage = unsafe {
        let (mut status, mut usage): (libc::c_int, libc::rusage) = (0, std::mem::zeroed());
        libc::wait4(pid, &mut status, 0, &mut usage);
        usage
    };
    std::mem::forget(child);
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    micros(usage.ru_utime) + micros(usage.ru_stime)
}

/// Forward `from` to `to`, each chunk after `latency`; dropping `to` closes its direction.
fn pump(mut from: impl std::io::Read, mut to: impl std::io::Write, latency: Duration) {
    let mut buf = [0u8; 64 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                std::thread::sleep(latency);
                if to.write_all(&buf[..n]).is_err() || to.flush().is_err() {
                    break;
                }
            }
        }
    }
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
