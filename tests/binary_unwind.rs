//! The unwinder linked into the binary (build.rs) unwinds: a panic (failpoint `panic`
//! action) prints Rust's panic message and exits with 101, where a broken unwinder aborts
//! on a signal.

mod common;

use std::process::Command;

use common::{TestRepo, BIN};

#[test]
fn a_panic_unwinds_and_exits_101() {
    let repo = TestRepo::new();
    repo.initial_commit();
    let out = Command::new(BIN)
        .args(["--as", "alice", "task", "add", "work"])
        .current_dir(repo.path())
        .env_remove("GIT_COMM_AGENT")
        .env("FAILPOINTS", "tasks-before-swap=panic(unwound)")
        .output()
        .unwrap();
    let stderr = common::stderr(&out);
    assert_eq!(out.status.code(), Some(101), "stderr: {stderr}");
    assert!(stderr.contains("unwound"), "stderr: {stderr}");
}
