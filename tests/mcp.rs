//! `git comm mcp` with a real MCP client: the official Python SDK (`mcp` from PyPI, in a
//! virtual environment the test makes) starts the server over stdio, initializes, lists the
//! tools and calls each one. Built only with the `mcp` feature: `cargo test --features mcp
//! --test mcp` (what `.ci/run` runs).
#![cfg(feature = "mcp")]

mod common;

use std::process::Command;

use common::{assert_success, stdout, TestRepo, BIN};
use serde_json::Value;

const CLIENT: &str = r#"
import asyncio, json, os, sys
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

binary, repo, calls = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])

async def main():
    params = StdioServerParameters(command=binary, args=["--as", "alice", "mcp"], cwd=repo, env=dict(os.environ))
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            listed = await session.list_tools()
            tools = [t.model_dump(mode="json", exclude_none=True, by_alias=True) for t in listed.tools]
            results = []
            for name, args in calls:
                res = await session.call_tool(name, args)
                text = "".join(c.text for c in res.content if getattr(c, "text", None))
                is_error = getattr(res, "is_error", None)
                if is_error is None:
                    is_error = getattr(res, "isError", False)
                results.append({"tool": name, "error": bool(is_error), "text": text})
            print(json.dumps({"tools": tools, "results": results}))

asyncio.run(main())
"#;

fn python_with_mcp() -> (tempfile::TempDir, std::path::PathBuf) {
    let venv = tempfile::tempdir().unwrap();
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(venv.path())
        .output()
        .expect("python3 is needed (.ci/run installs it)");
    assert_success(&made, &["python3 -m venv"]);
    let pip = Command::new(venv.path().join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", "mcp"])
        .output()
        .unwrap();
    assert_success(&pip, &["pip install mcp"]);
    let python = venv.path().join("bin/python");
    (venv, python)
}

#[test]
fn a_real_mcp_client_lists_the_tools_and_calls_each_one() {
    let t = TestRepo::new();
    t.initial_commit();
    t.ok_as("alice", &["join"]);
    t.ok_as("bob", &["join"]);
    let asked: Value = serde_json::from_str(&t.ok_as(
        "bob",
        &["--json", "send", "alice", "-s", "please ack", "--ack"],
    ))
    .unwrap();
    let asked = asked["id"].as_str().unwrap().to_string();
    let task: Value =
        serde_json::from_str(&t.ok_as("bob", &["--json", "task", "add", "Wire the API"])).unwrap();
    let task = task["id"].as_str().unwrap().to_string();
    t.ok_as("bob", &["lease", "docs/**"]);
    t.write("contract.json", "{\"v\": 1}\n");
    let calls = serde_json::json!([
        ["status", {}],
        ["inbox", {"budget": 300}],
        ["ack", {"id": asked}],
        ["send", {"to": ["bob"], "subject": "via mcp", "body": "hello"}],
        ["lease", {"paths": ["src/**"]}],
        ["lease", {"paths": ["docs/**"]}],
        ["release", {}],
        ["publish", {"artifact": "api/contract", "file": "contract.json"}],
        ["get", {"artifact": "api/contract"}],
        ["next", {"claim": true}],
        ["done", {"id": task, "note": "shipped"}],
    ]);
    let (_venv, python) = python_with_mcp();
    let out = Command::new(python)
        .args([
            "-c",
            CLIENT,
            BIN,
            t.path().to_str().unwrap(),
            &calls.to_string(),
        ])
        .env_remove("GIT_COMM_AGENT")
        .output()
        .unwrap();
    assert_success(&out, &["python mcp client"]);
    let report: Value = serde_json::from_str(stdout(&out).trim()).unwrap();

    let names: Vec<&str> = report["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["send", "inbox", "ack", "lease", "release", "publish", "get", "next", "done", "status"]
    );
    // The schemas stay small: under 2,000 tokens (4 bytes a token) for all tools together.
    let schema_bytes = report["tools"].to_string().len();
    assert!(schema_bytes < 8_000, "tool list is {schema_bytes} bytes");
    eprintln!(
        "tool list: {schema_bytes} bytes, about {} tokens",
        schema_bytes.div_ceil(4)
    );

    let results = report["results"].as_array().unwrap();
    let result = |i: usize| {
        (
            &results[i]["tool"],
            results[i]["error"].as_bool().unwrap(),
            results[i]["text"].as_str().unwrap().to_string(),
        )
    };
    for i in [0, 1, 2, 3, 4, 6, 7, 8, 9, 10] {
        let (tool, error, text) = result(i);
        assert!(!error, "{tool} failed: {text}");
    }
    assert!(result(1).2.contains("please ack"), "{}", result(1).2);
    // A conflict is a tool error naming the holder, as on the command line.
    let (_, error, text) = result(5);
    assert!(error && text.contains("bob"), "{text}");
    // get returns the artifact's bytes, as `git comm get` prints them.
    assert_eq!(result(8).2, "{\"v\": 1}\n");
    assert!(result(9).2.contains(&task), "{}", result(9).2);
    // Everything happened for real, as alice.
    let log = t.git(&["log", "--format=%an %s", "refs/comm-node/mail"]);
    assert!(log.contains("alice via mcp"), "{log}");
    assert!(t
        .git(&["log", "--format=%s", "refs/comm-node/tasks"])
        .contains(&format!("done {task} by alice")));
    let shown = t.ok_as("bob", &["show", &asked]);
    assert!(shown.contains("acked by: alice"), "{shown}");
}
