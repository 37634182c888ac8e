//! The fixtures (TS monorepo, Python src layout, Rust workspace) copied into real git repos,
//! committed, and checked by the real binary: exact findings, unresolved imports, graph edges.

mod common;

use std::path::Path;

use common::{copy_dir, stdout, TestRepo};
use serde_json::Value;

fn fixture_repo(name: &str) -> TestRepo {
    let repo = TestRepo::new();
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    copy_dir(&source, repo.path());
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "fixture"]);
    repo
}

/// `file:line:col rule source->target_domain target` per finding, and the JSON report.
fn check(repo: &TestRepo) -> (Vec<String>, Vec<String>, Value) {
    let out = repo.comm(&["check", "--format", "json"]);
    let report: Value = serde_json::from_str(&stdout(&out)).expect("json report");
    assert_eq!(out.status.code(), Some(1), "violations exit 1");
    let findings = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            for field in ["import", "kind", "hint"] {
                assert!(f[field].is_string(), "{field} in {f}");
            }
            format!(
                "{}:{}:{} {} {}->{} {}",
                f["file"].as_str().unwrap(),
                f["line"],
                f["col"],
                f["rule"].as_str().unwrap(),
                f["source_domain"].as_str().unwrap(),
                f["target_domain"].as_str().unwrap_or("-"),
                f["target"].as_str().unwrap()
            )
        })
        .collect();
    let unresolved = report["unresolved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            format!(
                "{}:{}:{} {} {}",
                u["file"].as_str().unwrap(),
                u["line"],
                u["col"],
                u["kind"].as_str().unwrap(),
                u["import"].as_str().unwrap()
            )
        })
        .collect();
    (findings, unresolved, report)
}

fn graph_edges(repo: &TestRepo) -> Vec<String> {
    let out = repo.comm(&["graph", "--format", "json"]);
    common::assert_success(&out, &["graph"]);
    let graph: Value = serde_json::from_str(&stdout(&out)).unwrap();
    graph["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}->{} {}/{}",
                e["from"].as_str().unwrap(),
                e["to"].as_str().unwrap(),
                e["count"],
                e["violations"]
            )
        })
        .collect()
}

#[test]
fn typescript_monorepo_with_tsconfig_paths_and_workspaces() {
    let repo = fixture_repo("ts-monorepo");
    let (findings, unresolved, _) = check(&repo);
    assert_eq!(
        findings,
        vec![
            "packages/api/src/index.ts:3:24 forbidden_imports api->ui packages/ui/src/button.tsx",
            "packages/api/src/index.ts:4:24 forbidden_imports api->ui packages/ui/src/index.ts",
            "packages/api/src/index.ts:5:19 forbidden_packages api->- react",
            "packages/api/src/index.ts:6:26 exports api->shared packages/shared/src/internal.ts",
            "packages/shared/src/legacy.cjs:1:27 allowed_imports shared->api packages/api/src/local.ts",
        ]
    );
    assert_eq!(
        unresolved,
        vec!["packages/api/src/index.ts:8:23 dynamic pluginName"]
    );
    // Clean imports resolve too: api -> shared via the tsconfig path, ui -> shared via the
    // workspace package name; the type-only import of ui is not a violation (ignore_kinds)
    // but still an edge.
    assert_eq!(
        graph_edges(&repo),
        vec![
            "api->package:react 1/1",
            "api->shared 2/1",
            "api->ui 3/2",
            "shared->api 1/1",
            "ui->shared 1/0",
        ]
    );
}

#[test]
fn python_src_layout_package() {
    let repo = fixture_repo("py-src");
    let (findings, unresolved, _) = check(&repo);
    assert_eq!(
        findings,
        vec![
            "src/shop/core/models.py:3:19 forbidden_imports core->web src/shop/web/views.py",
            "src/shop/core/services.py:3:8 forbidden_packages core->- requests",
            "src/shop/web/views.py:2:30 exports web->core src/shop/core/models.py",
        ]
    );
    assert_eq!(unresolved, vec!["src/shop/web/app.py:6:40 dynamic name"]);
    assert_eq!(
        graph_edges(&repo),
        vec![
            "core->package:requests 1/1",
            "core->web 2/1",
            "web->core 2/1",
        ]
    );
}

#[test]
fn rust_workspace() {
    let repo = fixture_repo("rust-ws");
    let (findings, unresolved, _) = check(&repo);
    assert_eq!(
        findings,
        vec![
            "crates/domain/src/model.rs:2:5 forbidden_imports domain->web crates/web/src/render.rs",
            "crates/domain/src/store/mod.rs:2:5 forbidden_packages domain->- reqwest",
            "crates/web/src/lib.rs:3:32 exports web->domain crates/domain/src/store/mod.rs",
        ]
    );
    assert!(unresolved.is_empty(), "{unresolved:?}");
    assert_eq!(
        graph_edges(&repo),
        vec![
            "domain->package:reqwest 1/1",
            "domain->web 1/1",
            "web->domain 3/1",
        ]
    );
}
