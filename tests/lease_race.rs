//! Atomicity: 8 processes race for the same exclusive lease, 50 rounds; exactly one wins
//! each round, the others are refused with exit 1 (never an error, never a double grant).

mod common;

use std::process::{Command, Stdio};

use common::{TestRepo, BIN};

const RACERS: usize = 8;
const ROUNDS: usize = 50;
const PATTERNS: [&str; 4] = ["src/**", "src/*.ts", "src/a.ts", "src/a*"];

#[test]
fn exactly_one_winner_per_round() {
    let t = TestRepo::new();
    let agents: Vec<String> = (0..RACERS).map(|i| format!("racer-{i}")).collect();
    for a in &agents {
        t.ok_as(a, &["join"]);
    }
    for round in 0..ROUNDS {
        // Different patterns that all overlap pairwise (each covers src/a.ts), so the
        // race is decided by overlap, not just by identical text.
        let children: Vec<_> = agents
            .iter()
            .enumerate()
            .map(|(i, agent)| {
                let resource = PATTERNS[i % PATTERNS.len()];
                Command::new(BIN)
                    .args(["--as", agent, "--format", "compact", "lease", resource])
                    .current_dir(t.path())
                    .env_remove("GIT_COMM_AGENT")
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("spawn racer")
            })
            .collect();
        let mut winners = Vec::new();
        for (i, child) in children.into_iter().enumerate() {
            let out = child.wait_with_output().unwrap();
            match out.status.code() {
                Some(0) => winners.push(i),
                Some(1) => {}
                other => panic!(
                    "round {round}: racer {i} exited {other:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                ),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
        t.ok_as(&agents[winners[0]], &["release", "--all"]);
    }
    let log = t.git(&["log", "--format=%s", "refs/comm-node/leases"]);
    assert_eq!(
        log.lines().filter(|l| l.starts_with("grant ")).count(),
        ROUNDS
    );
    assert_eq!(
        log.lines().filter(|l| l.starts_with("release ")).count(),
        ROUNDS
    );
    let tree = t.lease_files();
    assert!(
        tree.lines().all(|f| f.ends_with(".end")),
        "only tombstones of released leases remain: {tree}"
    );
    assert_eq!(tree.lines().count(), ROUNDS);
}
