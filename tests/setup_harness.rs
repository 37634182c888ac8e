//! `git comm setup TARGET`: instruction blocks and per-turn hooks in agent harness files,
//! written idempotently and removed back to the user's own content.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::{json, Value};

const TARGETS: [(&str, &str, Option<&str>); 5] = [
    ("claude-code", "CLAUDE.md", Some(".claude/settings.json")),
    ("codex", "AGENTS.md", Some(".codex/hooks.json")),
    ("cursor", ".cursor/rules/git-comm.mdc", None),
    ("gemini", "GEMINI.md", Some(".gemini/settings.json")),
    ("generic", "AGENTS.md", None),
];

fn read(repo: &TestRepo, rel: &str) -> Option<String> {
    std::fs::read_to_string(repo.path().join(rel)).ok()
}

fn json_at(repo: &TestRepo, rel: &str) -> Value {
    serde_json::from_str(&read(repo, rel).unwrap()).unwrap()
}

fn setup(repo: &TestRepo, args: &[&str]) -> String {
    let mut full = vec!["setup"];
    full.extend_from_slice(args);
    let out = repo.comm(&full);
    assert_success(&out, &full);
    stdout(&out)
}

const USER_NOTES: &str = "# House rules\n\nRun the linter before committing.\n";

fn user_settings() -> Value {
    json!({
        "model": "their-choice",
        "hooks": {
            "UserPromptSubmit": [{"hooks": [{"type": "command", "command": "./their-hook.sh"}]}],
            "BeforeAgent": [{"hooks": [{"type": "command", "command": "./their-hook.sh"}]}]
        },
        "permissions": {"allow": ["Bash(ls)"]}
    })
}

#[test]
fn write_twice_is_one_write_and_remove_restores_the_users_files() {
    for (target, instructions, settings) in TARGETS {
        let repo = TestRepo::new();
        if target != "cursor" {
            repo.write(instructions, USER_NOTES);
        }
        if let Some(settings) = settings {
            repo.write(
                settings,
                &serde_json::to_string_pretty(&user_settings()).unwrap(),
            );
        }
        setup(&repo, &[target, "--write"]);
        let first = read(&repo, instructions).unwrap();
        assert!(first.contains("<!-- git-comm:begin"), "{target}: {first}");
        assert!(
            first.contains("git comm inbox --format compact --budget 300"),
            "{target}"
        );
        if target != "cursor" {
            assert!(
                first.starts_with(USER_NOTES),
                "{target}: user text first:\n{first}"
            );
        } else {
            assert!(
                first.starts_with("---\n"),
                "cursor rules need front matter: {first}"
            );
            assert!(first.contains("alwaysApply: true"), "{first}");
        }
        let first_settings = settings.map(|s| read(&repo, s).unwrap());
        if let Some(settings) = settings {
            let value = json_at(&repo, settings);
            assert_eq!(value["model"], "their-choice", "{target}: user keys kept");
            assert_eq!(
                value["permissions"],
                user_settings()["permissions"],
                "{target}"
            );
            let commands = value.to_string();
            assert!(
                commands.contains("./their-hook.sh"),
                "{target}: user hook kept"
            );
            assert!(
                commands.contains("git comm "),
                "{target}: our hook added: {commands}"
            );
        }

        let again = setup(&repo, &[target, "--write"]);
        assert!(
            !again.contains("updated") && !again.contains("created"),
            "{target}: {again}"
        );
        assert_eq!(read(&repo, instructions).unwrap(), first, "{target}");
        assert_eq!(
            settings.map(|s| read(&repo, s).unwrap()),
            first_settings,
            "{target}"
        );

        setup(&repo, &[target, "--remove"]);
        if target == "cursor" {
            assert_eq!(read(&repo, instructions), None, "our own rules file goes");
        } else {
            assert_eq!(read(&repo, instructions).unwrap(), USER_NOTES, "{target}");
        }
        if let Some(settings) = settings {
            assert_eq!(json_at(&repo, settings), user_settings(), "{target}");
        }
    }
}

#[test]
fn files_setup_created_alone_are_deleted_on_remove() {
    let repo = TestRepo::new();
    setup(&repo, &["claude-code", "--write"]);
    assert!(read(&repo, "CLAUDE.md").is_some());
    let settings = json_at(&repo, ".claude/settings.json");
    assert_eq!(
        settings["hooks"]["UserPromptSubmit"][0]["hooks"][0]["command"],
        "git comm inbox --format compact --budget 300 2>&1 || true"
    );
    setup(&repo, &["claude-code", "--remove"]);
    assert_eq!(read(&repo, "CLAUDE.md"), None);
    assert_eq!(read(&repo, ".claude/settings.json"), None);
}

#[test]
fn print_is_the_default_and_writes_nothing() {
    let repo = TestRepo::new();
    let shown = setup(&repo, &["gemini"]);
    assert!(shown.contains("GEMINI.md: would be created"), "{shown}");
    assert!(
        shown.contains("hooks.BeforeAgent runs `git comm __turn gemini`"),
        "{shown}"
    );
    assert!(shown.contains("<!-- git-comm:end -->"), "{shown}");
    assert_eq!(read(&repo, "GEMINI.md"), None);
    assert!(!repo.path().join(".gemini").exists());
    let out = repo.comm(&["--json", "setup", "codex"]);
    assert_success(&out, &["setup codex --json"]);
    let value: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(value["action"], "print");
    assert_eq!(value["files"][0]["outcome"], "created");
    assert_eq!(value["hook"]["event"], "UserPromptSubmit");
}

#[test]
fn an_explicit_agent_gets_its_contract_from_prime() {
    let repo = TestRepo::new();
    repo.ok_as("alice", &["join", "alice", "--role", "backend"]);
    repo.ok_as("alice", &["setup", "generic", "--write"]);
    let text = read(&repo, "AGENTS.md").unwrap();
    assert!(text.contains("# git comm: contract for alice"), "{text}");
    assert!(text.contains("the backend"), "{text}");
}

#[test]
fn settings_that_are_not_json_are_left_alone() {
    let repo = TestRepo::new();
    repo.write(".claude/settings.json", "{ not json");
    let out = repo.comm(&["setup", "claude-code", "--write"]);
    assert_exit(&out, 2, "not valid JSON");
    assert_eq!(read(&repo, ".claude/settings.json").unwrap(), "{ not json");
    assert_eq!(read(&repo, "CLAUDE.md"), None, "nothing half-written");
}

/// Run a hook command as the harness would: through the shell, in the repository.
fn run_hook(dir: &Path, command: &str, agent: Option<&str>) -> std::process::Output {
    let bin_dir = bin_path().parent().unwrap().to_path_buf();
    let mut cmd = Command::new("sh");
    cmd.args(["-c", command])
        .current_dir(dir)
        .env(
            "PATH",
            format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap()),
        )
        .env_remove("GIT_COMM_AGENT");
    if let Some(agent) = agent {
        cmd.env("GIT_COMM_AGENT", agent);
    }
    cmd.output().unwrap()
}

#[test]
fn the_written_hooks_bring_new_mail_and_halts_into_the_turn() {
    let repo = TestRepo::new();
    repo.ok_as("alice", &["join", "alice"]);
    repo.ok_as("bob", &["join", "bob"]);
    setup(&repo, &["claude-code", "--write"]);
    setup(&repo, &["gemini", "--write"]);
    let claude = json_at(&repo, ".claude/settings.json")["hooks"]["UserPromptSubmit"][0]["hooks"]
        [0]["command"]
        .as_str()
        .unwrap()
        .to_string();
    let gemini = json_at(&repo, ".gemini/settings.json")["hooks"]["BeforeAgent"][0]["hooks"][0]
        ["command"]
        .as_str()
        .unwrap()
        .to_string();

    repo.ok_as(
        "alice",
        &[
            "send",
            "bob",
            "-s",
            "schema v2 is out",
            "-m",
            "see api/schema",
        ],
    );
    let out = run_hook(repo.path(), &claude, Some("bob"));
    assert!(out.status.success());
    assert!(
        stdout(&out).contains("alice>bob [info] schema v2 is out"),
        "{}",
        stdout(&out)
    );
    // Read now: the next turn does not repeat it.
    assert!(!stdout(&run_hook(repo.path(), &claude, Some("bob"))).contains("schema v2"));

    repo.ok_as("alice", &["halt", "--reason", "release freeze"]);
    repo.ok_as("alice", &["send", "bob", "-s", "second note"]);
    let out = run_hook(repo.path(), &gemini, Some("bob"));
    assert!(out.status.success());
    let value: Value = serde_json::from_str(&stdout(&out)).expect("gemini wants JSON only");
    let context = value["hookSpecificOutput"]["additionalContext"]
        .as_str()
        .unwrap();
    assert_eq!(value["hookSpecificOutput"]["hookEventName"], "BeforeAgent");
    assert!(context.contains("HALTED"), "{context}");
    assert!(context.contains("release freeze"), "{context}");
    assert!(context.contains("second note"), "{context}");

    // No identity: the turn goes on (exit 0) and the agent reads why there is no mail.
    let out = run_hook(repo.path(), &claude, None);
    assert!(out.status.success());
    assert!(
        stdout(&out).contains("no agent identity"),
        "{}",
        stdout(&out)
    );
    let out = run_hook(repo.path(), &gemini, None);
    assert!(out.status.success());
    assert!(
        stdout(&out).contains("no agent identity"),
        "{}",
        stdout(&out)
    );
}
