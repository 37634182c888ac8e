//! Shared helpers for integration tests: real temporary git repositories and the real binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_git-comm");

/// A temporary git repository with a work tree (deleted on drop).
pub struct TestRepo {
    pub dir: tempfile::TempDir,
}

impl TestRepo {
    pub fn new() -> TestRepo {
        let dir = tempfile::tempdir().expect("tempdir");
        git_in(dir.path(), &["init", "-q", "-b", "main"]);
        git_in(dir.path(), &["config", "user.name", "Test"]);
        git_in(dir.path(), &["config", "user.email", "test@example.com"]);
        git_in(dir.path(), &["config", "commit.gpgsign", "false"]);
        TestRepo { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Run `git comm ARGS` in the repo (no identity from the environment).
    pub fn comm(&self, args: &[&str]) -> Output {
        comm_in(self.path(), args)
    }

    /// `git comm --as AGENT ARGS`.
    pub fn comm_as(&self, agent: &str, args: &[&str]) -> Output {
        let mut full = vec!["--as", agent];
        full.extend_from_slice(args);
        comm_in(self.path(), &full)
    }

    /// Like `comm_as`, asserting success and returning stdout.
    pub fn ok_as(&self, agent: &str, args: &[&str]) -> String {
        let out = self.comm_as(agent, args);
        assert_success(&out, args);
        stdout(&out)
    }

    pub fn git(&self, args: &[&str]) -> String {
        git_in(self.path(), args)
    }

    pub fn write(&self, rel: &str, content: &str) {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    /// A first commit so HEAD exists.
    pub fn initial_commit(&self) {
        self.write("README.md", "test\n");
        self.git(&["add", "README.md"]);
        self.git(&["commit", "-q", "-m", "initial"]);
    }

    /// The file names in the lease ledger's tree (fanned out by the lease id's first two hex
    /// digits, checked here), one per line.
    pub fn lease_files(&self) -> String {
        let paths = self.git(&["ls-tree", "-r", "--name-only", "refs/comm-node/leases"]);
        paths
            .lines()
            .map(|p| {
                let (dir, file) = p.split_once('/').expect("a fan-out directory");
                assert_eq!(dir, &file[..2], "{p} is filed by its lease id");
                format!("{file}\n")
            })
            .collect()
    }

    /// Every ref below the comm-node namespace with its target, for "nothing changed" checks.
    pub fn comm_refs(&self) -> String {
        git_in(
            self.path(),
            &[
                "for-each-ref",
                "--format=%(refname) %(objectname)",
                "refs/comm-node/",
            ],
        )
    }
}

pub fn comm_in(dir: &Path, args: &[&str]) -> Output {
    comm_at(dir, 0, args)
}

/// `git comm ARGS` with its clock shifted by `offset_secs` (a later moment, or a machine
/// whose clock runs ahead), through the `GIT_COMM_CLOCK_OFFSET` override.
pub fn comm_at(dir: &Path, offset_secs: i64, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_COMM_AGENT")
        .env("TZ", "UTC")
        .env("GIT_COMM_CLOCK_OFFSET", offset_secs.to_string())
        .output()
        .expect("run git-comm")
}

pub fn git_in(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn assert_success(out: &Output, what: &[&str]) {
    assert!(
        out.status.success(),
        "{what:?} failed ({:?}):\nstdout: {}\nstderr: {}",
        out.status.code(),
        stdout(out),
        stderr(out)
    );
}

pub fn assert_exit(out: &Output, code: i32, stderr_contains: &str) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "expected exit {code}; stdout: {} stderr: {}",
        stdout(out),
        stderr(out)
    );
    assert!(
        stderr(out).contains(stderr_contains),
        "stderr should contain {stderr_contains:?}, got: {}",
        stderr(out)
    );
}

pub fn bin_path() -> PathBuf {
    PathBuf::from(BIN)
}

/// A free TCP port on 127.0.0.1 (for a server a test starts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process a test started, killed (by PID) and reaped when dropped.
pub struct Killed(pub std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `git comm ARGS` with the clock pinned to unix second `at` (`GIT_COMM_CLOCK_OFFSET=@AT`),
/// so several commands write in one second and a scripted history has exact times.
pub fn comm_pinned(dir: &Path, at: i64, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_COMM_AGENT")
        .env("TZ", "UTC")
        .env("GIT_COMM_CLOCK_OFFSET", format!("@{at}"))
        .output()
        .expect("run git-comm")
}

/// Now, in unix seconds.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

/// Write and commit `path` as `author`, dated unix second `at` (author and committer
/// date), hooks bypassed.
pub fn commit_dated(dir: &Path, author: &str, path: &str, at: i64) {
    let file = dir.join(path);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, format!("{author} at {at}\n")).unwrap();
    git_in(dir, &["add", path]);
    let date = format!("@{at} +0000");
    let out = Command::new("git")
        .args(["commit", "-q", "--no-verify", "-m"])
        .arg(format!("{author} edits {path}"))
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", author)
        .env("GIT_AUTHOR_EMAIL", format!("{author}@example.com"))
        .env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_DATE", &date)
        .output()
        .expect("run git commit");
    assert_success(&out, &["commit", path]);
}

/// `git ARGS` in `dir` with `input` on stdin, asserting success; stdout.
pub fn git_stdin(dir: &Path, args: &[&str], input: &str) -> String {
    git_stdin_env(dir, args, &[], input)
}

/// [`git_stdin`] with extra environment variables (a scratch index, an author).
pub fn git_stdin_env(dir: &Path, args: &[&str], env: &[(&str, &str)], input: &str) -> String {
    use std::io::Write;
    let mut child = Command::new("git")
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "git {args:?} failed");
    String::from_utf8(out.stdout).unwrap()
}

/// What a hostile writer can push: a commit on `refs/comm-node/<suffix>` of the clone at `dir`
/// by `author` (any name), with `edits` (path, new content or `None` to remove) applied to
/// the local tip's tree in a scratch index; signed with the clone's `user.signingkey` when
/// one is set, as git signs. Its id.
pub fn forge(dir: &Path, suffix: &str, author: &str, edits: &[(&str, Option<&str>)]) -> String {
    let plumbing = |args: &[&str], env: &[(&str, &str)], input: &str| {
        git_stdin_env(dir, args, env, input).trim().to_string()
    };
    let tip = Command::new("git")
        .args([
            "rev-parse",
            "-q",
            "--verify",
            &format!("refs/comm-node/{suffix}"),
        ])
        .current_dir(dir)
        .output()
        .unwrap();
    let tip = String::from_utf8(tip.stdout).unwrap().trim().to_string();
    let index = dir.join(".git").join("forge-index");
    let _ = std::fs::remove_file(&index);
    let scratch = [("GIT_INDEX_FILE", index.to_str().unwrap())];
    if !tip.is_empty() {
        plumbing(&["read-tree", &tip], &scratch, "");
    }
    for (path, content) in edits {
        match content {
            Some(text) => {
                let blob = plumbing(&["hash-object", "-w", "--stdin"], &[], text);
                let entry = format!("100644,{blob},{path}");
                plumbing(
                    &["update-index", "--add", "--cacheinfo", &entry],
                    &scratch,
                    "",
                );
            }
            None => {
                plumbing(&["update-index", "--force-remove", path], &scratch, "");
            }
        }
    }
    let tree = plumbing(&["write-tree"], &scratch, "");
    let mut args = vec!["commit-tree", &tree];
    if !tip.is_empty() {
        args.extend(["-p", &tip]);
    }
    let signing = plumbing(&["config", "--default", "", "user.signingkey"], &[], "");
    if !signing.is_empty() {
        args.push("-S");
    }
    let email = format!("{author}@example.com");
    let who = [
        ("GIT_AUTHOR_NAME", author),
        ("GIT_AUTHOR_EMAIL", email.as_str()),
    ];
    plumbing(&args, &who, &format!("forged by {author}\n"))
}

/// Copy the directory tree `from` into `to` (fixtures into a temporary repository).
pub fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// An ed25519 key pair made by `ssh-keygen` as `dir/NAME` (private) and `dir/NAME.pub`,
/// without a passphrase; returns the private key's path.
pub fn ssh_key(dir: &Path, name: &str) -> PathBuf {
    let key = dir.join(name);
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
        .arg(&key)
        .output()
        .expect("run ssh-keygen");
    assert!(out.status.success(), "ssh-keygen: {}", stderr(&out));
    key
}

/// The public half of `key` (`ssh-ed25519 AAAA… comment`).
pub fn public_key(key: &Path) -> String {
    let path = PathBuf::from(format!("{}.pub", key.display()));
    std::fs::read_to_string(path).unwrap().trim().to_string()
}

/// An allowed-signers file (git's format): one `principal public-key` line per entry.
pub fn allowed_signers(entries: &[(&str, &Path)]) -> String {
    entries
        .iter()
        .map(|(principal, key)| format!("{principal} {}\n", public_key(key)))
        .collect()
}

/// The config lines that turn verified identity on (`off`, `warn` or `required`) with the
/// allowed signers at `.comm-node/allowed_signers`.
pub fn identity_config(mode: &str) -> String {
    format!(
        "version: 1\nidentity:\n  signed: {mode}\n  allowed_signers: .comm-node/allowed_signers\n"
    )
}

/// Make git (and so git comm) in `clone` sign with `key`: `gpg.format=ssh`, `user.signingkey`.
pub fn sign_with(clone: &Path, key: &Path) {
    git_in(clone, &["config", "gpg.format", "ssh"]);
    git_in(clone, &["config", "user.signingkey", key.to_str().unwrap()]);
}

/// A command running `git-daemon` itself, from git's exec path. `git daemon` would run the
/// daemon as a child of the `git` wrapper, and killing the wrapper's PID left the daemon
/// running (orphaned) after the test.
pub fn git_daemon() -> Command {
    let exec_path = git_in(Path::new("."), &["--exec-path"]);
    Command::new(PathBuf::from(exec_path.trim()).join("git-daemon"))
}
