//! Shell completion: the bash script really completes, in `git-comm <TAB>` and through git's
//! own bash completion (`git comm <TAB>`), with agents, leases, artifacts and tasks read
//! from the repository.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::*;

const GIT_BASH_COMPLETION: &str = "/usr/share/bash-completion/completions/git";

/// A repository with two agents, a lease, an artifact, an open and a finished task.
struct Fixture {
    repo: TestRepo,
    lease: String,
    open_task: String,
    done_task: String,
}

fn fixture() -> Fixture {
    let repo = TestRepo::new();
    repo.initial_commit();
    repo.ok_as("alice", &["join", "alice"]);
    repo.ok_as("bob", &["join", "bob"]);
    let granted = repo.ok_as("alice", &["lease", "src/x.rs", "--ttl", "1h"]);
    let lease = granted.split_whitespace().nth(1).unwrap().to_string();
    repo.write("spec.txt", "v1\n");
    repo.ok_as("alice", &["publish", "api/spec", "spec.txt"]);
    let open_task = task_id(&repo.ok_as("alice", &["task", "add", "write the parser"]));
    let done_task = task_id(&repo.ok_as("alice", &["task", "add", "old work"]));
    repo.ok_as("alice", &["task", "claim", &done_task]);
    repo.ok_as("alice", &["task", "done", &done_task]);
    Fixture {
        repo,
        lease,
        open_task,
        done_task,
    }
}

fn task_id(added: &str) -> String {
    added.split_whitespace().nth(1).unwrap().to_string()
}

/// Complete each command line (the last word is the one being completed) in bash with
/// git's completion and ours sourced; returns line -> candidates.
fn complete(fixture: &Fixture, lines: &[&[&str]]) -> BTreeMap<String, Vec<String>> {
    let mut script = format!(
        "source {GIT_BASH_COMPLETION}\nsource <(git-comm completions bash)\n{}",
        r#"try() {
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    if [ "$1" = git ]; then
        __git_wrap__git_main
    else
        _git_comm_complete git-comm "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    fi
    printf '%s|%s\n' "$*" "${COMPREPLY[*]}"
}
"#
    );
    for line in lines {
        let quoted: Vec<String> = line.iter().map(|w| format!("'{w}'")).collect();
        script.push_str(&format!("try {}\n", quoted.join(" ")));
    }
    let bin_dir = bin_path().parent().unwrap().to_path_buf();
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &script])
        .current_dir(fixture.repo.path())
        .env(
            "PATH",
            format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap()),
        )
        .env_remove("GIT_COMM_AGENT")
        .output()
        .unwrap();
    assert_success(&out, &["bash completion script"]);
    stdout(&out)
        .lines()
        .map(|l| {
            let (words, replies) = l.split_once('|').unwrap();
            let mut replies: Vec<String> = replies.split_whitespace().map(String::from).collect();
            replies.sort();
            (words.to_string(), replies)
        })
        .collect()
}

#[test]
fn bash_completes_commands_and_options_through_git_and_directly() {
    let fixture = fixture();
    let got = complete(
        &fixture,
        &[
            &["git", "comm", "se"],
            &["git-comm", "inb"],
            &["git-comm", "inbox", "--f"],
            &["git", "comm", "task", "re"],
        ],
    );
    assert_eq!(got["git comm se"], ["search", "send", "server", "setup"]);
    assert_eq!(got["git-comm inb"], ["inbox"]);
    assert_eq!(got["git-comm inbox --f"], ["--format", "--from"]);
    assert_eq!(got["git comm task re"], ["reassign", "reopen"]);
    assert!(
        !got["git comm se"].iter().any(|w| w.starts_with("__")),
        "hidden helpers are not offered"
    );
}

#[test]
fn bash_completes_values_only_the_repository_knows() {
    let fixture = fixture();
    let got = complete(
        &fixture,
        &[
            &["git", "comm", "send", ""],
            &["git", "comm", "send", "alice", "--cc", "b"],
            &["git-comm", "--as", ""],
            &["git", "comm", "inbox", "--from=a"],
            &["git-comm", "send", "--cc", "=", "b"],
            &["git", "comm", "release", ""],
            &["git-comm", "renew", ""],
            &["git", "comm", "get", ""],
            &["git-comm", "diff", "api/"],
            &["git", "comm", "task", "show", ""],
            &["git-comm", "lease", "src/x.rs", "--task", ""],
        ],
    );
    assert_eq!(got["git comm send "], ["alice", "bob"]);
    assert_eq!(got["git comm send alice --cc b"], ["bob"]);
    assert_eq!(got["git-comm --as "], ["alice", "bob"]);
    assert_eq!(got["git comm inbox --from=a"], ["alice"]);
    assert_eq!(got["git-comm send --cc = b"], ["bob"]);
    assert_eq!(
        got["git comm release "],
        std::slice::from_ref(&fixture.lease)
    );
    assert_eq!(got["git-comm renew "], std::slice::from_ref(&fixture.lease));
    assert_eq!(got["git comm get "], ["api/spec"]);
    assert_eq!(got["git-comm diff api/"], ["api/spec"]);
    // Finished tasks are not offered.
    assert_eq!(
        got["git comm task show "],
        std::slice::from_ref(&fixture.open_task)
    );
    assert_ne!(fixture.open_task, fixture.done_task);
    assert_eq!(
        got["git-comm lease src/x.rs --task "],
        std::slice::from_ref(&fixture.open_task)
    );
}

#[test]
fn complete_helper_refuses_positions_that_are_not_repository_values() {
    let fixture = fixture();
    let out = comm_in(
        fixture.repo.path(),
        &["__complete", "--cword", "2", "--", "git-comm", "send", "-s"],
    );
    assert_eq!(out.status.code(), Some(1));
    // `search TEXT` takes free text: nothing to offer, so the shell falls back.
    let out = comm_in(
        fixture.repo.path(),
        &["__complete", "--cword", "2", "--", "git-comm", "search", ""],
    );
    assert_eq!(out.status.code(), Some(1));
    let out = comm_in(
        fixture.repo.path(),
        &["__complete", "--cword", "2", "--", "git-comm", "send", ""],
    );
    assert_success(&out, &["__complete"]);
    assert_eq!(stdout(&out), "alice\nbob\n");
}

#[test]
fn every_shell_gets_a_script_naming_the_commands() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = Command::new(BIN)
            .args(["completions", shell])
            .output()
            .unwrap();
        assert_success(&out, &["completions", shell]);
        let script = stdout(&out);
        for word in ["inbox", "lease", "publish", "budget"] {
            assert!(script.contains(word), "{shell}: {word} missing");
        }
    }
    let bash = stdout(
        &Command::new(BIN)
            .args(["completions", "bash"])
            .output()
            .unwrap(),
    );
    let syntax = Command::new("bash")
        .args(["-n", "-c", &bash])
        .output()
        .unwrap();
    assert_success(&syntax, &["bash -n"]);
    let out = Command::new(BIN)
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
