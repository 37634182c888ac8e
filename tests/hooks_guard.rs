//! The commit guard with real `git commit` / `git push`: leases, domains, renames,
//! deletions, `commit -a`, violations after `--no-verify`, and pre-push.

mod common;
mod hooks_common;

use common::{git_in, TestRepo};
use hooks_common::*;
use serde_json::Value;

fn lease(t: &TestRepo, agent: &str, args: &[&str]) -> String {
    let mut full = vec!["--json", "lease"];
    full.extend_from_slice(args);
    let out: Value = serde_json::from_str(&t.ok_as(agent, &full)).unwrap();
    out["lease"]["id"].as_str().unwrap().to_string()
}

fn head(t: &TestRepo) -> String {
    t.git(&["rev-parse", "HEAD"]).trim().to_string()
}

fn violations(t: &TestRepo, agent: &str) -> Vec<Value> {
    let out: Value =
        serde_json::from_str(&t.ok_as(agent, &["--json", "inbox", "--all", "--type", "violation"]))
            .unwrap();
    out["messages"].as_array().unwrap().clone()
}

#[test]
fn another_agents_lease_blocks_with_a_useful_message() {
    let t = guarded_repo();
    let id = lease(
        &t,
        "alice",
        &["src/**", "--reason", "refactoring", "--ttl", "1h"],
    );
    let before = head(&t);
    let err = refused(
        &commit_file(&t, Some("bob"), "src/a.ts", "changed\n", &[]),
        "bob's commit",
    );
    for needle in [
        "src/a.ts",
        "leased exclusively by alice",
        "until 20",
        &id,
        "refactoring",
        "git comm send alice",
        "--no-verify",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    assert_eq!(head(&t), before, "nothing committed");

    // Unrelated paths pass; the holder's own lease never blocks the holder.
    t.git(&["reset", "-q"]);
    ok(
        &commit_file(&t, Some("bob"), "docs/guide.md", "new\n", &[]),
        "bob outside the lease",
    );
    ok(
        &commit_file(&t, Some("alice"), "src/a.ts", "mine\n", &[]),
        "alice inside her lease",
    );
}

#[test]
fn an_agent_without_identity_is_blocked_by_every_lease() {
    let t = guarded_repo();
    lease(&t, "alice", &["src/**"]);
    let err = refused(
        &commit_file(&t, None, "src/a.ts", "x\n", &[]),
        "anonymous commit",
    );
    assert!(
        err.contains("no identity") && err.contains("alice"),
        "{err}"
    );
    t.git(&["reset", "-q"]);
    ok(
        &commit_file(&t, None, "docs/guide.md", "x\n", &[]),
        "anonymous commit outside leases",
    );
}

#[test]
fn shared_and_expired_leases_do_not_block_commits() {
    let t = guarded_repo();
    lease(&t, "alice", &["src/**", "--shared"]);
    lease(&t, "alice", &["docs/**", "--ttl", "1s"]);
    ok(
        &commit_file(&t, Some("bob"), "src/a.ts", "x\n", &[]),
        "under a shared lease",
    );
    // 100 s later the lease has expired, but within the 5-minute clock-skew tolerance it
    // still keeps others out (a holder whose clock runs behind still believes it holds it).
    refused(
        &commit_file_at(&t, Some("bob"), "docs/guide.md", "x\n", 100),
        "within the skew tolerance",
    );
    ok(
        &commit_file_at(&t, Some("bob"), "docs/guide.md", "y\n", 400),
        "past expiry plus the tolerance",
    );
}

#[test]
fn renames_are_checked_on_both_sides() {
    let t = guarded_repo();
    let id = lease(&t, "alice", &["src/**"]);
    std::fs::create_dir_all(t.path().join("lib")).unwrap();
    t.git(&["mv", "src/a.ts", "lib/a.ts"]);
    let err = refused(
        &git_as(t.path(), Some("bob"), &["commit", "-q", "-m", "mv out"]),
        "rename out",
    );
    assert!(err.contains("src/a.ts"), "the old side is named: {err}");
    t.git(&["mv", "lib/a.ts", "src/a.ts"]);

    t.ok_as("alice", &["release", &id]);
    lease(&t, "alice", &["lib/**"]);
    t.git(&["mv", "src/a.ts", "lib/a.ts"]);
    let err = refused(
        &git_as(t.path(), Some("bob"), &["commit", "-q", "-m", "mv in"]),
        "rename in",
    );
    assert!(err.contains("lib/a.ts"), "the new side is named: {err}");
}

#[test]
fn deletions_are_checked() {
    let t = guarded_repo();
    lease(&t, "alice", &["src/a.ts"]);
    t.git(&["rm", "-q", "src/a.ts"]);
    let err = refused(
        &git_as(t.path(), Some("bob"), &["commit", "-q", "-m", "rm"]),
        "deletion",
    );
    assert!(err.contains("src/a.ts") && err.contains("alice"), "{err}");
}

#[test]
fn commit_all_and_commit_paths_use_the_temporary_index() {
    let t = guarded_repo();
    lease(&t, "alice", &["src/**"]);
    // Not staged: only `git commit -a` / `git commit PATH` put it into the hook's index.
    t.write("src/a.ts", "edited\n");
    ok(
        &commit_file(&t, Some("bob"), "docs/guide.md", "d\n", &[]),
        "staged docs only",
    );
    let err = refused(
        &git_as(t.path(), Some("bob"), &["commit", "-q", "-a", "-m", "all"]),
        "commit -a",
    );
    assert!(err.contains("src/a.ts"), "{err}");
    let err = refused(
        &git_as(
            t.path(),
            Some("bob"),
            &["commit", "-q", "-m", "path", "src/a.ts"],
        ),
        "commit PATH",
    );
    assert!(err.contains("src/a.ts"), "{err}");
}

#[test]
fn agents_bound_to_a_domain_stay_inside_its_scope() {
    let t = guarded_repo();
    t.write(
        ".comm-node/config.yaml",
        "version: 1\ndomains:\n  api:\n    scope: [\"src/**\"]\n  web:\n    scope: [\"web/**\"]\nagents:\n  bob: { domain: api }\n",
    );
    t.git(&["add", ".comm-node/config.yaml"]);
    ok(
        &git_as(t.path(), Some("alice"), &["commit", "-q", "-m", "config"]),
        "config",
    );

    ok(
        &commit_file(&t, Some("bob"), "src/new.ts", "n\n", &[]),
        "inside the domain",
    );
    let err = refused(
        &commit_file(&t, Some("bob"), "docs/guide.md", "x\n", &[]),
        "outside the domain",
    );
    assert!(
        err.contains("docs/guide.md") && err.contains("outside domain 'api'"),
        "{err}"
    );
    t.git(&["reset", "-q"]);

    // A domain from the agent card binds too.
    t.ok_as("carol", &["join", "--domain", "web"]);
    let err = refused(
        &commit_file(&t, Some("carol"), "src/a.ts", "x\n", &[]),
        "card domain",
    );
    assert!(err.contains("outside domain 'web' of carol"), "{err}");
    t.git(&["reset", "-q"]);
    ok(
        &commit_file(&t, Some("carol"), "web/index.html", "x\n", &[]),
        "carol in web",
    );
    // Unbound agents are not restricted.
    ok(
        &commit_file(&t, Some("alice"), "docs/guide.md", "a\n", &[]),
        "unbound alice",
    );
}

#[test]
fn bypassing_with_no_verify_is_recorded_as_a_violation() {
    let t = guarded_repo();
    lease(&t, "alice", &["src/**"]);
    ok(
        &commit_file(&t, Some("bob"), "src/a.ts", "sneaky\n", &["--no-verify"]),
        "--no-verify",
    );
    let commit = head(&t);
    let found = violations(&t, "alice");
    assert_eq!(found.len(), 1, "{found:?}");
    let m = &found[0];
    assert_eq!(m["from"], "bob");
    assert_eq!(m["to"], serde_json::json!(["alice"]));
    let text = format!("{} {}", m["subject"], m["body"]);
    for needle in [&commit[..10], "bob", "src/a.ts", "lease", "alice"] {
        assert!(text.contains(needle), "missing {needle:?} in {text}");
    }

    // A normal commit that passed pre-commit records nothing.
    ok(
        &commit_file(&t, Some("bob"), "docs/guide.md", "ok\n", &[]),
        "clean commit",
    );
    assert_eq!(violations(&t, "alice").len(), 1);
}

#[test]
fn domain_violation_without_holder_goes_to_all() {
    let t = guarded_repo();
    t.write(
        ".comm-node/config.yaml",
        "version: 1\ndomains:\n  api:\n    scope: [\"src/**\"]\nagents:\n  bob: { domain: api }\n",
    );
    ok(
        &commit_file(&t, Some("bob"), "docs/guide.md", "x\n", &["--no-verify"]),
        "--no-verify",
    );
    let found = violations(&t, "alice");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["to"], serde_json::json!(["all"]));
    assert!(found[0]["body"]
        .as_str()
        .unwrap()
        .contains("outside domain 'api'"));
}

#[test]
fn post_commit_never_fails_the_commit() {
    let t = guarded_repo();
    lease(&t, "alice", &["src/**"]);
    // An unknown agent cannot send mail normally; the commit still succeeds and is recorded.
    ok(
        &commit_file(&t, Some("mallory"), "src/a.ts", "x\n", &["--no-verify"]),
        "unknown agent",
    );
    let found = violations(&t, "alice");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["from"], "mallory");
}

#[test]
fn pre_push_refuses_commits_under_another_agents_lease() {
    let t = guarded_repo();
    let remote = tempfile::tempdir().unwrap();
    git_in(remote.path(), &["init", "-q", "--bare"]);
    t.git(&["remote", "add", "origin", remote.path().to_str().unwrap()]);
    ok(
        &git_as(t.path(), Some("bob"), &["push", "-q", "origin", "main"]),
        "first push",
    );

    ok(
        &commit_file(&t, Some("bob"), "src/a.ts", "bob's work\n", &[]),
        "bob commits before the lease",
    );
    let id = lease(&t, "alice", &["src/**"]);
    let err = refused(
        &git_as(t.path(), Some("bob"), &["push", "-q", "origin", "main"]),
        "push",
    );
    assert!(
        err.contains("push refused") && err.contains("src/a.ts") && err.contains("alice"),
        "{err}"
    );
    // Nothing runs after `git push --no-verify`: the hint must not promise a record.
    assert!(
        err.contains("--no-verify` (not recorded") && !err.contains("recorded as a violation"),
        "{err}"
    );
    let remote_head = git_in(remote.path(), &["rev-parse", "main"]);
    assert_ne!(remote_head.trim(), head(&t), "the remote did not move");

    // The holder may push; once released, bob may too.
    t.ok_as("alice", &["release", &id]);
    ok(
        &git_as(t.path(), Some("bob"), &["push", "-q", "origin", "main"]),
        "push after release",
    );

    // Commits already on the remote are not checked again.
    lease(&t, "alice", &["src/**"]);
    ok(
        &commit_file(&t, Some("bob"), "docs/guide.md", "more\n", &[]),
        "docs commit",
    );
    ok(
        &git_as(t.path(), Some("bob"), &["push", "-q", "origin", "main"]),
        "push of docs only",
    );
}

#[test]
fn nested_changes_are_found_beside_unchanged_directories() {
    let t = guarded_repo();
    for dir in ["a/b/c", "a/b/d", "a/e", "f"] {
        t.write(&format!("{dir}/file.txt"), "v1\n");
    }
    t.git(&["add", "."]);
    ok(
        &git_as(t.path(), Some("bob"), &["commit", "-q", "-m", "tree"]),
        "tree",
    );
    lease(&t, "alice", &["a/b/c/**", "x/**"]);
    // The index cache-tree stays valid for a/b/d, a/e and f; only a/b/c changed.
    let err = refused(
        &commit_file(&t, Some("bob"), "a/b/c/file.txt", "v2\n", &[]),
        "nested",
    );
    assert!(err.contains("a/b/c/file.txt"), "{err}");
    t.git(&["reset", "-q"]);
    let err = refused(
        &commit_file(&t, Some("bob"), "x/y/z/new.txt", "n\n", &[]),
        "new dir",
    );
    assert!(err.contains("x/y/z/new.txt"), "{err}");
    t.git(&["reset", "-q"]);
    ok(
        &commit_file(&t, Some("bob"), "a/b/d/file.txt", "v2\n", &[]),
        "sibling dir",
    );
}

#[test]
fn shared_files_are_committed_under_a_lease_or_as_common_without_bypass() {
    let t = guarded_repo();
    t.write("CHANGELOG.md", "# changes\n");
    t.write("package-lock.json", "{}\n");
    t.write(
        ".comm-node/config.yaml",
        "version: 1\ncommon: [\"package-lock.json\"]\ndomains:\n  api:\n    scope: [\"src/**\"]\n  web:\n    scope: [\"web/**\"]\nagents:\n  bob: { domain: api }\n",
    );
    t.git(&["add", "."]);
    ok(
        &git_as(t.path(), Some("alice"), &["commit", "-q", "-m", "config"]),
        "config",
    );
    // Without a lease the refusal names the lease and `common:` before any bypass.
    let err = refused(
        &commit_file(&t, Some("bob"), "CHANGELOG.md", "one\n", &[]),
        "no lease",
    );
    let lease_at = err.find("git comm lease CHANGELOG.md").expect(&err);
    let bypass_at = err.find("--no-verify").expect(&err);
    assert!(lease_at < bypass_at && err.contains("common:"), "{err}");
    t.git(&["reset", "-q"]);
    // With bob's exclusive lease the same commit goes through, no --no-verify.
    t.ok_as("bob", &["lease", "CHANGELOG.md"]);
    ok(
        &commit_file(&t, Some("bob"), "CHANGELOG.md", "one\n", &[]),
        "under bob's lease",
    );
    // A `common:` file needs no lease.
    ok(
        &commit_file(&t, Some("bob"), "package-lock.json", "{\"v\":2}\n", &[]),
        "common file",
    );
    // A lease does not hand over another domain's file.
    t.write("web/app.ts", "x\n");
    t.ok_as("bob", &["lease", "web/app.ts"]);
    let err = refused(
        &commit_file(&t, Some("bob"), "web/app.ts", "y\n", &[]),
        "another domain's file",
    );
    assert!(err.contains("belongs to domain 'web'"), "{err}");
    // Nothing was recorded as a violation: no bypass happened.
    let mail = t.git(&["for-each-ref", "refs/comm-node/mail"]);
    assert!(mail.is_empty(), "a violation was mailed: {mail}");
}
