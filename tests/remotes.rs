//! Real remotes, each started by the test on 127.0.0.1 and stopped by PID: `git daemon`
//! and smart HTTP (`git http-backend` behind lighttpd), plus a host that accepts only
//! `refs/heads/*`. Over each: mail sync, `lease --sync` with one winner, `task claim --sync`,
//! and the server guard refusing a hostile push.

mod common;
mod hooks_common;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{comm_in, free_port, git_in, stderr, stdout};
use hooks_common::path_with_comm;

/// A server process, killed (by PID) when dropped.
struct Server {
    _child: common::Killed,
    url: String,
}

/// Wait until `port` accepts connections (or the server died).
fn wait_listening(child: &mut Child, port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited early: {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not listen on {port}");
}

fn bare(root: &Path) -> PathBuf {
    let repo = root.join("repo.git");
    git_in(root, &["init", "-q", "--bare", "repo.git"]);
    git_in(&repo, &["config", "http.receivepack", "true"]);
    repo
}

fn git_daemon(root: &Path) -> Server {
    let port = free_port();
    let mut child = common::git_daemon()
        .args([
            "--reuseaddr",
            "--listen=127.0.0.1",
            &format!("--port={port}"),
            &format!("--base-path={}", root.display()),
            "--export-all",
            "--enable=receive-pack",
            "--informative-errors",
        ])
        .arg(root)
        .env("PATH", path_with_comm())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("git daemon");
    wait_listening(&mut child, port, "git daemon");
    Server {
        _child: common::Killed(child),
        url: format!("git://127.0.0.1:{port}/repo.git"),
    }
}

fn lighttpd(root: &Path) -> Server {
    let port = free_port();
    let backend = git_exec_path().join("git-http-backend");
    let conf = root.join("lighttpd.conf");
    let docroot = root.join("www");
    std::fs::create_dir_all(&docroot).unwrap();
    std::fs::write(
        &conf,
        format!(
            r#"server.document-root = "{docroot}"
server.bind = "127.0.0.1"
server.port = {port}
server.modules = ("mod_alias", "mod_cgi", "mod_setenv")
server.errorlog = "{root}/lighttpd.err"
alias.url = ("/git/" => "{backend}/")
$HTTP["url"] =~ "^/git/" {{
    cgi.assign = ("" => "")
    setenv.add-environment = ("GIT_PROJECT_ROOT" => "{root}", "GIT_HTTP_EXPORT_ALL" => "1", "PATH" => "{path}")
}}
"#,
            docroot = docroot.display(),
            root = root.display(),
            backend = backend.display(),
            path = path_with_comm().to_string_lossy(),
        ),
    )
    .unwrap();
    let binary = ["/usr/sbin/lighttpd", "/usr/bin/lighttpd"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("lighttpd is needed for the smart HTTP test: apt install lighttpd (.ci/run does)");
    let mut child = Command::new(binary)
        .args(["-D", "-f"])
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("lighttpd");
    wait_listening(&mut child, port, "lighttpd");
    Server {
        _child: common::Killed(child),
        url: format!("http://127.0.0.1:{port}/git/repo.git"),
    }
}

fn git_exec_path() -> PathBuf {
    PathBuf::from(git_in(Path::new("."), &["--exec-path"]).trim())
}

fn clone(root: &Path, url: &str, name: &str) -> PathBuf {
    git_in(root, &["clone", "-q", url, name]);
    let dir = root.join(name);
    git_in(&dir, &["config", "user.name", "Test"]);
    git_in(&dir, &["config", "user.email", "test@example.com"]);
    dir
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = comm_in(dir, args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

fn install_guard(repo: &Path) {
    let out = comm_in(
        repo.parent().unwrap(),
        &["server", "install", repo.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

/// Sync, lease --sync with one winner, a task claimed across clones, and a hostile push
/// refused by the guard, all through `url`.
fn exercise(root: &Path, url: &str) {
    let a = clone(root, url, "a");
    let b = clone(root, url, "b");
    ok(&a, &["--as", "alice", "join"]);
    ok(&b, &["--as", "bob", "join"]);
    for dir in [&a, &b, &a] {
        ok(dir, &["sync"]);
    }
    ok(&a, &["--as", "alice", "send", "bob", "-s", "over the wire"]);
    ok(&a, &["sync"]);
    ok(&b, &["sync"]);
    assert!(ok(&b, &["--as", "bob", "--format", "compact", "inbox"]).contains("over the wire"));

    // Both want the same file; the remote decides one winner.
    let first = ok(&a, &["--as", "alice", "lease", "src/x.rs", "--sync"]);
    assert!(first.contains("confirmed on origin"), "{first}");
    let second = comm_in(&b, &["--as", "bob", "lease", "src/x.rs", "--sync"]);
    assert_eq!(second.status.code(), Some(1), "{}", stderr(&second));
    assert!(stderr(&second).contains("alice"), "{}", stderr(&second));

    // A task claimed on one clone cannot be claimed on the other.
    let task: serde_json::Value = serde_json::from_str(&ok(
        &a,
        &["--as", "alice", "--json", "task", "add", "Remote work"],
    ))
    .unwrap();
    let id = task["id"].as_str().unwrap().to_string();
    ok(&a, &["sync"]);
    ok(&b, &["sync"]);
    ok(&b, &["--as", "bob", "task", "claim", &id, "--sync"]);
    let lost = comm_in(&a, &["--as", "alice", "task", "claim", &id, "--sync"]);
    assert_eq!(lost.status.code(), Some(1), "{}", stderr(&lost));

    // The guard on the server refuses a rewrite of mail history over this transport.
    ok(&a, &["--as", "alice", "send", "bob", "-s", "second"]);
    ok(&a, &["sync"]);
    let parent = git_in(&a, &["rev-parse", "refs/comm-node/mail~1"]);
    let outbox = git_in(&a, &["config", "comm.outbox"]);
    let push = Command::new("git")
        .args(["push", "--force", "origin"])
        .arg(format!(
            "{}:refs/comm-node/outbox/{}",
            parent.trim(),
            outbox.trim()
        ))
        .current_dir(&a)
        .output()
        .unwrap();
    let err = stderr(&push);
    assert!(!push.status.success(), "{err}");
    assert!(err.contains("not a fast-forward"), "{err}");
}

#[test]
fn everything_works_through_git_daemon() {
    let root = tempfile::tempdir().unwrap();
    let repo = bare(root.path());
    install_guard(&repo);
    let daemon = git_daemon(root.path());
    exercise(root.path(), &daemon.url);
}

#[test]
fn everything_works_through_smart_http_behind_lighttpd() {
    let root = tempfile::tempdir().unwrap();
    let repo = bare(root.path());
    install_guard(&repo);
    let http = lighttpd(root.path());
    exercise(root.path(), &http.url);
}

#[test]
fn a_host_that_accepts_only_branches_works_with_a_branch_namespace() {
    let root = tempfile::tempdir().unwrap();
    let repo = bare(root.path());
    // Like hosts that accept refs/heads/* only.
    let hook = repo.join("hooks/pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\nwhile read old new ref; do case \"$ref\" in refs/heads/*) ;; *) echo \"only branches: $ref\" >&2; exit 1;; esac; done\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let daemon = git_daemon(root.path());
    let a = clone(root.path(), &daemon.url, "a");
    let b = clone(root.path(), &daemon.url, "b");
    ok(&a, &["--as", "alice", "join"]);
    let refused: Output = comm_in(&a, &["sync"]);
    assert!(
        !refused.status.success(),
        "the host should refuse refs/comm-node/*"
    );
    for dir in [&a, &b] {
        git_in(dir, &["config", "comm.namespace", "refs/heads/comm-node/"]);
    }
    ok(&a, &["--as", "alice", "join"]);
    ok(&b, &["--as", "bob", "join"]);
    for dir in [&a, &b, &a] {
        ok(dir, &["sync"]);
    }
    ok(&a, &["--as", "alice", "send", "bob", "-s", "via branches"]);
    ok(&a, &["sync"]);
    ok(&b, &["sync"]);
    assert!(ok(&b, &["--as", "bob", "--format", "compact", "inbox"]).contains("via branches"));
    let first = ok(&a, &["--as", "alice", "lease", "docs/**", "--sync"]);
    assert!(first.contains("confirmed on origin"), "{first}");
    let second = comm_in(&b, &["--as", "bob", "lease", "docs/**", "--sync"]);
    assert_eq!(second.status.code(), Some(1), "{}", stderr(&second));
    let server_refs = git_in(&repo, &["for-each-ref", "--format=%(refname)"]);
    assert!(
        server_refs.lines().all(|r| r.starts_with("refs/heads/")),
        "{server_refs}"
    );
    assert!(
        server_refs.contains("refs/heads/comm-node/outbox/o-"),
        "{server_refs}"
    );
}
