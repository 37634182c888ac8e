//! The server guard in a real bare repository, run by real `git push`: hostile namespace
//! values, rewrites and deletions are refused with the ref and the reason; protected
//! branches refuse commits on others' leases and boundary violations; chaining and
//! uninstall; nothing on the server changes when a push is refused.

mod common;
mod hooks_common;
mod sync_net;

use std::path::Path;
use std::process::Output;

use common::{comm_in, comm_pinned, commit_dated, git_in, stderr, stdout, unix_now};
use hooks_common::path_with_comm;
use sync_net::{ok, sync_ok, Net};

fn push(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new("git")
        .arg("push")
        .args(args)
        .current_dir(dir)
        .env("PATH", path_with_comm())
        .output()
        .unwrap()
}

fn refused(out: &Output, expect: &[&str]) -> String {
    let err = stderr(out);
    assert!(
        !out.status.success(),
        "push should have been refused: {err}"
    );
    for e in expect {
        assert!(err.contains(e), "expected {e:?} in:\n{err}");
    }
    err
}

fn server_refs(net: &Net) -> String {
    git_in(
        &net.remote,
        &["for-each-ref", "--format=%(refname) %(objectname)"],
    )
}

fn install(net: &Net, protect: &[&str]) -> String {
    let mut args = vec!["server", "install", net.remote.to_str().unwrap()];
    for p in protect {
        args.extend(["--protect", p]);
    }
    let out = comm_in(net.root.path(), &args);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

#[test]
fn hostile_namespace_pushes_are_refused_with_the_ref_and_the_reason() {
    let net = Net::new();
    install(&net, &[]);
    let (a, b) = net.pair();
    // Ordinary traffic passes the guard.
    sync_ok(&a);
    sync_ok(&b);
    sync_ok(&a);
    ok(&a, &["--as", "alice", "send", "bob", "-s", "first"]);
    sync_ok(&a);
    ok(&a, &["--as", "alice", "send", "bob", "-s", "second"]);
    sync_ok(&a);
    let before = server_refs(&net);

    // A blob where mail must be a commit chain.
    let junk = std::process::Command::new("git")
        .args(["hash-object", "-w", "--stdin"])
        .current_dir(&a)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(b"not a message\n")?;
            c.wait_with_output()
        })
        .unwrap();
    let junk = String::from_utf8(junk.stdout).unwrap().trim().to_string();
    refused(
        &push(
            &a,
            &["--force", "origin", &format!("{junk}:refs/comm-node/mail")],
        ),
        &[
            "refs/comm-node/mail",
            "refused by the storage gate",
            "pre-receive hook declined",
        ],
    );
    // Rewriting mail history: this clone's outbox on the remote rewound to its parent.
    let parent = git_in(&a, &["rev-parse", "refs/comm-node/mail~1"]);
    let outbox = git_in(&a, &["config", "comm.outbox"]);
    let target = format!("{}:refs/comm-node/outbox/{}", parent.trim(), outbox.trim());
    refused(
        &push(&a, &["--force", "origin", &target]),
        &["not a fast-forward", "git comm sync"],
    );
    // Deleting shared state, and refs git-comm does not know.
    refused(
        &push(&a, &["origin", ":refs/comm-node/leases"]),
        &["deleting shared state is refused"],
    );
    let head = git_in(&a, &["rev-parse", "refs/comm-node/mail"]);
    refused(
        &push(
            &a,
            &[
                "origin",
                &format!("{}:refs/comm-node/Bogus..name", head.trim()),
            ],
        ),
        &[],
    );
    refused(
        &push(
            &a,
            &["origin", &format!("{}:refs/comm-node/notes/x", head.trim())],
        ),
        &["not a git-comm ref"],
    );
    // A card that is not the card of the agent it is stored as.
    let alice_card = git_in(&a, &["rev-parse", "refs/comm-node/agents/alice"]);
    refused(
        &push(
            &a,
            &[
                "origin",
                &format!("{}:refs/comm-node/agents/mallory", alice_card.trim()),
            ],
        ),
        &[
            "refs/comm-node/agents/mallory",
            "refused by the storage gate",
        ],
    );
    assert_eq!(
        before,
        server_refs(&net),
        "a refused push changed the server"
    );
    // The clones still sync normally afterwards.
    ok(&b, &["--as", "bob", "send", "alice", "-s", "still fine"]);
    sync_ok(&b);
    sync_ok(&a);
    let inbox = ok(&a, &["--as", "alice", "--format", "compact", "inbox"]);
    assert!(inbox.contains("still fine"), "{inbox}");
}

const CONFIG: &str = "version: 1
domains:
  api:
    scope: [\"src/api/**\"]
  web:
    scope: [\"src/web/**\"]
    forbidden_imports: [\"src/api/**\"]
";

fn commit_as(dir: &Path, author: &str, file: &str, content: &str) -> String {
    std::fs::create_dir_all(dir.join(file).parent().unwrap()).unwrap();
    std::fs::write(dir.join(file), content).unwrap();
    git_in(dir, &["add", file]);
    let out = std::process::Command::new("git")
        .args([
            "commit",
            "-q",
            "--no-verify",
            "-m",
            &format!("{author} edits {file}"),
        ])
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", author)
        .env("GIT_AUTHOR_EMAIL", format!("{author}@example.com"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    git_in(dir, &["rev-parse", "--short=10", "HEAD"])
        .trim()
        .to_string()
}

#[test]
fn protected_branches_refuse_commits_on_others_leases_and_boundary_violations() {
    let net = Net::new();
    let said = install(&net, &["main"]);
    assert!(said.contains("protected branches: main"), "{said}");
    let (a, b) = net.pair();
    std::fs::create_dir_all(a.join(".comm-node")).unwrap();
    std::fs::write(a.join(".comm-node/config.yaml"), CONFIG).unwrap();
    git_in(&a, &["add", ".comm-node/config.yaml"]);
    commit_as(&a, "alice", "src/api/index.ts", "export const api = 1;\n");
    assert!(push(&a, &["-q", "origin", "HEAD:main"]).status.success());
    sync_ok(&a);
    sync_ok(&b);
    sync_ok(&a);
    git_in(&b, &["pull", "-q", "origin", "main"]);
    // alice leases the api entry point; the ledger reaches the server.
    ok(
        &a,
        &["--as", "alice", "lease", "src/api/index.ts", "--sync"],
    );
    // bob (no lease) edits it and pushes to main: refused, naming commit, file and rule.
    let bad = commit_as(&b, "bob", "src/api/index.ts", "export const api = 2;\n");
    let err = refused(
        &push(&b, &["origin", "HEAD:main"]),
        &[
            &bad,
            "bob",
            "src/api/index.ts",
            "leased exclusively by alice",
            "fix:",
        ],
    );
    assert!(err.contains("refs/heads/main"), "{err}");
    // The same commit on an unprotected branch is accepted.
    assert!(push(&b, &["-q", "origin", "HEAD:feature"]).status.success());
    git_in(&b, &["reset", "-q", "--hard", "HEAD~1"]);
    // An import that breaks the boundary, by an agent with no lease problem.
    let bad = commit_as(
        &b,
        "carol",
        "src/web/app.ts",
        "import { api } from \"../api/index\";\nexport const app = api;\n",
    );
    refused(
        &push(&b, &["origin", "HEAD:main"]),
        &[&bad, "src/web/app.ts", "fix the import"],
    );
    git_in(&b, &["reset", "-q", "--hard", "HEAD~1"]);
    // A clean commit passes.
    commit_as(&b, "carol", "src/web/app.ts", "export const app = 1;\n");
    let clean = push(&b, &["origin", "HEAD:main"]);
    assert!(clean.status.success(), "{}", stderr(&clean));
    // Deleting the protected branch is refused.
    refused(
        &push(&b, &["origin", ":main"]),
        &["deleting a protected branch"],
    );
    // Once alice releases (and syncs), bob's edit goes through.
    ok(&a, &["--as", "alice", "release", "--all"]);
    sync_ok(&a);
    commit_as(&b, "bob", "src/api/index.ts", "export const api = 3;\n");
    let after = push(&b, &["origin", "HEAD:main"]);
    assert!(after.status.success(), "{}", stderr(&after));
}

const LEASED_CONFIG: &str = "version: 1
domains:
  web: { scope: [\"web/**\"] }
agents:
  frontend: { domain: web }
";

fn pinned_ok(dir: &Path, at: i64, args: &[&str]) {
    let out = comm_pinned(dir, at, args);
    common::assert_success(&out, args);
}

/// The guard judges a pushed commit by the lease ledger's history, as `check --range` does:
/// frontend's commit of CHANGELOG.md (outside its domain) was made 3 s after its lease was
/// granted, in a second with seven other grants, and before the release, so it passes after
/// the release; the same edit with no lease is refused.
#[test]
fn the_guard_judges_a_commit_by_the_leases_of_its_time() {
    let net = Net::new();
    install(&net, &["main"]);
    let a = net.clone("a");
    std::fs::create_dir_all(a.join(".comm-node")).unwrap();
    std::fs::write(a.join(".comm-node/config.yaml"), LEASED_CONFIG).unwrap();
    git_in(&a, &["add", ".comm-node/config.yaml"]);
    git_in(&a, &["commit", "-q", "-m", "config"]);
    assert!(push(&a, &["-q", "origin", "HEAD:main"]).status.success());
    ok(&a, &["--as", "frontend", "join"]);
    ok(&a, &["--as", "alice", "join"]);
    let granted = unix_now() - 60;
    for i in 0..7 {
        let path = format!("docs/{i}.md");
        pinned_ok(&a, granted, &["--as", "alice", "lease", &path]);
    }
    pinned_ok(&a, granted, &["--as", "frontend", "lease", "CHANGELOG.md"]);
    commit_dated(&a, "frontend", "CHANGELOG.md", granted + 3);
    pinned_ok(&a, granted + 7, &["--as", "frontend", "release", "--all"]);
    sync_ok(&a);
    let under_lease = push(&a, &["origin", "HEAD:main"]);
    assert!(under_lease.status.success(), "{}", stderr(&under_lease));
    commit_dated(&a, "frontend", "CHANGELOG.md", unix_now());
    refused(
        &push(&a, &["origin", "HEAD:main"]),
        &["CHANGELOG.md", "outside domain 'web' of frontend"],
    );
}

#[test]
fn install_chains_an_existing_hook_and_uninstall_restores_it() {
    let net = Net::new();
    let hook = net.remote.join("hooks/pre-receive");
    let original = "#!/bin/sh\ncat >/dev/null\necho ran >> \"$GIT_DIR/chained.log\"\nexit 0\n";
    std::fs::write(&hook, original).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let said = install(&net, &[]);
    assert!(said.contains("installed (chains"), "{said}");
    let (a, _) = net.pair();
    sync_ok(&a);
    let log = std::fs::read_to_string(net.remote.join("chained.log")).unwrap();
    assert_eq!(log, "ran\n");
    // The chained hook's refusal still refuses.
    std::fs::write(
        net.remote.join("hooks/pre-receive.pre-comm"),
        "#!/bin/sh\necho no >&2\nexit 1\n",
    )
    .unwrap();
    ok(&a, &["--as", "alice", "send", "alice", "-s", "x"]);
    assert!(!comm_in(&a, &["sync"]).status.success());
    std::fs::write(net.remote.join("hooks/pre-receive.pre-comm"), original).unwrap();
    let status = comm_in(
        net.root.path(),
        &["--json", "server", "status", net.remote.to_str().unwrap()],
    );
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["hook"]["installed"], true);
    let out = comm_in(
        net.root.path(),
        &["server", "uninstall", net.remote.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), original);
    // A working tree is not a server.
    let not_bare = comm_in(net.root.path(), &["server", "install", a.to_str().unwrap()]);
    assert_eq!(not_bare.status.code(), Some(2), "{}", stderr(&not_bare));
    assert!(stderr(&not_bare).contains("not a bare repository"));
}

/// Issue 20 item 11: behind the guard, doctor's namespace probe is answered by the guard
/// (the namespace reaches it; nothing is stored), not blamed on the host while sync works.
#[test]
fn doctor_behind_the_guard_reports_the_namespace_accepted() {
    let net = Net::new();
    install(&net, &[]);
    let (a, _b) = net.pair();
    ok(&a, &["--as", "alice", "send", "all", "-s", "hi"]);
    assert!(sync_ok(&a).contains("mail 1 out"));
    let before = server_refs(&net);
    let out = comm_in(&a, &["--as", "alice", "--json", "doctor"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let namespace = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "namespace")
        .unwrap_or_else(|| panic!("no namespace check: {report}"));
    assert_eq!(namespace["ok"], true, "{namespace}");
    let detail = namespace["detail"].as_str().unwrap();
    assert!(detail.contains("server guard"), "{detail}");
    assert!(!detail.contains("refs/heads/"), "{detail}");
    assert_eq!(
        server_refs(&net),
        before,
        "the probe left something on the server"
    );
}

#[test]
fn a_broken_config_on_the_default_branch_refuses_the_namespace_but_lets_the_fix_through() {
    let net = Net::new();
    install(&net, &[]);
    let (a, b) = net.pair();
    sync_ok(&a);
    // b pushes a config the guard cannot load to the default branch.
    std::fs::create_dir_all(b.join(".comm-node")).unwrap();
    std::fs::write(
        b.join(".comm-node/config.yaml"),
        "version: 1\nnot_a_key: 1\n",
    )
    .unwrap();
    git_in(&b, &["add", ".comm-node/config.yaml"]);
    git_in(&b, &["commit", "-qm", "broken config", "--no-verify"]);
    git_in(&b, &["push", "-q", "origin", "HEAD:main"]);
    git_in(&net.remote, &["symbolic-ref", "HEAD", "refs/heads/main"]);
    ok(
        &a,
        &["--as", "alice", "send", "alice", "-s", "note to self"],
    );
    let out = comm_in(&a, &["sync"]);
    assert!(
        !out.status.success(),
        "a namespace push passed a broken config"
    );
    assert!(stderr(&out).contains("not_a_key"), "{}", stderr(&out));
    // The fix itself reaches the default branch, and then the namespace passes again.
    std::fs::write(b.join(".comm-node/config.yaml"), "version: 1\n").unwrap();
    git_in(&b, &["commit", "-qam", "fix config", "--no-verify"]);
    let fixed = push(&b, &["origin", "HEAD:main"]);
    assert!(fixed.status.success(), "{}", stderr(&fixed));
    sync_ok(&a);
}
