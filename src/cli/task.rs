//! `task add|list|show|claim|start|block|unblock|done|fail|reopen|reassign`, `next`.

use clap::{Args, Subcommand};
use serde_json::json;

use super::format::Format;
use super::output::{self, outln};
use super::Ctx;
use crate::error::{Error, Result};
use crate::mail::Priority;
use crate::sync;
use crate::task::{self, ledger, work, Task};

#[derive(Debug, Args)]
pub struct TaskArgs {
    #[command(subcommand)]
    pub command: TaskCommand,
}

#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Add a task.
    Add(AddArgs),
    /// List tasks (default: all not done or failed), as their claim leases say (a claim
    /// in flight shows as claimed).
    List(ListArgs),
    /// One task, with what it waits for.
    Show(IdArg),
    /// Claim a ready task: a lease on task:ID (plus --lease globs); exit 1 if taken.
    Claim(ClaimArgs),
    /// Mark a claimed task in progress.
    Start(IdArg),
    /// Mark a task blocked.
    Block(ReasonArgs),
    /// Unblock a task (back to claimed, or open when unclaimed).
    Unblock(IdArg),
    /// Finish a task: releases its claim and mails its creator, the agents of tasks after
    /// it (their @domain when unclaimed); another agent's claim needs --force --reason.
    Done(DoneArgs),
    /// Give a task up as failed (same notifications as done; --force over another's claim).
    Fail(FailArgs),
    /// Reopen a finished or blocked task (unclaimed).
    Reopen(IdArg),
    /// Hand a task to another agent.
    Reassign(ReassignArgs),
    /// The task graph: dot (default), mermaid or json (also --json).
    Graph(GraphArgs),
    /// Import Beads issues (issues.jsonl) as tasks.
    Import(ImportArgs),
    /// Export tasks as Beads issues.jsonl.
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A Beads issues.jsonl file.
    pub file: std::path::PathBuf,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Beads issues.jsonl (the only export format).
    #[arg(long, required = true)]
    pub jsonl: bool,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// dot, mermaid or json.
    #[arg(long = "graph-format", value_name = "FORMAT", default_value = "dot")]
    pub graph_format: String,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    pub title: String,
    #[arg(short = 'm', long = "message", value_name = "BODY")]
    pub body: Option<String>,
    /// A domain declared in .comm-node/config.yaml (others are refused, as join and halt
    /// refuse them).
    #[arg(long, value_name = "D")]
    pub domain: Option<String>,
    /// Tasks that must be done first.
    #[arg(long, value_name = "ID", num_args = 1..)]
    pub after: Vec<String>,
    /// Artifacts that must be published first: DOMAIN/NAME[@VERSION].
    #[arg(long, value_name = "ARTIFACT", num_args = 1..)]
    pub needs: Vec<String>,
    /// low, normal, high or urgent.
    #[arg(long, default_value = "normal")]
    pub priority: String,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only tasks that can be claimed now.
    #[arg(long)]
    pub ready: bool,
    /// Only tasks assigned to me.
    #[arg(long)]
    pub mine: bool,
    #[arg(long, value_name = "D")]
    pub domain: Option<String>,
    /// Only tasks in this state (open, claimed, in_progress, blocked, done, failed, all).
    #[arg(long, value_name = "S")]
    pub state: Option<String>,
}

#[derive(Debug, Args)]
pub struct IdArg {
    pub id: String,
}

#[derive(Debug, Args)]
pub struct ClaimArgs {
    pub id: String,
    /// Confirm the claim on the remote (across machines), like `lease --sync`.
    #[arg(long)]
    pub sync: bool,
    /// Remote for --sync (default: comm.remote, else origin).
    #[arg(long, value_name = "REMOTE")]
    pub remote: Option<String>,
    /// Also lease these paths with the claim.
    #[arg(long = "lease", value_name = "GLOB")]
    pub leases: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ReasonArgs {
    pub id: String,
    #[arg(long)]
    pub reason: String,
}

#[derive(Debug, Args)]
pub struct DoneArgs {
    pub id: String,
    #[arg(short = 'm', long = "message", value_name = "NOTE")]
    pub note: Option<String>,
    /// Finish it although another agent holds its claim (breaks their claim lease, on record).
    #[arg(long, requires = "reason")]
    pub force: bool,
    /// Why the claim is broken (required with --force; recorded and mailed to its holder).
    #[arg(long, value_name = "TEXT", requires = "force")]
    pub reason: Option<String>,
}

#[derive(Debug, Args)]
pub struct FailArgs {
    pub id: String,
    /// Why it failed (also the reason recorded with --force).
    #[arg(long)]
    pub reason: String,
    /// Fail it although another agent holds its claim (breaks their claim lease, on record).
    #[arg(long)]
    pub force: bool,
}

/// `--reason` as a non-empty single line.
fn one_line(reason: &str) -> Result<String> {
    if reason.trim().is_empty() || reason.contains('\n') {
        return Err(Error::usage("--reason must be a non-empty single line")
            .with_hint("say in one line why, e.g. --reason \"bob is gone, merged by lead\""));
    }
    Ok(reason.trim().to_string())
}

#[derive(Debug, Args)]
pub struct ReassignArgs {
    pub id: String,
    pub agent: String,
}

#[derive(Debug, Args)]
#[command(after_help = "\
With nothing ready it says where your tasks stand (`nothing ready for NAME: 2 tasks wait on
t-1a2b3c4d; 3 done`; --json: task null, done, mine, others, waiting, blocked, summary).
Exit codes: 0 a task, or nothing left to do (every task done, or held by you or others);
            1 blocked: a task of yours waits on a task, an artifact or a block.")]
pub struct NextArgs {
    /// Claim it (atomically; tries the next one if another agent wins the race).
    #[arg(long)]
    pub claim: bool,
    /// With --claim: confirm on the remote, like `lease --sync`.
    #[arg(long, requires = "claim")]
    pub sync: bool,
}

fn remote_for(ctx: &Ctx, flag: bool, name: Option<&str>) -> Result<Option<sync::Remote>> {
    if flag || sync::lease::enabled(&ctx.repo, &ctx.config) {
        Ok(Some(sync::resolve_remote(&ctx.repo, name)?))
    } else {
        Ok(None)
    }
}

/// `t-1a2b3c4d [open] high api Title (after t-…; needs api/schema) @bob`
fn line(t: &Task) -> String {
    let mut out = format!("{} [{}]", t.id, t.state);
    if t.priority != Priority::Normal {
        out.push_str(&format!(" {}", t.priority.as_str()));
    }
    if let Some(d) = &t.domain {
        out.push_str(&format!(" {d}"));
    }
    out.push_str(&format!(" {}", t.title));
    let mut deps = Vec::new();
    if !t.after.is_empty() {
        deps.push(format!("after {}", t.after.join(" ")));
    }
    if !t.needs.is_empty() {
        deps.push(format!("needs {}", t.needs.join(" ")));
    }
    if !deps.is_empty() {
        out.push_str(&format!(" ({})", deps.join("; ")));
    }
    if let Some(a) = &t.assignee {
        out.push_str(&format!(" @{a}"));
    }
    out
}

fn print_task(ctx: &Ctx, verb: &str, t: &Task) -> Result<()> {
    match ctx.format {
        Format::Json => output::json(t),
        Format::Compact => outln!("{}", line(t)),
        Format::Human => outln!("{verb} {}", line(t)),
    }
}

pub fn task(ctx: &Ctx, args: TaskArgs) -> Result<()> {
    let me = ctx.me();
    match args.command {
        TaskCommand::Add(a) => add(ctx, &me?, a),
        TaskCommand::List(a) => list(ctx, a),
        TaskCommand::Show(a) => show(ctx, &a.id),
        TaskCommand::Claim(a) => {
            let me = me?;
            let remote = remote_for(ctx, a.sync, a.remote.as_deref())?;
            let (t, lease) = work::claim(&ctx.repo, &me, &a.id, &a.leases, remote.as_ref())?;
            if ctx.json() {
                return output::json(&json!({"task": t, "lease": lease.id}));
            }
            outln!("claimed {} (lease {})", line(&t), lease.id)
        }
        TaskCommand::Start(a) => {
            let t = work::transition(&ctx.repo, &me?, &a.id, |t| {
                t.state = "in_progress".into();
                Ok(format!("start {}", t.id))
            })?;
            print_task(ctx, "started", &t)
        }
        TaskCommand::Block(a) => {
            let t = work::transition(&ctx.repo, &me?, &a.id, |t| {
                t.state = "blocked".into();
                t.note = Some(a.reason.clone());
                Ok(format!("block {}: {}", t.id, a.reason))
            })?;
            print_task(ctx, "blocked", &t)
        }
        TaskCommand::Unblock(a) => {
            let t = work::transition(&ctx.repo, &me?, &a.id, |t| {
                t.state = if t.assignee.is_some() {
                    "claimed"
                } else {
                    "open"
                }
                .into();
                t.note = None;
                Ok(format!("unblock {}", t.id))
            })?;
            print_task(ctx, "unblocked", &t)
        }
        TaskCommand::Done(a) => {
            let how = work::Finish {
                state: "done".into(),
                note: a.note,
                forced: a.reason.as_deref().map(one_line).transpose()?,
            };
            let t = work::finish(&ctx.repo, &me?, &a.id, &how)?;
            print_task(ctx, "done", &t)
        }
        TaskCommand::Fail(a) => {
            let how = work::Finish {
                state: "failed".into(),
                forced: a.force.then(|| one_line(&a.reason)).transpose()?,
                note: Some(a.reason),
            };
            let t = work::finish(&ctx.repo, &me?, &a.id, &how)?;
            print_task(ctx, "failed", &t)
        }
        TaskCommand::Reopen(a) => {
            let me = me?;
            let t = work::transition(&ctx.repo, &me, &a.id, |t| {
                t.state = "open".into();
                t.assignee = None;
                t.claim = None;
                Ok(format!("reopen {}", t.id))
            })?;
            work::release_claim(&ctx.repo, &me, &t)?;
            print_task(ctx, "reopened", &t)
        }
        TaskCommand::Import(a) => {
            let text = std::fs::read_to_string(&a.file)
                .map_err(|e| Error::usage(format!("cannot read {}: {e}", a.file.display())))?;
            let pairs = task::beads::import(&ctx.repo, &me?, &text)?;
            if ctx.json() {
                let map: Vec<_> = pairs
                    .iter()
                    .map(|(b, t)| json!({"beads": b, "task": t}))
                    .collect();
                return output::json(&map);
            }
            outln!("imported {} issue(s)", pairs.len())
        }
        TaskCommand::Export(_) => output::text(&task::beads::export(&ctx.repo)?),
        TaskCommand::Graph(a) => {
            let format = if ctx.json() {
                "json"
            } else {
                a.graph_format.as_str()
            };
            graph(ctx, format)
        }
        TaskCommand::Reassign(a) => {
            let known = crate::agent::known_agents(&ctx.repo, &ctx.config)?;
            crate::agent::require_known(&known, &a.agent)?;
            let t = work::transition(&ctx.repo, &me?, &a.id, |t| {
                t.assignee = Some(a.agent.clone());
                Ok(format!("reassign {} to {}", t.id, a.agent))
            })?;
            print_task(ctx, "reassigned", &t)
        }
    }
}

fn add(ctx: &Ctx, me: &str, a: AddArgs) -> Result<()> {
    if let Some(d) = &a.domain {
        crate::agent::require_domain(&ctx.config, d)?;
    }
    let t = work::add(
        &ctx.repo,
        me,
        work::NewTask {
            title: a.title,
            body: a.body.unwrap_or_default(),
            domain: a.domain,
            after: a.after,
            needs: a.needs,
            priority: Priority::parse(&a.priority)?,
        },
    )?;
    print_task(ctx, "added", &t)
}

fn list(ctx: &Ctx, a: ListArgs) -> Result<()> {
    let me = ctx.me().ok();
    let tasks = if a.ready {
        work::ready_for(&ctx.repo, my_domain(ctx, me.as_deref()).as_deref())?
    } else {
        agreeing_tasks(ctx)?
    };
    if let Some(s) = &a.state {
        if s != "all" && !task::STATES.contains(&s.as_str()) {
            return Err(Error::usage(format!("unknown state '{s}'"))
                .with_hint(format!("use one of {} or all", task::STATES.join(", "))));
        }
    }
    let shown: Vec<&Task> = tasks
        .iter()
        .filter(|t| match a.state.as_deref() {
            Some("all") => true,
            Some(s) => t.state == s,
            None => a.ready || !t.is_terminal(),
        })
        .filter(|t| !a.mine || t.assignee.is_some() && t.assignee == me)
        .filter(|t| a.domain.is_none() || t.domain == a.domain)
        .collect();
    if ctx.json() {
        return output::json(&shown);
    }
    if shown.is_empty() {
        return outln!("no tasks");
    }
    let text: String = shown.iter().map(|t| format!("{}\n", line(t))).collect();
    output::text(&text)
}

fn my_domain(ctx: &Ctx, me: Option<&str>) -> Option<String> {
    let me = me?;
    let card = crate::agent::read_card(&ctx.repo, me).ok().flatten();
    crate::agent::domain_of(&ctx.config, card.as_ref(), me)
}

/// Every task as its claim lease says it is (a claim in flight shows as claimed).
fn agreeing_tasks(ctx: &Ctx) -> Result<Vec<Task>> {
    let leases = task::claims::Leases::read(&ctx.repo)?;
    Ok(task::claims::agreeing(ledger::all(&ctx.repo)?, &leases))
}

fn show(ctx: &Ctx, id: &str) -> Result<()> {
    let tasks = agreeing_tasks(ctx)?;
    let t = task::find(&tasks, id)?;
    let live = crate::lease::live_leases(&ctx.repo)?;
    let published = work::published(&ctx.repo);
    let waits = task::waits_for(t, &tasks, &live, &published);
    if ctx.json() {
        return output::json(&json!({"task": t, "ready": waits.is_empty(), "waits_for": waits}));
    }
    let mut text = format!("{}\n", line(t));
    if !t.body.is_empty() {
        for l in t.body.lines() {
            text.push_str(&format!("  | {l}\n"));
        }
    }
    if let Some(note) = &t.note {
        text.push_str(&format!("  note: {note}\n"));
    }
    if waits.is_empty() {
        text.push_str("  ready\n");
    } else {
        text.push_str(&format!("  waits for: {}\n", waits.join("; ")));
    }
    output::text(&text)
}

/// `wait --task ID`: until the task is done (or failed: exit 1), syncing tasks meanwhile.
pub fn wait_for_task(ctx: &Ctx, id: &str, timeout_secs: u64, local: bool) -> Result<()> {
    let id = task::find(&ledger::all(&ctx.repo)?, id)?.id.clone();
    let remote = sync::wait::remote_for_wait(&ctx.repo, local);
    let present = ctx.known_agent();
    let waited = sync::wait::until(
        &ctx.repo,
        remote.as_ref(),
        std::time::Duration::from_secs(timeout_secs),
        present.as_deref(),
        || {
            let tasks = ledger::all(&ctx.repo)?;
            let t = task::find(&tasks, &id)?;
            Ok(t.is_terminal().then(|| t.clone()))
        },
    )?;
    let Some(t) = waited.found else {
        return Err(
            Error::blocked(format!("task {id} not done within {timeout_secs}s"))
                .with_hint("wait longer with --timeout, or ask its assignee"),
        );
    };
    print_task(ctx, "finished", &t)?;
    if t.state == "failed" {
        return Err(Error::blocked(format!(
            "task {id} failed: {}",
            t.note.as_deref().unwrap_or("no reason given")
        )));
    }
    Ok(())
}

/// `task graph`: tasks and their `after` edges (dot, mermaid or json).
pub fn graph(ctx: &Ctx, format: &str) -> Result<()> {
    let tasks = ledger::all(&ctx.repo)?;
    let label = |t: &Task| format!("{} {} [{}]", t.id, t.title.replace('"', "'"), t.state);
    let text = match format {
        "json" => {
            let edges: Vec<_> = tasks
                .iter()
                .flat_map(|t| t.after.iter().map(move |a| json!({"from": a, "to": t.id})))
                .collect();
            return output::json(&json!({"nodes": tasks, "edges": edges}));
        }
        "mermaid" => {
            let mut out = String::from("graph LR\n");
            for t in &tasks {
                out.push_str(&format!("  {}[\"{}\"]\n", t.id.replace('-', "_"), label(t)));
                for a in &t.after {
                    out.push_str(&format!(
                        "  {} --> {}\n",
                        a.replace('-', "_"),
                        t.id.replace('-', "_")
                    ));
                }
            }
            out
        }
        "dot" => {
            let mut out = String::from("digraph tasks {\n  rankdir=LR;\n");
            for t in &tasks {
                out.push_str(&format!("  \"{}\" [label=\"{}\"];\n", t.id, label(t)));
                for a in &t.after {
                    out.push_str(&format!("  \"{a}\" -> \"{}\";\n", t.id));
                }
            }
            out.push_str("}\n");
            out
        }
        other => {
            return Err(Error::usage(format!("unknown graph format '{other}'"))
                .with_hint("use dot, mermaid or json"))
        }
    };
    output::text(&text)
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The plan: kickoff, agents {NAME: {domain, role}}, tasks [{key, title, domain, priority, after, needs, body}].
    pub file: std::path::PathBuf,
}

#[derive(Debug, Args)]
pub struct PrimeArgs {
    /// The agent (default: you).
    pub agent: Option<String>,
    /// Print the agents' guide instead: every step of the protocol explained (docs/agents.md).
    #[arg(long, conflicts_with = "agent")]
    pub guide: bool,
}

pub fn plan(ctx: &Ctx, args: PlanArgs) -> Result<()> {
    let me = ctx
        .me()
        .unwrap_or_else(|_| crate::halt::OPERATOR.to_string());
    let plan = task::plan::load(&args.file)?;
    let done = task::plan::apply(&ctx.repo, &ctx.config, &me, &plan)?;
    if ctx.json() {
        return output::json(&done);
    }
    outln!(
        "planned: {} agent(s) added, {} task(s) added, {} already there{}",
        done.agents_added.len(),
        done.tasks_added.len(),
        done.tasks_kept.len(),
        done.kickoff
            .as_ref()
            .map(|k| format!("; sent '{k}'"))
            .unwrap_or_default()
    )
}

pub fn prime(ctx: &Ctx, args: PrimeArgs) -> Result<()> {
    if args.guide {
        return guide(ctx);
    }
    let name = match args.agent {
        Some(a) => a,
        None => ctx.me()?,
    };
    crate::agent::validate_name(&name)?;
    let text = task::plan::prime(&ctx.repo, &ctx.config, &name)?;
    if ctx.json() {
        return output::json(&json!({"agent": name, "contract": text}));
    }
    output::text(&text)
}

fn guide(ctx: &Ctx) -> Result<()> {
    if ctx.json() {
        return output::json(&json!({"guide": task::plan::GUIDE}));
    }
    output::text(task::plan::GUIDE)
}

pub fn next(ctx: &Ctx, args: NextArgs) -> Result<()> {
    let me = ctx.me()?;
    task::claims::repair(&ctx.repo, Some(&me))?;
    let domain = my_domain(ctx, Some(&me));
    if args.claim {
        let remote = remote_for(ctx, args.sync, None)?;
        return match work::claim_next(&ctx.repo, &me, domain.as_deref(), remote.as_ref())? {
            Some((t, lease)) if ctx.json() => output::json(&json!({"task": t, "lease": lease.id})),
            Some((t, lease)) => outln!("claimed {} (lease {})", line(&t), lease.id),
            None => nothing_ready(ctx, &me, domain.as_deref()),
        };
    }
    match work::ready_for(&ctx.repo, domain.as_deref())?.first() {
        Some(t) => print_task(ctx, "next", t),
        None => nothing_ready(ctx, &me, domain.as_deref()),
    }
}

/// No task is ready: say where `me`'s tasks stand. Exit 0 when nothing is left to do
/// (all done, or every open one held), 1 when a task waits (blocked).
fn nothing_ready(ctx: &Ctx, me: &str, domain: Option<&str>) -> Result<()> {
    let backlog = crate::task::backlog::backlog(&ctx.repo, me, domain)?;
    let summary = backlog.summary();
    if ctx.json() {
        let mut value = serde_json::to_value(&backlog).expect("backlog serializes");
        value["task"] = serde_json::Value::Null;
        value["blocked"] = json!(backlog.blocked());
        value["summary"] = json!(summary);
        output::json(&value)?;
    } else if !backlog.blocked() {
        outln!("{summary}")?;
    }
    if backlog.blocked() {
        return Err(Error::blocked(summary).with_hint(
            "`git comm task show ID` says what a task waits for; `git comm wait --task ID` blocks until it is done",
        ));
    }
    Ok(())
}
