//! `git comm mcp` (cargo feature `mcp`): the core operations as MCP tools over stdio, with
//! the official Rust SDK (rmcp). Each tool runs this same binary with `--json` and the
//! matching command line, so a tool does exactly what the command does (checks, hooks of
//! the storage gate, exit codes); a failing command is a tool error carrying its message
//! and hint. The schemas are written by hand to stay small (see `tool_list`).

use std::process::Command;
use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, JsonObject,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use serde_json::{json, Value};

use crate::error::{Error, Result};

/// The tools, their one-line descriptions and input schemas.
pub fn tool_list() -> Vec<Tool> {
    let string = json!({"type": "string"});
    let strings = json!({"type": "array", "items": {"type": "string"}});
    let spec: [(&str, &str, Value, &[&str]); 10] = [
        (
            "send",
            "Send mail to agents, @domain or all.",
            json!({"to": strings, "subject": string, "body": string}),
            &["to", "subject"],
        ),
        (
            "inbox",
            "Unread mail for me (marks it read).",
            json!({"budget": {"type": "integer", "description": "max tokens"}}),
            &[],
        ),
        (
            "ack",
            "Acknowledge a message.",
            json!({"id": string, "note": string}),
            &["id"],
        ),
        (
            "lease",
            "Reserve paths or keys (exclusive); conflicts fail naming the holder.",
            json!({"paths": strings, "ttl": string, "sync": {"type": "boolean"}}),
            &["paths"],
        ),
        (
            "release",
            "Give leases back (all mine when no ids).",
            json!({"ids": strings}),
            &[],
        ),
        (
            "publish",
            "Publish a file as the next version of artifact DOMAIN/NAME.",
            json!({"artifact": string, "file": string}),
            &["artifact", "file"],
        ),
        (
            "get",
            "Read an artifact version (DOMAIN/NAME or DOMAIN/NAME@vN).",
            json!({"artifact": string}),
            &["artifact"],
        ),
        (
            "next",
            "The best ready task for me; claim=true takes it.",
            json!({"claim": {"type": "boolean"}}),
            &[],
        ),
        (
            "done",
            "Mark a task done (releases its claim, tells who waits).",
            json!({"id": string, "note": string}),
            &["id"],
        ),
        (
            "status",
            "Me, unread, my leases, agents, last sync.",
            json!({}),
            &[],
        ),
    ];
    spec.into_iter()
        .map(|(name, description, properties, required)| {
            let schema = json!({"type": "object", "properties": properties, "required": required});
            let schema: JsonObject = serde_json::from_value(schema).expect("schema is an object");
            Tool::new(name, description, Arc::new(schema))
        })
        .collect()
}

fn text(args: &JsonObject, key: &str) -> Option<String> {
    args.get(key).and_then(Value::as_str).map(str::to_string)
}

fn texts(args: &JsonObject, key: &str) -> Vec<String> {
    args.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn required(args: &JsonObject, key: &str) -> std::result::Result<String, String> {
    text(args, key).ok_or_else(|| format!("missing '{key}'"))
}

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|w| w.to_string()).collect()
}

/// The command line of tool `name` called with `args`.
pub fn command_line(name: &str, args: &JsonObject) -> std::result::Result<Vec<String>, String> {
    let mut line: Vec<String> = Vec::new();
    match name {
        "send" => {
            let to = texts(args, "to");
            if to.is_empty() {
                return Err("missing 'to'".into());
            }
            line.extend(words(&["send"]));
            line.extend(to);
            line.extend(["-s".into(), required(args, "subject")?]);
            line.extend(["-m".into(), text(args, "body").unwrap_or_default()]);
        }
        "inbox" => {
            line.extend(words(&["inbox"]));
            if let Some(budget) = args.get("budget").and_then(Value::as_u64) {
                line.extend(["--budget".into(), budget.to_string()]);
            }
        }
        "ack" => {
            line.extend(["ack".into(), required(args, "id")?]);
            if let Some(note) = text(args, "note") {
                line.extend(["-m".into(), note]);
            }
        }
        "lease" => {
            let paths = texts(args, "paths");
            if paths.is_empty() {
                return Err("missing 'paths'".into());
            }
            line.extend(words(&["lease"]));
            line.extend(paths);
            if let Some(ttl) = text(args, "ttl") {
                line.extend(["--ttl".into(), ttl]);
            }
            if args.get("sync").and_then(Value::as_bool) == Some(true) {
                line.extend(words(&["--sync"]));
            }
        }
        "release" => {
            let ids = texts(args, "ids");
            line.extend(words(&["release"]));
            if ids.is_empty() {
                line.extend(words(&["--all"]));
            }
            line.extend(ids);
        }
        "publish" => line.extend([
            "publish".into(),
            required(args, "artifact")?,
            required(args, "file")?,
        ]),
        "get" => line.extend(["get".into(), required(args, "artifact")?]),
        "next" => {
            line.extend(words(&["next"]));
            if args.get("claim").and_then(Value::as_bool) == Some(true) {
                line.extend(words(&["--claim"]));
            }
        }
        "done" => {
            line.extend(["task".into(), "done".into(), required(args, "id")?]);
            if let Some(note) = text(args, "note") {
                line.extend(["-m".into(), note]);
            }
        }
        "status" => line.extend(words(&["status"])),
        other => return Err(format!("unknown tool '{other}'")),
    }
    Ok(line)
}

struct Comm {
    as_agent: Option<String>,
}

impl Comm {
    fn run(&self, name: &str, args: &JsonObject) -> CallToolResult {
        let line = match command_line(name, args) {
            Ok(line) => line,
            Err(why) => return CallToolResult::error(vec![ContentBlock::text(why)]),
        };
        let exe = std::env::current_exe().unwrap_or_else(|_| "git-comm".into());
        let mut cmd = Command::new(exe);
        cmd.arg("--json");
        if let Some(agent) = &self.as_agent {
            cmd.args(["--as", agent]);
        }
        match cmd.args(&line).output() {
            Ok(out) if out.status.success() => CallToolResult::success(vec![ContentBlock::text(
                String::from_utf8_lossy(&out.stdout),
            )]),
            Ok(out) => CallToolResult::error(vec![ContentBlock::text(String::from_utf8_lossy(
                &out.stderr,
            ))]),
            Err(e) => CallToolResult::error(vec![ContentBlock::text(format!(
                "cannot run git-comm: {e}"
            ))]),
        }
    }
}

impl ServerHandler for Comm {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_instructions("git comm: mail, leases, artifacts and tasks through git. Read the inbox at each turn; lease before editing shared files.")
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> std::result::Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(tool_list()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> std::result::Result<CallToolResponse, ErrorData> {
        let args = request.arguments.unwrap_or_default();
        Ok(self.run(&request.name, &args).into())
    }
}

/// Serve the tools on stdin/stdout until the client closes the connection.
pub fn serve(as_agent: Option<String>) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::git(format!("cannot start the MCP runtime: {e}")))?;
    runtime.block_on(async move {
        let service = Comm { as_agent }
            .serve(rmcp::transport::stdio())
            .await
            .map_err(|e| Error::git(format!("MCP initialisation failed: {e}")))?;
        service
            .waiting()
            .await
            .map_err(|e| Error::git(format!("MCP server stopped: {e}")))?;
        Ok(())
    })
}
