//! `git comm --help` goes through git, which opens the man page `git-comm(1)`.

mod common;

use std::process::Command;

use common::*;

#[test]
fn git_comm_help_shows_the_manual_after_init() {
    let repo = TestRepo::new();
    assert_success(&repo.comm(&["init"]), &["init"]);
    let bin_dir = bin_path().parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
    let out = Command::new("git")
        .args(["comm", "--help"])
        .current_dir(repo.path())
        .env("PATH", path)
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(text.contains("git comm inbox"), "{text}{}", stderr(&out));
    assert!(text.contains("Exit codes"), "{text}");
}

#[test]
fn short_help_lists_every_command() {
    let out = Command::new(BIN).arg("-h").output().unwrap();
    let text = stdout(&out);
    for command in [
        "init", "join", "who", "whoami", "send", "reply", "show", "thread", "ack", "inbox",
        "search",
    ] {
        assert!(
            text.contains(&format!("  {command} ")),
            "{command} missing from:\n{text}"
        );
    }
}
