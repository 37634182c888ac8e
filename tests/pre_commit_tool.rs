//! `.pre-commit-hooks.yaml` with the real pre-commit tool (from PyPI, installed into a
//! temporary virtual environment): a project that lists this repository's hooks gets its
//! boundary violations and another agent's leased files refused at `git commit`.

mod common;
mod hooks_common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use hooks_common::path_with_comm;

struct PreCommit {
    venv: tempfile::TempDir,
    home: tempfile::TempDir,
}

impl PreCommit {
    fn install() -> PreCommit {
        let venv = tempfile::tempdir().unwrap();
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(venv.path())
            .output()
            .expect("python3 is needed (the CI script installs it)");
        assert_success(&made, &["python3 -m venv"]);
        let pip = Command::new(venv.path().join("bin/pip"))
            .args([
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "pre-commit",
            ])
            .output()
            .unwrap();
        assert_success(&pip, &["pip install pre-commit"]);
        PreCommit {
            venv,
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn bin(&self) -> PathBuf {
        self.venv.path().join("bin/pre-commit")
    }

    /// `git ARGS` as `agent`, with git-comm on PATH and pre-commit's cache kept private.
    fn git(&self, dir: &Path, agent: &str, args: &[&str]) -> Output {
        Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("PATH", path_with_comm())
            .env("PRE_COMMIT_HOME", self.home.path())
            .env("GIT_COMM_AGENT", agent)
            .output()
            .unwrap()
    }
}

/// A repository holding only this project's `.pre-commit-hooks.yaml` (as in the work tree,
/// committed or not); returns it and its commit.
fn hooks_repo() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    git_in(dir.path(), &["init", "-q", "-b", "main"]);
    let hooks = Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml");
    std::fs::copy(hooks, dir.path().join(".pre-commit-hooks.yaml")).unwrap();
    git_in(dir.path(), &["add", "."]);
    git_in(
        dir.path(),
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-q",
            "-m",
            "hooks",
        ],
    );
    let rev = git_in(dir.path(), &["rev-parse", "HEAD"])
        .trim()
        .to_string();
    (dir, rev)
}

const CONFIG: &str = "version: 1
domains:
  api:
    scope: [\"src/api/**\"]
    forbidden_imports: [\"src/ui/**\"]
  ui:
    scope: [\"src/ui/**\"]
";

fn project(hooks: &Path, rev: &str) -> TestRepo {
    let t = TestRepo::new();
    t.write(".comm-node/config.yaml", CONFIG);
    t.write("src/ui/button.ts", "export const button = 1;\n");
    t.write("src/api/server.ts", "export const serve = 1;\n");
    t.write(
        ".pre-commit-config.yaml",
        &format!(
            "repos:\n- repo: {}\n  rev: {rev}\n  hooks:\n  - id: git-comm-boundaries\n  - id: git-comm-guard\n",
            hooks.display()
        ),
    );
    t.initial_commit();
    t.git(&["add", "."]);
    t.git(&["commit", "-q", "-m", "app"]);
    t.ok_as("alice", &["join"]);
    t.ok_as("bob", &["join"]);
    t
}

fn all_output(out: &Output) -> String {
    format!("{}{}", stdout(out), stderr(out))
}

#[test]
fn pre_commit_runs_the_boundary_check_and_the_guard_from_this_repository() {
    let tool = PreCommit::install();
    let (hooks, rev) = hooks_repo();
    let t = project(hooks.path(), &rev);
    let installed = Command::new(tool.bin())
        .arg("install")
        .current_dir(t.path())
        .env("PRE_COMMIT_HOME", tool.home.path())
        .output()
        .unwrap();
    assert_success(&installed, &["pre-commit install"]);

    // A staged boundary violation: refused by the boundaries hook.
    t.write(
        "src/api/server.ts",
        "import { button } from \"../ui/button\";\nexport const serve = button;\n",
    );
    t.git(&["add", "src/api/server.ts"]);
    let out = tool.git(t.path(), "alice", &["commit", "-m", "wire ui"]);
    let text = all_output(&out);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("git comm boundaries"), "{text}");
    assert!(text.contains("forbidden_imports: api -> ui"), "{text}");

    // Fixed: both hooks pass and the commit lands.
    t.write("src/api/server.ts", "export const serve = 2;\n");
    t.git(&["add", "src/api/server.ts"]);
    let out = tool.git(t.path(), "alice", &["commit", "-m", "clean"]);
    assert!(out.status.success(), "{}", all_output(&out));
    assert_eq!(t.git(&["log", "-1", "--format=%s"]).trim(), "clean");

    // A file bob holds exclusively: refused by the guard for alice.
    t.ok_as("bob", &["lease", "src/ui/button.ts"]);
    t.write("src/ui/button.ts", "export const button = 2;\n");
    t.git(&["add", "src/ui/button.ts"]);
    let out = tool.git(t.path(), "alice", &["commit", "-m", "restyle"]);
    let text = all_output(&out);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("git comm guard"), "{text}");
    assert!(text.contains("bob"), "{text}");
    assert_eq!(t.git(&["log", "-1", "--format=%s"]).trim(), "clean");
}
