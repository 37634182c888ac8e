//! Verified identity (`identity.signed`): what git comm writes is signed with git's own ssh
//! setup and git itself verifies it; the server guard (a real bare remote, real `git push`)
//! refuses entries not signed by their author's key; sync quarantines them from a remote;
//! `required` mode refuses to write without a key; bad settings exit 2 with file and line.

mod common;
mod hooks_common;
mod sync_net;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{
    allowed_signers, assert_exit, comm_at, comm_in, git_in, identity_config, sign_with, ssh_key,
    stderr, stdout,
};
use hooks_common::path_with_comm;
use sync_net::{ok, sync, sync_ok, Net};

const EMPTY_TREE: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

/// A remote whose `main` carries the identity config and the allowed signers of alice and
/// bob, with clones `a` (signing with alice's key) and `b` (bob's).
struct Swarm {
    net: Net,
    alice_key: PathBuf,
    bob_key: PathBuf,
    a: PathBuf,
    b: PathBuf,
}

impl Swarm {
    fn new(mode: &str, guard: bool) -> Swarm {
        let net = Net::new();
        let keys = net.root.path().join("keys");
        std::fs::create_dir(&keys).unwrap();
        let alice_key = ssh_key(&keys, "alice");
        let bob_key = ssh_key(&keys, "bob");
        let admin = net.clone("admin");
        let signers = allowed_signers(&[("alice", &alice_key), ("bob", &bob_key)]);
        write(&admin, ".comm-node/allowed_signers", &signers);
        write(&admin, ".comm-node/config.yaml", &identity_config(mode));
        git_in(&admin, &["add", ".comm-node"]);
        git_in(&admin, &["commit", "-q", "-m", "identity: signed"]);
        git_in(&admin, &["push", "-q", "origin", "HEAD:refs/heads/main"]);
        git_in(&net.remote, &["symbolic-ref", "HEAD", "refs/heads/main"]);
        if guard {
            let remote = net.remote.to_str().unwrap();
            ok(net.root.path(), &["server", "install", remote]);
        }
        let a = net.clone("a");
        sign_with(&a, &alice_key);
        let b = net.clone("b");
        sign_with(&b, &bob_key);
        Swarm {
            net,
            alice_key,
            bob_key,
            a,
            b,
        }
    }

    fn remote_ref(&self, name: &str) -> Option<String> {
        let out = Command::new("git")
            .args(["rev-parse", "--verify", "-q", name])
            .current_dir(&self.net.remote)
            .output()
            .unwrap();
        out.status
            .success()
            .then(|| stdout(&out).trim().to_string())
    }
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A mail commit by `author` made with plain git (no signature), pushed to the remote's mail.
fn push_unsigned_mail(clone: &Path, author: &str) -> Output {
    let id = Command::new("git")
        .args(["commit-tree", EMPTY_TREE, "-m", "unsigned hello"])
        .current_dir(clone)
        .env("GIT_AUTHOR_NAME", author)
        .env("GIT_AUTHOR_EMAIL", format!("{author}@comm-node"))
        .output()
        .unwrap();
    assert!(id.status.success(), "{}", stderr(&id));
    let spec = format!("{}:refs/comm-node/mail", stdout(&id).trim());
    Command::new("git")
        .args(["push", "origin", &spec])
        .current_dir(clone)
        .env("PATH", path_with_comm())
        .output()
        .unwrap()
}

fn git_verify(clone: &Path, what: &str, name: &str) -> Output {
    Command::new("git")
        .args([
            "-c",
            "gpg.ssh.allowedSignersFile=.comm-node/allowed_signers",
            what,
            name,
        ])
        .current_dir(clone)
        .output()
        .unwrap()
}

#[test]
fn git_itself_verifies_the_commits_and_tags_git_comm_signs() {
    let s = Swarm::new("required", false);
    ok(&s.a, &["--as", "alice", "join"]);
    ok(
        &s.a,
        &[
            "--as", "alice", "send", "all", "-s", "hello", "-m", "signed",
        ],
    );
    write(&s.a, "schema.json", "{}\n");
    ok(
        &s.a,
        &[
            "--as",
            "alice",
            "publish",
            "api/schema",
            "schema.json",
            "-m",
            "v1",
        ],
    );
    for (what, name) in [
        ("verify-commit", "refs/comm-node/agents/alice"),
        ("verify-commit", "refs/comm-node/mail"),
        ("verify-tag", "refs/comm-node/artifacts/api/schema"),
    ] {
        let out = git_verify(&s.a, what, name);
        assert!(out.status.success(), "git {what} {name}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("Good \"git\" signature for alice"),
            "{what} {name}: {}",
            stderr(&out)
        );
    }
    let listed = ok(&s.a, &["--as", "alice", "--json", "artifacts"]);
    assert!(!listed.contains("SSH SIGNATURE"), "{listed}");
    assert_eq!(ok(&s.a, &["--as", "alice", "get", "api/schema"]), "{}\n");
}

#[test]
fn required_mode_without_a_signing_key_exits_2_and_writes_nothing() {
    let s = Swarm::new("required", false);
    git_in(&s.a, &["config", "--unset", "user.signingkey"]);
    let out = comm_in(&s.a, &["--as", "alice", "join"]);
    assert_exit(&out, 2, "no ssh signing key");
    assert!(stderr(&out).contains("gpg.format"), "{}", stderr(&out));
    assert!(stderr(&out).contains("user.signingkey"), "{}", stderr(&out));
    let refs = git_in(&s.a, &["for-each-ref", "refs/comm-node/"]);
    assert_eq!(refs, "", "a refused write left refs behind");
}

#[test]
fn the_guard_accepts_the_authors_key_and_refuses_alices_key_writing_as_bob() {
    let s = Swarm::new("required", true);
    ok(&s.a, &["--as", "alice", "join"]);
    sync_ok(&s.a);
    assert!(s.remote_ref("refs/comm-node/agents/alice").is_some());

    ok(&s.a, &["--as", "bob", "join"]);
    let out = sync(&s.a);
    assert!(!out.status.success(), "sync should fail: {}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("refs/comm-node/agents/bob"), "{err}");
    assert!(
        err.contains("allowed_signers does not list for 'bob'"),
        "{err}"
    );
    assert_eq!(s.remote_ref("refs/comm-node/agents/bob"), None);

    ok(&s.b, &["--as", "bob", "join"]);
    sync_ok(&s.b);
    assert!(s.remote_ref("refs/comm-node/agents/bob").is_some());
}

#[test]
fn the_guard_refuses_an_unsigned_namespace_commit() {
    let s = Swarm::new("required", true);
    let out = push_unsigned_mail(&s.b, "bob");
    assert!(!out.status.success(), "push accepted: {}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("refs/comm-node/mail"), "{err}");
    assert!(err.contains("by 'bob' is not signed"), "{err}");
    assert_eq!(s.remote_ref("refs/comm-node/mail"), None);
}

#[test]
fn sync_quarantines_an_unsigned_entry_fetched_from_the_remote() {
    let s = Swarm::new("required", false);
    let out = push_unsigned_mail(&s.b, "bob");
    assert!(out.status.success(), "{}", stderr(&out));
    let out = comm_in(&s.a, &["--json", "sync"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let quarantined = json["quarantined"].as_array().unwrap();
    assert!(
        quarantined.iter().any(|q| q["ref"] == "refs/comm-node/mail"
            && q["reason"].as_str().unwrap().contains("is not signed")),
        "{json}"
    );
    let refs = git_in(&s.a, &["for-each-ref", "refs/comm-node/"]);
    assert!(!refs.contains("refs/comm-node/mail"), "adopted: {refs}");
}

#[test]
fn warn_mode_admits_an_unsigned_entry_with_a_warning() {
    let s = Swarm::new("warn", false);
    let out = push_unsigned_mail(&s.b, "bob");
    assert!(out.status.success(), "{}", stderr(&out));
    let out = comm_in(&s.a, &["--json", "sync"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["quarantined"], serde_json::json!([]), "{json}");
    assert!(
        stderr(&out).contains("warning: identity:") && stderr(&out).contains("is not signed"),
        "{}",
        stderr(&out)
    );
}

/// `YYYYMMDDHHMMSSZ` of a unix time, as allowed-signers options take it.
fn signer_time(unix: i64) -> String {
    let out = Command::new("date")
        .args(["-u", "-d", &format!("@{unix}"), "+%Y%m%d%H%M%SZ"])
        .output()
        .unwrap();
    stdout(&out).trim().to_string()
}

#[test]
fn a_rotated_key_keeps_old_entries_valid_and_only_the_new_key_writes_after_the_cutover() {
    let s = Swarm::new("required", true);
    ok(&s.a, &["--as", "alice", "join"]);
    ok(
        &s.a,
        &[
            "--as", "alice", "send", "all", "-s", "before", "-m", "old key",
        ],
    );
    sync_ok(&s.a);
    let new_key = ssh_key(s.alice_key.parent().unwrap(), "alice-2");
    let cutover = signer_time(common::unix_now() + 3600);
    let signers = format!(
        "alice valid-before={cutover} {}\nalice valid-after={cutover} {}\nbob {}\n",
        common::public_key(&s.alice_key),
        common::public_key(&new_key),
        common::public_key(&s.bob_key)
    );
    write(&s.a, ".comm-node/allowed_signers", &signers);
    git_in(&s.a, &["commit", "-q", "-am", "rotate alice's key"]);
    git_in(&s.a, &["push", "-q", "origin", "HEAD:refs/heads/main"]);

    // A fresh clone signing with the new key admits the history the old key signed.
    let c = s.net.clone("c");
    sign_with(&c, &new_key);
    let out = comm_at(&c, 7200, &["--json", "sync"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["quarantined"], serde_json::json!([]), "{json}");

    // Two hours on, past the cutover: the old key is refused, the new one accepted.
    let send = ["--as", "alice", "send", "all", "-s", "after", "-m", "x"];
    assert!(comm_at(&s.a, 7200, &send).status.success());
    let out = comm_at(&s.a, 7200, &["sync"]);
    assert!(!out.status.success(), "old key accepted: {}", stderr(&out));
    assert!(
        stderr(&out).contains("does not list for 'alice'"),
        "{}",
        stderr(&out)
    );
    assert!(comm_at(&c, 7200, &send).status.success());
    let out = comm_at(&c, 7200, &["sync"]);
    assert!(out.status.success(), "new key refused: {}", stderr(&out));
}

#[test]
fn bad_identity_settings_exit_2_with_the_file_and_line() {
    let s = Swarm::new("required", false);
    write(
        &s.a,
        ".comm-node/config.yaml",
        "version: 1\nidentity:\n  signed: sometimes\n",
    );
    let out = comm_in(&s.a, &["--as", "alice", "join"]);
    assert_exit(&out, 2, "config.yaml:3");
    write(&s.a, ".comm-node/config.yaml", &identity_config("required"));
    write(
        &s.a,
        ".comm-node/allowed_signers",
        &format!(
            "{}bob ssh-ed25519 AAAAnotakey\n",
            allowed_signers(&[("alice", &s.alice_key)])
        ),
    );
    let out = comm_in(&s.a, &["--as", "alice", "join"]);
    assert_exit(&out, 2, "allowed_signers:2");
    std::fs::remove_file(s.a.join(".comm-node/allowed_signers")).unwrap();
    let out = comm_in(&s.a, &["--as", "alice", "join"]);
    assert_exit(&out, 2, "does not exist");
    let refs = git_in(&s.a, &["for-each-ref", "refs/comm-node/"]);
    assert!(!refs.contains("refs/comm-node/mail"), "{refs}");
}

#[test]
fn doctor_reports_the_signing_setup_and_counts_unsigned_entries() {
    let s = Swarm::new("warn", false);
    ok(&s.a, &["--as", "alice", "join"]);
    let out = push_unsigned_mail(&s.b, "bob");
    assert!(out.status.success(), "{}", stderr(&out));
    sync_ok(&s.a);
    let out = comm_in(&s.a, &["--json", "doctor"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = json.to_string();
    assert!(text.contains("identity.signed warn"), "{text}");
    assert!(text.contains("2 allowed signers"), "{text}");
    assert!(text.contains("signing key found"), "{text}");
    assert!(text.contains("1 unsigned or badly signed"), "{text}");
}

#[test]
fn the_guard_refuses_an_unsigned_artifact_version() {
    let s = Swarm::new("required", true);
    ok(&s.a, &["--as", "alice", "join"]);
    // A clone that turned signing off for itself (its own config edit, no key) publishes.
    git_in(&s.a, &["config", "--unset", "user.signingkey"]);
    write(&s.a, ".comm-node/config.yaml", &identity_config("off"));
    write(&s.a, "schema.json", "{}\n");
    ok(
        &s.a,
        &[
            "--as",
            "alice",
            "publish",
            "api/schema",
            "schema.json",
            "-m",
            "v1",
        ],
    );
    let out = sync(&s.a);
    assert!(
        !out.status.success(),
        "unsigned tag accepted: {}",
        stderr(&out)
    );
    let err = stderr(&out);
    assert!(err.contains("refs/comm-node/artifacts/api/schema"), "{err}");
    assert!(err.contains("by 'alice' is not signed"), "{err}");
    assert_eq!(s.remote_ref("refs/comm-node/artifacts/api/schema"), None);
}
