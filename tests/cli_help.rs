//! `git comm --help` goes through git, which runs `man git-comm`; it must work on every
//! install: pages kept next to the binary, and a fallback viewer where man has none.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

/// A private install: `<prefix>/bin/git-comm` (a copy of the built binary), so the man
/// pages it writes land in `<prefix>/share/man`, away from other tests.
struct Install {
    prefix: tempfile::TempDir,
    home: tempfile::TempDir,
}

impl Install {
    fn new() -> Install {
        let prefix = tempfile::tempdir().unwrap();
        std::fs::create_dir(prefix.path().join("bin")).unwrap();
        // A hard link where it can be: a copy is a file open for writing, which a child
        // forked meanwhile by another test thread may still hold when we exec it (ETXTBSY).
        let bin = prefix.path().join("bin/git-comm");
        if std::fs::hard_link(BIN, &bin).is_err() {
            std::fs::copy(BIN, &bin).unwrap();
        }
        Install {
            prefix,
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn bin_dir(&self) -> PathBuf {
        self.prefix.path().join("bin")
    }

    fn man1(&self) -> PathBuf {
        self.prefix.path().join("share/man/man1")
    }

    /// `git ARGS` with this install first on PATH (then `rest_of_path`) and a clean HOME,
    /// so no global git config chooses a viewer.
    fn git(&self, dir: &Path, rest_of_path: &str, args: &[&str]) -> Output {
        Command::new("git")
            .args(args)
            .current_dir(dir)
            .env(
                "PATH",
                format!("{}:{rest_of_path}", self.bin_dir().display()),
            )
            .env("HOME", self.home.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("MANPAGER", "cat")
            .env("PAGER", "cat")
            .env_remove("MANPATH")
            .env_remove("GIT_COMM_AGENT")
            .output()
            .unwrap()
    }
}

fn system_path() -> String {
    std::env::var("PATH").unwrap()
}

/// A PATH on which git exists but man does not (as in slim containers).
fn path_without_man() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let git = Command::new("sh")
        .args(["-c", "command -v git"])
        .output()
        .unwrap();
    let git = String::from_utf8(git.stdout).unwrap();
    std::os::unix::fs::symlink(git.trim(), dir.path().join("git")).unwrap();
    let path = dir.path().display().to_string();
    (dir, path)
}

#[test]
fn git_comm_help_shows_the_manual_once_any_command_ran() {
    let install = Install::new();
    let repo = TestRepo::new();
    // Any command at all, even one that fails, puts the pages next to the binary.
    let _ = install.git(repo.path(), &system_path(), &["comm", "whoami"]);
    assert!(install.man1().join("git-comm.1").is_file());
    assert!(install.man1().join("git-comm-inbox.1").is_file());
    let out = install.git(repo.path(), &system_path(), &["comm", "--help"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(text.contains("GIT-COMM(1)"), "{text}");
    assert!(text.contains("git comm inbox"), "{text}");
    assert!(text.contains("Exit codes"), "{text}");
}

/// Runs that clap ends before any command starts (help, version, unknown commands, usage
/// errors) write the pages too: they are often a new user's very first runs.
#[test]
fn every_run_writes_the_pages_even_help_version_and_errors() {
    let outside = tempfile::tempdir().unwrap();
    let install = Install::new();
    for args in [
        &["comm", "-h"][..],
        &["comm", "-V"],
        &["comm", "inbox", "-h"],
        &["comm", "task", "add", "--help"],
        &["comm", "no-such-command"],
        &["comm", "send"],
        &["comm"],
    ] {
        let _ = std::fs::remove_dir_all(install.prefix.path().join("share"));
        let out = install.git(outside.path(), &system_path(), args);
        assert!(!stderr(&out).contains("cannot exec"), "{}", stderr(&out));
        assert!(
            install.man1().join("git-comm.1").is_file(),
            "no page after {args:?}"
        );
        assert!(install.man1().join("git-comm-task-add.1").is_file());
    }
}

/// The hook shims' call stays on the fast path: no manual refresh on every commit.
#[test]
fn hook_calls_leave_the_pages_alone() {
    let install = Install::new();
    let repo = TestRepo::new();
    let _ = install.git(
        repo.path(),
        &system_path(),
        &["comm", "hook", "post-commit"],
    );
    assert!(!install.man1().exists());
}

#[test]
fn git_comm_help_without_man_shows_the_long_help_after_init() {
    let install = Install::new();
    let repo = TestRepo::new();
    let out = install.git(repo.path(), &system_path(), &["comm", "init"]);
    assert_success(&out, &["init"]);
    assert_eq!(repo.git(&["config", "man.viewer"]).trim(), "git-comm");
    let (_keep, no_man) = path_without_man();
    let out = install.git(repo.path(), &no_man, &["comm", "--help"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(
        text.contains("Usage: git comm [OPTIONS] <COMMAND>"),
        "{text}"
    );
    // The whole manual: every command's own help follows.
    assert!(text.contains("git comm inbox"), "{text}");
    assert!(text.contains("--budget <TOKENS>"), "{text}");
}

#[test]
fn the_fallback_viewer_leaves_other_pages_to_man() {
    let install = Install::new();
    let repo = TestRepo::new();
    assert_success(
        &install.git(repo.path(), &system_path(), &["comm", "init"]),
        &["init"],
    );
    // A page that exists nowhere: man's own verdict comes through, not our help.
    let out = install.git(repo.path(), &system_path(), &["help", "no-such-page-x"]);
    assert!(!out.status.success());
    assert!(!stdout(&out).contains("git comm"), "{}", stdout(&out));
}

#[test]
fn init_keeps_a_man_viewer_the_user_chose() {
    let install = Install::new();
    let repo = TestRepo::new();
    repo.git(&["config", "man.viewer", "woman"]);
    assert_success(
        &install.git(repo.path(), &system_path(), &["comm", "init"]),
        &["init"],
    );
    assert_eq!(repo.git(&["config", "--get-all", "man.viewer"]), "woman\n");
}

#[test]
fn man_install_writes_one_page_per_command_that_man_renders() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["man", "--install"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_success(&out, &["man", "--install"]);
    let man1 = dir.path().join("man1");
    for page in [
        "git-comm.1",
        "git-comm-inbox.1",
        "git-comm-task-add.1",
        "git-comm-hooks-install.1",
    ] {
        assert!(man1.join(page).is_file(), "{page} missing");
    }
    assert!(
        !man1.join("git-comm-hook.1").exists(),
        "hidden commands get no page"
    );
    let page = std::fs::read_to_string(man1.join("git-comm-task-add.1")).unwrap();
    assert!(page.contains(".TH GIT-COMM-TASK-ADD 1"), "{page}");
    let rendered = Command::new("man")
        .arg("git-comm-task-add")
        .env("MANPATH", dir.path())
        .env("MANPAGER", "cat")
        .output()
        .unwrap();
    let text = stdout(&rendered);
    assert!(text.contains("--after"), "{text}{}", stderr(&rendered));
}

#[test]
fn man_prints_the_page_of_one_command() {
    let out = Command::new(BIN).args(["man", "send"]).output().unwrap();
    assert_success(&out, &["man", "send"]);
    let page = stdout(&out);
    assert!(page.contains(".TH GIT-COMM-SEND 1"), "{page}");
    assert!(page.contains("\\-\\-cc"), "{page}");
    let out = Command::new(BIN).args(["man", "nosuch"]).output().unwrap();
    assert_exit(&out, 2, "no command 'nosuch'");
}

#[test]
fn short_help_lists_every_command() {
    let out = Command::new(BIN).arg("-h").output().unwrap();
    let text = stdout(&out);
    for command in [
        "init",
        "join",
        "who",
        "whoami",
        "send",
        "reply",
        "show",
        "thread",
        "ack",
        "inbox",
        "search",
        "man",
        "completions",
    ] {
        assert!(
            text.contains(&format!("  {command} ")),
            "{command} missing from:\n{text}"
        );
    }
}

/// `reply --ack` asks for an acknowledgement; the help says so and names the command that
/// gives one, since "--ack" alone reads as "acknowledge".
#[test]
fn reply_help_tells_asking_for_an_ack_from_giving_one() {
    let repo = TestRepo::new();
    let help = stdout(&repo.comm(&["reply", "-h"]));
    assert!(
        help.contains("Ask the recipients to acknowledge this reply"),
        "{help}"
    );
    assert!(help.contains("git comm ack ID"), "{help}");
}
