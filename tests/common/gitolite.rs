//! A real hosting stack for tests: gitolite3 (Debian's package) behind an sshd on
//! 127.0.0.1, each agent with its own ed25519 key, the git-comm server guard as the
//! pre-receive hook of every hosted repository.
//!
//! Include it with `#[path = "common/gitolite.rs"] mod gitolite;` next to `mod common;`
//! (only the targets that host use it, so the others do not compile it).
//!
//! - **Install check**: `gitolite` and `/usr/sbin/sshd` must exist; otherwise the test fails
//!   with the apt line to run ([`APT_LINE`]). It never skips.
//! - **Who runs what.** Neither gitolite nor sshd refuses root, so no system user is made:
//!   sshd runs as whoever runs the tests and the clients log in as that same user (root in
//!   CI, with `PermitRootLogin forced-commands-only`: a key logs in only with gitolite's
//!   forced command; as another user, sshd runs unprivileged and can only log in its own
//!   user, which is all we need). The hosting user's home is a temporary directory, given
//!   to the ssh sessions by `SetEnv HOME=...` (gitolite finds its rc, repositories and keys
//!   under `$HOME`), with `PATH` set the same way so the hook runs the git-comm under test.
//! - **Setup**: `gitolite setup -pk admin.pub`, then the access rules and every agent's key
//!   are pushed through the `gitolite-admin` repository, as an administrator does.
//! - **Repositories**: [`CONF`] declares wild repositories `t/NAME`: a repository is created
//!   by its first access ([`Hosting::repo`]), so every test gets a fresh one from one shared
//!   server. Its HEAD is set to `main`. The guard is installed with `git comm server install REPO --protect main`.
//!   gitolite links only its own `update` hook (and, if `LOCAL_CODE` is set, the hooks under
//!   it) into repositories and never touches `pre-receive`; a test checks that a recompile
//!   leaves the guard in place.
//! - **GL_USER**: gitolite-shell exports `GL_USER` (the key's name), `GL_REPO` and
//!   `GL_BYPASS_ACCESS_CHECKS` to the hooks. Every hosted repository chains a small
//!   pre-receive before the guard that appends `$GL_USER` to `gl-users.log`, to show it.
//!   What it would enable: the guard could bind an ssh key to an agent (outbox, card,
//!   presence and cursor refs only by the agent whose key pushes; halt only by overseers'
//!   keys) without commit signatures, on hosts that run the hook under an ssh identity.
//! - **sshd**: its own host key and config (no PAM, `StrictModes no`, `AuthorizedKeysFile`
//!   pointing at the hosting user's keys, `LogLevel VERBOSE` to `sshd.log`) on a free port.
//!   It is started through `sh`, which prints sshd's PID and waits on a pipe from this
//!   process: the guard kills that PID and waits for it when the pipe closes, which happens
//!   on drop and also when the test process dies in any way, so no sshd outlives a test.
//!   The shared instance ([`Hosting::shared`]) is shut down the same way at process exit.
//! - **Clients** use `GIT_SSH_COMMAND="ssh -i KEY -p PORT -o IdentitiesOnly=yes
//!   -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -F /dev/null"`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::common::{assert_success, bin_path, comm_in, free_port, git_in, stderr, stdout, BIN};

/// What to run when the hosting stack is missing.
pub const APT_LINE: &str = "apt-get install -y gitolite3 openssh-server";
const SSHD: &str = "/usr/sbin/sshd";

/// The agents with a key; `eve` may only read.
pub const USERS: [&str; 6] = ["admin", "alice", "bob", "carol", "mallory", "eve"];

/// gitolite's access rules. `t/..*` are wild repositories: the first access creates one.
/// `mallory` has write access at the gitolite level (she is a key, not an agent).
pub const CONF: &str = "repo gitolite-admin
    RW+     =   admin

repo t/..*
    C       =   admin
    RW+     =   admin alice bob carol mallory
    R       =   eve
";

/// Chained before the guard: records who gitolite says is pushing.
const GL_USER_HOOK: &str =
    "#!/bin/sh\ncat >/dev/null\necho \"$GL_USER\" >> \"$GIT_DIR/gl-users.log\"\n";

/// One gitolite behind one sshd, in one temporary directory.
pub struct Hosting {
    dir: Mutex<Option<tempfile::TempDir>>,
    root: PathBuf,
    sshd: Mutex<Option<Sshd>>,
    pub port: u16,
    pub user: String,
    admin: Mutex<()>,
}

impl Hosting {
    /// The stack shared by every test of this process, started on first use and stopped
    /// (sshd killed and waited for, files removed) when the process exits.
    pub fn shared() -> &'static Hosting {
        static SHARED: OnceLock<Hosting> = OnceLock::new();
        SHARED.get_or_init(|| {
            extern "C" fn stop_shared() {
                if let Some(hosting) = SHARED.get() {
                    hosting.stop();
                }
            }
            let hosting = Hosting::start();
            // SAFETY: registers a plain function with no arguments, called once at exit.
            unsafe { libc::atexit(stop_shared) };
            hosting
        })
    }

    /// A new stack of its own (stopped when dropped).
    pub fn start() -> Hosting {
        require_installed();
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().to_path_buf();
        for sub in ["home", "keys", "clones"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        for user in USERS {
            make_key(&root.join("keys"), user);
        }
        gitolite_setup(&root);
        let user = login_user();
        let (sshd, port) = Sshd::start_on_free_port(&root);
        let hosting = Hosting {
            dir: Mutex::new(Some(dir)),
            root,
            sshd: Mutex::new(Some(sshd)),
            port,
            user,
            admin: Mutex::new(()),
        };
        hosting.push_admin(CONF);
        hosting
    }

    /// The hosting user's home: `.gitolite/`, `repositories/`, `.ssh/authorized_keys`.
    pub fn home(&self) -> PathBuf {
        self.root.join("home")
    }

    pub fn sshd_log(&self) -> String {
        std::fs::read_to_string(self.root.join("sshd.log")).unwrap_or_default()
    }

    /// sshd's PID while it runs.
    pub fn sshd_pid(&self) -> Option<u32> {
        self.sshd.lock().unwrap().as_ref().map(|s| s.pid)
    }

    /// `user`'s private ed25519 key (`.pub` beside it): what gitolite knows the user by,
    /// and a key git can sign with (`gpg.format=ssh`, `user.signingkey`).
    pub fn key(&self, user: &str) -> PathBuf {
        self.root.join("keys").join(user)
    }

    /// `GIT_SSH_COMMAND` for `user`'s key.
    pub fn ssh_command(&self, user: &str) -> String {
        format!(
            "ssh -i {} -p {} -o IdentitiesOnly=yes -o StrictHostKeyChecking=no \
             -o UserKnownHostsFile=/dev/null -o BatchMode=yes -F /dev/null",
            self.key(user).display(),
            self.port
        )
    }

    /// The git URL of repository `name` (as gitolite names it, e.g. `t/x`).
    pub fn url(&self, name: &str) -> String {
        format!("{}@127.0.0.1:{name}", self.user)
    }

    /// `git ARGS` in `dir` over ssh with `user`'s key.
    pub fn git_as(&self, user: &str, dir: &Path, args: &[&str]) -> Output {
        Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_SSH_COMMAND", self.ssh_command(user))
            .output()
            .expect("run git")
    }

    /// Replace `conf/gitolite.conf` with `conf` (every key in `keydir/`) and push it
    /// through gitolite-admin, as an administrator does; gitolite compiles on the push.
    pub fn push_admin(&self, conf: &str) {
        let _one_at_a_time = self.admin.lock().unwrap();
        let admin = self.root.join("gitolite-admin");
        if !admin.exists() {
            let url = self.url("gitolite-admin");
            let out = self.git_as(
                "admin",
                &self.root,
                &["clone", "-q", &url, "gitolite-admin"],
            );
            self.assert_ok(&out, "clone gitolite-admin");
            git_in(&admin, &["config", "user.name", "admin"]);
            git_in(&admin, &["config", "user.email", "admin@example.com"]);
        }
        for user in USERS {
            let key = self.root.join("keys").join(format!("{user}.pub"));
            std::fs::copy(key, admin.join(format!("keydir/{user}.pub"))).unwrap();
        }
        std::fs::write(admin.join("conf/gitolite.conf"), conf).unwrap();
        git_in(&admin, &["add", "-A"]);
        git_in(
            &admin,
            &["commit", "-q", "--allow-empty", "-m", "access rules"],
        );
        let out = self.git_as("admin", &admin, &["push", "-q", "origin", "HEAD"]);
        self.assert_ok(&out, "push gitolite-admin");
    }

    /// A fresh hosted repository `t/NAME` (created by gitolite on first access), with the
    /// GL_USER recorder chained and the guard installed (`--protect main`).
    pub fn repo(&self, name: &str) -> Hosted<'_> {
        let gl_name = format!("t/{name}");
        let out = self.git_as("admin", &self.root, &["ls-remote", &self.url(&gl_name)]);
        self.assert_ok(&out, "create the wild repository");
        let bare = self.home().join(format!("repositories/{gl_name}.git"));
        assert!(bare.is_dir(), "gitolite did not create {}", bare.display());
        // The agents' branch is main: clones check it out, and the guard reads the config
        // (overseers) from HEAD.
        git_in(&bare, &["symbolic-ref", "HEAD", "refs/heads/main"]);
        write_executable(&bare.join("hooks/pre-receive"), GL_USER_HOOK);
        let bare_arg = bare.to_str().unwrap();
        let out = comm_in(
            &self.root,
            &["server", "install", bare_arg, "--protect", "main"],
        );
        assert_success(&out, &["server", "install", bare_arg]);
        Hosted {
            hosting: self,
            name: gl_name,
            bare,
        }
    }

    fn assert_ok(&self, out: &Output, what: &str) {
        assert!(
            out.status.success(),
            "{what} failed: {}\nsshd log:\n{}",
            stderr(out),
            self.sshd_log()
        );
    }

    /// Kill sshd (by PID, waited for) and remove every file. Idempotent.
    pub fn stop(&self) {
        // A test that panicked while holding a lock must not keep sshd alive.
        drop(self.sshd.lock().unwrap_or_else(|e| e.into_inner()).take());
        drop(self.dir.lock().unwrap_or_else(|e| e.into_inner()).take());
    }
}

impl Drop for Hosting {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One repository on the host, and the agents' clones of it.
pub struct Hosted<'a> {
    pub hosting: &'a Hosting,
    /// gitolite's name, e.g. `t/sync`.
    pub name: String,
    /// The bare repository on the server.
    pub bare: PathBuf,
}

impl Hosted<'_> {
    /// A clone for `agent` over ssh with `agent`'s own key (git identity = the agent).
    pub fn clone_as(&self, agent: &str) -> Clone {
        let parent = self.hosting.root.join("clones").join(&self.name);
        std::fs::create_dir_all(&parent).unwrap();
        let url = self.hosting.url(&self.name);
        let out = self
            .hosting
            .git_as(agent, &parent, &["clone", "-q", &url, agent]);
        self.hosting.assert_ok(&out, "clone");
        let dir = parent.join(agent);
        git_in(&dir, &["config", "user.name", agent]);
        git_in(
            &dir,
            &["config", "user.email", &format!("{agent}@example.com")],
        );
        git_in(&dir, &["config", "commit.gpgsign", "false"]);
        Clone {
            dir,
            agent: agent.to_string(),
            ssh_command: self.hosting.ssh_command(agent),
        }
    }

    /// Every ref on the server with its target, for "nothing changed" checks.
    pub fn refs(&self) -> String {
        git_in(
            &self.bare,
            &["for-each-ref", "--format=%(refname) %(objectname)"],
        )
    }

    /// One ref's target on the server (empty when absent).
    pub fn ref_target(&self, name: &str) -> String {
        let out = Command::new("git")
            .args(["rev-parse", "-q", "--verify", name])
            .current_dir(&self.bare)
            .output()
            .unwrap();
        stdout(&out).trim().to_string()
    }

    /// The GL_USER of every push that reached the hooks, one per line.
    pub fn pushers(&self) -> String {
        std::fs::read_to_string(self.bare.join("gl-users.log")).unwrap_or_default()
    }
}

/// An agent's clone, talking to the host with the agent's key.
pub struct Clone {
    pub dir: PathBuf,
    pub agent: String,
    pub ssh_command: String,
}

impl Clone {
    /// `git-comm` in this clone, with the agent's key for its git subprocesses.
    pub fn comm_command(&self) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.current_dir(&self.dir)
            .env_remove("GIT_COMM_AGENT")
            .env("TZ", "UTC")
            .env("GIT_SSH_COMMAND", &self.ssh_command);
        cmd
    }

    /// `git comm --as AGENT ARGS`.
    pub fn comm(&self, args: &[&str]) -> Output {
        self.comm_command()
            .args(["--as", &self.agent])
            .args(args)
            .output()
            .expect("run git-comm")
    }

    /// Like `comm`, asserting success; stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.comm(args);
        assert_success(&out, args);
        stdout(&out)
    }

    /// `git ARGS` (local, or over ssh with the agent's key), asserting success; stdout.
    pub fn git(&self, args: &[&str]) -> String {
        let out = self.git_output(args);
        assert_success(&out, args);
        stdout(&out)
    }

    /// `git ARGS` with the agent's key and git-comm on PATH, whatever the outcome.
    pub fn git_output(&self, args: &[&str]) -> Output {
        Command::new("git")
            .args(args)
            .current_dir(&self.dir)
            .env("GIT_SSH_COMMAND", &self.ssh_command)
            .env("PATH", path_with_comm())
            .output()
            .expect("run git")
    }

    /// `git push ARGS` to origin's URL, whatever the outcome.
    pub fn push(&self, args: &[&str]) -> Output {
        let mut full = vec!["push"];
        full.extend_from_slice(args);
        self.git_output(&full)
    }

    /// Commit `content` to `file` as the agent, hooks bypassed (what a careless or
    /// hostile client can always do); the short id.
    pub fn commit_file(&self, file: &str, content: &str) -> String {
        let path = self.dir.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
        self.git(&["add", file]);
        self.git(&["commit", "-q", "--no-verify", "-m", &format!("edit {file}")]);
        self.git(&["rev-parse", "--short=10", "HEAD"])
            .trim()
            .to_string()
    }
}

impl Clone {
    /// A commit on `refs/comm-node/<suffix>` by `author` (any name: a hostile writer types
    /// it), with `edits` (path, new content or `None` to remove) applied to the local tip's
    /// tree, built with git's plumbing in a scratch index; its id.
    pub fn forge(&self, suffix: &str, author: &str, edits: &[(&str, Option<&str>)]) -> String {
        crate::common::forge(&self.dir, suffix, author, edits)
    }

    /// Push `commit` to `refs/comm-node/<suffix>` on origin, whatever the outcome.
    pub fn push_ref(&self, commit: &str, suffix: &str) -> Output {
        self.push(&["origin", &format!("{commit}:refs/comm-node/{suffix}")])
    }

    /// Copy origin's `refs/comm-node/<suffix>` here as is (no git comm, no gate).
    pub fn fetch_ref(&self, suffix: &str) {
        let spec = format!("+refs/comm-node/{suffix}:refs/comm-node/{suffix}");
        self.git(&["fetch", "-q", "origin", &spec]);
    }

    /// A local ref's target, empty when absent.
    pub fn local_ref(&self, name: &str) -> String {
        let out = self.git_output(&["rev-parse", "-q", "--verify", name]);
        stdout(&out).trim().to_string()
    }
}

/// PATH with the git-comm under test first.
fn path_with_comm() -> std::ffi::OsString {
    let mut paths = vec![bin_path().parent().unwrap().to_path_buf()];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(paths).unwrap()
}

/// sshd, run through `sh` (which holds its PID and a pipe from this process).
struct Sshd {
    shell: Child,
    keep_alive: Option<ChildStdin>,
    pid: u32,
}

impl Sshd {
    /// A free port can be taken between choosing it and binding it: try a few.
    fn start_on_free_port(root: &Path) -> (Sshd, u16) {
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port();
            write_sshd_config(root, port);
            match Sshd::start(root, port) {
                Ok(sshd) => return (sshd, port),
                Err(why) => last = why,
            }
        }
        panic!("sshd did not start: {last}");
    }

    fn start(root: &Path, port: u16) -> Result<Sshd, String> {
        if is_root() {
            // sshd's privilege separation directory, absent until the service first runs.
            std::fs::create_dir_all("/run/sshd").unwrap();
        }
        let script = format!(
            "{SSHD} -D -f \"$1/sshd_config\" -E \"$1/sshd.log\" & echo $!; \
             read _closed; kill $! 2>/dev/null; wait"
        );
        let mut shell = Command::new("sh")
            .args(["-c", &script, "sh", root.to_str().unwrap()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run sh");
        let mut line = String::new();
        BufReader::new(shell.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let pid: u32 = line.trim().parse().expect("sshd's pid");
        let sshd = Sshd {
            keep_alive: shell.stdin.take(),
            shell,
            pid,
        };
        match sshd.wait_listening(port) {
            Ok(()) => Ok(sshd),
            Err(why) => {
                drop(sshd);
                let log = std::fs::read_to_string(root.join("sshd.log")).unwrap_or_default();
                Err(format!("{why}\n{log}"))
            }
        }
    }

    /// Until sshd accepts connections, or it died, or 10 s passed.
    fn wait_listening(&self, port: u16) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(());
            }
            if !alive(self.pid) {
                return Err(format!("sshd exited before listening on port {port}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!("sshd not listening on port {port} after 10 s"))
    }
}

impl Drop for Sshd {
    /// Kill sshd by PID; the shell waits for it, and this waits for the shell.
    fn drop(&mut self) {
        // SAFETY: kill(2) on the PID of the sshd this harness started.
        unsafe { libc::kill(self.pid as libc::pid_t, libc::SIGTERM) };
        drop(self.keep_alive.take());
        let _ = self.shell.wait();
    }
}

fn alive(pid: u32) -> bool {
    // SAFETY: signal 0 only asks whether the process exists.
    unsafe { libc::kill(pid as libc::pid_t, 0) == 0 }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn login_user() -> String {
    if is_root() {
        return "root".to_string();
    }
    let out = Command::new("id").arg("-un").output().expect("run id");
    stdout(&out).trim().to_string()
}

fn write_sshd_config(root: &Path, port: u16) {
    let home = root.join("home");
    let bin_dir = bin_path().parent().unwrap().to_path_buf();
    let config = format!(
        "ListenAddress 127.0.0.1\n\
         Port {port}\n\
         HostKey {host_key}\n\
         PidFile none\n\
         UsePAM no\n\
         StrictModes no\n\
         PermitRootLogin forced-commands-only\n\
         PubkeyAuthentication yes\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         AuthorizedKeysFile {home}/.ssh/authorized_keys\n\
         SetEnv HOME={home} PATH={bin}:/usr/bin:/bin\n\
         LogLevel VERBOSE\n",
        host_key = root.join("host_key").display(),
        home = home.display(),
        bin = bin_dir.display(),
    );
    if !root.join("host_key").exists() {
        make_key_file(&root.join("host_key"), "host");
    }
    std::fs::write(root.join("sshd_config"), config).unwrap();
}

fn require_installed() {
    let gitolite = Command::new("sh")
        .args(["-c", "command -v gitolite"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        gitolite && Path::new(SSHD).exists(),
        "these tests need gitolite3 and openssh-server (gitolite: {gitolite}, {SSHD}: {}); \
         run: {APT_LINE}",
        Path::new(SSHD).exists()
    );
}

fn make_key(dir: &Path, user: &str) {
    make_key_file(&dir.join(user), user);
}

fn make_key_file(path: &Path, comment: &str) {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(path)
        .output()
        .expect("run ssh-keygen");
    assert_success(&out, &["ssh-keygen", comment]);
}

/// `gitolite setup -pk admin.pub` with the hosting user's home.
fn gitolite_setup(root: &Path) {
    let out = Command::new("gitolite")
        .args(["setup", "-pk"])
        .arg(root.join("keys/admin.pub"))
        .env("HOME", root.join("home"))
        .output()
        .expect("run gitolite");
    assert_success(&out, &["gitolite", "setup"]);
}

fn write_executable(path: &Path, content: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, content).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}
