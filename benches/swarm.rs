//! Swarm-size benchmark: the costs issue 19 names, at the sizes it names.
//! - `plan`: `plan` of 200, 1,600, 1,000 and 10,000 tasks (chains of ten) and `task import` of
//!   1,000 and 10,000 Beads issues, each into a fresh repository;
//! - `bytes`: bytes of new objects one task change writes on a 10,000-task ledger (claim,
//!   start, done, reopen), uncompressed, as `git cat-file --batch-check` sizes them;
//! - `oversight`: `who`, `status`, `watch --once` and `inbox` with 200 agents, 1,000,000
//!   messages of history and 10,000 tasks (history written with fast-import, then packed).
//! - `leases`: one grant and one release on a lease ledger of 100, 1,000 and 10,000 entries
//!   (live leases and tombstones, as a swarm's ledger holds within one lease lifetime).
//! - `sync`: one clone's steady-state `sync` at 128 clones (`SYNC_CLONES`), after each of the
//!   other 127 sent a message and synced, and after its own `send`: the remote is a local
//!   path, so the remote's `upload-pack` and `receive-pack` count in the CPU. The remote and
//!   the clone are restored from a copy before each run (`SYNC_RUNS`, default 9). With
//!   `GIT_COMM_BIN` set, that build is measured too, alternated run by run, on a snapshot
//!   it wrote itself.
//!
//! Run: `cargo bench --bench swarm` (all), or `cargo bench --bench swarm -- plan bytes`.
//! Wall time is the median (plan: one run each), CPU the child's user + system time.

use std::path::Path;
use std::time::Duration;

#[path = "support/mod.rs"]
mod support;
use support::{children_cpu, comm, comm_with, git, measure, ms};

const HISTORY: usize = 1_000_000;
const AGENTS: usize = 200;

fn main() {
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wants = |part: &str| wanted.is_empty() || wanted.iter().any(|w| w == part);
    if wants("plan") {
        plan_and_import();
    }
    if wants("bytes") {
        bytes_per_change();
    }
    if wants("oversight") {
        oversight();
    }
    if wants("leases") {
        lease_ledger();
    }
    if wants("sync") {
        one_sync();
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `n` clones of one bare remote in `root` (`r.git`, `c0`..), written by `bin`: each joined
/// and synced twice (so every clone has seen every card), then every clone but `c0` sends
/// to `c0` and syncs, `c0` syncs, the others send and sync again, and `c0` sends: `c0`'s
/// next sync fetches 127 moved outboxes and pushes one. Kept as `r.snap` and `c0.snap`.
fn sync_snapshot(root: &Path, n: usize, bin: &str) {
    git(root, &["init", "-q", "--bare", "r.git"]);
    let clone = |i: usize| root.join(format!("c{i}"));
    for i in 0..n {
        git(root, &["clone", "-q", "r.git", &format!("c{i}")]);
        git(&clone(i), &["config", "user.name", &format!("c{i}")]);
        git(&clone(i), &["config", "user.email", "c@example.com"]);
        comm_with(bin, &clone(i), &["--as", &format!("c{i}"), "join"]);
    }
    for _ in 0..2 {
        for i in 0..n {
            comm_with(bin, &clone(i), &["sync"]);
        }
    }
    for round in ["m", "n"] {
        for i in 1..n {
            let subject = format!("{round} {i}");
            comm_with(
                bin,
                &clone(i),
                &["--as", &format!("c{i}"), "send", "c0", "-s", &subject],
            );
            comm_with(bin, &clone(i), &["sync"]);
        }
        if round == "m" {
            comm_with(bin, &clone(0), &["sync"]);
        }
    }
    comm_with(bin, &clone(0), &["--as", "c0", "send", "c1", "-s", "n 0"]);
    std::fs::rename(root.join("r.git"), root.join("r.snap")).unwrap();
    std::fs::rename(clone(0), root.join("c0.snap")).unwrap();
}

fn copy_tree(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    let status = std::process::Command::new("cp")
        .args(["-a", from.to_str().unwrap(), to.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// One restored sync of `c0` by `bin`: (wall, CPU of every process it started).
fn timed_sync(root: &Path, bin: &str) -> (Duration, Duration) {
    copy_tree(&root.join("r.snap"), &root.join("r.git"));
    copy_tree(&root.join("c0.snap"), &root.join("c0"));
    let cpu_before = children_cpu();
    let started = std::time::Instant::now();
    comm_with(bin, &root.join("c0"), &["sync"]);
    (started.elapsed(), children_cpu() - cpu_before)
}

fn one_sync() {
    let n = env_usize("SYNC_CLONES", 128);
    let runs = env_usize("SYNC_RUNS", 9);
    let mut builds = vec![("this build".to_string(), support::BIN.to_string())];
    if let Ok(other) = std::env::var("GIT_COMM_BIN") {
        builds.push((other.clone(), other));
    }
    // Each build syncs a snapshot it wrote itself (an earlier build keeps other files).
    let dirs: Vec<tempfile::TempDir> = builds
        .iter()
        .map(|(_, bin)| {
            let dir = tempfile::tempdir().unwrap();
            sync_snapshot(dir.path(), n, bin);
            dir
        })
        .collect();
    let mut samples: Vec<(Vec<Duration>, Vec<Duration>)> = vec![Default::default(); builds.len()];
    for _ in 0..runs {
        for (i, (_, bin)) in builds.iter().enumerate() {
            let (wall, cpu) = timed_sync(dirs[i].path(), bin);
            samples[i].0.push(wall);
            samples[i].1.push(cpu);
        }
    }
    println!("\n### one sync of c0 at {n} clones, {runs} runs each (medians)\n");
    println!("| build | wall (ms) | CPU, every process (ms) |");
    println!("|---|---:|---:|");
    for ((name, _), (mut wall, mut cpu)) in builds.iter().zip(samples) {
        wall.sort();
        cpu.sort();
        println!(
            "| {name} | {} | {} |",
            ms(wall[runs / 2]),
            ms(cpu[runs / 2])
        );
    }
}

/// A ledger of `n` entries (half live leases of other agents, half tombstones) in one
/// commit, written with the library as a swarm's writes would leave it.
fn seed_lease_ledger(path: &Path, n: usize) {
    use git_comm::lease::ledger::{write_tree, State, Tombstone};
    use git_comm::lease::Lease;
    let repo = git_comm::repo::Repo::discover(path).unwrap();
    let now = jiff::Timestamp::now().as_second();
    let mut state = State::default();
    for i in 0..n {
        let id = format!(
            "{:012x}",
            (i as u64 + 1) * 0x9e37_79b9_7f4a_7c15 % (1 << 48)
        );
        let lease = Lease {
            id: id.clone(),
            holder: format!("agent{}", i % 100),
            resources: vec![format!("src/area{i}/**")],
            exclusive: true,
            reason: Some(format!("work item {i}")),
            task: None,
            created: now - 60,
            expires: now + 7200,
        };
        if i % 2 == 0 {
            state.leases.push(lease);
        } else {
            state.ended.push(Tombstone {
                id,
                holder: lease.holder,
                expires: lease.expires,
                ended: now - 30,
                how: "release".to_string(),
            });
        }
    }
    let tree = write_tree(&repo, &state).unwrap();
    let commit = repo
        .write_commit(tree, &[], "bench", &format!("seed {n} leases"))
        .unwrap();
    let name = format!("{}leases", repo.namespace());
    let current = repo.read_ref(&name).unwrap();
    repo.swap_ref(&name, current, commit).unwrap();
}

fn lease_ledger() {
    println!("\n| lease ledger entries | grant median ms | grant CPU ms | release median ms | release CPU ms | `leases` median ms |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for n in [100, 1_000, 10_000] {
        let dir = fresh_repo();
        let path = dir.path();
        comm(path, &["--as", "bench", "join"]);
        seed_lease_ledger(path, n);
        let runs = 7;
        let (mut grants, mut releases) = (Vec::new(), Vec::new());
        let (mut grant_cpu, mut release_cpu) = (Duration::ZERO, Duration::ZERO);
        for r in 0..runs {
            let glob = format!("bench/new{r}/**");
            let before = children_cpu();
            let started = std::time::Instant::now();
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_git-comm"))
                .args(["--as", "bench", "--json", "lease", &glob])
                .current_dir(path)
                .output()
                .unwrap();
            grants.push(started.elapsed());
            grant_cpu += children_cpu() - before;
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            let id = json["lease"]["id"].as_str().unwrap().to_string();
            let before = children_cpu();
            releases.push(comm(path, &["--as", "bench", "release", &id]));
            release_cpu += children_cpu() - before;
        }
        grants.sort();
        releases.sort();
        let (read, _) = measure(path, runs, &["--as", "bench", "leases", "--json"]);
        println!(
            "| {n} | {} | {} | {} | {} | {} |",
            ms(grants[runs / 2]),
            ms(grant_cpu / runs as u32),
            ms(releases[runs / 2]),
            ms(release_cpu / runs as u32),
            ms(read)
        );
    }
}

fn fresh_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["config", "user.name", "bench"]);
    git(dir.path(), &["config", "user.email", "bench@localhost"]);
    dir
}

/// A plan of `n` tasks in chains of ten (each after the previous one of its chain).
fn plan_text(n: usize) -> String {
    let mut plan = String::from("kickoff: build it\nagents:\n  lead: {}\ntasks:\n");
    for i in 0..n {
        plan.push_str(&format!("  - {{key: k{i}, title: \"task {i} of the plan\""));
        if i % 10 != 0 {
            plan.push_str(&format!(", after: [k{}]", i - 1));
        }
        plan.push_str("}\n");
    }
    plan
}

fn beads_text(n: usize) -> String {
    (0..n)
        .map(|i| {
            let deps = if i % 10 == 0 {
                String::new()
            } else {
                format!(
                    r#"{{"issue_id":"bd-{i}","depends_on_id":"bd-{}","type":"blocks"}}"#,
                    i - 1
                )
            };
            format!(
                r#"{{"id":"bd-{i}","title":"issue {i}","status":"open","priority":2,"dependencies":[{deps}]}}"#
            ) + "\n"
        })
        .collect()
}

/// One timed run of `git comm ARGS`: (wall, CPU).
fn once(dir: &Path, args: &[&str]) -> (Duration, Duration) {
    let cpu = children_cpu();
    let wall = comm(dir, args);
    (wall, children_cpu() - cpu)
}

fn plan_and_import() {
    println!("| command | tasks | wall (ms) | CPU (ms) | ledger commits |");
    println!("|---|---:|---:|---:|---:|");
    let mut plan_walls = Vec::new();
    for n in [200, 1_600, 1_000, 10_000] {
        let dir = fresh_repo();
        std::fs::write(dir.path().join("plan.yaml"), plan_text(n)).unwrap();
        let (wall, cpu) = once(dir.path(), &["--as", "lead", "plan", "plan.yaml"]);
        plan_walls.push((n, wall));
        print_row("plan", n, wall, cpu, dir.path());
    }
    for n in [1_000, 10_000] {
        let dir = fresh_repo();
        std::fs::write(dir.path().join("issues.jsonl"), beads_text(n)).unwrap();
        let args = ["--as", "lead", "task", "import", "issues.jsonl"];
        let (wall, cpu) = once(dir.path(), &args);
        print_row("task import", n, wall, cpu, dir.path());
    }
    let at = |n| plan_walls.iter().find(|(m, _)| *m == n).unwrap().1;
    println!(
        "\nplan 1,600 / plan 200: {:.2}x",
        at(1_600).as_secs_f64() / at(200).as_secs_f64()
    );
}

fn print_row(what: &str, n: usize, wall: Duration, cpu: Duration, dir: &Path) {
    let commits = git(dir, &["rev-list", "--count", "refs/comm-node/tasks"]);
    println!(
        "| `{what}` | {n} | {} | {} | {} |",
        ms(wall),
        ms(cpu),
        commits.trim()
    );
}

/// Bytes of the objects reachable from `new` and not from `old` (uncompressed).
fn new_object_bytes(dir: &Path, old: &str, new: &str) -> (usize, u64) {
    let range = format!("{}..{}", old.trim(), new.trim());
    let listing = git(dir, &["rev-list", "--objects", &range]);
    let ids: Vec<&str> = listing
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let bytes = ids
        .iter()
        .map(|id| {
            git(dir, &["cat-file", "-s", id])
                .trim()
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    (ids.len(), bytes)
}

fn bytes_per_change() {
    let dir = fresh_repo();
    let path = dir.path();
    std::fs::write(path.join("plan.yaml"), plan_text(10_000)).unwrap();
    comm(path, &["--as", "lead", "plan", "plan.yaml"]);
    let list = git(
        path,
        &["ls-tree", "-r", "--name-only", "refs/comm-node/tasks"],
    );
    let first = list.lines().next().unwrap();
    let id = first.rsplit('/').next().unwrap().trim_end_matches(".json");
    // Any task: the first of a chain is ready.
    let ready = std::process::Command::new(env!("CARGO_BIN_EXE_git-comm"))
        .args(["--as", "lead", "next"])
        .current_dir(path)
        .output()
        .unwrap();
    let next = String::from_utf8_lossy(&ready.stdout);
    let id = next
        .split_whitespace()
        .find(|w| w.starts_with("t-"))
        .unwrap_or(id)
        .to_string();
    println!("\n| change on a 10,000-task ledger | new objects | bytes |");
    println!("|---|---:|---:|");
    for args in [
        &["task", "claim", &id][..],
        &["task", "start", &id][..],
        &["task", "done", &id, "-m", "finished"][..],
        &["task", "reopen", &id][..],
    ] {
        let before = git(path, &["rev-parse", "refs/comm-node/tasks"]);
        let mut full = vec!["--as", "lead"];
        full.extend_from_slice(args);
        comm(path, &full);
        let after = git(path, &["rev-parse", "refs/comm-node/tasks"]);
        let (objects, bytes) = new_object_bytes(path, &before, &after);
        println!("| `task {}` | {objects} | {bytes} |", args[1]);
    }
}

fn oversight() {
    let dir = fresh_repo();
    let path = dir.path();
    let agents: Vec<String> = (0..AGENTS).map(|i| format!("agent-{i:03}")).collect();
    for a in &agents {
        comm(path, &["join", a]);
    }
    support::import_mail(path, &agents, HISTORY, 30 * 86_400);
    std::fs::write(path.join("plan.yaml"), plan_text(10_000)).unwrap();
    comm(path, &["--as", "agent-000", "plan", "plan.yaml"]);
    // agent-001 has read all but the last 10 messages.
    let cursor = git(path, &["rev-parse", "refs/comm-node/mail~10"]);
    git(
        path,
        &[
            "update-ref",
            "refs/comm-node/cursors/agent-001",
            cursor.trim(),
        ],
    );
    git(path, &["gc", "-q"]);
    println!(
        "\n| command ({AGENTS} agents, {HISTORY} messages, 10,000 tasks) | median wall (ms) | mean CPU (ms) |"
    );
    println!("|---|---:|---:|");
    for (runs, args) in [
        (9, &["who"][..]),
        (9, &["--as", "agent-001", "status"][..]),
        (3, &["watch", "--once"][..]),
        (9, &["--as", "agent-001", "inbox", "--peek"][..]),
    ] {
        let (wall, cpu) = measure(path, runs, args);
        println!("| `{}` | {} | {} |", args.join(" "), ms(wall), ms(cpu));
    }
}
