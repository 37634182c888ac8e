//! Task benchmark: `task list --ready` and `next` with 10,000 tasks of which 100 are ready
//! (9,900 done). Run: `cargo bench --bench tasks` (release build of the real binary; the
//! ledger is packed, as after `git gc`).

use std::time::Duration;

use git_comm::mail::Priority;
use git_comm::repo::Repo;
use git_comm::task::{ledger, Task};

#[path = "support/mod.rs"]
mod support;
use support::{comm, git};

const TASKS: usize = 10_000;
const READY: usize = 100;
const RUNS: usize = 15;

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    git(path, &["init", "-q"]);
    comm(path, &["join", "lead"]);
    let repo = Repo::discover(path).unwrap();
    let tasks: Vec<Task> = (0..TASKS)
        .map(|i| Task {
            id: format!("t-{i:08x}"),
            title: format!("task {i}"),
            body: String::new(),
            domain: None,
            priority: Priority::Normal,
            after: Vec::new(),
            needs: Vec::new(),
            state: if i < TASKS - READY { "done" } else { "open" }.to_string(),
            assignee: None,
            claim: None,
            creator: "lead".into(),
            created: i as i64,
            updated: i as i64,
            note: None,
        })
        .collect();
    let tree = ledger::tree_with(&repo, None, &tasks).unwrap();
    let commit = repo
        .write_commit(tree, &[], "lead", "seed 10000 tasks\n")
        .unwrap();
    repo.swap_ref(&ledger::tasks_ref(&repo), None, commit)
        .unwrap();
    git(path, &["gc", "-q"]);
    println!("| command ({TASKS} tasks, {READY} ready) | median (ms) |\n|---|---:|");
    for args in [
        &[
            "--as", "lead", "task", "list", "--ready", "--format", "compact",
        ][..],
        &["--as", "lead", "next"][..],
    ] {
        let mut samples: Vec<Duration> = (0..RUNS).map(|_| comm(path, args)).collect();
        samples.sort();
        println!(
            "| `{}` | {:.1} |",
            args[2..].join(" "),
            samples[RUNS / 2].as_secs_f64() * 1000.0
        );
    }
}
