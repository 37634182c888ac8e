//! Oversight benchmark: `report`, `stats`, `watch --once` and `status` on a swarm with
//! 100,000 messages (8 agents, 30 days) and 10,000 tasks. Run: `cargo bench --bench
//! oversight` (release build of the real binary; history written with `git fast-import` and
//! packed, as after `git gc`). Prints median wall and mean CPU time (user + system of the
//! child) per command.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use git_comm::mail::Priority;
use git_comm::repo::Repo;
use git_comm::task::{ledger, Task};

#[path = "support/mod.rs"]
mod support;
use support::{children_cpu, comm, git};

const AGENTS: [&str; 8] = ["a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7"];
const MESSAGES: usize = 100_000;
const TASKS: usize = 10_000;
const SPAN_SECS: u64 = 30 * 86_400;

/// `MESSAGES` messages among the agents over the last 30 days, through fast-import.
fn import_mail(dir: &Path) {
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
    let start = now - SPAN_SECS;
    for i in 0..MESSAGES {
        let from = AGENTS[i % AGENTS.len()];
        let to = if i % 10 == 0 {
            "all"
        } else {
            AGENTS[(i * 7 + 3) % AGENTS.len()]
        };
        let body = "a line of a message body about the work\n".repeat(1 + i % 5);
        let msg = format!(
            "message {i}\n\n{body}\nComm-To: {to}\nComm-Type: info\nComm-Priority: normal\n"
        );
        let time = start + (i as u64 * SPAN_SECS) / MESSAGES as u64;
        writeln!(input, "commit refs/comm-node/mail").unwrap();
        writeln!(input, "author {from} <{from}@comm-node> {time} +0000").unwrap();
        writeln!(input, "committer {from} <{from}@comm-node> {time} +0000").unwrap();
        writeln!(input, "data {}\n{}", msg.len(), msg).unwrap();
        writeln!(input, "deleteall\n").unwrap();
    }
    drop(input);
    assert!(child.wait().unwrap().success());
}

/// `TASKS` tasks in chains of ten (each after the previous), most done, some open or claimed.
fn seed_tasks(repo: &Repo) {
    let tasks: Vec<Task> = (0..TASKS)
        .map(|i| {
            let state = match i % 20 {
                0 => "open",
                1 => "claimed",
                2 => "blocked",
                _ => "done",
            };
            Task {
                id: format!("t-{i:08x}"),
                title: format!("task number {i} of the plan"),
                body: String::new(),
                domain: None,
                priority: Priority::Normal,
                after: if i % 10 == 0 {
                    Vec::new()
                } else {
                    vec![format!("t-{:08x}", i - 1)]
                },
                needs: Vec::new(),
                state: state.to_string(),
                assignee: (state != "open").then(|| AGENTS[i % AGENTS.len()].to_string()),
                claim: None,
                creator: "a0".into(),
                created: i as i64,
                updated: i as i64,
                note: None,
            }
        })
        .collect();
    let tree = ledger::write_tree(repo, &tasks).unwrap();
    let commit = repo
        .write_commit(tree, &[], "a0", "seed 10000 tasks\n")
        .unwrap();
    repo.swap_ref(&ledger::tasks_ref(repo), None, commit)
        .unwrap();
}

fn measure(dir: &Path, runs: usize, args: &[&str]) -> (Duration, Duration) {
    let cpu_before = children_cpu();
    let mut samples: Vec<Duration> = (0..runs).map(|_| comm(dir, args)).collect();
    let cpu = (children_cpu() - cpu_before) / runs as u32;
    samples.sort();
    (samples[runs / 2], cpu)
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    git(path, &["init", "-q"]);
    for agent in AGENTS {
        comm(path, &["join", agent]);
    }
    import_mail(path);
    let repo = Repo::discover(path).unwrap();
    seed_tasks(&repo);
    for (i, agent) in AGENTS.iter().enumerate() {
        for j in 0..5 {
            let glob = format!("src/{agent}/{j}/**");
            comm(path, &["--as", agent, "lease", &glob]);
            if (i + j) % 2 == 0 {
                comm(path, &["--as", agent, "release", "--all"]);
            }
        }
    }
    // a1 has read everything: status and inbox cost follows unread mail.
    let tip = git(path, &["rev-parse", "refs/comm-node/mail"]);
    git(
        path,
        &["update-ref", "refs/comm-node/cursors/a1", tip.trim()],
    );
    git(path, &["gc", "-q"]);
    let report = path.join("report.html");
    let report = report.to_str().unwrap();
    println!(
        "| command ({MESSAGES} messages, {TASKS} tasks, 8 agents) | median wall (ms) | mean CPU (ms) |"
    );
    println!("|---|---:|---:|");
    for (runs, args) in [
        (15, &["--as", "a1", "status"][..]),
        (15, &["--as", "a1", "status", "--format", "compact"][..]),
        (5, &["watch", "--once"][..]),
        (5, &["stats", "--json"][..]),
        (5, &["stats", "--since", "1d", "--json"][..]),
        (5, &["report", "-o", report][..]),
    ] {
        let (wall, cpu) = measure(path, runs, args);
        println!("| `{}` | {} | {} |", args.join(" "), ms(wall), ms(cpu));
    }
    let size = std::fs::metadata(report).unwrap().len();
    println!("\nreport size: {} KiB", size / 1024);
}
