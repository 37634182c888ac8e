//! `check --range BASE..BRANCH`: every commit judged as the hooks would have judged it.

mod common;

use common::{assert_exit, git_in, stdout, TestRepo};
use serde_json::Value;

const CONFIG: &str = "version: 1
domains:
  api: { scope: [\"src/api/**\"] }
  web: { scope: [\"web/**\"], forbidden_imports: [\"src/api/**\"] }
agents:
  bob: { domain: api }
";

/// Commit `files` as `author`, bypassing hooks (none are installed here anyway).
fn commit_as(t: &TestRepo, author: &str, files: &[(&str, &str)], subject: &str) -> String {
    for (path, content) in files {
        t.write(path, content);
        t.git(&["add", path]);
    }
    git_in(
        t.path(),
        &[
            "-c",
            &format!("user.name={author}"),
            "commit",
            "-q",
            "--no-verify",
            "-m",
            subject,
        ],
    );
    t.git(&["rev-parse", "HEAD"]).trim().to_string()
}

fn repo() -> TestRepo {
    let t = TestRepo::new();
    t.write(".comm-node/config.yaml", CONFIG);
    t.write("src/api/x.ts", "export const x = 1;\n");
    t.initial_commit();
    t.git(&["add", "."]);
    t.git(&["commit", "-q", "-m", "base"]);
    for a in ["alice", "bob", "carol"] {
        t.ok_as(a, &["join"]);
    }
    t.git(&["checkout", "-q", "-b", "feature"]);
    t
}

#[test]
fn a_branch_is_vetted_commit_by_commit() {
    let t = repo();
    let clean = commit_as(
        &t,
        "bob",
        &[("src/api/y.ts", "export const y = 2;\n")],
        "clean",
    );
    let docs = commit_as(&t, "bob", &[("docs/x.md", "# x\n")], "docs by bob");
    let import = commit_as(
        &t,
        "alice",
        &[("web/app.ts", "import { x } from \"../src/api/x\";\n")],
        "web imports api",
    );
    let out = t.comm(&["--json", "check", "--range", "main..feature"]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["commits"], 3);
    let findings: Vec<(String, String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["commit"].as_str().unwrap().to_string(),
                f["file"].as_str().unwrap().to_string(),
                f["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        findings,
        vec![
            (docs.clone(), "docs/x.md".to_string(), "domain".to_string()),
            (
                import,
                "web/app.ts".to_string(),
                "import:forbidden_imports".to_string()
            ),
        ]
    );
    let human = stdout(&t.comm(&["check", "--range", "main..feature"]));
    assert!(
        human.contains("docs by bob (bob)") && human.contains("2 findings in 3 commits"),
        "{human}"
    );
    // The clean part of the branch passes.
    assert!(t
        .comm(&["check", "--range", &format!("main..{clean}")])
        .status
        .success());
}

#[test]
fn leases_and_common_files_are_judged_as_the_hook_would() {
    let t = repo();
    t.ok_as("carol", &["lease", "src/api/**"]);
    commit_as(
        &t,
        "bob",
        &[("src/api/z.ts", "export const z = 3;\n")],
        "under carol's lease",
    );
    let out = t.comm(&["--json", "check", "--range", "main..feature"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["findings"][0]["rule"], "lease", "{report}");
    t.ok_as("carol", &["release", "--all"]);

    let t = repo();
    t.write(
        ".comm-node/config.yaml",
        &format!("{CONFIG}common: [\"docs/**\"]\n"),
    );
    commit_as(
        &t,
        "alice",
        &[(
            ".comm-node/config.yaml",
            &format!("{CONFIG}common: [\"docs/**\"]\n"),
        )],
        "docs are common",
    );
    commit_as(&t, "bob", &[("docs/x.md", "# x\n")], "docs by bob");
    let out = t.comm(&["check", "--range", "main..feature"]);
    assert!(out.status.success(), "{}", stdout(&out));
}

#[test]
fn a_bad_range_is_a_usage_error() {
    let t = repo();
    assert_exit(
        &t.comm(&["check", "--range", "main..nope"]),
        2,
        "'nope' is not a commit",
    );
    assert_exit(&t.comm(&["check", "--range", "main"]), 2, "BASE..BRANCH");
    assert_exit(
        &t.comm(&["check", "--range", "main..feature", "--staged"]),
        2,
        "cannot be used",
    );
}
