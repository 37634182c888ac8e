//! Oversight with real repositories, real hooks and real programs: retire, stats against a
//! scripted history (pinned clock, so every duration is exact), budgets, the watch snapshot
//! and the live view in tmux, and the HTML report rendered by headless Chromium.

mod common;
mod hooks_common;
mod sync_net;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{assert_success, stderr, stdout, TestRepo, BIN};
use serde_json::Value;

/// 2026-09-24T00:00:00Z: the day the scripted history happens.
const DAY: i64 = 1_790_208_000;

/// `git comm ARGS` with the clock pinned at unix second `at`.
fn comm_pinned(dir: &Path, at: i64, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_COMM_AGENT")
        .env("TZ", "UTC")
        .env("GIT_COMM_CLOCK_OFFSET", format!("@{at}"))
        .output()
        .expect("run git-comm")
}

fn ok_at(dir: &Path, at: i64, args: &[&str]) -> String {
    let out = comm_pinned(dir, at, args);
    assert_success(&out, args);
    stdout(&out)
}

fn json_at(dir: &Path, at: i64, args: &[&str]) -> Value {
    let mut full = vec!["--json"];
    full.extend_from_slice(args);
    serde_json::from_str(&ok_at(dir, at, &full)).expect("json output")
}

/// Estimated tokens of a message, computed here independently: ceil(bytes / 4).
fn tokens(subject: &str, body: &str) -> u64 {
    ((subject.len() + body.len()) as u64).div_ceil(4)
}

/// The element of a JSON array of agents whose `name` is `name`.
fn named<'a>(agents: &'a Value, name: &str) -> &'a Value {
    agents
        .as_array()
        .expect("an array of agents")
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {agents}"))
}

fn row<'a>(stats: &'a Value, name: &str) -> &'a Value {
    stats["agents"]
        .as_array()
        .expect("agents array")
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("no row for {name}: {stats}"))
}

#[test]
fn retire_frees_leases_and_tasks_marks_the_card_and_tells_everyone() {
    let t = TestRepo::new();
    t.initial_commit();
    for name in ["alice", "bob", "carol"] {
        t.ok_as(name, &["join"]);
    }
    let lease: Value =
        serde_json::from_str(&t.ok_as("bob", &["--json", "lease", "src/**"])).unwrap();
    let lease_id = lease["lease"]["id"].as_str().unwrap().to_string();
    let task: Value =
        serde_json::from_str(&t.ok_as("alice", &["--json", "task", "add", "Ship it"])).unwrap();
    let task_id = task["id"].as_str().unwrap().to_string();
    t.ok_as("bob", &["task", "claim", &task_id]);
    t.ok_as("bob", &["task", "start", &task_id]);

    // A person (no identity) retires bob.
    let out = t.comm(&["retire", "bob", "--reason", "went  silent"]);
    assert_success(&out, &["retire"]);
    let said = stdout(&out);
    assert!(
        said.contains("retired bob") && said.contains(&lease_id) && said.contains(&task_id),
        "{said}"
    );

    let live: Value = serde_json::from_str(&t.ok_as("alice", &["--json", "leases"])).unwrap();
    assert!(
        !live.to_string().contains("\"bob\""),
        "bob still holds a lease: {live}"
    );
    let shown: Value =
        serde_json::from_str(&t.ok_as("alice", &["--json", "task", "show", &task_id])).unwrap();
    let shown = if shown.get("task").is_some() {
        &shown["task"]
    } else {
        &shown
    };
    assert_eq!(shown["state"], "open", "{shown}");
    assert!(shown["assignee"].is_null(), "{shown}");
    let who: Value = serde_json::from_str(&t.ok_as("alice", &["--json", "who"])).unwrap();
    let bob = named(&who, "bob");
    assert_eq!(bob["retired"]["reason"], "went silent", "{bob}");
    assert_eq!(bob["retired"]["by"], "operator", "{bob}");
    assert!(t.ok_as("alice", &["who"]).contains("bob domain=- seen="));
    assert!(t.ok_as("alice", &["who"]).contains("RETIRED (went silent)"));

    // Everyone was told, once.
    let inbox = t.ok_as("carol", &["--format", "compact", "inbox"]);
    assert!(inbox.contains("retired bob: went silent"), "{inbox}");
    // The trail is plain git: the break in the lease ledger, the unclaim in the task
    // ledger, the retirement on the card.
    let leases_log = t.git(&["log", "--format=%an %s", "refs/comm-node/leases"]);
    assert!(
        leases_log.contains(&format!(
            "operator break {lease_id} by operator: bob retired: went silent"
        )),
        "{leases_log}"
    );
    let tasks_log = t.git(&["log", "--format=%s", "refs/comm-node/tasks"]);
    assert!(
        tasks_log.contains(&format!("unclaim {task_id} (bob retired)")),
        "{tasks_log}"
    );
    let card_log = t.git(&["log", "--format=%s", "refs/comm-node/agents/bob"]);
    assert!(
        card_log.starts_with("retire bob: went silent"),
        "{card_log}"
    );

    // The freed work is takeable at once.
    t.ok_as("carol", &["lease", "src/**"]);
    t.ok_as("carol", &["task", "claim", &task_id]);

    // Retiring again changes nothing and tells nobody.
    let again = t.ok_as("alice", &["retire", "bob", "--reason", "again"]);
    assert!(again.contains("already retired"), "{again}");
    let inbox = t.ok_as("carol", &["--format", "compact", "inbox"]);
    assert_eq!(inbox.trim(), "no unread mail");

    // Unknown agents and empty reasons are usage errors that change nothing.
    let before = t.comm_refs();
    let out = t.comm(&["retire", "nobody", "--reason", "x"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = t.comm(&["retire", "carol", "--reason", "  "]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(before, t.comm_refs());

    // Joining again brings bob back.
    t.ok_as("bob", &["join"]);
    assert!(!t.ok_as("alice", &["who"]).contains("RETIRED"));
}

/// The scripted history of the stats test; returns the id of bob's violation message.
/// Estimated tokens each agent's commands printed, computed here: per command
/// ceil((stdout + stderr bytes) / 4).
type Burn = std::collections::BTreeMap<String, u64>;

/// `git comm --as AGENT ARGS` at `at`, asserting success, adding what it printed to `burn`.
fn as_at(burn: &mut Burn, dir: &Path, at: i64, agent: &str, args: &[&str]) -> String {
    let mut full = vec!["--as", agent];
    full.extend_from_slice(args);
    let out = comm_pinned(dir, at, &full);
    assert_success(&out, &full);
    *burn.entry(agent.to_string()).or_default() +=
        ((out.stdout.len() + out.stderr.len()) as u64).div_ceil(4);
    stdout(&out)
}

/// The scripted history; returns what each agent's commands printed (help included).
fn script(t: &TestRepo) -> Burn {
    let dir = t.path();
    let at = |secs: i64| DAY + secs;
    let mut burn = Burn::new();
    let b = &mut burn;
    for name in ["alice", "bob", "carol"] {
        as_at(b, dir, at(3_600), name, &["join"]);
    }
    as_at(
        b,
        dir,
        at(3_600),
        "alice",
        &[
            "send",
            "bob",
            "-s",
            "subject one",
            "-m",
            "body one two three",
        ],
    );
    as_at(
        b,
        dir,
        at(3_610),
        "alice",
        &["send", "all", "-s", "hello all", "-m", "x"],
    );
    as_at(
        b,
        dir,
        at(3_620),
        "bob",
        &["send", "alice", "-s", "re", "-m", "ok"],
    );
    // bob reads both messages for him, then one of them again, and the help of task.
    as_at(b, dir, at(3_700), "bob", &["inbox"]);
    let first = json_at(dir, at(3_700), &["search", "subject one"]);
    let first_id = first[0]["id"].as_str().unwrap().to_string();
    as_at(b, dir, at(3_710), "bob", &["show", &first_id]);
    as_at(b, dir, at(3_720), "bob", &["task", "--help"]);
    // alice holds src/** for 100 s.
    as_at(b, dir, at(4_000), "alice", &["lease", "src/**"]);
    as_at(b, dir, at(4_100), "alice", &["release", "--all"]);
    // bob claims a task at +4300 and finishes it at +4500.
    let task = as_at(b, dir, at(4_200), "alice", &["--json", "task", "add", "T1"]);
    let task: Value = serde_json::from_str(&task).unwrap();
    let id = task["id"].as_str().unwrap().to_string();
    as_at(b, dir, at(4_300), "bob", &["task", "claim", &id]);
    as_at(b, dir, at(4_500), "bob", &["task", "done", &id]);
    // alice holds docs/** from +5000 to +5200; bob bypasses it with --no-verify at +5100.
    as_at(b, dir, at(5_000), "alice", &["hooks", "install"]);
    as_at(b, dir, at(5_000), "alice", &["lease", "docs/**"]);
    t.write("docs/x.md", "bob was here\n");
    t.git(&["add", "docs/x.md"]);
    let commit = Command::new("git")
        .args(["commit", "-q", "--no-verify", "-m", "bypass"])
        .current_dir(dir)
        .env("PATH", hooks_common::path_with_comm())
        .env("GIT_COMM_AGENT", "bob")
        .env("GIT_COMM_CLOCK_OFFSET", format!("@{}", at(5_100)))
        .output()
        .unwrap();
    assert_success(&commit, &["git commit --no-verify"]);
    as_at(b, dir, at(5_200), "alice", &["release", "--all"]);
    burn
}

#[test]
fn stats_match_a_scripted_history_exactly() {
    let t = TestRepo::new();
    t.initial_commit();
    let burn = script(&t);
    let dir = t.path();
    let now = DAY + 6_000;
    let violation = json_at(dir, now, &["search", "violation:"]);
    let violation = violation.as_array().unwrap();
    assert_eq!(violation.len(), 1, "{violation:?}");
    let v = &violation[0];
    assert_eq!(v["from"], "bob");
    let v_tokens = tokens(v["subject"].as_str().unwrap(), v["body"].as_str().unwrap());
    let tasks = json_at(dir, now, &["task", "list", "--state", "done"]);
    let task_id = tasks[0]["id"].as_str().unwrap().to_string();
    let done_tokens = tokens(&format!("done {task_id}: T1"), "");

    let all = json_at(dir, now, &["stats"]);
    let alice = row(&all, "alice");
    assert_eq!(alice["messages_sent"], 2);
    assert_eq!(
        alice["tokens_sent"],
        tokens("subject one", "body one two three") + tokens("hello all", "x")
    );
    // bob's reply, the done notice and the violation (alice held the lease).
    assert_eq!(alice["messages_received"], 3);
    assert_eq!(alice["tokens_read"], 0);
    assert_eq!(alice["leases"], 2);
    assert_eq!(alice["lease_seconds"], 100 + 200);
    assert_eq!(alice["violations"], 0);
    assert_eq!(alice["tasks_done"], 0);
    let bob = row(&all, "bob");
    assert_eq!(bob["messages_sent"], 3);
    assert_eq!(
        bob["tokens_sent"],
        tokens("re", "ok") + done_tokens + v_tokens
    );
    assert_eq!(bob["messages_received"], 2);
    // inbox showed two messages, show one of them again.
    let first = tokens("subject one", "body one two three");
    assert_eq!(bob["tokens_read"], first + tokens("hello all", "x") + first);
    assert_eq!(bob["leases"], 1);
    assert_eq!(bob["lease_seconds"], 200);
    assert_eq!(bob["violations"], 1);
    assert_eq!(bob["tasks_done"], 1);
    // Everything each agent's commands printed is counted: mail read plus other output
    // (help, joins, leases, tasks...) is exactly what they printed.
    for name in ["alice", "bob", "carol"] {
        let r = row(&all, name);
        let read = r["tokens_read"].as_u64().unwrap() + r["tokens_other"].as_u64().unwrap();
        assert_eq!(read, burn[name], "{name}: {r}");
    }
    assert!(
        bob["tokens_other"].as_u64().unwrap() > 300,
        "task --help alone is ~1 KB: {bob}"
    );
    let carol = row(&all, "carol");
    assert_eq!(carol["messages_received"], 1);
    assert_eq!(carol["messages_sent"], 0);
    assert_eq!(carol["lease_seconds"], 0);

    // --since cuts the history; --agent picks one row.
    let since = json_at(
        dir,
        now,
        &[
            "stats",
            "--since",
            "2026-09-24T01:06:40Z",
            "--agent",
            "alice",
        ],
    );
    assert_eq!(since["agents"].as_array().unwrap().len(), 1);
    let alice = row(&since, "alice");
    assert_eq!(alice["messages_sent"], 0);
    assert_eq!(alice["messages_received"], 2);
    assert_eq!(alice["leases"], 2);
    let text = ok_at(dir, now, &["stats", "--agent", "bob"]);
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().next() == Some("bob")),
        "{text}"
    );
    let bad = comm_pinned(dir, now, &["stats", "--since", "last week"]);
    assert_eq!(bad.status.code(), Some(2));
    let bad = comm_pinned(dir, now, &["stats", "--agent", "nobody"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn an_agent_over_its_budget_is_told_once_a_day() {
    let t = TestRepo::new();
    t.initial_commit();
    t.write(
        ".comm-node/config.yaml",
        "version: 1\nagents:\n  bob: { budget: 10 }\n",
    );
    let dir = t.path();
    let day = DAY + 3_600;
    ok_at(dir, day, &["--as", "alice", "join"]);
    ok_at(dir, day, &["--as", "bob", "join"]);
    ok_at(
        dir,
        day,
        &["--as", "alice", "send", "bob", "-s", "short", "-m", "tiny"],
    );
    let under = comm_pinned(dir, day, &["--as", "bob", "inbox"]);
    assert!(!stderr(&under).contains("budget"), "{}", stderr(&under));
    let body = "a long body ".repeat(10);
    ok_at(
        dir,
        day,
        &["--as", "alice", "send", "bob", "-s", "long", "-m", &body],
    );
    let over = comm_pinned(dir, day, &["--as", "bob", "inbox"]);
    assert!(
        stderr(&over).contains("budget: bob used ~")
            && stderr(&over).contains("of 10 tokens today"),
        "{}",
        stderr(&over)
    );
    let again = comm_pinned(dir, day + 60, &["--as", "bob", "status"]);
    assert!(
        !stderr(&again).contains("budget"),
        "told twice: {}",
        stderr(&again)
    );
    // The next day the count starts again: under budget, nothing is said.
    let next_day = comm_pinned(dir, day + 86_400, &["--as", "bob", "status"]);
    assert!(
        !stderr(&next_day).contains("budget"),
        "{}",
        stderr(&next_day)
    );
    ok_at(
        dir,
        day + 86_400,
        &["--as", "alice", "send", "bob", "-s", "long", "-m", &body],
    );
    let told = comm_pinned(dir, day + 86_400, &["--as", "bob", "inbox"]);
    assert!(
        stderr(&told).contains("budget: bob used ~"),
        "{}",
        stderr(&told)
    );
}

/// A small swarm with something in every section.
fn busy_repo() -> (TestRepo, String) {
    let t = TestRepo::new();
    t.initial_commit();
    t.write(
        ".comm-node/config.yaml",
        "version: 1\ndomains:\n  api: { scope: [\"src/api/**\"] }\n",
    );
    t.ok_as("alice", &["join", "--domain", "api"]);
    t.ok_as("bob", &["join"]);
    t.ok_as("alice", &["state", "busy", "--note", "wiring <the> form"]);
    t.ok_as(
        "alice",
        &[
            "send",
            "bob",
            "-s",
            "contract ready?",
            "-m",
            "see api/contract",
        ],
    );
    t.ok_as("bob", &["lease", "src/api/**", "--reason", "refactor"]);
    let first: Value = serde_json::from_str(&t.ok_as(
        "alice",
        &["--json", "task", "add", "Design API", "--domain", "api"],
    ))
    .unwrap();
    let first = first["id"].as_str().unwrap().to_string();
    let second: Value = serde_json::from_str(&t.ok_as(
        "alice",
        &["--json", "task", "add", "Build UI", "--after", &first],
    ))
    .unwrap();
    let second = second["id"].as_str().unwrap().to_string();
    t.ok_as("alice", &["task", "claim", &first]);
    t.write("contract.json", "{\"v\":1}\n");
    t.ok_as("alice", &["publish", "api/contract", "contract.json"]);
    t.git(&["add", "contract.json"]);
    let commit = Command::new("git")
        .args(["commit", "-q", "-m", "contract"])
        .current_dir(t.path())
        .env("GIT_AUTHOR_NAME", "alice")
        .output()
        .unwrap();
    assert_success(&commit, &["git commit"]);
    t.ok_as("alice", &["task", "done", &first]);
    (t, second)
}

#[test]
fn watch_prints_a_plain_snapshot_when_stdout_is_not_a_terminal() {
    let (t, second) = busy_repo();
    let out = t.ok_as("bob", &["watch"]);
    for section in ["AGENTS (2)", "TASKS (2)", "LEASES (1)", "EVENTS (latest)"] {
        assert!(out.contains(section), "{section} missing:\n{out}");
    }
    assert!(out.contains("local only"), "{out}");
    assert!(out.contains("alice busy seen"), "{out}");
    assert!(out.contains("\"wiring <the> form\""), "{out}");
    assert!(
        out.contains("open 1  claimed 0  in_progress 0  blocked 0  done 1  failed 0"),
        "{out}"
    );
    assert!(out.contains(&format!("open {second} - Build UI")), "{out}");
    assert!(
        out.contains("src/api/**") && out.contains("refactor"),
        "{out}"
    );
    assert!(
        out.contains("message alice: to bob: contract ready?"),
        "{out}"
    );
    assert!(out.contains("publish alice:"), "{out}");
    assert!(
        out.contains("commit alice:") && out.contains("contract"),
        "{out}"
    );
    let json: Value = serde_json::from_str(&t.ok_as("bob", &["--json", "watch"])).unwrap();
    assert_eq!(json["tasks"]["done"], 1);
    assert_eq!(json["leases"].as_array().unwrap().len(), 1);
    let bob = json["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "bob")
        .unwrap();
    // alice's message and the announcement of her publish.
    assert_eq!(bob["unread"], 2, "{bob}");
}

/// Poll `check` until it is true or `deadline` passes.
fn wait_for(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

fn tmux(socket: &Path, args: &[&str]) -> Output {
    Command::new("tmux")
        .arg("-S")
        .arg(socket)
        .args(args)
        .output()
        .expect("tmux is needed for the live view test (apt install tmux; .ci/run installs it)")
}

#[test]
fn watch_runs_live_in_tmux_refreshes_and_quits_on_q() {
    let (t, _) = busy_repo();
    let socket = t.path().join(".tmux-socket");
    let command = format!(
        "cd '{}' && '{}' watch --interval 1; echo exited-$? > watch.done",
        t.path().display(),
        BIN
    );
    let started = tmux(
        &socket,
        &[
            "new-session",
            "-d",
            "-s",
            "w",
            "-x",
            "160",
            "-y",
            "40",
            &command,
        ],
    );
    assert_success(&started, &["tmux new-session"]);
    let screen = || stdout(&tmux(&socket, &["capture-pane", "-p", "-t", "w"]));
    wait_for("the live view", Duration::from_secs(20), || {
        let s = screen();
        s.contains("AGENTS (2)") && s.contains("q quits")
    });
    // It refreshes: new mail shows up in the events without restarting.
    t.ok_as("bob", &["send", "alice", "-s", "live update 42"]);
    wait_for("the refreshed events", Duration::from_secs(20), || {
        screen().contains("live update 42")
    });
    assert_success(
        &tmux(&socket, &["send-keys", "-t", "w", "q"]),
        &["send-keys"],
    );
    let done = t.path().join("watch.done");
    wait_for("watch to exit", Duration::from_secs(20), || done.exists());
    assert_eq!(std::fs::read_to_string(&done).unwrap().trim(), "exited-0");
    let _ = tmux(&socket, &["kill-server"]);
}

fn chromium() -> PathBuf {
    let candidates = ["chromium", "chromium-browser", "google-chrome"];
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| {
            candidates.iter().find_map(|name| {
                std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
                    .map(|dir| dir.join(name))
                    .find(|p| p.exists())
            })
        })
        .expect("headless Chromium is needed for the report test: apt install chromium (.ci/run does), or set CHROMIUM")
}

fn headless(profile: &Path, extra: &[&str], page: &Path) -> Output {
    Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1366,900",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium")
}

#[test]
fn report_is_one_self_contained_page_that_renders_in_headless_chromium() {
    let (t, second) = busy_repo();
    t.ok_as("bob", &["inbox"]);
    t.comm(&["halt", "--reason", "look at the report"]);
    let page = t.path().join("report.html");
    let out = t.ok_as("bob", &["report", "-o", page.to_str().unwrap()]);
    assert!(out.starts_with("wrote "), "{out}");
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: no external resource of any kind, and a policy that forbids them.
    for external in [
        "src=\"http",
        "href=\"http",
        "src=\"//",
        "url(http",
        "@import",
    ] {
        assert!(!html.contains(external), "external resource {external}");
    }
    assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none'"));
    // Every part is there, with the real content, escaped.
    for part in [
        "Timeline per agent",
        "Message volume and estimated tokens",
        "Per agent",
        "Task board",
        "Task graph",
        "Lease map",
    ] {
        assert!(html.contains(part), "{part} missing");
    }
    assert!(html.contains(&second) && html.contains("Build UI"));
    assert!(html.contains("HALTED (all agents)"));
    assert!(html.contains("contract ready?"));
    assert!(html.contains("src/api/**"));
    assert!(!html.contains("wiring <the>"), "unescaped text");

    let profile = tempfile::tempdir().unwrap();
    let dom = headless(profile.path(), &["--dump-dom"], &page);
    assert_success(&dom, &["chromium --dump-dom"]);
    let dom_text = stdout(&dom);
    let body = dom_text
        .split("<body")
        .nth(1)
        .and_then(|b| b.split('>').next())
        .unwrap_or("");
    assert!(
        body.contains("data-loaded=\"1\""),
        "page did not finish loading: {body}"
    );
    assert!(!body.contains("data-errors"), "script errors: {body}");
    assert!(
        body.contains("data-overflow=\"false\""),
        "scrolls sideways at 1366 px: {body}"
    );
    let log = stderr(&dom);
    let console: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught") || l.contains("Refused to"))
        .collect();
    assert!(console.is_empty(), "console errors: {console:?}");

    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-screenshot.png");
    let _ = std::fs::remove_file(&shot);
    let profile = tempfile::tempdir().unwrap();
    let taken = headless(
        profile.path(),
        &[&format!("--screenshot={}", shot.display())],
        &page,
    );
    assert_success(&taken, &["chromium --screenshot"]);
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "screenshot of {} bytes",
        png.len()
    );
}

#[test]
fn a_stale_agent_has_its_claimed_tasks_listed_at_risk() {
    let t = TestRepo::new();
    t.initial_commit();
    t.write(
        ".comm-node/config.yaml",
        "version: 1\npresence: { stale: 1m }\n",
    );
    t.ok_as("alice", &["join"]);
    t.ok_as("bob", &["join"]);
    let task: Value =
        serde_json::from_str(&t.ok_as("alice", &["--json", "task", "add", "Fix it"])).unwrap();
    let id = task["id"].as_str().unwrap().to_string();
    t.ok_as("bob", &["task", "claim", &id]);
    let fresh: Value = serde_json::from_slice(
        &common::comm_at(t.path(), 0, &["--as", "alice", "--json", "who"]).stdout,
    )
    .unwrap();
    let bob = named(&fresh, "bob").clone();
    assert_eq!(bob["tasks_at_risk"], serde_json::json!([]), "{bob}");
    let later = common::comm_at(t.path(), 120, &["--as", "alice", "--json", "who"]);
    let who: Value = serde_json::from_slice(&later.stdout).unwrap();
    let bob = named(&who, "bob");
    assert_eq!(bob["stale"], true, "{bob}");
    assert_eq!(bob["tasks_at_risk"], serde_json::json!([id]), "{bob}");
    let text = stdout(&common::comm_at(t.path(), 120, &["--as", "alice", "who"]));
    assert!(text.contains(&format!("(tasks at risk: {id})")), "{text}");
}

#[test]
fn watch_syncs_with_the_remote_before_its_snapshot() {
    let net = sync_net::Net::new();
    let (a, b) = net.pair();
    sync_net::sync_ok(&a);
    sync_net::sync_ok(&b);
    sync_net::sync_ok(&a);
    sync_net::ok(
        &a,
        &["--as", "alice", "send", "bob", "-s", "from the other clone"],
    );
    sync_net::sync_ok(&a);
    let out = sync_net::ok(&b, &["watch"]);
    assert!(out.contains("synced with origin"), "{out}");
    assert!(
        out.contains("message alice: to bob: from the other clone"),
        "{out}"
    );
    let local = sync_net::ok(&b, &["watch", "--local"]);
    assert!(local.contains("local only"), "{local}");
}

/// `watch` and `status` count unread mail among the newest 100 mail commits only (an agent
/// that never read would otherwise cost the whole history), marked `+` when there is more;
/// a cursor among those commits keeps the count exact, and `inbox` stays exact.
#[test]
fn unread_counts_for_display_look_at_the_newest_mail_only() {
    let t = TestRepo::new();
    for agent in ["alice", "bob", "carol", "dave"] {
        t.ok_as(agent, &["join"]);
    }
    sync_net::send_many(t.path(), "alice", 3);
    t.ok_as("dave", &["inbox"]);
    sync_net::send_many(t.path(), "alice", 100);
    t.ok_as("carol", &["inbox"]);
    sync_net::send_many(t.path(), "alice", 20);

    let json: Value = serde_json::from_str(&t.ok_as("alice", &["--json", "watch"])).unwrap();
    let unread = |name: &str| {
        let agents = json["agents"].as_array().unwrap();
        let row = agents.iter().find(|a| a["name"] == name).unwrap();
        (row["unread"].clone(), row["unread_more"].clone())
    };
    assert_eq!(unread("bob"), (100.into(), true.into()), "never read");
    assert_eq!(unread("dave"), (100.into(), true.into()), "read long ago");
    assert_eq!(
        unread("carol"),
        (20.into(), false.into()),
        "cursor is recent"
    );
    let text = t.ok_as("alice", &["watch"]);
    assert!(text.contains("unread 100+ leases"), "{text}");
    assert!(text.contains("unread 20 leases"), "{text}");

    let status: Value = serde_json::from_str(&t.ok_as("bob", &["--json", "status"])).unwrap();
    assert_eq!(
        (&status["unread"], &status["unread_more"]),
        (&100.into(), &true.into())
    );
    assert!(t.ok_as("bob", &["status"]).contains("unread=100+"));
    let inbox: Value =
        serde_json::from_str(&t.ok_as("bob", &["--json", "inbox", "--peek"])).unwrap();
    assert_eq!(
        inbox["messages"].as_array().unwrap().len(),
        123,
        "inbox is exact"
    );
}
