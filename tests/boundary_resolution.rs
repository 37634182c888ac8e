//! Resolution on small fixtures (`fixtures/resolution/<case>`), one per form that real code
//! uses and we once got wrong. Each fixture puts the importing files in a domain that may
//! import nothing and no package, so every import that leaves it is a finding naming where
//! it resolved and its edge kind; imports that cannot be resolved are listed as unresolved.

mod common;

use std::path::Path;

use common::{copy_dir, stdout, TestRepo};
use serde_json::Value;

/// The fixture committed in a fresh repository: `file:line:col kind target` per resolved
/// import, `file:line:col kind import` per unresolved one.
fn resolve(case: &str) -> (Vec<String>, Vec<String>) {
    let repo = TestRepo::new();
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/resolution")
        .join(case);
    copy_dir(&source, repo.path());
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "fixture"]);
    let out = repo.comm(&["check", "--format", "json"]);
    let report: Value = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("{case}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    let line = |v: &Value, last: &str| {
        format!(
            "{}:{}:{} {} {}",
            v["file"].as_str().unwrap(),
            v["line"],
            v["col"],
            v["kind"].as_str().unwrap(),
            v[last].as_str().unwrap()
        )
    };
    let resolved = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| line(f, "target"))
        .collect();
    let unresolved = report["unresolved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| line(u, "import"))
        .collect();
    (resolved, unresolved)
}

fn assert_resolves(case: &str, resolved: &[&str], unresolved: &[&str]) {
    let (got_resolved, got_unresolved) = resolve(case);
    assert_eq!(got_resolved, resolved, "{case}: resolved");
    assert_eq!(got_unresolved, unresolved, "{case}: unresolved");
}

#[test]
fn python_standard_library_is_not_shadowed_by_a_package_deeper_down() {
    let f = "google/cloud/logging_v2/__init__.py";
    assert_resolves(
        "py-stdlib-shadow",
        &[
            &format!("{f}:1:8 static logging"),
            &format!("{f}:2:8 static logging"),
            &format!("{f}:3:21 static logging"),
            &format!("{f}:4:34 static google/cloud/logging/handlers.py"),
            &format!("{f}:5:8 static json"),
        ],
        &[],
    );
}

#[test]
fn python_standard_library_wins_over_a_namespace_package_without_a_project_file() {
    let f = "google/cloud/logging_v2/__init__.py";
    assert_resolves(
        "py-stdlib-no-project",
        &[
            &format!("{f}:1:8 static logging"),
            &format!("{f}:2:8 static logging"),
            &format!("{f}:3:21 static logging"),
            &format!("{f}:4:34 static google/cloud/logging/handlers.py"),
            &format!("{f}:5:8 static json"),
        ],
        &[],
    );
}

#[test]
fn python_modules_missing_under_a_namespace_package_are_other_distributions() {
    let f = "google/cloud/logging_v2/_gapic.py";
    assert_resolves(
        "py-namespace-externals",
        &[
            &format!("{f}:1:41 static google.protobuf"),
            &format!("{f}:3:26 static google.cloud.storage"),
            &format!("{f}:6:8 static six"),
            "google/cloud/logging_v2/client.py:1:33 static google.cloud.client",
        ],
        &[],
    );
}

#[test]
fn python_module_importing_a_package_of_its_own_name_is_reported() {
    assert_resolves(
        "py-self-import",
        &["tests/mypy/modules/pydantic_settings.py:2:8 static os"],
        &["tests/mypy/modules/pydantic_settings.py:1:31 static pydantic_settings.BaseSettings"],
    );
}

#[test]
fn python_resolves_from_the_importers_own_source_root() {
    let f = "services/worker/app/main.py";
    assert_resolves(
        "py-monorepo",
        &[
            &format!("{f}:1:24 static services/worker/app/models.py"),
            &format!("{f}:2:17 static services/worker/app/models.py"),
            &format!("{f}:3:8 static services/worker/app/models.py"),
        ],
        // services/api/app/routes.py exists, but `app` is the worker's own package.
        &[&format!("{f}:4:8 static app.routes")],
    );
}

#[test]
fn python_roots_from_the_config_replace_discovery() {
    let f = "google/cloud/logging_v2/__init__.py";
    assert_resolves(
        "py-config-roots",
        &[
            &format!("{f}:1:8 static logging"),
            &format!("{f}:2:34 static google/cloud/logging/handlers.py"),
        ],
        &[],
    );
}

#[test]
fn python_import_module_in_every_spelling_and_computed_names_unresolved() {
    let f = "app/main.py";
    assert_resolves(
        "py-import-module",
        &[
            &format!("{f}:1:23 static importlib"),
            &format!("{f}:2:8 static importlib"),
            &format!("{f}:6:19 dynamic pkg/plugins/a.py"),
            &format!("{f}:7:22 dynamic pkg/plugins/b.py"),
        ],
        &[
            &format!("{f}:9:26 dynamic name"),
            &format!("{f}:13:18 dynamic f\"pkg.plugins.{{KIND}}\""),
        ],
    );
}

#[test]
fn python_missing_submodules_are_unresolved_and_stubs_and_extensions_are_modules() {
    let f = "app/main.py";
    assert_resolves(
        "py-module-files",
        &[
            &format!("{f}:3:17 static pkg/__init__.py"),
            &format!("{f}:4:8 static pkg/real.py"),
            &format!("{f}:5:8 static pkg/stub_only.pyi"),
            &format!("{f}:6:8 static pkg/fast.pyx"),
            &format!("{f}:7:8 static pkg/native.cpython-311-x86_64-linux-gnu.so"),
        ],
        &[
            &format!("{f}:1:8 static pkg.missing"),
            &format!("{f}:2:25 static pkg.missing.x"),
            &format!("{f}:8:22 static .missing.y"),
            &format!("{f}:9:8 static pkg.real.deeper"),
            "tool.py:1:15 static .nothing",
        ],
    );
}

#[test]
fn python_package_directory_wins_over_module_file() {
    let f = "app/main.py";
    assert_resolves(
        "py-package-wins",
        &[
            &format!("{f}:1:8 static pkg/dup/__init__.py"),
            &format!("{f}:2:17 static pkg/dup/__init__.py"),
            &format!("{f}:3:21 static pkg/dup/inner.py"),
        ],
        &[],
    );
}

#[test]
fn python_else_of_if_not_type_checking_is_type_only() {
    let f = "app/main.py";
    assert_resolves(
        "py-not-type-checking",
        &[
            &format!("{f}:1:8 static typing"),
            &format!("{f}:4:12 static lib/runtime.py"),
            &format!("{f}:6:12 type-only lib/types.py"),
            &format!("{f}:8:12 type-only lib/a.py"),
            &format!("{f}:10:12 static lib/b.py"),
            &format!("{f}:14:12 type-only lib/c.py"),
        ],
        &[],
    );
}

#[test]
fn typescript_type_positions_and_type_reexports_are_type_only() {
    let f = "src/main.ts";
    assert_resolves(
        "ts-type-forms",
        &[
            &format!("{f}:1:15 type-only lib/t.ts"),
            &format!("{f}:2:24 type-only lib/x.ts"),
            &format!("{f}:3:20 type-only lib/all.ts"),
            &format!("{f}:4:24 type-only lib/only-types.ts"),
            &format!("{f}:5:36 re-export lib/mixed.ts"),
            &format!("{f}:6:21 dynamic lib/lazy.ts"),
            &format!("{f}:7:34 type-only lib/cast.ts"),
        ],
        &[],
    );
}

#[test]
fn typescript_package_json_imports_resolve_with_node_conditions() {
    let f = "src/main.ts";
    assert_resolves(
        "ts-package-imports",
        &[
            "src/deep/nested.ts:1:19 static src/internal/a.ts",
            &format!("{f}:1:19 static src/internal/a.ts"),
            &format!("{f}:2:24 static src/internal/deep/b.ts"),
            &format!("{f}:3:24 static src/config.node.ts"),
            &format!("{f}:4:17 static left-pad"),
            &format!("{f}:5:17 static left-pad"),
            &format!("{f}:7:19 require src/cjs.ts"),
            &format!("{f}:8:19 static src/esm.ts"),
        ],
        &[&format!("{f}:6:19 static #nope")],
    );
}

#[test]
fn typescript_trailing_slash_means_the_directory_index() {
    assert_resolves(
        "ts-trailing-slash",
        &[
            "src/dir/other.ts:1:15 static src/dir/index.ts",
            "src/dir/other.ts:2:15 static src/dir/index.ts",
            "src/main.ts:1:15 static src/dir/index.ts",
            "src/main.ts:2:15 static src/dir/index.ts",
            "src/main.ts:3:15 static src/dir.ts",
            "src/sub/inner.ts:1:15 static src/index.ts",
            "src/sub/inner.ts:2:15 static src/index.ts",
        ],
        &[],
    );
}

#[test]
fn typescript_triple_slash_references_are_type_only_imports() {
    let f = "src/main.ts";
    assert_resolves(
        "ts-triple-slash",
        &[
            &format!("{f}:1:22 type-only types/globals.d.ts"),
            &format!("{f}:2:23 type-only node"),
            &format!("{f}:3:21 type-only types/ambient.d.ts"),
        ],
        &[&format!("{f}:5:22 type-only ./missing.d.ts")],
    );
}

#[test]
fn typescript_prefers_the_ts_source_behind_a_js_specifier() {
    assert_resolves(
        "ts-prefer-ts",
        &[
            "src/main.ts:1:19 static src/both.ts",
            "src/plain.js:1:19 static src/both.js",
        ],
        &[],
    );
}
