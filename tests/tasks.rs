//! Tasks on real repositories: readiness by dependencies and artifacts, atomic claims (one
//! repo and across clones), notifications, next, merges of concurrent edits, lost agents.

mod common;
mod sync_net;

use std::process::{Command, Stdio};

use common::{assert_exit, comm_at, TestRepo, BIN};
use serde_json::Value;
use sync_net::{ok, sync_ok, Net};

fn add(t: &TestRepo, who: &str, args: &[&str]) -> String {
    let mut full = vec!["--json", "task", "add"];
    full.extend_from_slice(args);
    let v: Value = serde_json::from_str(&t.ok_as(who, &full)).unwrap();
    v["id"].as_str().unwrap().to_string()
}

fn ready(t: &TestRepo, who: &str) -> Vec<String> {
    let v: Value =
        serde_json::from_str(&t.ok_as(who, &["--json", "task", "list", "--ready"])).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

fn team() -> TestRepo {
    let t = TestRepo::new();
    t.write(
        ".comm-node/config.yaml",
        "version: 1\ndomains:\n  api: { scope: [\"src/api/**\"] }\n  web: { scope: [\"web/**\"] }\nagents:\n  bob: { domain: api }\n  carol: { domain: web }\n",
    );
    for a in ["lead", "bob", "carol"] {
        t.ok_as(a, &["join"]);
    }
    t
}

#[test]
fn readiness_follows_dependencies_and_artifacts_and_done_notifies() {
    let t = team();
    let schema = add(&t, "lead", &["API schema", "--domain", "api"]);
    let form = add(
        &t,
        "lead",
        &[
            "Order form",
            "--domain",
            "web",
            "--after",
            &schema,
            "--needs",
            "api/openapi@1",
        ],
    );
    assert_eq!(ready(&t, "bob"), vec![schema.clone()]);
    let show: Value =
        serde_json::from_str(&t.ok_as("carol", &["--json", "task", "show", &form])).unwrap();
    assert_eq!(show["ready"], false);
    let waits = show["waits_for"].to_string();
    assert!(
        waits.contains(&format!("after {schema}")) && waits.contains("needs api/openapi"),
        "{waits}"
    );

    t.ok_as("bob", &["task", "claim", &schema]);
    t.ok_as("bob", &["task", "start", &schema]);
    t.write("openapi.json", "{}\n");
    t.ok_as("bob", &["publish", "api/openapi", "openapi.json"]);
    assert!(ready(&t, "carol").is_empty(), "schema not done yet");
    t.ok_as("bob", &["task", "done", &schema, "-m", "schema merged"]);
    assert_eq!(ready(&t, "carol"), vec![form.clone()]);
    // The claim's lease went with done; the creator was told, with the task trailer.
    let leases = t.ok_as("bob", &["--json", "leases"]);
    assert!(!leases.contains(&format!("task:{schema}")), "{leases}");
    let inbox = t.ok_as("lead", &["--format", "compact", "inbox", "--type", "done"]);
    assert!(
        inbox.contains(&format!("done {schema}: API schema"))
            && inbox.contains(&format!("#{schema}")),
        "{inbox}"
    );
    let log = t.git(&["log", "--format=%an|%s", "refs/comm-node/tasks"]);
    assert!(
        log.contains(&format!("bob|done {schema} by bob"))
            && log.contains(&format!("lead|add {form} Order form")),
        "{log}"
    );
}

#[test]
fn next_prefers_my_domain_then_priority_and_claims() {
    let t = team();
    let web = add(
        &t,
        "lead",
        &["web thing", "--domain", "web", "--priority", "urgent"],
    );
    let low = add(
        &t,
        "lead",
        &["api low", "--domain", "api", "--priority", "low"],
    );
    let high = add(
        &t,
        "lead",
        &["api high", "--domain", "api", "--priority", "high"],
    );
    let next: Value = serde_json::from_str(&t.ok_as("bob", &["--json", "next"])).unwrap();
    assert_eq!(next["id"], high.as_str());
    let claimed: Value =
        serde_json::from_str(&t.ok_as("bob", &["--json", "next", "--claim"])).unwrap();
    assert_eq!(claimed["task"]["id"], high.as_str());
    let claimed: Value =
        serde_json::from_str(&t.ok_as("bob", &["--json", "next", "--claim"])).unwrap();
    assert_eq!(claimed["task"]["id"], low.as_str());
    let claimed: Value =
        serde_json::from_str(&t.ok_as("bob", &["--json", "next", "--claim"])).unwrap();
    assert_eq!(claimed["task"]["id"], web.as_str());
    // Nothing left to claim and nothing waits: a state, not a failure.
    let out = t.ok_as("bob", &["next", "--claim"]);
    assert!(out.starts_with("nothing ready for bob: 3 yours"), "{out}");
}

#[test]
fn eight_claimants_one_winner_per_round_in_one_repo() {
    let t = team();
    let agents: Vec<String> = (0..8).map(|i| format!("w{i}")).collect();
    for a in &agents {
        t.ok_as(a, &["join"]);
    }
    for round in 0..50 {
        let id = add(&t, "lead", &[&format!("round {round}")]);
        let children: Vec<_> = agents
            .iter()
            .map(|a| {
                Command::new(BIN)
                    .args(["--as", a, "task", "claim", &id])
                    .current_dir(t.path())
                    .env_remove("GIT_COMM_AGENT")
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut winners = 0;
        for child in children {
            let out = child.wait_with_output().unwrap();
            match out.status.code() {
                Some(0) => winners += 1,
                Some(1) => {}
                other => panic!(
                    "round {round}: {other:?} {}",
                    String::from_utf8_lossy(&out.stderr)
                ),
            }
        }
        assert_eq!(winners, 1, "round {round}");
    }
}

#[test]
fn claims_across_clones_have_one_winner_and_edits_merge() {
    let net = Net::new();
    let (a, b) = net.pair();
    ok(&a, &["--as", "alice", "join"]);
    for round in 0..4 {
        let added: Value = serde_json::from_str(&ok(
            &a,
            &[
                "--as",
                "alice",
                "--json",
                "task",
                "add",
                &format!("r{round}"),
            ],
        ))
        .unwrap();
        let id = added["id"].as_str().unwrap().to_string();
        sync_ok(&a);
        sync_ok(&b);
        let first = common::comm_in(&a, &["--as", "alice", "task", "claim", &id, "--sync"]);
        let second = common::comm_in(&b, &["--as", "bob", "task", "claim", &id, "--sync"]);
        let wins = [&first, &second]
            .iter()
            .filter(|o| o.status.success())
            .count();
        assert_eq!(
            wins,
            1,
            "round {round}: {} / {}",
            common::stderr(&first),
            common::stderr(&second)
        );
        assert_eq!(first.status.code(), Some(0), "the first claimant wins");
        assert_exit(&second, 1, "alice");
    }
    // Concurrent edits of one task: done on one clone, blocked on the other: done survives;
    // tasks added on each side are both kept.
    let added: Value = serde_json::from_str(&ok(
        &a,
        &["--as", "alice", "--json", "task", "add", "shared"],
    ))
    .unwrap();
    let id = added["id"].as_str().unwrap().to_string();
    sync_ok(&a);
    sync_ok(&b);
    ok(&a, &["--as", "alice", "task", "claim", &id]);
    ok(&a, &["--as", "alice", "task", "done", &id]);
    ok(
        &b,
        &["--as", "bob", "task", "block", &id, "--reason", "unsure"],
    );
    ok(&a, &["--as", "alice", "task", "add", "only on a"]);
    ok(&b, &["--as", "bob", "task", "add", "only on b"]);
    sync_ok(&a);
    sync_ok(&b);
    sync_ok(&a);
    for dir in [&a, &b] {
        let all: Value =
            serde_json::from_str(&ok(dir, &["--json", "task", "list", "--state", "all"])).unwrap();
        let titles: Vec<&str> = all
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["title"].as_str().unwrap())
            .collect();
        assert!(
            titles.contains(&"only on a") && titles.contains(&"only on b"),
            "{titles:?}"
        );
        let shared = all
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id.as_str())
            .unwrap();
        assert_eq!(shared["state"], "done");
    }
}

#[test]
fn a_lost_agents_claim_expires_and_the_task_is_ready_again() {
    let t = team();
    let id = add(&t, "lead", &["lost work"]);
    t.ok_as("bob", &["task", "claim", &id]);
    assert!(ready(&t, "carol").is_empty());
    // Three hours later the claim's lease (2 h) has expired past the skew tolerance.
    let later = comm_at(
        t.path(),
        3 * 3600,
        &["--as", "carol", "--json", "task", "list", "--ready"],
    );
    let v: Value = serde_json::from_slice(&later.stdout).unwrap();
    assert!(v.to_string().contains(&id), "{v}");
    let claim = comm_at(t.path(), 3 * 3600, &["--as", "carol", "task", "claim", &id]);
    assert!(claim.status.success(), "{}", common::stderr(&claim));
    // The creator (and the lost holder) are told.
    let inbox = t.ok_as("lead", &["--format", "compact", "inbox"]);
    assert!(
        inbox.contains(&format!("claim of {id} by bob lapsed; carol took it")),
        "{inbox}"
    );
}

#[test]
fn wait_task_returns_when_done_and_the_graph_shows_dependencies() {
    let t = team();
    let a = add(&t, "lead", &["first"]);
    let b = add(&t, "lead", &["second", "--after", &a]);
    let waiter = Command::new(BIN)
        .args(["--as", "lead", "wait", "--task", &a, "--timeout", "30"])
        .current_dir(t.path())
        .env_remove("GIT_COMM_AGENT")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    t.ok_as("bob", &["task", "claim", &a]);
    t.ok_as("bob", &["task", "done", &a]);
    let out = waiter.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("finished {a} [done]")));
    let dot = t.ok_as("lead", &["task", "graph", "--format", "dot"]);
    assert!(dot.contains(&format!("\"{a}\" -> \"{b}\"")), "{dot}");
    let mermaid = t.ok_as("lead", &["task", "graph", "--format", "mermaid"]);
    assert!(
        mermaid.contains(&format!(
            "{} --> {}",
            a.replace('-', "_"),
            b.replace('-', "_")
        )),
        "{mermaid}"
    );
    let json: Value = serde_json::from_str(&t.ok_as("lead", &["--json", "task", "graph"])).unwrap();
    assert_eq!(json["edges"][0]["from"], a.as_str());
    // A failed task makes the wait exit 1.
    let c = add(&t, "lead", &["third"]);
    t.ok_as("bob", &["task", "claim", &c]);
    t.ok_as("bob", &["task", "fail", &c, "--reason", "no access"]);
    assert_exit(
        &t.comm_as("lead", &["wait", "--task", &c, "--timeout", "5"]),
        1,
        "no access",
    );
}

const PLAN: &str = "kickoff: |
  Orders feature
  api first, then the form.
agents:
  backend: { domain: api, role: backend }
  frontend: { domain: web, role: frontend }
tasks:
  - key: schema
    title: API schema
    domain: api
    priority: high
  - key: form
    title: Order form
    domain: web
    after: [schema]
    needs: [api/openapi@1]
";

#[test]
fn plan_seeds_agents_tasks_and_kickoff_once_and_prime_writes_the_contract() {
    let t = TestRepo::new();
    let mut config = String::from("version: 1\ndomains:\n");
    for d in ["api", "web", "db", "ops", "docs"] {
        config.push_str(&format!("  {d}: {{ scope: [\"{d}/**\"] }}\n"));
    }
    t.write(".comm-node/config.yaml", &config);
    t.write("plan.yaml", PLAN);
    t.ok_as("lead", &["join"]);
    let first = t.ok_as("lead", &["plan", "plan.yaml"]);
    assert!(
        first.contains("2 agent(s) added, 2 task(s) added")
            && first.contains("sent 'kickoff: Orders feature'"),
        "{first}"
    );
    let again = t.ok_as("lead", &["plan", "plan.yaml"]);
    assert!(
        again.contains("0 agent(s) added, 0 task(s) added, 2 already there"),
        "{again}"
    );
    assert!(!again.contains("sent"), "{again}");
    let tasks: Value = serde_json::from_str(&t.ok_as("lead", &["--json", "task", "list"])).unwrap();
    let form = tasks
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["title"] == "Order form")
        .unwrap();
    let schema = tasks
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["title"] == "API schema")
        .unwrap();
    assert_eq!(form["after"][0], schema["id"]);
    let kickoff = t.ok_as("frontend", &["--format", "compact", "inbox"]);
    assert_eq!(
        kickoff.matches("kickoff: Orders feature").count(),
        1,
        "{kickoff}"
    );

    let contract = t.ok_as("lead", &["prime", "backend"]);
    assert!(contract.lines().count() <= 60, "{contract}");
    assert!(
        contract.contains("Domain api: commit only under api/**"),
        "{contract}"
    );
    assert!(
        contract.contains("frontend (web)") && contract.contains("git comm next --claim"),
        "{contract}"
    );
    assert!(
        contract.contains(&format!(
            "- {} API schema [high]",
            schema["id"].as_str().unwrap()
        )),
        "{contract}"
    );
    assert!(
        !contract.contains("Order form"),
        "a web task waiting on api is not ready for backend"
    );
}

#[test]
fn beads_issues_round_trip() {
    let t = team();
    let jsonl = concat!(
        r#"{"id":"bd-1","title":"Schema","description":"the API schema","status":"closed","priority":1,"issue_type":"task"}"#,
        "\n",
        r#"{"id":"bd-2","title":"Form","description":"","status":"open","priority":2,"dependencies":[{"issue_id":"bd-2","depends_on_id":"bd-1","type":"blocks"}]}"#,
        "\n",
        r#"{"id":"bd-3","title":"Docs","status":"in_progress","priority":4,"assignee":"carol"}"#,
        "\n"
    );
    t.write("issues.jsonl", jsonl);
    assert!(t
        .ok_as("lead", &["task", "import", "issues.jsonl"])
        .contains("imported 3 issue(s)"));
    // Importing again adds nothing.
    t.ok_as("lead", &["task", "import", "issues.jsonl"]);
    let exported = t.ok_as("lead", &["task", "export", "--jsonl"]);
    let issues: Vec<Value> = exported
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(issues.len(), 3);
    let by_title = |title: &str| issues.iter().find(|i| i["title"] == title).unwrap().clone();
    let (schema, form, docs) = (by_title("Schema"), by_title("Form"), by_title("Docs"));
    assert_eq!(
        (schema["status"].as_str(), schema["priority"].as_u64()),
        (Some("closed"), Some(1))
    );
    assert_eq!(schema["description"], "the API schema");
    assert_eq!(form["dependencies"][0]["depends_on_id"], schema["id"]);
    assert_eq!(form["dependencies"][0]["type"], "blocks");
    assert_eq!(
        (docs["status"].as_str(), docs["priority"].as_u64()),
        (Some("in_progress"), Some(3))
    );
    assert_eq!(docs["assignee"], "carol");
    // And back: the export imports into a fresh repository with the same shape.
    let other = team();
    other.write("issues.jsonl", &exported);
    other.ok_as("lead", &["task", "import", "issues.jsonl"]);
    let again = other.ok_as("lead", &["task", "export", "--jsonl"]);
    let strip = |text: &str| -> Vec<(String, String, u64, usize)> {
        let mut v: Vec<_> = text
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .map(|i| {
                (
                    i["title"].as_str().unwrap().to_string(),
                    i["status"].as_str().unwrap().to_string(),
                    i["priority"].as_u64().unwrap(),
                    i["dependencies"].as_array().unwrap().len(),
                )
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(strip(&again), strip(&exported));
    assert_exit(
        &t.comm_as("lead", &["task", "import", "plan.yaml"]),
        2,
        "cannot read",
    );
}

#[test]
fn eight_claimants_on_three_clones_one_winner_per_round() {
    let net = Net::new();
    let clones: Vec<_> = (0..3).map(|i| net.clone(&format!("c{i}"))).collect();
    let agents: Vec<String> = (0..8).map(|i| format!("w{i}")).collect();
    for (i, a) in agents.iter().enumerate() {
        ok(&clones[i % 3], &["--as", a, "join"]);
    }
    for dir in &clones {
        sync_ok(dir);
    }
    for round in 0..50 {
        let added: Value = serde_json::from_str(&ok(
            &clones[0],
            &[
                "--as",
                "w0",
                "--json",
                "task",
                "add",
                &format!("race {round}"),
            ],
        ))
        .unwrap();
        let id = added["id"].as_str().unwrap().to_string();
        sync_ok(&clones[0]);
        for dir in &clones[1..] {
            sync_ok(dir);
        }
        let children: Vec<_> = agents
            .iter()
            .enumerate()
            .map(|(i, a)| {
                Command::new(BIN)
                    .args(["--as", a, "task", "claim", &id, "--sync"])
                    .current_dir(&clones[i % 3])
                    .env_remove("GIT_COMM_AGENT")
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut winners = 0;
        for child in children {
            let out = child.wait_with_output().unwrap();
            match out.status.code() {
                Some(0) => winners += 1,
                Some(1) => {}
                other => panic!(
                    "round {round}: {other:?} {}",
                    String::from_utf8_lossy(&out.stderr)
                ),
            }
        }
        assert_eq!(winners, 1, "round {round}");
    }
}

/// Issue 20 item 6: with nothing ready, `next` says where my tasks stand; exit 1 only while
/// a task waits (blocked), exit 0 when nothing is left to do.
#[test]
fn next_with_nothing_ready_says_the_state_and_exits_by_it() {
    let t = team();
    let schema = add(&t, "lead", &["schema", "--domain", "api"]);
    let orders = add(
        &t,
        "lead",
        &["orders", "--domain", "api", "--after", &schema],
    );
    t.ok_as("bob", &["next", "--claim"]);
    // carol (web) has no task of her own; api's wait on bob, not on her.
    let out = t.ok_as("carol", &["next"]);
    assert_eq!(out.trim(), "nothing ready for carol: no tasks");

    let waiting = t.comm_as("bob", &["next"]);
    assert_exit(
        &waiting,
        1,
        &format!("nothing ready for bob: 1 task waits on {schema}; 1 yours ({schema})"),
    );
    let json = t.comm_as("bob", &["--json", "next", "--claim"]);
    assert_eq!(json.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["blocked"], true);
    assert_eq!(v["task"], Value::Null);
    assert_eq!(v["waiting"][0]["id"], orders.as_str());
    assert_eq!(v["mine"][0], schema.as_str());

    t.ok_as("bob", &["task", "done", &schema]);
    t.ok_as("bob", &["next", "--claim"]);
    t.ok_as("bob", &["task", "done", &orders]);
    let out = t.ok_as("bob", &["next"]);
    assert_eq!(out.trim(), "nothing ready for bob: 2 done; nothing left");
    let v: Value = serde_json::from_str(&t.ok_as("bob", &["--json", "next"])).unwrap();
    assert_eq!(
        (v["blocked"].clone(), v["done"].clone()),
        (Value::from(false), Value::from(2))
    );
}

#[test]
fn done_mails_the_domain_of_unclaimed_dependents_and_the_creator() {
    let t = team();
    t.ok_as("dave", &["join"]);
    let schema = add(&t, "lead", &["API schema", "--domain", "api"]);
    let form = add(
        &t,
        "lead",
        &["Order form", "--domain", "web", "--after", &schema],
    );
    t.ok_as("bob", &["task", "claim", &schema]);
    t.ok_as("bob", &["task", "done", &schema]);
    // carol is bound to web, the domain of the unclaimed task after it.
    for reader in ["carol", "lead"] {
        let inbox = t.ok_as(reader, &["--format", "compact", "inbox", "--type", "done"]);
        assert!(
            inbox.contains(&format!("done {schema}: API schema"))
                && inbox.contains(&format!("#{schema}")),
            "{reader}: {inbox}"
        );
    }
    let shown = t.ok_as("carol", &["--json", "inbox", "--type", "done", "--peek"]);
    assert!(
        shown.contains(&form),
        "the mail names the task after it: {shown}"
    );
    let dave = t.ok_as("dave", &["--format", "compact", "inbox"]);
    assert!(
        !dave.contains(&schema),
        "dave's domain waits on nothing: {dave}"
    );
}

#[test]
fn done_over_another_agents_claim_needs_force_and_a_reason_on_record() {
    let t = team();
    let id = add(&t, "lead", &["held work", "--domain", "api"]);
    t.ok_as("bob", &["task", "claim", &id]);
    let before = t.comm_refs();
    assert_exit(
        &t.comm_as("carol", &["task", "done", &id]),
        2,
        "claimed by bob",
    );
    let refused = t.comm_as("carol", &["task", "done", &id]);
    assert!(
        common::stderr(&refused).contains(&format!("task done {id} --force --reason")),
        "{}",
        common::stderr(&refused)
    );
    assert_exit(
        &t.comm_as("carol", &["task", "done", &id, "--force"]),
        2,
        "--reason",
    );
    assert_exit(
        &t.comm_as("carol", &["task", "fail", &id, "--reason", "no"]),
        2,
        "claimed by bob",
    );
    assert_eq!(t.comm_refs(), before, "a refused done changes nothing");

    t.ok_as(
        "carol",
        &["task", "done", &id, "--force", "--reason", "bob is gone"],
    );
    let tasks = t.git(&["log", "-1", "--format=%an|%s", "refs/comm-node/tasks"]);
    assert_eq!(
        tasks.trim(),
        format!("carol|done {id} by carol, forced over bob's claim: bob is gone")
    );
    let leases = t.git(&["log", "-1", "--format=%an|%s", "refs/comm-node/leases"]);
    assert!(
        leases.starts_with("carol|break ") && leases.contains("over bob's claim: bob is gone"),
        "{leases}"
    );
    let inbox = t.ok_as("bob", &["--json", "inbox", "--type", "done"]);
    assert!(
        inbox.contains("forced by carol over bob's claim: bob is gone"),
        "{inbox}"
    );
    // Your own claim needs no force.
    let mine = add(&t, "lead", &["mine"]);
    t.ok_as("bob", &["task", "claim", &mine]);
    t.ok_as("bob", &["task", "done", &mine]);
}

#[test]
fn a_claim_lease_without_its_record_shows_as_claimed_and_is_recorded() {
    let t = team();
    let id = add(&t, "lead", &["in flight"]);
    // What a claim killed between its lease and its record leaves.
    t.ok_as("bob", &["lease", &format!("task:{id}")]);
    let listed: Value =
        serde_json::from_str(&t.ok_as("carol", &["--json", "task", "list"])).unwrap();
    assert_eq!(listed[0]["state"], "claimed", "{listed}");
    assert_eq!(listed[0]["assignee"], "bob", "{listed}");
    let shown = t.ok_as("carol", &["task", "show", &id]);
    assert!(
        shown.contains("[claimed]") && shown.contains("@bob"),
        "{shown}"
    );
    // The next `next` on any agent records it in the ledger.
    let _ = t.comm_as("carol", &["next"]);
    let log = t.git(&["log", "-1", "--format=%an|%s", "refs/comm-node/tasks"]);
    assert!(
        log.starts_with(&format!(
            "carol|claim {id} by bob (repaired by carol: lease "
        )),
        "{log}"
    );
    assert_exit(
        &t.comm_as("carol", &["task", "claim", &id]),
        1,
        "claimed by bob",
    );
}
