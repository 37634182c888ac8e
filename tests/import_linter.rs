//! Indirect rules against import-linter (from PyPI, installed into a temporary virtual
//! environment by the test): on `fixtures/indirect`, whose `.importlinter` states ui's
//! indirect forbidden_imports rule as a forbidden contract, both find the same chains.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use common::{assert_success, copy_dir, stderr, stdout, TestRepo};
use serde_json::Value;

/// The version bench/peers measures against.
const IMPORT_LINTER: &str = "import-linter==2.16";

fn install_import_linter(venv: &Path) -> std::path::PathBuf {
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(venv)
        .output()
        .expect("python3 is needed (the CI script installs it)");
    assert_success(&made, &["python3 -m venv"]);
    let pip = Command::new(venv.join("bin/pip"))
        .args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            IMPORT_LINTER,
        ])
        .output()
        .unwrap();
    assert_success(&pip, &["pip install", IMPORT_LINTER]);
    venv.join("bin/lint-imports")
}

/// `app/ui/views.py` -> `app.ui.views`.
fn module(file: &str) -> String {
    file.trim_end_matches(".py")
        .trim_end_matches("/__init__")
        .replace('/', ".")
}

/// Our findings as chains: `importer:line -> ... -> imported`.
fn our_chains(report: &Value) -> BTreeSet<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| match f["chain"].as_array() {
            Some(hops) => {
                let mut parts: Vec<String> = hops
                    .iter()
                    .map(|h| format!("{}:{}", module(h["file"].as_str().unwrap()), h["line"]))
                    .collect();
                parts.push(module(f["target"].as_str().unwrap()));
                parts.join(" -> ")
            }
            None => format!(
                "{}:{} -> {}",
                module(f["file"].as_str().unwrap()),
                f["line"],
                module(f["target"].as_str().unwrap())
            ),
        })
        .collect()
}

/// lint-imports' broken-contract report: each chain is a `-   a -> b (l.N)` line followed
/// by indented `b -> c (l.M)` lines.
fn import_linter_chains(output: &str) -> BTreeSet<String> {
    let mut chains: Vec<Vec<(String, String, String)>> = Vec::new();
    for line in output.lines() {
        let (starts, rest) = if let Some(rest) = line.strip_prefix("-   ") {
            (true, rest)
        } else if let Some(rest) = line.strip_prefix("    ") {
            (false, rest)
        } else {
            continue;
        };
        let Some((hop, line_no)) = rest.trim().rsplit_once(" (l.") else {
            continue;
        };
        let Some((from, to)) = hop.split_once(" -> ") else {
            continue;
        };
        let hop = (
            from.to_string(),
            to.to_string(),
            line_no.trim_end_matches(')').to_string(),
        );
        match chains.last_mut() {
            Some(chain) if !starts => chain.push(hop),
            _ => chains.push(vec![hop]),
        }
    }
    chains
        .into_iter()
        .map(|chain| {
            let mut parts: Vec<String> = chain
                .iter()
                .map(|(from, _, line)| format!("{from}:{line}"))
                .collect();
            parts.push(chain.last().unwrap().1.clone());
            parts.join(" -> ")
        })
        .collect()
}

#[test]
fn indirect_rules_find_the_chains_import_linter_finds() {
    let venv = tempfile::tempdir().unwrap();
    let lint_imports = install_import_linter(venv.path());
    let t = TestRepo::new();
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/indirect"),
        t.path(),
    );
    t.git(&["add", "-A"]);
    t.git(&["commit", "-q", "-m", "fixture"]);

    let ours = t.comm(&["--json", "check"]);
    assert_eq!(ours.status.code(), Some(1), "{}", stderr(&ours));
    let ours = our_chains(&serde_json::from_str(&stdout(&ours)).unwrap());

    let theirs = Command::new(&lint_imports)
        .arg("--no-cache")
        .current_dir(t.path())
        .output()
        .unwrap();
    assert_eq!(theirs.status.code(), Some(1), "{}", stderr(&theirs));
    let theirs = import_linter_chains(&stdout(&theirs));

    assert_eq!(theirs.len(), 3, "the fixture's chains: {theirs:?}");
    assert_eq!(ours, theirs);
}
