//! Halt and resume with real hooks and two clones: an agent's commit is refused while
//! halted, a person's is not, the halt crosses machines by sync, resume lifts it.

mod common;
mod hooks_common;
mod sync_net;

use common::{assert_exit, comm_in, stderr, stdout};
use hooks_common::{git_as, ok as git_ok, refused};
use sync_net::{ok, sync_ok, Net};

fn commit(dir: &std::path::Path, agent: Option<&str>, file: &str) -> std::process::Output {
    std::fs::write(dir.join(file), format!("{file}\n")).unwrap();
    git_as(dir, agent, &["add", file]);
    git_as(dir, agent, &["commit", "-q", "-m", file])
}

#[test]
fn halt_stops_agents_not_people_across_clones_until_resume() {
    let net = Net::new();
    let (a, b) = net.pair();
    for dir in [&a, &b] {
        ok(dir, &["hooks", "install"]);
        git_ok(&commit(dir, None, "base.txt"), "base commit");
    }
    sync_ok(&a);
    sync_ok(&b);
    // A person (no agent identity) halts everything from clone a.
    let out = ok(&a, &["halt", "--reason", "bad migration, stop"]);
    assert!(out.contains("halted all agents"), "{out}");
    let err = refused(&commit(&a, Some("alice"), "x.txt"), "alice while halted");
    assert!(
        err.contains("halted by operator") && err.contains("bad migration"),
        "{err}"
    );
    git_ok(&commit(&a, None, "fix.txt"), "a person still commits");
    // The halt reaches clone b through sync; bob's commit is refused there too.
    sync_ok(&a);
    sync_ok(&b);
    let err = refused(&commit(&b, Some("bob"), "y.txt"), "bob while halted");
    assert!(err.contains("halted by operator"), "{err}");
    // Every agent command prints the halt line first; the urgent message reached bob.
    let inbox = comm_in(&b, &["--as", "bob", "--format", "compact", "inbox"]);
    assert!(
        stderr(&inbox).starts_with("HALTED by operator"),
        "{}",
        stderr(&inbox)
    );
    assert!(
        stdout(&inbox).contains("[halt,urgent] HALT (all agents): bad migration, stop"),
        "{}",
        stdout(&inbox)
    );
    // Resume on b, sync, and alice commits again on a.
    assert!(ok(&b, &["resume"]).contains("resumed"));
    sync_ok(&b);
    sync_ok(&a);
    git_ok(&commit(&a, Some("alice"), "z.txt"), "alice after resume");
    let log = common::git_in(&a, &["log", "--format=%an: %s", "refs/comm-node/halt"]);
    assert!(log.contains("operator: resume by operator"), "{log}");
    assert!(
        log.contains("operator: halt by operator: bad migration, stop"),
        "{log}"
    );
    assert_exit(
        &comm_in(&a, &["halt", "--reason", "x", "--domain", "nope"]),
        2,
        "unknown domain",
    );
}

#[test]
fn a_domain_halt_stops_only_that_domain() {
    let net = Net::new();
    let (a, _b) = net.pair();
    std::fs::create_dir_all(a.join(".comm-node")).unwrap();
    std::fs::write(
        a.join(".comm-node/config.yaml"),
        "version: 1\ndomains:\n  api: { scope: [\"api/**\"] }\n  web: { scope: [\"web/**\"] }\nagents:\n  alice: { domain: api }\n  carol: { domain: web }\n",
    )
    .unwrap();
    ok(&a, &["hooks", "install"]);
    git_as(&a, None, &["add", ".comm-node/config.yaml"]);
    git_ok(
        &git_as(&a, None, &["commit", "-q", "-m", "config"]),
        "config",
    );
    ok(&a, &["--as", "carol", "join"]);
    ok(
        &a,
        &["halt", "--reason", "api schema frozen", "--domain", "api"],
    );
    std::fs::create_dir_all(a.join("api")).unwrap();
    std::fs::create_dir_all(a.join("web")).unwrap();
    refused(&commit(&a, Some("alice"), "api/x.ts"), "api agent");
    git_as(&a, None, &["reset", "-q"]);
    git_ok(&commit(&a, Some("carol"), "web/y.ts"), "web agent");
}
