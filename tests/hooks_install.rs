//! `git comm hooks install|uninstall|status`: where shims go, chaining, idempotence,
//! restoring, and failing closed without the binary.

mod common;
mod hooks_common;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{git_in, TestRepo};
use hooks_common::*;

/// Every file in `dir` with its bytes and mode, to compare states exactly.
fn snapshot(dir: &Path) -> BTreeMap<String, (Vec<u8>, u32)> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                (std::fs::read(e.path()).unwrap(), meta.permissions().mode()),
            )
        })
        .collect()
}

/// Builds for x86-64 Linux install the post-commit hook as a small static program
/// (`hooks/post_commit.rs`); elsewhere it is the `sh` shim.
const POST_COMMIT_PROGRAM: bool = cfg!(all(target_os = "linux", target_arch = "x86_64"));

fn write_hook(path: &Path, body: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn install_twice_is_install_once_and_uninstall_restores() {
    let t = TestRepo::new();
    t.initial_commit();
    let hooks = t.path().join(".git/hooks");
    let original = "#!/bin/sh\n# user's own pre-push\nexit 0\n";
    write_hook(&hooks.join("pre-push"), original);
    let before = snapshot(&hooks);

    t.ok_as("alice", &["hooks", "install"]);
    let once = snapshot(&hooks);
    for hook in ["pre-commit", "post-commit", "pre-push"] {
        let text = String::from_utf8_lossy(&once[hook].0);
        assert!(text.contains("git-comm hook shim"), "{hook}: {text}");
        assert_eq!(once[hook].1 & 0o111, 0o111, "{hook} must be executable");
    }
    assert_eq!(
        once["post-commit"].0.starts_with(b"\x7fELF"),
        POST_COMMIT_PROGRAM,
        "the post-commit program is installed exactly where it is built"
    );
    assert_eq!(once["pre-push.pre-comm"].0, original.as_bytes());

    t.ok_as("alice", &["hooks", "install"]);
    assert_eq!(snapshot(&hooks), once, "second install must change nothing");

    let status: serde_json::Value =
        serde_json::from_str(&t.ok_as("alice", &["--json", "hooks", "status"])).unwrap();
    let states = status["hooks"].as_array().unwrap();
    assert!(states.iter().all(|s| s["installed"] == true));
    assert!(states[2]["chained"]
        .as_str()
        .unwrap()
        .ends_with("pre-push.pre-comm"));
    assert_eq!(states[0]["recorded_bin_exists"], true);
    assert_eq!(states[1]["program"], POST_COMMIT_PROGRAM);
    assert_eq!(states[1]["recorded_bin_exists"], true);

    t.ok_as("alice", &["hooks", "uninstall"]);
    assert_eq!(
        snapshot(&hooks),
        before,
        "uninstall restores the original exactly"
    );
    let status = t.ok_as("alice", &["hooks", "status"]);
    assert!(
        status.contains("pre-push    not installed (another hook"),
        "{status}"
    );
}

#[test]
fn chained_hook_still_runs_and_its_failure_still_blocks() {
    let t = TestRepo::new();
    t.initial_commit();
    let marker = t.path().join("chained-ran");
    let hook = t.path().join(".git/hooks/pre-commit");
    write_hook(
        &hook,
        &format!(
            "#!/bin/sh\necho ran >> '{}'\n[ -f .allow ] || {{ echo 'user hook says no' >&2; exit 3; }}\n",
            marker.display()
        ),
    );
    t.ok_as("alice", &["join"]);
    t.ok_as("alice", &["hooks", "install"]);

    let out = commit_file(&t, Some("alice"), "x.txt", "1\n", &[]);
    let err = refused(&out, "commit while the chained hook fails");
    assert!(err.contains("user hook says no"), "{err}");
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "ran\n");

    t.write(".allow", "");
    ok(
        &git_as(t.path(), Some("alice"), &["commit", "-q", "-m", "ok"]),
        "commit",
    );
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "ran\nran\n");
}

#[test]
fn core_hooks_path_is_honoured() {
    let t = TestRepo::new();
    t.initial_commit();
    t.git(&["config", "core.hooksPath", ".githooks"]);
    t.ok_as("alice", &["join"]);
    t.ok_as("bob", &["join"]);
    let out = t.ok_as("alice", &["hooks", "install"]);
    assert!(out.contains(".githooks"), "{out}");
    assert!(
        out.contains("other worktrees need their own install"),
        "{out}"
    );
    assert!(t.path().join(".githooks/pre-commit").exists());
    assert!(!t.path().join(".git/hooks/pre-commit").exists());

    t.ok_as("alice", &["lease", "src/**"]);
    let err = refused(
        &commit_file(&t, Some("bob"), "src/x.ts", "x\n", &[]),
        "bob's commit under alice's lease",
    );
    assert!(
        err.contains("held") || err.contains("leased exclusively by alice"),
        "{err}"
    );
}

#[test]
fn worktrees_use_the_common_hooks_dir() {
    let t = TestRepo::new();
    t.initial_commit();
    let wt_parent = tempfile::tempdir().unwrap();
    let wt = wt_parent.path().join("wt");
    t.git(&["worktree", "add", "-q", wt.to_str().unwrap()]);
    t.ok_as("alice", &["join"]);
    t.ok_as("bob", &["join"]);
    let out = common::comm_in(&wt, &["--as", "bob", "hooks", "install"]);
    common::assert_success(&out, &["hooks", "install"]);
    assert!(t.path().join(".git/hooks/pre-commit").exists());
    // The directory is shown as git users know it, not as `.git/worktrees/wt/../..`.
    let shown = common::stdout(&out);
    assert!(!shown.contains(".."), "{shown}");

    t.ok_as("alice", &["lease", "src/**"]);
    std::fs::create_dir_all(wt.join("src")).unwrap();
    std::fs::write(wt.join("src/x.ts"), "x\n").unwrap();
    git_in(&wt, &["add", "src/x.ts"]);
    let err = refused(
        &git_as(&wt, Some("bob"), &["commit", "-q", "-m", "x"]),
        "worktree commit",
    );
    assert!(err.contains("leased exclusively by alice"), "{err}");
    ok(
        &git_as(&wt, Some("alice"), &["commit", "-q", "-m", "x"]),
        "holder's commit",
    );
}

#[test]
fn missing_binary_fails_closed_with_instructions() {
    let t = TestRepo::new();
    t.initial_commit();
    t.ok_as("alice", &["join"]);
    t.ok_as("alice", &["hooks", "install"]);

    // PATH lacks git-comm but the recorded absolute path exists: the shim uses it.
    let out = {
        t.write("a.txt", "1\n");
        t.git(&["add", "a.txt"]);
        git_with_path(
            t.path(),
            Some("alice"),
            &["commit", "-q", "-m", "a"],
            path_without_comm(),
        )
    };
    ok(&out, "commit through the recorded binary path");

    // Neither on PATH nor at the recorded path: the commit must fail, saying what to do.
    record_in_shim(
        &t.path().join(".git/hooks/pre-commit"),
        "/nonexistent/bin/git-comm",
    );
    t.write("b.txt", "1\n");
    t.git(&["add", "b.txt"]);
    let out = git_with_path(
        t.path(),
        Some("alice"),
        &["commit", "-q", "-m", "b"],
        path_without_comm(),
    );
    let err = refused(&out, "commit without any git-comm binary");
    for needle in [
        "not on PATH",
        "/nonexistent/bin/git-comm",
        "install git-comm",
        "--no-verify",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in {err}");
    }
    assert_eq!(t.git(&["rev-list", "--count", "HEAD"]).trim(), "2");
    let status = t.ok_as("alice", &["hooks", "status"]);
    assert!(
        status.contains("/nonexistent/bin/git-comm is missing"),
        "{status}"
    );
}

#[test]
fn missing_binary_post_commit_warns_honestly_and_still_runs_the_chained_hook() {
    let t = TestRepo::new();
    t.initial_commit();
    let marker = t.path().join("chained-ran");
    write_hook(
        &t.path().join(".git/hooks/post-commit"),
        &format!("#!/bin/sh\ntouch '{}'\n", marker.display()),
    );
    t.ok_as("alice", &["join"]);
    t.ok_as("alice", &["hooks", "install"]);
    for hook in ["pre-commit", "post-commit"] {
        record_in_shim(
            &t.path().join(".git/hooks").join(hook),
            "/nonexistent/git-comm",
        );
    }
    t.write("a.txt", "1\n");
    t.git(&["add", "a.txt"]);
    let refused_err = refused(
        &git_with_path(
            t.path(),
            Some("alice"),
            &["commit", "-q", "-m", "a"],
            path_without_comm(),
        ),
        "commit without git-comm",
    );
    // Nothing can record a bypass while the binary is missing: the hint must not say so.
    assert!(
        !refused_err.contains("recorded as a violation"),
        "{refused_err}"
    );
    let out = git_with_path(
        t.path(),
        Some("alice"),
        &["commit", "-q", "--no-verify", "-m", "a"],
        path_without_comm(),
    );
    ok(&out, "bypassed commit");
    let err = common::stderr(&out);
    assert!(err.contains("NOT checked"), "{err}");
    assert!(
        marker.exists(),
        "the chained post-commit hook must still run"
    );
}

/// Make the shim at `shim` record `bin`: the `sh` shim's `recorded='...'` line, or the
/// post-commit program's path slot.
fn record_in_shim(shim: &Path, bin: &str) {
    let bytes = std::fs::read(shim).unwrap();
    let Ok(text) = String::from_utf8(bytes.clone()) else {
        let tag = b"@git-comm recorded binary path:@";
        let at = bytes.windows(tag.len()).position(|w| w == tag).unwrap() + tag.len();
        let mut patched = bytes;
        patched[at..at + bin.len() + 1].copy_from_slice(format!("{bin}\0").as_bytes());
        std::fs::write(shim, patched).unwrap();
        return;
    };
    let recorded = text.lines().find(|l| l.starts_with("recorded='")).unwrap();
    std::fs::write(shim, text.replace(recorded, &format!("recorded='{bin}'"))).unwrap();
}

/// `git comm --as alice doctor` with PATH set to `path`; (exit code, stdout).
fn doctor_with_path(t: &TestRepo, path: std::ffi::OsString) -> (Option<i32>, String) {
    let out = std::process::Command::new(common::BIN)
        .args(["--as", "alice", "doctor"])
        .current_dir(t.path())
        .env("PATH", path)
        .output()
        .unwrap();
    (out.status.code(), common::stdout(&out))
}

#[test]
fn doctor_judges_hooks_like_hooks_status() {
    let t = TestRepo::new();
    t.initial_commit();
    t.ok_as("alice", &["join"]);
    // Hooks that merely mention git-comm are not our shims.
    for hook in ["pre-commit", "post-commit", "pre-push"] {
        write_hook(
            &t.path().join(".git/hooks").join(hook),
            "#!/bin/sh\n# TODO: call git-comm here\nexit 0\n",
        );
    }
    let (code, out) = doctor_with_path(&t, path_with_comm());
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("FAIL hooks: pre-commit, post-commit, pre-push not installed"),
        "{out}"
    );

    t.ok_as("alice", &["hooks", "install"]);
    let (code, out) = doctor_with_path(&t, path_with_comm());
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("ok   hooks: installed in"), "{out}");

    // Installed, but the binary the shims fall back to is gone and none is on PATH.
    for hook in ["pre-commit", "post-commit", "pre-push"] {
        record_in_shim(
            &t.path().join(".git/hooks").join(hook),
            "/nonexistent/git-comm",
        );
    }
    let (code, out) = doctor_with_path(&t, path_without_comm());
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("/nonexistent/git-comm is gone"), "{out}");
}

/// A directory's `git-comm` that is the binary under test (a hard link, else a copy).
fn linked_binary(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let link = dir.join("git-comm");
    if std::fs::hard_link(common::BIN, &link).is_err() {
        std::fs::copy(common::BIN, &link).unwrap();
    }
    link
}

/// `dirs` first, then PATH without any other git-comm.
fn path_with(dirs: &[&Path]) -> OsString {
    let mut paths: Vec<PathBuf> = dirs.iter().map(|d| d.to_path_buf()).collect();
    paths.extend(std::env::split_paths(&path_without_comm()));
    std::env::join_paths(paths).unwrap()
}

/// `hooks install` run by `bin`, which is also the git-comm first on PATH: the direct
/// pre-commit shim applies. Returns the shims' directory.
fn install_direct(t: &TestRepo, bin: &Path) -> PathBuf {
    let out = Command::new(bin)
        .args(["--as", "alice", "hooks", "install"])
        .current_dir(t.path())
        .env("PATH", path_with(&[bin.parent().unwrap()]))
        .output()
        .unwrap();
    ok(&out, "hooks install");
    let hooks = t.path().join(".git/hooks");
    let pre_commit = std::fs::read_to_string(hooks.join("pre-commit")).unwrap();
    assert!(
        pre_commit.starts_with(&format!("#!{} hook-shim\n", bin.display())),
        "{pre_commit}"
    );
    assert!(pre_commit.contains("# git-comm hook shim"), "{pre_commit}");
    let post_commit = std::fs::read(hooks.join("post-commit")).unwrap();
    assert_eq!(post_commit.starts_with(b"\x7fELF"), POST_COMMIT_PROGRAM);
    let pre_push = std::fs::read_to_string(hooks.join("pre-push")).unwrap();
    assert!(pre_push.starts_with("#!/bin/sh\n"), "{pre_push}");
    hooks
}

fn commit_count(t: &TestRepo) -> String {
    t.git(&["rev-list", "--count", "HEAD"]).trim().to_string()
}

#[test]
fn direct_pre_commit_shim_runs_the_chained_hook_then_the_check_and_uninstalls_exactly() {
    let t = TestRepo::new();
    t.initial_commit();
    let chained_log = t.path().join("chained.log");
    let block = t.path().join("block-chained");
    write_hook(
        &t.path().join(".git/hooks/pre-commit"),
        &format!(
            "#!/bin/sh\necho \"ran $#\" >> '{}'\n[ ! -e '{}' ]\n",
            chained_log.display(),
            block.display()
        ),
    );
    let before = snapshot(&t.path().join(".git/hooks"));
    let tmp = tempfile::tempdir().unwrap();
    let bin = linked_binary(&tmp.path().join("bin"));
    let hooks = install_direct(&t, &bin);
    let path = || path_with(&[bin.parent().unwrap()]);

    let status: serde_json::Value =
        serde_json::from_str(&t.ok_as("alice", &["--json", "hooks", "status"])).unwrap();
    let states = status["hooks"].as_array().unwrap();
    assert_eq!(states[0]["direct"], true);
    assert_eq!(states[0]["recorded_bin"], bin.display().to_string());
    assert!(states[0]["chained"]
        .as_str()
        .unwrap()
        .ends_with("pre-commit.pre-comm"));
    assert_eq!(states[1]["direct"], false);
    let human = t.ok_as("alice", &["hooks", "status"]);
    assert!(
        human.contains("pre-commit  installed (runs git-comm directly), chains"),
        "{human}"
    );

    // The check runs: another agent's exclusive lease refuses bob's commit.
    t.ok_as("alice", &["join"]);
    t.ok_as("alice", &["lease", "src/**"]);
    t.write("src/a.ts", "1\n");
    t.git(&["add", "src/a.ts"]);
    let err = refused(
        &git_with_path(t.path(), Some("bob"), &["commit", "-q", "-m", "a"], path()),
        "bob's commit under alice's lease",
    );
    assert!(err.contains("leased exclusively by alice"), "{err}");
    assert_eq!(std::fs::read_to_string(&chained_log).unwrap(), "ran 0\n");

    // The chained hook runs first and its failure blocks before git-comm judges anything.
    std::fs::write(&block, "").unwrap();
    refused(
        &git_with_path(
            t.path(),
            Some("alice"),
            &["commit", "-q", "-m", "a"],
            path(),
        ),
        "commit the chained hook refuses",
    );
    assert_eq!(commit_count(&t), "1");
    std::fs::remove_file(&block).unwrap();
    ok(
        &git_with_path(
            t.path(),
            Some("alice"),
            &["commit", "-q", "-m", "a"],
            path(),
        ),
        "the holder's commit",
    );
    assert_eq!(commit_count(&t), "2");
    assert_eq!(
        std::fs::read_to_string(&chained_log).unwrap(),
        "ran 0\nran 0\nran 0\n"
    );

    t.ok_as("alice", &["hooks", "uninstall"]);
    assert_eq!(snapshot(&hooks), before, "uninstall restores the original");
}

#[test]
fn a_git_comm_first_on_path_takes_over_from_the_direct_shim() {
    let t = TestRepo::new();
    t.initial_commit();
    let tmp = tempfile::tempdir().unwrap();
    let bin = linked_binary(&tmp.path().join("bin"));
    install_direct(&t, &bin);
    let other = tmp.path().join("other");
    let ran = tmp.path().join("other-ran");
    write_hook(
        &other.join("git-comm"),
        &format!("#!/bin/sh\necho \"$@\" >> '{}'\n", ran.display()),
    );
    t.write("a.txt", "1\n");
    t.git(&["add", "a.txt"]);
    let path = path_with(&[&other, bin.parent().unwrap()]);
    ok(
        &git_with_path(t.path(), Some("alice"), &["commit", "-q", "-m", "a"], path),
        "commit through the git-comm first on PATH",
    );
    // post-commit's sh shim takes it too (no receipt: the stand-in approved nothing).
    assert_eq!(
        std::fs::read_to_string(&ran).unwrap(),
        "hook pre-commit\nhook post-commit\n"
    );
}

#[test]
fn direct_shim_without_its_binary_refuses_commits_and_status_and_doctor_say_so() {
    let t = TestRepo::new();
    t.initial_commit();
    t.ok_as("alice", &["join"]);
    let tmp = tempfile::tempdir().unwrap();
    let bin = linked_binary(&tmp.path().join("bin"));
    install_direct(&t, &bin);
    std::fs::remove_file(&bin).unwrap();

    t.write("a.txt", "1\n");
    t.git(&["add", "a.txt"]);
    // Even with git-comm on PATH: git cannot start a hook whose interpreter is gone.
    let err = refused(
        &git_as(t.path(), Some("alice"), &["commit", "-q", "-m", "a"]),
        "commit whose pre-commit binary is gone",
    );
    assert!(
        err.contains("cannot exec '.git/hooks/pre-commit': No such file or directory"),
        "{err}"
    );
    assert_eq!(commit_count(&t), "1");

    let status = t.ok_as("alice", &["hooks", "status"]);
    assert!(
        status.contains(&format!("recorded binary {} is missing", bin.display())),
        "{status}"
    );
    let (code, out) = doctor_with_path(&t, path_with_comm());
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "the pre-commit hook runs {} directly and it is gone",
            bin.display()
        )),
        "{out}"
    );
}
