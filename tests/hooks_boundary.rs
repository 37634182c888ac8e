//! The pre-commit hook blocks boundary violations in staged content (real `git commit`),
//! judges the index, not the worktree, and post-commit records a bypass.

mod common;
mod hooks_common;

use common::TestRepo;
use hooks_common::*;
use serde_json::Value;

const CONFIG: &str = "version: 1
domains:
  api:
    scope: [\"src/api/**\"]
    forbidden_imports: [\"src/ui/**\"]
  ui:
    scope: [\"src/ui/**\"]
";

/// The config and two files committed; no agent, no hooks yet.
fn app_repo() -> TestRepo {
    let t = TestRepo::new();
    t.write(".comm-node/config.yaml", CONFIG);
    t.write("src/ui/button.ts", "export const button = 1;\n");
    t.write("src/api/server.ts", "export const serve = 1;\n");
    t.initial_commit();
    t.git(&["add", "."]);
    t.git(&["commit", "-q", "-m", "app"]);
    t
}

fn boundary_repo() -> TestRepo {
    let t = app_repo();
    t.ok_as("alice", &["join"]);
    t.ok_as("alice", &["hooks", "install"]);
    t
}

/// The `violation` messages in the mailbox, as bob (joining first) reads them.
fn violations_seen_by_bob(t: &TestRepo) -> Vec<Value> {
    t.ok_as("bob", &["join"]);
    let inbox: Value =
        serde_json::from_str(&t.ok_as("bob", &["--json", "inbox", "--all", "--type", "violation"]))
            .unwrap();
    inbox["messages"].as_array().unwrap().clone()
}

/// alice commits what is staged with `--no-verify`: pre-commit does not run.
fn bypass_as_alice(t: &TestRepo) {
    ok(
        &git_as(
            t.path(),
            Some("alice"),
            &["commit", "-q", "--no-verify", "-m", "bypass"],
        ),
        "bypass",
    );
}

fn head(t: &TestRepo) -> String {
    t.git(&["rev-parse", "HEAD"]).trim().to_string()
}

const VIOLATION: &str = "import { button } from \"../ui/button\";\nexport const serve = button;\n";
const CLEAN: &str = "export const serve = 2;\n";

#[test]
fn staged_violation_blocks_the_commit() {
    let t = boundary_repo();
    t.write("src/api/server.ts", VIOLATION);
    t.git(&["add", "src/api/server.ts"]);
    let before = head(&t);
    let err = refused(
        &git_as(t.path(), Some("alice"), &["commit", "-m", "wire ui"]),
        "commit",
    );
    for needle in [
        "src/api/server.ts: 1:24 forbidden_imports: api -> ui imports '../ui/button'",
        "[boundary]",
        "fix the imports",
        "--no-verify",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    assert_eq!(head(&t), before);
}

/// The TypeScript resolver reads tsconfig and package.json only when a staged file has a
/// non-relative import: an alias beside files that import relatively is still resolved
/// through tsconfig `paths` (as an external package `@ui` it would pass).
#[test]
fn a_tsconfig_alias_is_judged_beside_relative_imports() {
    let t = boundary_repo();
    t.write(
        "tsconfig.json",
        "{\"compilerOptions\": {\"baseUrl\": \".\", \"paths\": {\"@ui/*\": [\"src/ui/*\"]}}}\n",
    );
    t.git(&["add", "tsconfig.json"]);
    t.git(&["commit", "-q", "--no-verify", "-m", "paths"]);
    t.write(
        "src/api/util.ts",
        "import { serve } from \"./server\";\nexport const u = serve;\n",
    );
    t.write(
        "src/api/server.ts",
        "import { button } from \"@ui/button\";\nexport const serve = button;\n",
    );
    t.git(&["add", "src/api"]);
    let err = refused(
        &git_as(t.path(), Some("alice"), &["commit", "-m", "alias"]),
        "commit",
    );
    assert!(
        err.contains("src/api/server.ts: 1:24 forbidden_imports: api -> ui imports '@ui/button'"),
        "{err}"
    );
    assert!(!err.contains("src/api/util.ts"), "{err}");
}

#[test]
fn worktree_only_violation_does_not_block() {
    let t = boundary_repo();
    t.write("src/api/server.ts", CLEAN);
    t.git(&["add", "src/api/server.ts"]);
    t.write("src/api/server.ts", VIOLATION); // not staged
    ok(
        &git_as(t.path(), Some("alice"), &["commit", "-q", "-m", "clean"]),
        "clean commit",
    );
}

/// The hook reuses the worktree's config only when the staged one is the same text: a rule
/// dropped or added in the worktree alone changes nothing.
#[test]
fn the_staged_config_rules_when_the_worktree_config_differs() {
    let t = boundary_repo();
    t.write("src/api/server.ts", VIOLATION);
    t.git(&["add", "src/api/server.ts"]);
    let without_rule = CONFIG.replace("    forbidden_imports: [\"src/ui/**\"]\n", "");
    t.write(".comm-node/config.yaml", &without_rule); // not staged
    refused(
        &git_as(t.path(), Some("alice"), &["commit", "-m", "x"]),
        "commit with the rule staged",
    );

    t.git(&["add", ".comm-node/config.yaml"]);
    t.git(&["commit", "-q", "--no-verify", "-m", "drop the rule"]);
    t.write(
        "src/api/server.ts",
        &VIOLATION.replace("= button", "= button + 1"),
    );
    t.git(&["add", "src/api/server.ts"]);
    t.write(".comm-node/config.yaml", CONFIG); // the rule again, not staged
    ok(
        &git_as(t.path(), Some("alice"), &["commit", "-q", "-m", "y"]),
        "commit with no rule staged",
    );
}

#[test]
fn staged_violation_fixed_only_in_worktree_still_blocks() {
    let t = boundary_repo();
    t.write("src/api/server.ts", VIOLATION);
    t.git(&["add", "src/api/server.ts"]);
    t.write("src/api/server.ts", CLEAN); // fixed, but not staged
    refused(
        &git_as(t.path(), Some("alice"), &["commit", "-m", "x"]),
        "commit",
    );
}

#[test]
fn bypass_is_recorded_as_a_violation_message() {
    let t = boundary_repo();
    t.write("src/api/server.ts", VIOLATION);
    t.git(&["add", "src/api/server.ts"]);
    bypass_as_alice(&t);
    let messages = violations_seen_by_bob(&t);
    assert_eq!(messages.len(), 1, "{messages:?}");
    let body = messages[0]["body"].as_str().unwrap();
    assert!(
        body.contains("src/api/server.ts") && body.contains("boundary"),
        "{body}"
    );
    assert!(body.contains(&head(&t)[..10]), "names the commit: {body}");
}

/// pre-commit's approval receipt lets post-commit skip re-checking: it names the `git
/// commit` process that ran pre-commit, so it serves that commit only. A commit approved and
/// then aborted leaves one behind; if a lease is taken meanwhile, a bypass committing the
/// very same content is still checked and recorded.
#[test]
fn approval_receipt_serves_only_its_own_commit_and_a_later_bypass_is_still_recorded() {
    let t = boundary_repo();
    let receipt = t.path().join(".git/comm-node/pre-commit-approved");
    let unused = |receipt: &std::path::Path| std::fs::read(receipt).map_or(true, |r| r.is_empty());
    t.write("src/api/server.ts", CLEAN);
    t.git(&["add", "src/api/server.ts"]);
    ok(
        &git_as(t.path(), Some("alice"), &["commit", "-q", "-m", "clean"]),
        "clean commit",
    );
    assert!(unused(&receipt), "post-commit consumes the receipt");

    t.write("src/api/server.ts", "export const serve = 3;\n");
    t.git(&["add", "src/api/server.ts"]);
    let aborted = git_as(t.path(), Some("alice"), &["commit", "-q", "-m", ""]);
    assert!(!aborted.status.success());
    assert!(
        !unused(&receipt),
        "pre-commit approved before the empty message aborted"
    );
    t.ok_as("bob", &["join"]);
    t.ok_as("bob", &["lease", "src/api/server.ts"]);
    bypass_as_alice(&t);
    let messages = violations_seen_by_bob(&t);
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0]["subject"].as_str().unwrap().contains("lease"),
        "{messages:?}"
    );
}

/// A `git-comm` first on PATH that logs each call, then runs the binary under test.
struct Spy {
    dir: tempfile::TempDir,
}

impl Spy {
    fn new() -> Spy {
        let dir = tempfile::tempdir().unwrap();
        let script = format!(
            "#!/bin/sh\necho \"$*\" >>'{}'\nexec '{}' \"$@\"\n",
            dir.path().join("calls.log").display(),
            common::bin_path().display()
        );
        let wrapper = dir.path().join("git-comm");
        std::fs::write(&wrapper, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
        Spy { dir }
    }

    /// PATH with the spy first.
    fn path(&self) -> std::ffi::OsString {
        let mut paths = vec![self.dir.path().to_path_buf()];
        paths.extend(std::env::split_paths(&path_with_comm()));
        std::env::join_paths(paths).unwrap()
    }

    fn calls(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("calls.log")).unwrap_or_default()
    }
}

/// In a linked worktree (`.git` is a file naming its git dir) with a post-commit hook of
/// the user's chained: the chained hook runs on every commit; an approved commit empties
/// that worktree's receipt without starting git-comm; a bypass still starts it and is
/// recorded. The post-commit program (x86-64 Linux) and the `sh` shim must agree on this.
#[test]
fn post_commit_in_a_linked_worktree_runs_the_chained_hook_and_reads_its_own_receipt() {
    let t = app_repo();
    let chained_log = t.path().join("chained.log");
    let chained = t.path().join(".git/hooks/post-commit");
    std::fs::write(
        &chained,
        format!("#!/bin/sh\necho \"ran $#\" >>'{}'\n", chained_log.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&chained, std::fs::Permissions::from_mode(0o755)).unwrap();
    t.ok_as("alice", &["join"]);
    t.ok_as("alice", &["hooks", "install"]);
    let wt_parent = tempfile::tempdir().unwrap();
    let wt = wt_parent.path().join("wt");
    t.git(&["worktree", "add", "-q", wt.to_str().unwrap()]);
    let spy = Spy::new();
    let commit = |args: &[&str], what: &str| {
        ok(&git_with_path(&wt, Some("alice"), args, spy.path()), what);
    };

    std::fs::write(wt.join("src/api/server.ts"), CLEAN).unwrap();
    common::git_in(&wt, &["add", "src/api/server.ts"]);
    commit(&["commit", "-q", "-m", "clean"], "clean commit");
    assert_eq!(spy.calls(), "hook pre-commit\n");
    assert_eq!(std::fs::read_to_string(&chained_log).unwrap(), "ran 0\n");
    let receipt = t
        .path()
        .join(".git/worktrees/wt/comm-node/pre-commit-approved");
    assert_eq!(std::fs::metadata(&receipt).unwrap().len(), 0, "emptied");
    assert!(!t.path().join(".git/comm-node/pre-commit-approved").exists());

    std::fs::write(wt.join("src/api/server.ts"), VIOLATION).unwrap();
    common::git_in(&wt, &["add", "src/api/server.ts"]);
    commit(&["commit", "-q", "--no-verify", "-m", "bypass"], "bypass");
    assert_eq!(spy.calls(), "hook pre-commit\nhook post-commit\n");
    assert_eq!(
        std::fs::read_to_string(&chained_log).unwrap(),
        "ran 0\nran 0\n"
    );
    assert_eq!(violations_seen_by_bob(&t).len(), 1);
}

/// The usual commit starts git-comm once: the post-commit shim sees that the receipt comes
/// from this very commit's pre-commit and stops there. A bypass (no pre-commit) still runs
/// git-comm's post-commit check. Observed through a `git-comm` on PATH that logs each call.
#[test]
fn post_commit_starts_git_comm_only_when_pre_commit_did_not_approve() {
    let t = boundary_repo();
    let spy = Spy::new();
    let (path, calls) = (spy.path(), || spy.calls());

    t.write("src/api/server.ts", CLEAN);
    t.git(&["add", "src/api/server.ts"]);
    ok(
        &git_with_path(
            t.path(),
            Some("alice"),
            &["commit", "-q", "-m", "clean"],
            path.clone(),
        ),
        "clean commit",
    );
    assert_eq!(calls(), "hook pre-commit\n");

    t.write("src/api/server.ts", VIOLATION);
    t.git(&["add", "src/api/server.ts"]);
    ok(
        &git_with_path(
            t.path(),
            Some("alice"),
            &["commit", "-q", "--no-verify", "-m", "bypass"],
            path,
        ),
        "bypass",
    );
    assert_eq!(calls(), "hook pre-commit\nhook post-commit\n");
    assert_eq!(violations_seen_by_bob(&t).len(), 1);
}
