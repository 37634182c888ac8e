//! Indirect rules (`forbidden_imports: [{path: GLOB, indirect: true}]`) on `fixtures/indirect`:
//! a 3-hop and a 2-hop chain from ui through services to database, a cycle inside services, an allowed
//! path through services to util, a direct import, and a plain-string rule that stays direct.
//! Judged by `check`, the pre-commit hook (a real `git commit`), `check --range`, the server
//! guard (a real `git push` to a protected branch) and `graph`.

mod common;
mod hooks_common;
mod sync_net;

use std::path::Path;

use common::{assert_exit, copy_dir, git_in, stderr, stdout, TestRepo};
use hooks_common::{git_as, path_with_comm};
use serde_json::Value;
use sync_net::Net;

const CHAIN: &str = "app/ui/views.py:1 -> app/services/orders.py:1 -> app/services/helpers.py:2 -> app/database/models.py";

/// The fixture committed on `main`, with `edit` applied to the worktree before that commit.
fn fixture_repo(edit: impl FnOnce(&TestRepo)) -> TestRepo {
    let t = TestRepo::new();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/indirect"),
        t.path(),
    );
    edit(&t);
    t.git(&["add", "-A"]);
    t.git(&["commit", "-q", "-m", "fixture"]);
    t
}

/// helpers.py without its database import: no chain reaches the database.
const HELPERS_CLEAN: &str = "from app.services import orders  # a cycle with orders\n";

fn findings(out: &std::process::Output) -> Vec<Value> {
    let report: Value =
        serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}", stderr(out)));
    report["findings"].as_array().unwrap().clone()
}

/// `file rule [chain]` per finding.
fn summary(findings: &[Value]) -> Vec<String> {
    findings
        .iter()
        .map(|f| {
            let hops: Vec<String> = f["chain"]
                .as_array()
                .map(|c| {
                    c.iter()
                        .map(|h| format!("{}:{}", h["file"].as_str().unwrap(), h["line"]))
                        .collect()
                })
                .unwrap_or_default();
            format!(
                "{} {} {}",
                f["file"].as_str().unwrap(),
                f["rule"].as_str().unwrap(),
                hops.join(" -> ")
            )
            .trim_end()
            .to_string()
        })
        .collect()
}

#[test]
fn check_reports_the_whole_chain_and_nothing_for_cycles_allowed_paths_or_plain_rules() {
    let t = fixture_repo(|_| {});
    let out = t.comm(&["--json", "check"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let found = findings(&out);
    assert_eq!(
        summary(&found),
        [
            "app/ui/direct.py forbidden_imports",
            "app/ui/report.py forbidden_imports app/ui/report.py:1 -> app/services/export.py:1",
            "app/ui/views.py forbidden_imports app/ui/views.py:1 -> app/services/orders.py:1 -> app/services/helpers.py:2",
        ]
    );
    let chained = &found[2];
    assert_eq!(chained["target"], "app/database/models.py");
    assert_eq!(chained["target_domain"], "database");
    let last = &chained["chain"][2];
    assert_eq!(
        (
            last["import"].as_str(),
            last["col"].as_u64(),
            last["target"].as_str()
        ),
        (
            Some("app.database.models"),
            Some(26),
            Some("app/database/models.py")
        )
    );
    let human = stdout(&t.comm(&["check"]));
    assert!(human.contains(CHAIN), "{human}");
}

#[test]
fn without_the_last_hop_there_is_no_chain() {
    let t = fixture_repo(|t| t.write("app/services/helpers.py", HELPERS_CLEAN));
    let out = t.comm(&["--json", "check"]);
    assert_eq!(
        summary(&findings(&out)),
        [
            "app/ui/direct.py forbidden_imports",
            "app/ui/report.py forbidden_imports app/ui/report.py:1 -> app/services/export.py:1",
        ]
    );
}

#[test]
fn a_mistyped_rule_is_a_usage_error_naming_the_field() {
    let t = fixture_repo(|t| {
        t.write(
            ".comm-node/config.yaml",
            "version: 1\ndomains:\n  ui:\n    scope: [\"app/ui/**\"]\n    forbidden_imports: [{path: \"app/database/**\", indirectly: true}]\n",
        )
    });
    assert_exit(
        &t.comm(&["check"]),
        2,
        "unknown field `indirectly`, expected `path` or `indirect`",
    );
}

#[test]
fn the_pre_commit_hook_blocks_a_commit_that_closes_a_chain_in_another_domain() {
    let t = fixture_repo(|t| t.write("app/services/helpers.py", HELPERS_CLEAN));
    alice_with_hooks(&t);
    // The staged file is in services: only the whole-repository graph shows ui reaching
    // the database through it.
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/indirect/app/services/helpers.py"),
        t.path().join("app/services/helpers.py"),
    )
    .unwrap();
    t.git(&["add", "app/services/helpers.py"]);
    let out = git_as(t.path(), Some("alice"), &["commit", "-q", "-m", "rows"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains(CHAIN), "{err}");
    // A commit touching no file of a chain passes.
    t.git(&["reset", "-q", "app/services/helpers.py"]);
    t.write("app/util.py", "def pure():\n    return 2\n");
    t.git(&["add", "app/util.py"]);
    let out = git_as(t.path(), Some("alice"), &["commit", "-q", "-m", "util"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn check_range_judges_chains_closed_by_the_branch() {
    let t = fixture_repo(|t| t.write("app/services/helpers.py", HELPERS_CLEAN));
    t.git(&["checkout", "-q", "-b", "feature"]);
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/indirect/app/services/helpers.py"),
        t.path().join("app/services/helpers.py"),
    )
    .unwrap();
    git_in(t.path(), &["commit", "-q", "-am", "rows"]);
    let out = t.comm(&["check", "--range", "main..feature"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("app/ui/views.py [import:forbidden_imports]") && text.contains(CHAIN),
        "{text}"
    );
}

#[test]
fn graph_shows_the_chain() {
    let t = fixture_repo(|_| {});
    let json: Value =
        serde_json::from_str(&stdout(&t.comm(&["graph", "--format", "json"]))).unwrap();
    let chains = json["chains"].as_array().unwrap();
    assert_eq!(chains.len(), 2, "{json}");
    assert_eq!(chains[1]["from"], "ui");
    assert_eq!(chains[1]["to"], "database");
    assert_eq!(chains[1]["path"], CHAIN);
    let dot = stdout(&t.comm(&["graph", "--format", "dot"]));
    assert!(
        dot.contains("\"ui\" -> \"database\" [style=dashed") && dot.contains(CHAIN),
        "{dot}"
    );
    let mermaid = stdout(&t.comm(&["graph", "--format", "mermaid"]));
    assert!(
        mermaid.contains("ui -.->") && mermaid.contains(CHAIN),
        "{mermaid}"
    );
}

#[test]
fn the_server_guard_refuses_a_push_that_closes_a_chain() {
    let net = Net::new();
    let out = common::comm_in(
        net.root.path(),
        &[
            "server",
            "install",
            net.remote.to_str().unwrap(),
            "--protect",
            "main",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let a = net.clone("a");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/indirect");
    copy_dir(&fixture, &a);
    // A clean base: no chain yet, and without the fixture's other violations (every
    // pushed commit is vetted).
    std::fs::write(a.join("app/services/helpers.py"), HELPERS_CLEAN).unwrap();
    std::fs::remove_file(a.join("app/ui/direct.py")).unwrap();
    std::fs::remove_file(a.join("app/ui/report.py")).unwrap();
    git_in(&a, &["add", "-A"]);
    git_in(&a, &["commit", "-q", "--no-verify", "-m", "fixture"]);
    let push = |dir: &Path| {
        std::process::Command::new("git")
            .args(["push", "origin", "HEAD:main"])
            .current_dir(dir)
            .env("PATH", path_with_comm())
            .output()
            .unwrap()
    };
    let first = push(&a);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    std::fs::copy(
        fixture.join("app/services/helpers.py"),
        a.join("app/services/helpers.py"),
    )
    .unwrap();
    git_in(&a, &["commit", "-q", "--no-verify", "-am", "rows"]);
    let refused = push(&a);
    assert_ne!(refused.status.code(), Some(0));
    let err = stderr(&refused);
    assert!(
        err.contains("app/ui/views.py") && err.contains(CHAIN),
        "{err}"
    );
}

/// The resolved-graph cache the pre-commit hook keeps under the git dir.
fn graph_cache(t: &TestRepo) -> std::path::PathBuf {
    t.path().join(".git/comm-node/graph/graph.bin")
}

fn helpers_with_the_database_import(t: &TestRepo) {
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/indirect/app/services/helpers.py"),
        t.path().join("app/services/helpers.py"),
    )
    .unwrap();
    t.git(&["add", "app/services/helpers.py"]);
}

/// `(parsed, cached)` of a staged check of every staged file.
fn parsed_and_cached(t: &TestRepo) -> (u64, u64) {
    let out = t.comm(&["--json", "check", "--staged", "--all"]);
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let stats = &report["stats"];
    (
        stats["parsed"].as_u64().unwrap(),
        stats["cached"].as_u64().unwrap(),
    )
}

#[test]
fn with_a_warm_graph_cache_the_hook_catches_a_new_chain_and_not_a_removed_one() {
    let t = fixture_repo(|t| t.write("app/services/helpers.py", HELPERS_CLEAN));
    alice_with_hooks(&t);
    t.write("app/util.py", "def pure():\n    return 2\n");
    t.git(&["add", "app/util.py"]);
    let out = git_as(t.path(), Some("alice"), &["commit", "-q", "-m", "util"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        graph_cache(&t).is_file(),
        "the hook saved the resolved graph"
    );

    // Warm: without the JSON import cache, every unchanged file still comes from the graph
    // cache and only the changed one is parsed.
    // (The hook's staged check of one file did not write one; delete any all the same.)
    let _ = std::fs::remove_dir_all(t.path().join(".git/comm-node/imports"));
    helpers_with_the_database_import(&t);
    let (parsed, cached) = parsed_and_cached(&t);
    assert_eq!(parsed, 1, "only the changed file is parsed");
    assert!(cached > 10, "{cached} files from the graph cache");
    let out = git_as(t.path(), Some("alice"), &["commit", "-q", "-m", "rows"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stderr(&out).contains(CHAIN), "{}", stderr(&out));

    // The chain committed anyway; the cache now knows it. A change that removes it passes.
    let out = git_as(
        t.path(),
        Some("alice"),
        &["commit", "-q", "--no-verify", "-m", "rows"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = t.comm(&["--json", "check", "--staged", "--all"]);
    assert_eq!(summary(&findings(&out)).len(), 3, "the chain is known");
    t.write("app/services/helpers.py", HELPERS_CLEAN);
    t.git(&["add", "app/services/helpers.py"]);
    let out = git_as(t.path(), Some("alice"), &["commit", "-q", "-m", "no rows"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = t.comm(&["--json", "check", "--staged", "--all"]);
    let left = summary(&findings(&out));
    assert!(left.iter().all(|f| !f.contains("helpers.py")), "{left:?}");
}

#[test]
fn a_corrupt_or_stale_graph_cache_never_hides_a_chain() {
    let t = fixture_repo(|t| t.write("app/services/helpers.py", HELPERS_CLEAN));
    t.comm(&["check", "--staged", "--all"]);
    let stale = std::fs::read(graph_cache(&t)).expect("the check saved the graph");
    helpers_with_the_database_import(&t);
    let chain_found = |what: &str| {
        let out = t.comm(&["check", "--staged"]);
        assert_eq!(out.status.code(), Some(1), "{what}: {}", stderr(&out));
        assert!(stdout(&out).contains(CHAIN), "{what}: {}", stdout(&out));
    };

    std::fs::write(graph_cache(&t), &stale).unwrap();
    chain_found("a cache from before the change");
    let mut flipped = stale.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x01;
    std::fs::write(graph_cache(&t), &flipped).unwrap();
    chain_found("a byte flipped");
    std::fs::write(graph_cache(&t), &stale[..stale.len() - 9]).unwrap();
    chain_found("a truncated file");
    std::fs::write(graph_cache(&t), b"not a graph").unwrap();
    chain_found("a foreign file");

    // A chain through a file new to the repository (the cache's key no longer matches).
    t.write("app/services/helpers.py", HELPERS_CLEAN);
    t.write("app/services/rows.py", "from app.database import models\n");
    t.write("app/ui/table.py", "from app.services import rows\n");
    t.git(&["add", "-A"]);
    std::fs::write(graph_cache(&t), &stale).unwrap();
    let out = t.comm(&["check", "--staged"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out)
            .contains("app/ui/table.py:1 -> app/services/rows.py:1 -> app/database/models.py"),
        "{}",
        stdout(&out)
    );
}

/// The verified state the pre-commit hook keeps so that edits skip the whole graph.
fn verified_state(t: &TestRepo) -> std::path::PathBuf {
    t.path().join(".git/comm-node/graph/verified.bin")
}

const SMALL_CONFIG: &str = "version: 1\ndomains:\n  ui:\n    scope: [\"app/ui/**\"]\n    forbidden_imports: [{path: \"app/database/**\", indirect: true}]\n";

/// alice joins and the hooks are installed.
fn alice_with_hooks(t: &TestRepo) {
    t.ok_as("alice", &["join"]);
    t.ok_as("alice", &["hooks", "install"]);
}

/// ui -> orders -> helpers, and the database nobody reaches: no chain, hooks installed.
fn clean_repo() -> TestRepo {
    let t = TestRepo::new();
    t.write("pyproject.toml", "[project]\nname = \"app\"\n");
    t.write(".comm-node/config.yaml", SMALL_CONFIG);
    for init in ["app", "app/ui", "app/services", "app/database"] {
        t.write(&format!("{init}/__init__.py"), "");
    }
    t.write("app/ui/views.py", "from app.services import orders\n");
    t.write(
        "app/services/orders.py",
        "from app.services import helpers\n",
    );
    t.write("app/services/helpers.py", "X = 1\n");
    t.write("app/services/other.py", "Y = 1\n");
    t.write("app/database/models.py", "M = 1\n");
    t.git(&["add", "-A"]);
    t.git(&["commit", "-q", "-m", "clean"]);
    alice_with_hooks(&t);
    t
}

/// Stage `content` as `path` and commit it with the hooks; the exit code.
fn commit_edit(t: &TestRepo, path: &str, content: &str) -> std::process::Output {
    t.write(path, content);
    t.git(&["add", path]);
    git_as(t.path(), Some("alice"), &["commit", "-q", "-m", path])
}

/// A commit that edits a file keeps the state warm: the hook judged it against the state
/// and appended a record (the file grew) instead of rewriting it.
fn assert_judged_by_the_state(t: &TestRepo, path: &str, content: &str) {
    let before = std::fs::metadata(verified_state(t))
        .expect("a verified state")
        .len();
    let out = commit_edit(t, path, content);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let after = std::fs::metadata(verified_state(t)).unwrap().len();
    assert!(
        after > before,
        "a record was appended ({before} -> {after} bytes)"
    );
}

const UI_CHAIN: &str =
    "app/ui/views.py:1 -> app/services/orders.py:1 -> app/services/helpers.py:1 -> app/database/models.py";

/// An edit adding the import that completes ui -> orders -> helpers -> database is refused,
/// and the refusal names the chain.
fn assert_the_ui_chain_is_refused(t: &TestRepo) {
    let out = commit_edit(
        t,
        "app/services/helpers.py",
        "from app.database import models\n",
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stderr(&out).contains(UI_CHAIN), "{}", stderr(&out));
}

#[test]
fn with_a_warm_verified_state_edits_pass_and_a_new_chain_is_refused() {
    let t = clean_repo();
    let out = commit_edit(&t, "app/services/other.py", "Y = 2\n");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(verified_state(&t).is_file(), "the hook saved the state");
    // Edits with unchanged imports, and one that removes an import, pass on the state.
    assert_judged_by_the_state(&t, "app/services/other.py", "Y = 3\n");
    assert_judged_by_the_state(
        &t,
        "app/services/orders.py",
        "from app.services import helpers  # rows\n",
    );
    assert_judged_by_the_state(
        &t,
        "app/services/other.py",
        "from app.services import helpers\n",
    );

    // An edit adding the import that completes ui -> orders -> helpers -> database.
    assert_the_ui_chain_is_refused(&t);
    t.git(&["checkout", "-q", "HEAD", "--", "app/services/helpers.py"]);

    // Two edits that only close a chain together: orders -> other, other -> database.
    t.write(
        "app/services/orders.py",
        "from app.services import helpers, other\n",
    );
    t.write("app/services/other.py", "from app.database import models\n");
    t.git(&["add", "-A"]);
    let out = git_as(t.path(), Some("alice"), &["commit", "-q", "-m", "both"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("app/services/other.py:1 -> app/database/models.py"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_state_vouches_for_head_by_its_tree_however_the_commit_was_made() {
    let t = clean_repo();
    let out = commit_edit(&t, "app/services/other.py", "Y = 2\n");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_judged_by_the_state(&t, "app/services/other.py", "Y = 3\n");
    // Two bypassing commits that end on the tree the state was verified for: HEAD's parent
    // is no longer the tree the state started from, but HEAD's tree is what it describes.
    for value in ["Y = 4\n", "Y = 3\n"] {
        t.write("app/services/other.py", value);
        t.git(&["add", "app/services/other.py"]);
        let out = git_as(
            t.path(),
            Some("alice"),
            &["commit", "-q", "--no-verify", "-m", value],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    assert_judged_by_the_state(&t, "app/services/other.py", "Y = 5\n");

    // A path-limited commit's temporary index names no tree: the state then vouches for
    // the commit made from what it approved, as before.
    t.write("app/services/other.py", "Y = 6\n");
    let out = git_as(
        t.path(),
        Some("alice"),
        &["commit", "-q", "-m", "limited", "app/services/other.py"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_judged_by_the_state(&t, "app/services/other.py", "Y = 7\n");
    assert_the_ui_chain_is_refused(&t);
}

#[test]
fn a_chain_committed_anyway_disables_the_state_until_an_edit_removes_it() {
    let t = clean_repo();
    let out = commit_edit(&t, "app/services/other.py", "Y = 2\n");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    t.write(
        "app/services/helpers.py",
        "from app.database import models\n",
    );
    t.git(&["add", "-A"]);
    let out = git_as(
        t.path(),
        Some("alice"),
        &["commit", "-q", "--no-verify", "-m", "chain"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The state no longer describes HEAD: an unrelated edit is judged on the whole graph,
    // which sees the chain only through files the commit touches, and passes; no state is
    // kept while a chain exists.
    let out = commit_edit(&t, "app/services/other.py", "Y = 3\n");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        !verified_state(&t).exists(),
        "no state while a chain exists"
    );
    // An edit on the chain is refused; the one removing the chain's last import passes.
    let out = commit_edit(
        &t,
        "app/services/orders.py",
        "from app.services import helpers  # rows\n",
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    t.git(&["checkout", "-q", "HEAD", "--", "app/services/orders.py"]);
    let out = commit_edit(&t, "app/services/helpers.py", "X = 2\n");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        verified_state(&t).is_file(),
        "clean again: the state is back"
    );
    assert_judged_by_the_state(&t, "app/services/other.py", "Y = 4\n");
}

#[test]
fn a_corrupt_truncated_or_stale_verified_state_never_hides_a_chain() {
    let t = clean_repo();
    for file in [
        "app/ui/table.py",
        "app/services/rows.py",
        "app/services/store.py",
    ] {
        t.write(file, "X = 1\n");
    }
    t.git(&["add", "-A"]);
    let out = git_as(
        t.path(),
        Some("alice"),
        &["commit", "-q", "-m", "new files"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_judged_by_the_state(&t, "app/services/other.py", "Y = 2\n");
    // In this state ui does not reach rows.py and store.py reaches nothing, so an import
    // from rows.py to store.py could not close a chain.
    let stale = std::fs::read(verified_state(&t)).unwrap();
    // Now ui reaches rows.py, and store.py the database: still no chain.
    let out = commit_edit(&t, "app/ui/table.py", "from app.services import rows\n");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = commit_edit(
        &t,
        "app/services/store.py",
        "from app.database import models\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let fresh = std::fs::read(verified_state(&t)).unwrap();

    t.write("app/services/rows.py", "from app.services import store\n");
    t.git(&["add", "-A"]);
    let chain = "app/ui/table.py:1 -> app/services/rows.py:1 -> app/services/store.py:1 -> app/database/models.py";
    let refused = |what: &str, state: &[u8]| {
        std::fs::write(verified_state(&t), state).unwrap();
        let out = git_as(t.path(), Some("alice"), &["commit", "-q", "-m", what]);
        assert_eq!(out.status.code(), Some(1), "{what}: {}", stdout(&out));
        assert!(stderr(&out).contains(chain), "{what}: {}", stderr(&out));
    };
    refused("a state of an older HEAD", &stale);
    refused("the current state", &fresh);
    let mut flipped = fresh.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x01;
    refused("a byte flipped", &flipped);
    refused("a truncated state", &fresh[..fresh.len() - 7]);
    refused("a foreign file", b"not a state");
    let mut torn = fresh.clone();
    torn.extend_from_slice(&stale[stale.len() - 40..]);
    refused("a torn record appended", &torn);
}

/// Two Rust crates beside TypeScript: app's ui -> services::orders -> services::helpers, and
/// the dbcrate nobody reaches. A commit of Rust files alone builds only the resolvers its
/// files need; the Rust one must still know the crates, on the verified state as on the
/// whole graph.
#[test]
fn a_rust_edit_on_the_verified_state_resolves_its_crates() {
    let t = TestRepo::new();
    t.write(
        ".comm-node/config.yaml",
        "version: 1\ndomains:\n  ui:\n    scope: [\"app/src/ui/**\"]\n    forbidden_imports: [{path: \"db/**\", indirect: true}]\n",
    );
    t.write("app/Cargo.toml", "[package]\nname = \"app\"\n");
    t.write("app/src/lib.rs", "pub mod services;\npub mod ui;\n");
    t.write("app/src/ui/mod.rs", "use crate::services::orders;\n");
    t.write(
        "app/src/services/mod.rs",
        "pub mod helpers;\npub mod orders;\n",
    );
    t.write(
        "app/src/services/orders.rs",
        "use crate::services::helpers;\n",
    );
    t.write("app/src/services/helpers.rs", "pub fn x() {}\n");
    t.write("db/Cargo.toml", "[package]\nname = \"dbcrate\"\n");
    t.write("db/src/lib.rs", "pub fn m() {}\n");
    t.write("web/app.ts", "export const a = 1;\n");
    t.git(&["add", "-A"]);
    t.git(&["commit", "-q", "-m", "crates"]);
    alice_with_hooks(&t);
    let helpers = "app/src/services/helpers.rs";
    let out = commit_edit(&t, helpers, "pub fn x() -> u8 { 1 }\n");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_judged_by_the_state(&t, helpers, "pub fn x() -> u8 { 2 }\n");
    let out = commit_edit(&t, helpers, "use dbcrate::m;\n");
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("app/src/services/helpers.rs:1 -> db/src/lib.rs"),
        "{}",
        stderr(&out)
    );
}
