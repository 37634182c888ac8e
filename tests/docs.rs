//! The documentation holds: README.md and the mdBook in docs/ link only to files and
//! headings that exist, SUMMARY.md lists every page, and the examples marked runnable
//! (```` ```sh runnable ````, and the README's quick start) run with the built binary in a
//! new repository.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The pages other work writes into: their names are fixed.
const PAGES: [&str; 13] = [
    "mail.md",
    "leases.md",
    "tasks.md",
    "artifacts.md",
    "sync.md",
    "boundaries.md",
    "oversight.md",
    "server.md",
    "integrity.md",
    "storage.md",
    "config.md",
    "scale.md",
    "agents.md",
];

fn docs_dir() -> PathBuf {
    Path::new(ROOT).join("docs")
}

fn pages() -> Vec<PathBuf> {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(docs_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.sort();
    pages
}

fn markdown_files() -> Vec<PathBuf> {
    let mut files = vec![Path::new(ROOT).join("README.md")];
    files.extend(pages());
    files
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Lines outside fenced code blocks, with their 1-based numbers.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut fence: Option<&str> = None;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let marker = ["```", "~~~"].into_iter().find(|m| trimmed.starts_with(m));
        match (fence, marker) {
            (None, Some(m)) => fence = Some(m),
            (Some(open), Some(m)) if open == m => fence = None,
            (None, None) => out.push((i + 1, line)),
            _ => {}
        }
    }
    out
}

/// `line` without its code spans (a link inside backticks is text).
fn without_code_spans(line: &str) -> String {
    let mut out = String::new();
    let mut in_code = false;
    for c in line.chars() {
        if c == '`' {
            in_code = !in_code;
        } else if !in_code {
            out.push(c);
        }
    }
    out
}

/// Every inline link target `[text](target)` in the prose of `text`, with its line.
fn link_targets(text: &str) -> Vec<(usize, String)> {
    let mut targets = Vec::new();
    for (number, line) in prose_lines(text) {
        let line = without_code_spans(line);
        let mut rest = line.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            targets.push((number, after[..end].trim().to_string()));
            rest = &after[end..];
        }
    }
    targets
}

/// The anchor mdBook and GitHub give a heading: lowercase; letters, digits, `-` and `_`
/// kept; spaces become `-`; everything else dropped. Repeats get `-1`, `-2`, ...
fn slug(heading: &str) -> String {
    let text = heading.replace('`', "");
    text.trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            c if c.is_whitespace() => Some('-'),
            _ => None,
        })
        .collect()
}

fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for (_, line) in prose_lines(text) {
        let Some(heading) = line.strip_prefix('#') else {
            continue;
        };
        let base = slug(heading.trim_start_matches('#'));
        let mut anchor = base.clone();
        let mut n = 0;
        while seen.contains(&anchor) {
            n += 1;
            anchor = format!("{base}-{n}");
        }
        seen.insert(anchor);
    }
    seen
}

fn is_external(target: &str) -> bool {
    ["http://", "https://", "mailto:"]
        .iter()
        .any(|s| target.starts_with(s))
}

/// What is wrong with `target` as written in `file`, if anything.
fn broken(file: &Path, target: &str) -> Option<String> {
    let (path, anchor) = match target.split_once('#') {
        Some((p, a)) => (p, Some(a)),
        None => (target, None),
    };
    let resolved = if path.is_empty() {
        file.to_path_buf()
    } else {
        file.parent().unwrap().join(path)
    };
    if !resolved.exists() {
        return Some(format!("no file {}", resolved.display()));
    }
    let anchor = anchor?;
    if anchors(&read(&resolved)).contains(anchor) {
        return None;
    }
    Some(format!("no heading #{anchor} in {}", resolved.display()))
}

#[test]
fn every_relative_link_and_anchor_resolves() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for file in markdown_files() {
        for (line, target) in link_targets(&read(&file)) {
            if is_external(&target) {
                continue;
            }
            checked += 1;
            if let Some(why) = broken(&file, &target) {
                problems.push(format!("{}:{line}: ({target}) {why}", file.display()));
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} links found: is the parser right?"
    );
    assert!(
        problems.is_empty(),
        "broken links:\n{}",
        problems.join("\n")
    );
}

#[test]
fn headings_slug_as_mdbook_and_github_do() {
    assert_eq!(slug(" Leases across machines"), "leases-across-machines");
    assert_eq!(slug(" `check --format json`"), "check---format-json");
    assert_eq!(
        slug(" Agent harnesses: `git comm setup`"),
        "agent-harnesses-git-comm-setup"
    );
    let repeated = anchors("# A\n## Notes\n## Notes\n```\n# not a heading\n```\n");
    assert_eq!(
        repeated.into_iter().collect::<Vec<_>>(),
        ["a", "notes", "notes-1"]
    );
}

#[test]
fn summary_lists_every_page_and_only_pages_that_exist() {
    let summary = read(&docs_dir().join("SUMMARY.md"));
    let listed: BTreeSet<String> = link_targets(&summary).into_iter().map(|(_, t)| t).collect();
    for page in pages() {
        let name = page.file_name().unwrap().to_str().unwrap().to_string();
        if name != "SUMMARY.md" {
            assert!(listed.contains(&name), "SUMMARY.md does not list {name}");
        }
    }
    for target in &listed {
        assert!(
            docs_dir().join(target).is_file(),
            "SUMMARY.md lists missing {target}"
        );
    }
    for page in PAGES {
        assert!(listed.contains(page), "the {page} page is missing");
    }
}

#[test]
fn the_readme_is_short_and_the_guide_too() {
    let readme = read(&Path::new(ROOT).join("README.md"));
    assert!(
        readme.lines().count() <= 250,
        "README.md has {} lines",
        readme.lines().count()
    );
    let guide = read(&docs_dir().join("agents.md"));
    assert!(
        guide.lines().count() <= 150,
        "agents.md has {} lines",
        guide.lines().count()
    );
}

/// The code blocks of `text` whose info string is `sh` followed by `marker`, or that follow a
/// `<!-- marker -->` line.
fn marked_blocks(text: &str, marker: &str) -> Vec<(usize, String)> {
    let comment = format!("<!-- {marker} -->");
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    let mut after_comment = false;
    for (i, line) in text.lines().enumerate() {
        if let Some((start, body)) = current.as_mut() {
            if line.trim_start().starts_with("```") {
                blocks.push((*start, std::mem::take(body)));
                current = None;
            } else {
                body.push_str(line);
                body.push('\n');
            }
            continue;
        }
        let info: Vec<&str> = line
            .trim()
            .strip_prefix("```")
            .map(|i| i.split([' ', ',']).collect())
            .unwrap_or_default();
        if info.first() == Some(&"sh") && (after_comment || info.contains(&marker)) {
            current = Some((i + 1, String::new()));
        }
        after_comment = line.trim() == comment;
    }
    blocks
}

/// Run `script` with `sh -e` in a new repository, the built git-comm first on PATH. The
/// repository sits alone in a temporary directory, so `../hub.git` is the example's own.
fn run_in_new_repo(script: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    git_in(&repo, &["init", "-q", "-b", "main"]);
    let bin_dir = bin_path().parent().unwrap().to_path_buf();
    Command::new("sh")
        .args(["-e", "-c", script])
        .current_dir(&repo)
        .env(
            "PATH",
            format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap()),
        )
        .env("GIT_AUTHOR_NAME", "Docs")
        .env("GIT_AUTHOR_EMAIL", "docs@example.com")
        .env("GIT_COMMITTER_NAME", "Docs")
        .env("GIT_COMMITTER_EMAIL", "docs@example.com")
        .env_remove("GIT_COMM_AGENT")
        .output()
        .unwrap()
}

fn assert_runs(what: &str, script: &str) {
    let out = run_in_new_repo(script);
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{script}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        stdout(&out),
        stderr(&out)
    );
}

#[test]
fn the_readme_quick_start_runs_pasted_into_a_new_repository() {
    let readme = read(&Path::new(ROOT).join("README.md"));
    let blocks = marked_blocks(&readme, "quickstart");
    assert_eq!(blocks.len(), 1, "one block after <!-- quickstart -->");
    let (line, script) = &blocks[0];
    assert_runs(&format!("README.md:{line}"), script);
}

#[test]
fn every_runnable_example_in_the_docs_runs() {
    let mut ran = 0;
    for page in pages() {
        for (line, script) in marked_blocks(&read(&page), "runnable") {
            assert_runs(&format!("{}:{line}", page.display()), &script);
            ran += 1;
        }
    }
    assert!(ran >= 3, "only {ran} runnable examples");
}
