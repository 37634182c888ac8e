//! Swarm scale: costs that follow the work, not the swarm. Mail adds at most one merge commit
//! per sync whatever the number of clones; the task ledger is fanned out so one change writes
//! bounded bytes; `plan` and `task import` are one all-or-nothing commit; repositories written
//! the old way (two-parent mail joins, a flat task ledger) keep working.

mod common;
mod sync_net;

use std::path::{Path, PathBuf};

use common::*;
use sync_net::*;

/// Merge commits on `dir`'s mail that this clone made (its committer name is the clone's).
fn own_merges(dir: &Path, committer: &str) -> usize {
    git_in(
        dir,
        &["log", "--merges", "--format=%cn", "refs/comm-node/mail"],
    )
    .lines()
    .filter(|l| *l == committer)
    .count()
}

fn clone_named(net: &Net, name: &str) -> PathBuf {
    let dir = net.clone(name);
    git_in(&dir, &["config", "user.name", name]);
    ok(&dir, &["--as", name, "join"]);
    dir
}

/// `n` clones named `prefix0`, `prefix1`, ..., each joined, all synced twice so that every
/// clone knows every other.
fn synced_clones(net: &Net, prefix: &str, n: usize) -> Vec<PathBuf> {
    let dirs: Vec<PathBuf> = (0..n)
        .map(|i| clone_named(net, &format!("{prefix}{i}")))
        .collect();
    for dir in dirs.iter().chain(&dirs) {
        sync_ok(dir);
    }
    dirs
}

#[test]
fn twelve_clones_three_rounds_add_at_most_one_merge_per_sync() {
    let net = Net::new();
    let names: Vec<String> = (0..12).map(|i| format!("c{i}")).collect();
    let dirs: Vec<PathBuf> = names.iter().map(|n| clone_named(&net, n)).collect();
    let threads: Vec<_> = dirs
        .iter()
        .zip(&names)
        .map(|(dir, name)| {
            let (dir, name) = (dir.clone(), name.clone());
            std::thread::spawn(move || {
                for round in 0..3 {
                    let subject = format!("{name} round {round}");
                    ok(&dir, &["--as", &name, "send", "all", "-s", &subject]);
                    let before = own_merges(&dir, &name);
                    let report: serde_json::Value =
                        serde_json::from_str(&ok(&dir, &["--json", "sync"])).unwrap();
                    let added = own_merges(&dir, &name) - before;
                    assert!(added <= 1, "{name}: one sync added {added} merge commits");
                    assert_eq!(report["attempts"], 1, "{name}: {report}");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    for _ in 0..2 {
        for (dir, name) in dirs.iter().zip(&names) {
            let before = own_merges(dir, name);
            sync_ok(dir);
            assert!(own_merges(dir, name) - before <= 1);
        }
    }
    let mut want: Vec<String> = names
        .iter()
        .flat_map(|n| (0..3).map(move |r| format!("{n} round {r}")))
        .collect();
    want.sort();
    for dir in &dirs {
        assert_eq!(subjects(dir), want, "every message everywhere, once");
        let messages = git_in(dir, &["rev-list", "--no-merges", "refs/comm-node/mail"]);
        assert_eq!(messages.lines().count(), 36, "no message duplicated");
    }
}

/// Four clones that sent while apart: the next sync joins all three other outboxes with one
/// octopus merge, and `git log --no-merges` shows every message.
#[test]
fn one_sync_joins_every_new_outbox_in_one_merge() {
    let net = Net::new();
    let dirs: Vec<PathBuf> = (0..4)
        .map(|i| clone_named(&net, &format!("d{i}")))
        .collect();
    // Each clone pushes its mail to its own outbox without seeing the others' first, as
    // clones that sync at the same moment do.
    for (i, dir) in dirs.iter().enumerate() {
        send_many(dir, &format!("d{i}"), 3);
        git_in(dir, &["config", "comm.outbox", &format!("o-d{i}")]);
        let spec = format!("refs/comm-node/mail:refs/comm-node/outbox/o-d{i}");
        git_in(dir, &["push", "-q", "origin", &spec]);
    }
    let before = own_merges(&dirs[0], "d0");
    let out = sync_ok(&dirs[0]);
    assert!(out.contains("merged mail"), "{out}");
    assert_eq!(own_merges(&dirs[0], "d0") - before, 1);
    let tip_parents = git_in(
        &dirs[0],
        &["rev-list", "--parents", "-n1", "refs/comm-node/mail"],
    );
    assert_eq!(
        tip_parents.split_whitespace().count() - 1,
        4,
        "the join's parents are the local tip and the three new heads: {tip_parents}"
    );
    let log = git_in(
        &dirs[0],
        &["log", "--no-merges", "--format=%s", "refs/comm-node/mail"],
    );
    assert_eq!(log.lines().count(), 12, "{log}");
    // The octopus travels: another clone admits and fast-forwards or joins it.
    sync_ok(&dirs[3]);
    assert_eq!(subjects(&dirs[3]).len(), 12);
}

/// The remote's outbox refs, as `name id` lines.
fn remote_outboxes(net: &Net) -> String {
    git_in(
        &net.remote,
        &[
            "for-each-ref",
            "--format=%(refname) %(objectname)",
            "refs/comm-node/outbox/",
        ],
    )
}

/// A sync that only joined what other clones sent publishes nothing: every clone makes that
/// join itself, and pushing it would move one more ref for every clone to fetch and join
/// again. The join travels with the clone's next message, and nothing is lost.
#[test]
fn a_sync_that_only_joined_pushes_no_outbox() {
    let net = Net::new();
    let dirs = synced_clones(&net, "c", 3);
    ok(&dirs[0], &["--as", "c0", "send", "c1", "-s", "from a"]);
    sync_ok(&dirs[0]);
    let after_send = remote_outboxes(&net);
    for dir in &dirs[1..] {
        let report: serde_json::Value =
            serde_json::from_str(&ok(dir, &["--json", "sync"])).unwrap();
        assert_eq!(report["moved"]["mail_out"], 0, "{report}");
        assert_eq!(subjects(dir), ["from a"]);
    }
    assert_eq!(
        remote_outboxes(&net),
        after_send,
        "joins alone are not pushed"
    );
    let status: serde_json::Value =
        serde_json::from_str(&ok(&dirs[1], &["--as", "c1", "--json", "status"])).unwrap();
    assert_eq!(status["divergence"], serde_json::json!([]), "{status}");

    // b's next message carries its join; every clone ends with both messages once.
    ok(&dirs[1], &["--as", "c1", "send", "c2", "-s", "from b"]);
    sync_ok(&dirs[1]);
    assert_ne!(remote_outboxes(&net), after_send);
    for dir in &dirs {
        sync_ok(dir);
        assert_eq!(subjects(dir), ["from a", "from b"]);
        let log = git_in(
            dir,
            &["log", "--no-merges", "--format=%s", "refs/comm-node/mail"],
        );
        let unique: std::collections::BTreeSet<&str> = log.lines().collect();
        assert_eq!(
            unique.len(),
            log.lines().count(),
            "no message duplicated: {log}"
        );
    }
}

/// A clone that only reads keeps no chain of its own joins: when the new heads hold every
/// message it has (and its published outbox), it takes them as they are, so one sender's
/// messages reach the readers as fast-forwards and the readers make no commits at all.
#[test]
fn a_reader_takes_the_senders_tip_instead_of_joining_it() {
    let net = Net::new();
    let names = ["s", "r1", "r2"];
    let dirs: Vec<PathBuf> = names.iter().map(|n| clone_named(&net, n)).collect();
    for (dir, name) in dirs.iter().zip(names) {
        ok(
            dir,
            &[
                "--as",
                name,
                "send",
                "all",
                "-s",
                &format!("hello from {name}"),
            ],
        );
    }
    for _ in 0..2 {
        dirs.iter().for_each(|d| {
            sync_ok(d);
        });
    }
    let joins_before: Vec<usize> = dirs
        .iter()
        .zip(names)
        .map(|(d, n)| own_merges(d, n))
        .collect();
    let unread = || -> Vec<String> {
        let out = ok(&dirs[1], &["--as", "r1", "--json", "inbox"]);
        let listed: serde_json::Value = serde_json::from_str(&out).unwrap();
        let messages = listed
            .as_array()
            .or_else(|| listed["messages"].as_array())
            .unwrap_or_else(|| panic!("a list of messages: {out}"));
        messages
            .iter()
            .map(|m| m["subject"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(unread().len(), 2, "the two other hellos");
    for round in 0..5 {
        let subject = format!("round {round}");
        ok(&dirs[0], &["--as", "s", "send", "r1", "-s", &subject]);
        sync_ok(&dirs[0]);
        let sent = git_in(&dirs[0], &["rev-parse", "refs/comm-node/mail"]);
        for reader in &dirs[1..] {
            sync_ok(reader);
            assert_eq!(git_in(reader, &["rev-parse", "refs/comm-node/mail"]), sent);
        }
        // What r1 read before its mail moved to the sender's tip stays read.
        assert_eq!(unread(), std::slice::from_ref(&subject));
    }
    for ((dir, name), before) in dirs.iter().zip(names).zip(joins_before) {
        assert_eq!(own_merges(dir, name), before, "{name} joined");
        assert_eq!(subjects(dir).len(), 3 + 5);
    }
}

/// A commit made with plumbing in `dir` by agent `author`: `tree` on top of `parent`.
fn plumbed_commit(dir: &Path, author: &str, tree: &str, parent: Option<&str>) -> String {
    let (name, email) = (
        format!("user.name={author}"),
        format!("user.email={author}@x"),
    );
    let mut args = vec![
        "-c",
        &name,
        "-c",
        &email,
        "commit-tree",
        tree,
        "-m",
        "looks fine",
    ];
    if let Some(p) = parent {
        args.extend(["-p", p]);
    }
    git_stdin(dir, &args, "").trim().to_string()
}

/// Every clone's outbox is admitted in one walk over what they add. When that walk meets
/// a bad commit deep in one outbox (the tip itself is a good message), only that outbox is
/// refused: the others are still admitted and joined in the same sync.
#[test]
fn a_bad_commit_deep_in_one_outbox_refuses_that_outbox_only() {
    let net = Net::new();
    let dirs: Vec<PathBuf> = (0..3)
        .map(|i| clone_named(&net, &format!("e{i}")))
        .collect();
    for (i, dir) in dirs.iter().enumerate().skip(1) {
        send_many(dir, &format!("e{i}"), 2);
        sync_ok(dir);
    }
    let remote = &net.remote;
    let file = git_stdin(remote, &["hash-object", "-w", "--stdin"], "x");
    let files = format!("100644 blob {}\tx\n", file.trim());
    let tree_with_files = git_stdin(remote, &["mktree"], &files);
    let empty_tree = git_stdin(remote, &["mktree"], "");
    let bad = plumbed_commit(remote, "mallory", tree_with_files.trim(), None);
    let tip = plumbed_commit(remote, "mallory", empty_tree.trim(), Some(&bad));
    git_in(
        remote,
        &["update-ref", "refs/comm-node/outbox/o-evil", &tip],
    );

    let out = comm_in(&dirs[0], &["--json", "sync"]);
    assert_success(&out, &["sync"]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let refused = report["quarantined"].as_array().unwrap();
    assert_eq!(refused.len(), 1, "{report}");
    assert_eq!(refused[0]["ref"], "refs/comm-node/outbox/o-evil");
    let reason = refused[0]["reason"].as_str().unwrap();
    assert!(reason.contains(&format!("{bad} carries files")), "{reason}");
    let got = subjects(&dirs[0]);
    for want in [
        "e1 message 0",
        "e1 message 1",
        "e2 message 0",
        "e2 message 1",
    ] {
        assert!(got.contains(&want.to_string()), "{want} missing: {got:?}");
    }
    assert!(!got.contains(&"looks fine".to_string()), "{got:?}");
}

/// Point `dir`'s origin at a remote that logs every service it starts and fails the first
/// `drops` starts of `service` (as a busy git daemon drops a connection). Returns the log
/// and the file that gets one line per drop.
fn flaky_remote(net: &Net, dir: &Path, service: &str, drops: usize) -> (PathBuf, PathBuf) {
    let root = net.root.path();
    let (log, flag, script) = (
        root.join("connections.log"),
        root.join("dropped"),
        root.join("flaky-remote.sh"),
    );
    let body = format!(
        "#!/bin/sh\necho \"$1\" >> '{log}'\nif [ \"$1\" = {service} ] && [ \"$(cat '{flag}' 2>/dev/null | wc -l)\" -lt {drops} ]; then echo x >> '{flag}'; exit 1; fi\nexec \"$1\" '{remote}'\n",
        log = log.display(),
        flag = flag.display(),
        remote = net.remote.display()
    );
    std::fs::write(&script, body).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    git_in(dir, &["config", "protocol.ext.allow", "always"]);
    let url = format!("ext::{} %S", script.display());
    git_in(dir, &["remote", "set-url", "origin", &url]);
    (log, flag)
}

fn services(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

/// A remote that drops a fetch (as git daemon drops connections past 32 at once) is
/// fetched whole again, not ref by ref: one dropped fetch costs one more connection, not
/// one per ref of the namespace.
#[test]
fn a_dropped_fetch_is_retried_whole_not_ref_by_ref() {
    let net = Net::new();
    let dirs = synced_clones(&net, "f", 6);
    let dir = &dirs[0];
    let (log, flag) = flaky_remote(&net, dir, "git-upload-pack", 1);

    ok(
        dir,
        &["--as", "f0", "send", "f1", "-s", "through a flaky remote"],
    );
    sync_ok(dir);
    assert!(flag.exists(), "the remote never dropped a fetch");
    let refs = git_in(&net.remote, &["for-each-ref", "refs/comm-node/"]);
    assert!(refs.lines().count() > 12, "{refs}");
    assert_eq!(
        services(&log),
        ["git-upload-pack", "git-upload-pack", "git-receive-pack"],
        "dropped fetch, the fetch again, the push"
    );
    sync_ok(&dirs[1]);
    assert!(subjects(&dirs[1]).contains(&"through a flaky remote".to_string()));
}

/// A remote that keeps dropping the fetch (a server past its connection limit) ends the
/// sync after the whole fetch was tried three times, with a hint to run it again: going
/// ref by ref would open one more connection per ref of the namespace. Nothing changes
/// locally, and the next sync delivers.
#[test]
fn a_remote_that_keeps_dropping_the_fetch_is_not_fetched_ref_by_ref() {
    let net = Net::new();
    let dirs = synced_clones(&net, "k", 4);
    let dir = &dirs[0];
    ok(dir, &["--as", "k0", "send", "k1", "-s", "after the storm"]);
    let mail_before = git_in(dir, &["rev-parse", "refs/comm-node/mail"]);
    let (log, _) = flaky_remote(&net, dir, "git-upload-pack", 3);

    let out = sync(dir);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("dropped the connection"), "{err}");
    assert_eq!(
        services(&log),
        ["git-upload-pack"; 3],
        "three whole fetches, nothing more"
    );
    assert_eq!(
        git_in(dir, &["rev-parse", "refs/comm-node/mail"]),
        mail_before
    );

    sync_ok(dir);
    sync_ok(&dirs[1]);
    assert!(subjects(&dirs[1]).contains(&"after the storm".to_string()));
}

/// A push whose connection the remote drops is not a refusal: sync fetches again and pushes
/// again, and the message arrives once. (A busy git daemon drops connections past its
/// limit; the 128-clone contention bench saw it.)
#[test]
fn a_dropped_push_is_retried_not_reported_as_refused() {
    let net = Net::new();
    let a = clone_named(&net, "p0");
    let b = clone_named(&net, "p1");
    for dir in [&a, &b, &a] {
        sync_ok(dir);
    }
    let (log, flag) = flaky_remote(&net, &a, "git-receive-pack", 1);
    ok(
        &a,
        &["--as", "p0", "send", "p1", "-s", "past a dropped push"],
    );
    let report: serde_json::Value = serde_json::from_str(&ok(&a, &["--json", "sync"])).unwrap();
    assert!(flag.exists(), "the remote never dropped a push");
    assert_eq!(report["attempts"], 2, "{report}");
    assert_eq!(
        services(&log),
        [
            "git-upload-pack",
            "git-receive-pack",
            "git-upload-pack",
            "git-receive-pack"
        ],
        "fetch, dropped push, fetch again, push again"
    );
    sync_ok(&b);
    let arrived = subjects(&b)
        .iter()
        .filter(|s| *s == "past a dropped push")
        .count();
    assert_eq!(arrived, 1, "{:?}", subjects(&b));
}

/// A flat task ledger and two-parent mail joins, written with plumbing as the earlier version
/// wrote them, stay readable; the first write migrates the ledger to the fan-out layout
/// without losing or changing a task.
#[test]
fn repositories_written_the_old_way_keep_working() {
    let net = Net::new();
    let a = clone_named(&net, "alice");
    let b = clone_named(&net, "bob");
    for i in 0..5 {
        ok(
            &a,
            &["--as", "alice", "task", "add", &format!("old task {i}")],
        );
    }
    let lease_id = |out: String| -> String {
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let id = v["id"].as_str().or(v["lease"]["id"].as_str());
        id.unwrap_or_else(|| panic!("no lease id in {v}"))
            .to_string()
    };
    let released = lease_id(ok(&a, &["--as", "alice", "--json", "lease", "src/a/**"]));
    let kept_id = lease_id(ok(&a, &["--as", "alice", "--json", "lease", "src/b/**"]));
    ok(&a, &["--as", "alice", "release", &released]);
    flatten(&a, "refs/comm-node/tasks");
    flatten(&a, "refs/comm-node/leases");
    assert_eq!(
        git_in(&a, &["ls-tree", "--name-only", "refs/comm-node/tasks"])
            .lines()
            .filter(|n| n.ends_with(".json"))
            .count(),
        5
    );
    // Two-parent mail joins, as sync used to make them.
    send_many(&a, "alice", 2);
    let side = git_in(&a, &["rev-parse", "refs/comm-node/mail"]);
    send_many(&a, "alice", 1);
    let main_tip = git_in(&a, &["rev-parse", "refs/comm-node/mail"]);
    let empty = git_stdin(&a, &["mktree"], "");
    let join = git_in(
        &a,
        &[
            "commit-tree",
            empty.trim(),
            "-p",
            main_tip.trim(),
            "-p",
            side.trim(),
            "-m",
            "sync: join mail from origin",
        ],
    );
    git_in(
        &a,
        &[
            "update-ref",
            "refs/comm-node/mail",
            join.trim(),
            main_tip.trim(),
        ],
    );

    let list = ok(&a, &["task", "list"]);
    assert_eq!(list.matches("old task").count(), 5, "{list}");
    // The first write migrates: fan-out directories, no task file left at the root.
    ok(&a, &["--as", "alice", "task", "add", "new task"]);
    let root = git_in(&a, &["ls-tree", "refs/comm-node/tasks"]);
    assert!(
        root.lines().all(|l| l.starts_with("040000 tree")),
        "only fan-out directories at the root: {root}"
    );
    let paths = git_in(
        &a,
        &["ls-tree", "-r", "--name-only", "refs/comm-node/tasks"],
    );
    assert_eq!(paths.lines().count(), 6);
    for path in paths.lines() {
        let (dir, file) = path.split_once('/').unwrap();
        assert_eq!(&file[2..4], dir, "{path} is filed by its id");
    }
    let list = ok(&a, &["task", "list"]);
    assert_eq!(list.matches("old task").count(), 5, "{list}");
    // The flat lease ledger: the live lease is still held, the released one stays ended, and
    // the next write migrates it.
    let leases = ok(&a, &["leases"]);
    assert!(
        leases.contains("src/b/**") && !leases.contains("src/a/**"),
        "{leases}"
    );
    ok(&a, &["--as", "alice", "lease", "src/c/**"]);
    let root = git_in(&a, &["ls-tree", "refs/comm-node/leases"]);
    assert!(root.lines().all(|l| l.starts_with("040000 tree")), "{root}");
    let files = git_in(
        &a,
        &["ls-tree", "-r", "--name-only", "refs/comm-node/leases"],
    );
    assert_eq!(
        files.lines().filter(|f| f.ends_with(".end")).count(),
        1,
        "{files}"
    );
    assert_eq!(
        files.lines().filter(|f| f.ends_with(".json")).count(),
        2,
        "{files}"
    );
    assert!(
        files.contains(&format!("{}/{kept_id}.json", &kept_id[..2])),
        "{files}"
    );

    // Both travel to another clone, which admits and reads them.
    sync_ok(&a);
    sync_ok(&b);
    assert_eq!(subjects(&b).len(), 3);
    assert_eq!(ok(&b, &["task", "list"]).matches(" task").count(), 6);
}

/// Rewrite the ledger at `name` flat, as earlier versions wrote it: every file at the root.
fn flatten(dir: &Path, name: &str) {
    let listing = git_in(dir, &["ls-tree", "-r", name]);
    let flat: String = listing
        .lines()
        .map(|l| {
            let (meta, path) = l.split_once('\t').unwrap();
            format!("{meta}\t{}\n", path.rsplit('/').next().unwrap())
        })
        .collect();
    let tree = git_stdin(dir, &["mktree"], &flat);
    let tip = git_in(dir, &["rev-parse", name]);
    let old = git_in(
        dir,
        &[
            "commit-tree",
            tree.trim(),
            "-p",
            tip.trim(),
            "-m",
            "flat ledger",
        ],
    );
    git_in(dir, &["update-ref", name, old.trim(), tip.trim()]);
    let root = git_in(dir, &["ls-tree", name]);
    assert!(root.lines().all(|l| l.starts_with("100644 blob")), "{root}");
}

fn plan_of(tasks: usize) -> String {
    let mut plan = String::from(
        "kickoff: |\n  build the thing\nagents:\n  lead: {}\n  worker: {domain: api}\ntasks:\n",
    );
    for i in 0..tasks {
        plan.push_str(&format!("  - {{key: k{i}, title: \"task {i}\""));
        if i > 0 {
            plan.push_str(&format!(", after: [k{}]", i - 1));
        }
        plan.push_str("}\n");
    }
    plan
}

fn repo_with_api_domain() -> TestRepo {
    let t = TestRepo::new();
    t.initial_commit();
    t.write(
        ".comm-node/config.yaml",
        "version: 1\ndomains:\n  api: {scope: [\"src/api/**\"]}\n",
    );
    t
}

/// `plan` writes all its tasks in one ledger commit, and one later change writes a bounded
/// number of bytes (the fan-out subtree and the root, not every task).
#[test]
fn plan_is_one_commit_and_one_change_writes_bounded_bytes() {
    let t = repo_with_api_domain();
    t.write("plan.yaml", &plan_of(1000));
    let out = t.ok_as("lead", &["--json", "plan", "plan.yaml"]);
    let planned: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(planned["tasks_added"].as_array().unwrap().len(), 1000);
    assert_eq!(
        t.git(&["rev-list", "--count", "refs/comm-node/tasks"])
            .trim(),
        "1"
    );
    let message = t.git(&["log", "-1", "--format=%B", "refs/comm-node/tasks"]);
    assert!(message.starts_with("plan: 1000 tasks by lead"), "{message}");
    assert_eq!(message.matches("\nadd t-").count(), 1000);
    // Running it again changes nothing.
    let again: serde_json::Value =
        serde_json::from_str(&t.ok_as("lead", &["--json", "plan", "plan.yaml"])).unwrap();
    assert_eq!(again["tasks_kept"].as_array().unwrap().len(), 1000);
    assert_eq!(
        t.git(&["rev-list", "--count", "refs/comm-node/tasks"])
            .trim(),
        "1"
    );

    let first = planned["tasks_added"][0].as_str().unwrap();
    let before = t.git(&["rev-parse", "refs/comm-node/tasks"]);
    t.ok_as("worker", &["task", "claim", first]);
    let after = t.git(&["rev-parse", "refs/comm-node/tasks"]);
    let range = format!("{}..{}", before.trim(), after.trim());
    let objects = t.git(&["rev-list", "--objects", &range]);
    let ids: String = objects
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().to_string() + "\n")
        .collect();
    let sizes = git_stdin(t.path(), &["cat-file", "--batch-check=%(objectsize)"], &ids);
    let bytes: u64 = sizes.lines().map(|s| s.parse::<u64>().unwrap()).sum();
    assert!(
        bytes <= 16 * 1024,
        "one claim wrote {bytes} bytes of objects"
    );
    assert!(
        ids.lines().count() <= 5,
        "commit, root, one subtree, one blob: {objects}"
    );
}

/// Any bad entry makes `plan` exit 2 having written nothing: no task, no card, no kickoff.
#[test]
fn plan_with_one_bad_entry_writes_nothing() {
    let cases: [(&str, &str); 7] = [
        (
            "tasks:\n  - {key: a, title: one}\n  - {key: a, title: two}\n",
            "used twice",
        ),
        (
            "tasks:\n  - {key: a, title: one}\n  - {key: b, title: two, priority: ultra}\n",
            "unknown priority 'ultra'",
        ),
        (
            "tasks:\n  - {key: a, title: one}\n  - {key: b, title: two, needs: [garbage]}\n",
            "task 'b'",
        ),
        (
            "tasks:\n  - {key: a, title: one}\n  - {key: b, title: two, domain: nosuch}\n",
            "unknown domain 'nosuch'",
        ),
        (
            "agents:\n  ok-agent: {}\n  ../x: {}\ntasks:\n  - {key: a, title: one}\n",
            "agent '../x'",
        ),
        (
            "agents:\n  w: {domain: nosuch}\ntasks:\n  - {key: a, title: one}\n",
            "unknown domain 'nosuch'",
        ),
        (
            "tasks:\n  - {key: a, title: one}\n  - {key: b, title: two, after: [c]}\n  - {key: c, title: three}\n",
            "unknown or later key 'c'",
        ),
    ];
    for (plan, complaint) in cases {
        let t = repo_with_api_domain();
        t.write("plan.yaml", &format!("kickoff: go\n{plan}"));
        let out = t.comm_as("lead", &["plan", "plan.yaml"]);
        assert_exit(&out, 2, complaint);
        assert_eq!(t.comm_refs(), "", "plan wrote something for:\n{plan}");
    }
}

/// An entry whose title already exists is still checked.
#[test]
fn existing_titles_do_not_skip_validation() {
    let t = repo_with_api_domain();
    t.write("plan.yaml", "tasks:\n  - {key: a, title: one}\n");
    t.ok_as("lead", &["plan", "plan.yaml"]);
    let tip = t.git(&["rev-parse", "refs/comm-node/tasks"]);
    for bad in ["priority: ultra", "needs: [garbage]"] {
        t.write(
            "plan.yaml",
            &format!("tasks:\n  - {{key: a, title: one, {bad}}}\n"),
        );
        assert_exit(&t.comm_as("lead", &["plan", "plan.yaml"]), 2, "task 'a'");
    }
    let issues = [
        r#"{"id":"bd-1","title":"one","status":"weird"}"#,
        r#"{"id":"bd-1","title":"one","priority":9}"#,
    ];
    for issue in issues {
        t.write("issues.jsonl", &format!("{issue}\n"));
        assert_exit(
            &t.comm_as("lead", &["task", "import", "issues.jsonl"]),
            2,
            "line 1",
        );
    }
    assert_eq!(t.git(&["rev-parse", "refs/comm-node/tasks"]), tip);
}
