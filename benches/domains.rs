//! Does the number of domains matter? The same 1,000-file Python corpus checked warm (import
//! cache filled) with 10 domains (one per package) and with 1,000 domains (one per file),
//! each forbidding imports of its neighbour.
//!
//! `cargo bench --bench domains` (release build). Prints a markdown table: median wall time
//! and median CPU time (user + system of the `git comm` process) per scenario.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_git-comm");
const PACKAGES: usize = 10;
const FILES_PER_PACKAGE: usize = 100;
const RUNS: usize = 15;

fn main() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = tmp.path();
    build_corpus(repo);
    let mut rows = Vec::new();
    for (name, config) in [
        ("10 domains", per_package_config()),
        ("1,000 domains", per_file_config()),
    ] {
        std::fs::write(repo.join(".comm-node/config.yaml"), config).unwrap();
        let findings = check(repo).0;
        rows.push((name, findings, measure(repo)));
    }
    let files = PACKAGES * FILES_PER_PACKAGE;
    println!("\nWarm `git comm check` on {files} Python files, {RUNS} runs each\n");
    println!("| domains | findings | median wall ms | median CPU ms |");
    println!("|---|---:|---:|---:|");
    for (name, findings, (wall, cpu)) in &rows {
        println!("| {name} | {findings} | {wall:.1} | {cpu:.1} |");
    }
    let ratio = rows[1].2 .0 / rows[0].2 .0;
    println!("\n1,000 domains / 10 domains, wall: {ratio:.2}x");
}

fn build_corpus(repo: &Path) {
    git(repo, &["init", "-q"]);
    std::fs::create_dir_all(repo.join(".comm-node")).unwrap();
    write(repo, "pyproject.toml", "[project]\nname = \"corpus\"\n");
    write(repo, "pkg/__init__.py", "");
    for p in 0..PACKAGES {
        write(repo, &format!("pkg/mod{p}/__init__.py"), "");
        for f in 0..FILES_PER_PACKAGE {
            write(repo, &format!("pkg/mod{p}/f{f}.py"), &module_source(p, f));
        }
    }
    git(repo, &["add", "-A"]);
    git(
        repo,
        &[
            "-c",
            "user.name=bench",
            "-c",
            "user.email=bench@example.com",
            "commit",
            "-qm",
            "corpus",
        ],
    );
}

/// Imports of the next file, of files in the next two packages, and of packages.
fn module_source(p: usize, f: usize) -> String {
    let next = (f + 1) % FILES_PER_PACKAGE;
    let other = (p + 1) % PACKAGES;
    let far = (p + 2) % PACKAGES;
    format!(
        "import os\nimport requests\nfrom pkg.mod{p} import f{next}\nfrom pkg.mod{other} import f{f}\nfrom pkg.mod{far}.f{next} import thing\n\n\ndef thing():\n    return os.getcwd()\n"
    )
}

fn per_package_config() -> String {
    let mut config = String::from("version: 1\ndomains:\n");
    for p in 0..PACKAGES {
        let next = (p + 1) % PACKAGES;
        config.push_str(&format!(
            "  m{p}:\n    scope: [\"pkg/mod{p}/**\"]\n    forbidden_imports: [\"pkg/mod{next}/**\"]\n    forbidden_packages: [\"requests\"]\n"
        ));
    }
    config
}

fn per_file_config() -> String {
    let mut config = String::from("version: 1\ndomains:\n");
    for p in 0..PACKAGES {
        for f in 0..FILES_PER_PACKAGE {
            let next = (f + 1) % FILES_PER_PACKAGE;
            config.push_str(&format!(
                "  m{p}-f{f}:\n    scope: [\"pkg/mod{p}/f{f}.py\"]\n    forbidden_imports: [\"pkg/mod{p}/f{next}.py\"]\n    forbidden_packages: [\"requests\"]\n"
            ));
        }
    }
    config
}

/// (findings, CPU time) of one `git comm check --format json`.
fn check(repo: &Path) -> (usize, Duration) {
    let before = children_cpu();
    let out = Command::new(BIN)
        .args(["check", "--format", "json"])
        .current_dir(repo)
        .stdin(Stdio::null())
        .output()
        .expect("spawn git-comm");
    let cpu = children_cpu() - before;
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "check failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json report");
    (report["findings"].as_array().map_or(0, Vec::len), cpu)
}

/// Median wall and CPU milliseconds over `RUNS` warm runs.
fn measure(repo: &Path) -> (f64, f64) {
    let mut wall = Vec::new();
    let mut cpu = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        let (_, used) = check(repo);
        wall.push(start.elapsed().as_secs_f64() * 1000.0);
        cpu.push(used.as_secs_f64() * 1000.0);
    }
    (median(wall), median(cpu))
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(|a, b| a.total_cmp(b));
    samples[samples.len() / 2]
}

/// User + system time of every waited-for child so far.
fn children_cpu() -> Duration {
    // SAFETY: getrusage only writes into the struct we pass.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

fn write(repo: &Path, rel: &str, content: &str) {
    let path = repo.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

fn git(repo: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(args)
        .current_dir(repo)
        .stdin(Stdio::null())
        .status()
        .expect("spawn git");
    assert!(status.success(), "git {args:?}");
}
