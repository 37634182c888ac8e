//! `git comm check`: staged vs worktree semantics (also through a real pre-commit hook), the
//! blob-id cache, skipped files, config errors, and this repository's own boundaries.

mod common;

use std::path::Path;

use common::{assert_exit, stdout, TestRepo};
use serde_json::Value;

const CONFIG: &str = "version: 1
domains:
  core:
    scope: [\"src/core/**\"]
    forbidden_imports: [\"src/ui/**\"]
  ui:
    scope: [\"src/ui/**\"]
";

fn layered_repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.write(".comm-node/config.yaml", CONFIG);
    repo.write("src/core/model.ts", "export const model = 1;\n");
    repo.write(
        "src/ui/view.ts",
        "import { model } from \"../core/model\";\nexport const view = model;\n",
    );
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "clean layers"]);
    repo
}

const VIOLATION: &str = "import { view } from \"../ui/view\";\nexport const model = view;\n";
const CLEAN: &str = "export const model = 1;\n";

fn json(repo: &TestRepo, args: &[&str]) -> (Option<i32>, Value) {
    let out = repo.comm(args);
    let value = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|_| panic!("json from {args:?}: {}", stdout(&out)));
    (out.status.code(), value)
}

#[test]
fn staged_check_reads_the_index_not_the_worktree() {
    let repo = layered_repo();
    assert_eq!(repo.comm(&["check", "--staged"]).status.code(), Some(0));

    // A violation only in the worktree: the staged check passes, the worktree check fails.
    repo.write("src/core/model.ts", VIOLATION);
    assert_eq!(repo.comm(&["check", "--staged"]).status.code(), Some(0));
    let out = repo.comm(&["check"]);
    assert_exit(&out, 1, "1 boundary violation");
    assert!(
        stdout(&out).contains("src/core/model.ts:1:22 forbidden_imports: core -> ui"),
        "{}",
        stdout(&out)
    );

    // Staged, then "fixed" only in the worktree: the staged check still blocks.
    repo.git(&["add", "src/core/model.ts"]);
    repo.write("src/core/model.ts", CLEAN);
    let (code, report) = json(&repo, &["check", "--staged", "--format", "json"]);
    assert_eq!(code, Some(1));
    assert_eq!(report["findings"][0]["file"], "src/core/model.ts");
    assert_eq!(report["findings"][0]["rule"], "forbidden_imports");
    assert_eq!(
        repo.comm(&["check"]).status.code(),
        Some(0),
        "worktree is clean"
    );
}

/// `git rm --cached` takes a file out of the commit: the staged check must neither check it
/// nor resolve imports to it, though it is still in the worktree.
#[test]
fn staged_check_ignores_files_removed_from_the_index() {
    let repo = layered_repo();
    repo.write("src/core/extra.ts", VIOLATION);
    repo.git(&["add", "src/core/extra.ts"]);
    assert_exit(
        &repo.comm(&["check", "--staged"]),
        1,
        "1 boundary violation",
    );

    repo.git(&["rm", "-q", "--cached", "src/core/extra.ts"]);
    assert!(repo.path().join("src/core/extra.ts").is_file());
    for args in [
        &["check", "--staged", "--format", "json"][..],
        &["check", "--staged", "--all", "--format", "json"][..],
    ] {
        let (code, report) = json(&repo, args);
        assert_eq!(code, Some(0), "{args:?}: {report}");
        assert_eq!(report["findings"], Value::Array(vec![]), "{args:?}");
    }
    let (_, all) = json(&repo, &["check", "--staged", "--all", "--format", "json"]);
    assert_eq!(
        all["stats"]["files"], 2,
        "only the indexed model.ts and view.ts: {all}"
    );
    assert_exit(&repo.comm(&["check"]), 1, "1 boundary violation");

    // A staged import of a file taken out of the index cannot resolve to the worktree copy.
    repo.git(&["rm", "-q", "--cached", "src/ui/view.ts"]);
    repo.write("src/core/model.ts", VIOLATION);
    repo.git(&["add", "src/core/model.ts"]);
    let (code, report) = json(&repo, &["check", "--staged", "--all", "--format", "json"]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["findings"], Value::Array(vec![]));
    assert_eq!(
        report["unresolved"][0]["file"], "src/core/model.ts",
        "{report}"
    );
    assert_eq!(report["stats"]["files"], 1, "{report}");
}

/// `--staged` judges what the commit changes, as the pre-commit hook does: the files whose
/// staged blob differs from HEAD, and while a merge is being concluded only those differing
/// from every merged head (merging finished work does not re-judge it; `--all` does).
#[test]
fn staged_check_judges_only_what_the_commit_changes() {
    let repo = layered_repo();
    for dir in ["a", "b", "c"] {
        repo.write(&format!("src/{dir}/x.ts"), CLEAN);
    }
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "more dirs"]);
    repo.write("src/b/x.ts", "export const model = 2;\n");
    repo.write("src/core/model.ts", VIOLATION);
    repo.git(&["add", "-A"]);
    let (code, report) = json(&repo, &["check", "--staged", "--format", "json"]);
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(report["stats"]["files"], 2, "{report}");
    repo.git(&["reset", "-q", "--hard"]);

    repo.git(&["checkout", "-q", "-b", "other"]);
    repo.write("src/core/other.ts", VIOLATION);
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "violation on a branch"]);
    repo.git(&["checkout", "-q", "-"]);
    repo.write("src/a/x.ts", "export const model = 3;\n");
    repo.git(&["commit", "-q", "-am", "meanwhile"]);
    repo.git(&["merge", "-q", "--no-commit", "--no-ff", "other"]);
    let (code, report) = json(&repo, &["check", "--staged", "--format", "json"]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["stats"]["files"], 0, "{report}");
    let (code, report) = json(&repo, &["check", "--staged", "--all", "--format", "json"]);
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(report["findings"][0]["file"], "src/core/other.ts");
}

#[test]
fn a_pre_commit_hook_calling_check_staged_blocks_only_staged_violations() {
    let repo = layered_repo();
    let hook = repo.path().join(".git/hooks/pre-commit");
    std::fs::write(
        &hook,
        format!("#!/bin/sh\nexec \"{}\" check --staged\n", common::BIN),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let commit = |msg: &str| {
        std::process::Command::new("git")
            .args(["commit", "-q", "-m", msg])
            .current_dir(repo.path())
            .output()
            .unwrap()
    };
    // Staged violation, worktree fixed: blocked.
    repo.write("src/core/model.ts", VIOLATION);
    repo.git(&["add", "src/core/model.ts"]);
    repo.write("src/core/model.ts", CLEAN);
    let out = commit("add violation");
    assert!(!out.status.success(), "commit must be blocked");
    let said = format!("{}{}", stdout(&out), common::stderr(&out));
    assert!(
        said.contains("src/core/model.ts:1:22 forbidden_imports"),
        "{said}"
    );

    // Clean staged content, violation only in the worktree: the commit goes through.
    repo.git(&["add", "src/core/model.ts"]);
    repo.write("src/core/other.ts", "export const other = 2;\n");
    repo.git(&["add", "src/core/other.ts"]);
    repo.write("src/core/model.ts", VIOLATION);
    let out = commit("clean commit");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn warm_cache_reparses_only_the_changed_file() {
    let repo = layered_repo();
    for i in 0..5 {
        repo.write(
            &format!("src/core/m{i}.ts"),
            &format!("export const m{i} = {i};\n"),
        );
    }
    let (_, cold) = json(&repo, &["check", "--format", "json"]);
    assert_eq!(cold["stats"]["files"], 7);
    assert_eq!(cold["stats"]["parsed"], 7);
    let (_, warm) = json(&repo, &["check", "--format", "json"]);
    assert_eq!(
        (
            warm["stats"]["parsed"].as_u64(),
            warm["stats"]["cached"].as_u64()
        ),
        (Some(0), Some(7))
    );
    repo.write("src/core/m3.ts", "export const m3 = 33;\n");
    let (_, after) = json(&repo, &["check", "--format", "json"]);
    assert_eq!(
        (
            after["stats"]["parsed"].as_u64(),
            after["stats"]["cached"].as_u64()
        ),
        (Some(1), Some(6))
    );

    // A corrupt cache is ignored and rebuilt.
    let cache = repo.path().join(".git/comm-node/imports/imports.json");
    std::fs::write(&cache, b"{not json").unwrap();
    let (code, rebuilt) = json(&repo, &["check", "--format", "json"]);
    assert_eq!(code, Some(0));
    assert_eq!(rebuilt["stats"]["parsed"], 7);
}

/// The pre-commit path: a few staged files are parsed without reading or rewriting the
/// import cache of every file (on the 5,000-file bench that cache is 1.5 MB of JSON).
#[test]
fn a_staged_check_of_a_few_files_leaves_the_import_cache_alone() {
    let repo = layered_repo();
    let (_, whole) = json(&repo, &["check", "--format", "json"]);
    assert_eq!(whole["stats"]["parsed"], 2);
    let cache = repo.path().join(".git/comm-node/imports/imports.json");
    let before = std::fs::read(&cache).expect("the whole check wrote the cache");
    repo.write("src/core/model.ts", "export const model = 2;\n");
    repo.git(&["add", "src/core/model.ts"]);
    let (code, staged) = json(&repo, &["check", "--staged", "--format", "json"]);
    assert_eq!(code, Some(0));
    assert_eq!(
        (
            staged["stats"]["parsed"].as_u64(),
            staged["stats"]["cached"].as_u64()
        ),
        (Some(1), Some(0))
    );
    let after = std::fs::read(&cache).unwrap();
    assert!(after == before, "the cache was rewritten");
}

#[test]
fn binary_non_utf8_and_huge_files_are_skipped_with_a_notice() {
    let repo = layered_repo();
    std::fs::write(repo.path().join("src/core/bin.ts"), b"\x00\x01\x02binary").unwrap();
    std::fs::write(repo.path().join("src/core/latin1.py"), b"x = '\xe9'\n").unwrap();
    let huge = "// x\n".repeat(300_000);
    repo.write("src/core/huge.js", &huge);
    let out = repo.comm(&["check", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let skipped: Vec<String> = report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                s["file"].as_str().unwrap(),
                s["reason"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        skipped,
        vec![
            "src/core/bin.ts binary",
            "src/core/huge.js larger than 1 MiB",
            "src/core/latin1.py not UTF-8",
        ]
    );
    assert!(common::stderr(&out).contains("notice: skipped src/core/bin.ts: binary"));
}

#[test]
fn config_errors_exit_2_with_file_and_line() {
    let repo = layered_repo();
    repo.write(
        ".comm-node/config.yaml",
        "version: 1\ndomains:\n  a:\n    scope: [\"src/**\"]\n  b:\n    scope: [\"src/ui/**\"]\n",
    );
    assert_exit(
        &repo.comm(&["check"]),
        2,
        "config.yaml:6: domains 'a' and 'b' overlap",
    );
    repo.write(
        ".comm-node/config.yaml",
        "version: 1\ndomains:\n  a:\n    scope: [\"src/**\"]\n    forbiden: []\n",
    );
    assert_exit(&repo.comm(&["check"]), 2, "config.yaml:5");
}

#[test]
fn strict_fails_on_unresolved_imports_and_paths_limit_the_check() {
    let repo = layered_repo();
    repo.write(
        "src/ui/lazy.ts",
        "export const load = (n: string) => import(n);\n",
    );
    repo.write("src/core/model.ts", VIOLATION);
    assert_eq!(repo.comm(&["check", "src/ui"]).status.code(), Some(0));
    let out = repo.comm(&["check", "--strict", "src/ui"]);
    assert_exit(&out, 1, "unresolved");
    assert!(
        stdout(&out).contains("src/ui/lazy.ts:1:43 unresolved: 'n' (dynamic)"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        repo.comm(&["check", "src/core/model.ts"]).status.code(),
        Some(1)
    );
}

#[test]
fn graph_formats_mark_violating_edges() {
    let repo = layered_repo();
    repo.write("src/core/model.ts", VIOLATION);
    let dot = stdout(&repo.comm(&["graph", "--format", "dot"]));
    assert!(
        dot.contains("\"core\" -> \"ui\" [color=red fontcolor=red label=\"1 (1 violating)\"]"),
        "{dot}"
    );
    assert!(dot.contains("\"ui\" -> \"core\" [label=\"1\"]"), "{dot}");
    let mermaid = stdout(&repo.comm(&["graph", "--format", "mermaid"]));
    assert!(
        mermaid.contains("core -->|1 (1 violating)| ui"),
        "{mermaid}"
    );
    assert!(mermaid.contains("linkStyle 0 stroke:red"), "{mermaid}");
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn this_repository_respects_its_own_boundaries() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let repo = TestRepo::new();
    for dir in ["src", ".comm-node", "grammars"] {
        copy_tree(&root.join(dir), &repo.path().join(dir));
    }
    std::fs::copy(root.join("Cargo.toml"), repo.path().join("Cargo.toml")).unwrap();
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "copy"]);
    let (code, report) = json(&repo, &["check", "--format", "json"]);
    assert_eq!(code, Some(0), "{report}");
    assert!(report["stats"]["files"].as_u64().unwrap() > 20);
    // The rule bites: a library module reaching into the CLI layer is caught.
    let config = repo.path().join("src/config.rs");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(
        "\n#[allow(dead_code)]\nfn leak() -> crate::cli::Format { crate::cli::Format::Json }\n",
    );
    std::fs::write(&config, text).unwrap();
    let (code, report) = json(&repo, &["check", "--format", "json"]);
    assert_eq!(code, Some(1));
    assert_eq!(report["findings"][0]["file"], "src/config.rs");
    assert_eq!(report["findings"][0]["source_domain"], "core");
    assert_eq!(report["findings"][0]["target_domain"], "cli");
}

#[test]
fn check_staged_library_api_for_the_hook() {
    let repo = layered_repo();
    repo.write("src/core/model.ts", VIOLATION);
    repo.git(&["add", "src/core/model.ts"]);
    repo.write("src/core/model.ts", CLEAN);
    let git_repo = git_comm::repo::Repo::discover(repo.path()).unwrap();
    let config = git_comm::config::Config::load(repo.path()).unwrap();
    let report = git_comm::boundary::check_staged(&git_repo, &config).unwrap();
    assert!(!report.passes(false));
    assert_eq!(report.findings.len(), 1);
    let message = report.findings[0].blocking_message();
    assert!(
        message.starts_with("src/core/model.ts:1:22 forbidden_imports: core -> ui imports '../ui/view' (src/ui/view.ts)\n  hint: "),
        "{message}"
    );
}

#[test]
fn excluded_files_are_not_checked_but_still_resolve() {
    let repo = layered_repo();
    repo.write(
        "src/core/vendor/lib.ts",
        VIOLATION.replace("../ui", "../../ui").as_str(),
    );
    repo.write(
        "src/ui/widget.ts",
        "import { lib } from \"../core/vendor/lib\";\n",
    );
    assert_exit(&repo.comm(&["check"]), 1, "1 boundary violation");

    let excluding = format!("{CONFIG}exclude: [\"src/core/vendor/**\"]\n");
    repo.write(".comm-node/config.yaml", &excluding);
    let (code, report) = json(&repo, &["check", "--format", "json"]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(
        report["stats"]["files"], 3,
        "vendor file not read: {report}"
    );
    assert!(
        report["unresolved"].as_array().unwrap().is_empty(),
        "{report}"
    );

    repo.write(
        ".comm-node/config.yaml",
        &format!("{CONFIG}exclude: [\"src/[\"]\n"),
    );
    assert_exit(
        &repo.comm(&["check"]),
        2,
        "config.yaml:8: exclude: bad glob 'src/['",
    );
}
