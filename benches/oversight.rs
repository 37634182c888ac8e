//! Oversight benchmark: `report`, `stats`, `watch --once` and `status` on a swarm with
//! 100,000 messages (8 agents, 30 days) and 10,000 tasks. Run: `cargo bench --bench
//! oversight` (release build of the real binary; history written with `git fast-import` and
//! packed, as after `git gc`). Prints median wall and mean CPU time (user + system of the
//! child) per command.

use std::path::Path;

use git_comm::mail::Priority;
use git_comm::repo::Repo;
use git_comm::task::{ledger, Task};

#[path = "support/mod.rs"]
mod support;
use support::{comm, git, measure, ms};

const AGENTS: [&str; 8] = ["a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7"];
const MESSAGES: usize = 100_000;
const TASKS: usize = 10_000;
const SPAN_SECS: u64 = 30 * 86_400;

/// `MESSAGES` messages among the agents over the last 30 days, through fast-import.
fn import_mail(dir: &Path) {
    let agents: Vec<String> = AGENTS.iter().map(|a| a.to_string()).collect();
    support::import_mail(dir, &agents, MESSAGES, SPAN_SECS);
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
    let tree = ledger::tree_with(repo, None, &tasks).unwrap();
    let commit = repo
        .write_commit(tree, &[], "a0", "seed 10000 tasks\n")
        .unwrap();
    repo.swap_ref(&ledger::tasks_ref(repo), None, commit)
        .unwrap();
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
