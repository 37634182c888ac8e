//! Server guard benchmark: the pre-receive hook judging a push of 10 commits that touch 10
//! files each, to a protected branch of a 5,000-file repository with domains and an import
//! rule. Run: `cargo bench --bench server` (release binary). The pushed commits are first
//! stored under an unprotected ref, so the timing is the hook alone: `git comm hook
//! pre-receive` reading the update line on stdin in the bare repository, as git runs it.

use std::time::Duration;

#[path = "support/mod.rs"]
mod support;
use support::{comm, git, time_pre_receive};

const FILES: usize = 5_000;
const DOMAINS: usize = 10;
const COMMITS: usize = 10;
const FILES_PER_COMMIT: usize = 10;
const RUNS: usize = 15;

fn file(i: usize) -> String {
    format!("src/d{}/m{i}.ts", i % DOMAINS)
}

fn content(i: usize, round: usize) -> String {
    // Each module imports a sibling in its own domain (allowed).
    let sibling = (i + DOMAINS) % FILES;
    format!(
        "import {{ v{sibling} }} from \"./m{sibling}\";\nexport const v{i} = {round} + v{sibling};\n"
    )
}

fn config() -> String {
    let mut yaml = String::from("version: 1\ndomains:\n");
    for d in 0..DOMAINS {
        yaml.push_str(&format!(
            "  d{d}:\n    scope: [\"src/d{d}/**\"]\n    forbidden_imports: [\"src/d{}/**\"]\n",
            (d + 1) % DOMAINS
        ));
    }
    yaml
}

fn main() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    git(root, &["init", "-q", "--bare", "server.git"]);
    let bare = root.join("server.git");
    comm(
        root,
        &[
            "server",
            "install",
            bare.to_str().unwrap(),
            "--protect",
            "main",
        ],
    );
    git(root, &["clone", "-q", bare.to_str().unwrap(), "work"]);
    let work = root.join("work");
    git(&work, &["config", "user.name", "bench"]);
    git(&work, &["config", "user.email", "bench@example.com"]);
    std::fs::create_dir_all(work.join(".comm-node")).unwrap();
    std::fs::write(work.join(".comm-node/config.yaml"), config()).unwrap();
    for i in 0..FILES {
        let path = work.join(file(i));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content(i, 0)).unwrap();
    }
    git(&work, &["add", "."]);
    git(&work, &["commit", "-q", "-m", "5000 files"]);
    git(&work, &["push", "-q", "origin", "HEAD:main"]);
    let base = git(&work, &["rev-parse", "HEAD"]).trim().to_string();
    for c in 0..COMMITS {
        for f in 0..FILES_PER_COMMIT {
            let i = (c * 97 + f * 13) % FILES;
            std::fs::write(work.join(file(i)), content(i, c + 1)).unwrap();
        }
        git(&work, &["commit", "-q", "-a", "-m", &format!("change {c}")]);
    }
    let tip = git(&work, &["rev-parse", "HEAD"]).trim().to_string();
    git(&work, &["push", "-q", "origin", "HEAD:refs/bench/staged"]);
    let line = format!("{base} {tip} refs/heads/main\n");
    let _ = time_pre_receive(&bare, &line); // first run fills the import cache, as the first push would
    let mut samples: Vec<(Duration, Duration)> =
        (0..RUNS).map(|_| time_pre_receive(&bare, &line)).collect();
    let cpu: Duration = samples.iter().map(|s| s.1).sum::<Duration>() / RUNS as u32;
    samples.sort();
    let cold = {
        let cache = bare.join("comm-node");
        let _ = std::fs::remove_dir_all(&cache);
        time_pre_receive(&bare, &line).0
    };
    println!("| pre-receive hook: {COMMITS} commits x {FILES_PER_COMMIT} files, {FILES}-file repo, protected branch | median wall (ms) | mean CPU (ms) |");
    println!("|---|---:|---:|");
    println!(
        "| warm import cache | {:.1} | {:.1} |",
        samples[RUNS / 2].0.as_secs_f64() * 1000.0,
        cpu.as_secs_f64() * 1000.0
    );
    println!(
        "| first run after removing the cache dir (one sample) | {:.1} | |",
        cold.as_secs_f64() * 1000.0
    );
}
