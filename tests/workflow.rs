//! The real workflow across machines (issue 9's acceptance): a lead in the main worktree, a
//! backend agent in a second worktree, a frontend agent on a second clone that meets the
//! others only through a bare remote. Kickoff mail, a question answered in its thread, a
//! contract artifact published on one machine and awaited on the other with the tool's own
//! `wait`, CHANGELOG.md committed by all three under leases with zero `--no-verify`, and the
//! integrator vetting both branches with `check --range` and merging. No polling loops here:
//! the tool's waits do the waiting.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{bin_path, git_in, stderr, stdout, BIN};

const CONFIG: &str = "version: 1
domains:
  api: { scope: [\"src/api/**\"] }
  web: { scope: [\"web/**\"], forbidden_imports: [\"src/api/**\"] }
agents:
  backend: { domain: api }
  frontend: { domain: web }
";

const CHANGELOG: &str = "# Changelog\n\n## lead\n\nstart\n\n## api\n\nstart\n\n## web\n\nstart\n";

/// PATH with the binary under test first, so hooks find it.
fn path_env() -> std::ffi::OsString {
    let mut paths = vec![bin_path().parent().unwrap().to_path_buf()];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(paths).unwrap()
}

/// `git comm --as AGENT ARGS` in `dir`, asserting success.
fn comm(dir: &Path, agent: &str, args: &[&str]) -> String {
    let out = comm_out(dir, agent, args);
    assert!(out.status.success(), "{agent} {args:?}: {}", stderr(&out));
    stdout(&out)
}

fn comm_out(dir: &Path, agent: &str, args: &[&str]) -> Output {
    let mut full = vec!["--as", agent];
    full.extend_from_slice(args);
    Command::new(BIN)
        .args(&full)
        .current_dir(dir)
        .env_remove("GIT_COMM_AGENT")
        .env("PATH", path_env())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// `git ARGS` as AGENT (hook identity and commit author), asserting success.
fn git_as(dir: &Path, agent: &str, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("PATH", path_env())
        .env("GIT_COMM_AGENT", agent)
        .env("GIT_AUTHOR_NAME", agent)
        .env("GIT_AUTHOR_EMAIL", format!("{agent}@comm-node"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{agent}: git {args:?}: {}",
        stderr(&out)
    );
    stdout(&out)
}

/// Edit `section` of CHANGELOG.md under an exclusive lease (confirmed on the remote), commit
/// it without bypass, release.
fn changelog_entry(dir: &Path, agent: &str, section: &str, line: &str) {
    comm(
        dir,
        agent,
        &["lease", "CHANGELOG.md", "--sync", "--reason", "changelog"],
    );
    let path = dir.join("CHANGELOG.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let marker = format!("## {section}\n\nstart\n");
    assert!(text.contains(&marker), "{text}");
    std::fs::write(&path, text.replace(&marker, &format!("{marker}{line}\n"))).unwrap();
    git_as(
        dir,
        agent,
        &["commit", "-q", "-am", &format!("changelog: {line}")],
    );
    comm(dir, agent, &["release", "--all"]);
    comm(dir, agent, &["sync"]);
}

fn setup() -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let hub = root.path().join("hub.git");
    git_in(
        root.path(),
        &["init", "-q", "--bare", "-b", "main", "hub.git"],
    );
    let lead_dir = root.path().join("shop");
    git_in(root.path(), &["clone", "-q", hub.to_str().unwrap(), "shop"]);
    for (k, v) in [
        ("user.name", "Lead Human"),
        ("user.email", "lead@example.com"),
    ] {
        git_in(&lead_dir, &["config", k, v]);
    }
    std::fs::create_dir_all(lead_dir.join(".comm-node")).unwrap();
    std::fs::write(lead_dir.join(".comm-node/config.yaml"), CONFIG).unwrap();
    std::fs::write(lead_dir.join("CHANGELOG.md"), CHANGELOG).unwrap();
    git_in(&lead_dir, &["add", "."]);
    git_in(&lead_dir, &["commit", "-q", "-m", "skeleton"]);
    git_in(&lead_dir, &["push", "-q", "origin", "main"]);
    comm(&lead_dir, "lead", &["init", "--remote", "origin"]);
    comm(&lead_dir, "lead", &["hooks", "install"]);
    // The backend agent: a second worktree of the lead's clone.
    let backend_dir = root.path().join("backend");
    git_in(
        &lead_dir,
        &[
            "worktree",
            "add",
            "-q",
            "-b",
            "backend",
            backend_dir.to_str().unwrap(),
        ],
    );
    // The frontend agent: another machine, meeting the others through the hub only.
    let front_dir = root.path().join("front");
    git_in(
        root.path(),
        &["clone", "-q", hub.to_str().unwrap(), "front"],
    );
    for (k, v) in [
        ("user.name", "Front Human"),
        ("user.email", "front@example.com"),
    ] {
        git_in(&front_dir, &["config", k, v]);
    }
    git_in(&front_dir, &["checkout", "-q", "-b", "frontend"]);
    comm(&front_dir, "frontend", &["init", "--remote", "origin"]);
    comm(&front_dir, "frontend", &["hooks", "install"]);
    for (dir, agent) in [
        (&lead_dir, "lead"),
        (&backend_dir, "backend"),
        (&front_dir, "frontend"),
    ] {
        comm(dir, agent, &["join", agent]);
        comm(dir, agent, &["sync"]);
    }
    comm(&lead_dir, "lead", &["sync"]);
    (root, lead_dir, backend_dir, front_dir)
}

fn spawn_as(dir: &Path, agent: &str, args: &[&str]) -> std::process::Child {
    let mut full = vec!["--as", agent];
    full.extend_from_slice(args);
    Command::new(BIN)
        .args(&full)
        .current_dir(dir)
        .env_remove("GIT_COMM_AGENT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn three_agents_two_worktrees_and_a_second_clone() {
    let (_root, lead, backend, front) = setup();

    // Kickoff from the lead, read on the other machine.
    comm(
        &lead,
        "lead",
        &[
            "send",
            "all",
            "-s",
            "Kickoff: orders feature",
            "-m",
            "api: POST /orders; web: form",
        ],
    );
    comm(&lead, "lead", &["sync"]);
    for (dir, agent) in [(&front, "frontend"), (&backend, "backend")] {
        let inbox = comm(
            dir,
            agent,
            &["--format", "compact", "inbox", "--wait", "30"],
        );
        assert!(
            inbox.contains("Kickoff: orders feature"),
            "{agent}: {inbox}"
        );
    }

    // A question from the frontend, answered by the backend in its thread.
    let question = comm(
        &front,
        "frontend",
        &[
            "--format",
            "compact",
            "send",
            "backend",
            "-s",
            "Q: auth on /orders?",
            "--type",
            "question",
            "-m",
            "",
        ],
    );
    let question = question.trim().to_string();
    comm(&front, "frontend", &["sync"]);
    let got = comm(
        &backend,
        "backend",
        &["--format", "compact", "inbox", "--wait", "30"],
    );
    assert!(got.contains("Q: auth on /orders?"), "{got}");
    comm(
        &backend,
        "backend",
        &["reply", &question, "-m", "Bearer token"],
    );
    comm(&backend, "backend", &["sync"]);
    let answer = comm(
        &front,
        "frontend",
        &["--format", "compact", "inbox", "--wait", "30"],
    );
    assert!(answer.contains("Re: Q: auth on /orders?"), "{answer}");
    let thread = comm(
        &front,
        "frontend",
        &["--format", "compact", "thread", &question],
    );
    assert_eq!(thread.lines().count(), 2, "{thread}");

    // The contract: awaited on the frontend's machine while the backend publishes it.
    let waiter = spawn_as(
        &front,
        "frontend",
        &["wait", "api/openapi.json", "--timeout", "60"],
    );
    std::fs::write(
        backend.join("openapi.json"),
        "{\"paths\": {\"/orders\": {}}}\n",
    )
    .unwrap();
    comm(
        &backend,
        "backend",
        &[
            "publish",
            "api/openapi.json",
            "openapi.json",
            "-m",
            "v1 contract",
        ],
    );
    comm(&backend, "backend", &["sync"]);
    let waited = waiter.wait_with_output().unwrap();
    assert!(waited.status.success(), "{}", stderr(&waited));
    assert!(
        stdout(&waited).starts_with("api/openapi.json@v1 "),
        "{}",
        stdout(&waited)
    );
    let contract = comm(&front, "frontend", &["get", "api/openapi.json"]);
    assert!(contract.contains("/orders"));

    // Each agent's own work, inside its domain, committed through the hooks.
    std::fs::create_dir_all(backend.join("src/api")).unwrap();
    std::fs::write(
        backend.join("src/api/orders.ts"),
        "export const orders = [];\n",
    )
    .unwrap();
    git_as(&backend, "backend", &["add", "src/api/orders.ts"]);
    git_as(
        &backend,
        "backend",
        &["commit", "-q", "-m", "orders endpoint"],
    );
    std::fs::create_dir_all(front.join("web")).unwrap();
    std::fs::write(front.join("web/form.ts"), "export const form = {};\n").unwrap();
    git_as(&front, "frontend", &["add", "web/form.ts"]);
    git_as(&front, "frontend", &["commit", "-q", "-m", "orders form"]);

    // CHANGELOG.md (in no domain) by all three, each under an exclusive lease, no bypass.
    changelog_entry(&lead, "lead", "lead", "orders feature planned");
    changelog_entry(&backend, "backend", "api", "POST /orders");
    changelog_entry(&front, "frontend", "web", "orders form");
    git_in(&front, &["push", "-q", "origin", "frontend"]);

    // Nobody bypassed: no violation was ever mailed.
    comm(&lead, "lead", &["sync"]);
    let violations = comm(
        &lead,
        "lead",
        &[
            "--format",
            "compact",
            "inbox",
            "--all",
            "--type",
            "violation",
        ],
    );
    assert!(
        violations.trim() == "no unread mail" || violations.trim().is_empty(),
        "{violations}"
    );
    let all_mail = git_in(&lead, &["log", "--format=%s", "refs/comm-node/mail"]);
    assert!(!all_mail.contains("violation"), "{all_mail}");

    // The integrator vets both branches the way the hooks did, then merges.
    git_in(&lead, &["fetch", "-q", "origin", "frontend:frontend"]);
    for branch in ["backend", "frontend"] {
        let out = comm_out(
            &lead,
            "lead",
            &["check", "--range", &format!("main..{branch}")],
        );
        assert!(
            out.status.success(),
            "{branch}: {}{}",
            stdout(&out),
            stderr(&out)
        );
    }
    for branch in ["backend", "frontend"] {
        git_as(&lead, "lead", &["merge", "-q", "--no-edit", branch]);
    }
    let changelog = std::fs::read_to_string(lead.join("CHANGELOG.md")).unwrap();
    for line in ["orders feature planned", "POST /orders", "orders form"] {
        assert!(changelog.contains(line), "{changelog}");
    }
    // Who acted as whom is in plain git.
    let who = git_in(
        &lead,
        &["log", "--format=%an via %cn", "-1", "refs/comm-node/mail"],
    );
    assert!(who.contains(" via "), "{who}");
}
