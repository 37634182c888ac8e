//! `halt`, `resume`: the emergency stop.

use clap::Args;
use serde_json::json;

use super::output::{self, outln};
use super::Ctx;
use crate::error::Result;
use crate::halt::{self, Halt};
use crate::mail::{mailbox, Draft, Priority};

#[derive(Debug, Args)]
pub struct HaltArgs {
    /// Why (shown to every agent).
    #[arg(long)]
    pub reason: String,
    /// Halt only the agents of this domain.
    #[arg(long, value_name = "D")]
    pub domain: Option<String>,
}

/// Who acts: the agent identity when there is one, else the operator (a person).
fn actor(ctx: &Ctx) -> String {
    ctx.me().unwrap_or_else(|_| halt::OPERATOR.to_string())
}

pub fn halt(ctx: &Ctx, args: HaltArgs) -> Result<()> {
    if let Some(d) = &args.domain {
        crate::agent::require_domain(&ctx.config, d)?;
    }
    let by = actor(ctx);
    let state = Halt {
        halted: true,
        reason: args.reason.split_whitespace().collect::<Vec<_>>().join(" "),
        by: by.clone(),
        domain: args.domain.clone(),
        since: crate::clock::now_secs(),
    };
    halt::write(&ctx.repo, &by, &state)?;
    let who = args
        .domain
        .as_ref()
        .map_or("all agents".to_string(), |d| format!("agents of {d}"));
    announce(
        ctx,
        &by,
        &format!("HALT ({who}): {}", state.reason),
        Priority::Urgent,
    )?;
    if ctx.json() {
        return output::json(&json!({"halted": true, "halt": state}));
    }
    outln!("halted {who}: {} (git comm resume lifts it)", state.reason)
}

pub fn resume(ctx: &Ctx) -> Result<()> {
    let by = actor(ctx);
    if halt::in_force(&ctx.repo)?.is_none() {
        return outln!("not halted");
    }
    let state = Halt {
        halted: false,
        reason: String::new(),
        by: by.clone(),
        domain: None,
        since: crate::clock::now_secs(),
    };
    halt::write(&ctx.repo, &by, &state)?;
    announce(ctx, &by, "RESUMED: work may continue", Priority::High)?;
    if ctx.json() {
        return output::json(&json!({"halted": false}));
    }
    outln!("resumed")
}

fn announce(ctx: &Ctx, by: &str, subject: &str, priority: Priority) -> Result<()> {
    let draft = Draft {
        subject: subject.to_string(),
        to: vec![crate::agent::EVERYONE.to_string()],
        kind: "halt".to_string(),
        priority,
        ..Draft::default()
    };
    mailbox::append(&ctx.repo, by, &draft)?;
    Ok(())
}

/// The one line every agent command prints first while a halt stops that agent.
pub fn halt_line(ctx: &Ctx) -> Option<String> {
    let me = ctx.me().ok()?;
    let halt = halt::in_force(&ctx.repo).ok()??;
    let card = crate::agent::read_card(&ctx.repo, &me).ok()?;
    let domain = crate::agent::domain_of(&ctx.config, card.as_ref(), &me);
    halt.stops(domain.as_deref()).then(|| {
        format!(
            "HALTED by {} since {}: {} (commits are refused until `git comm resume`)\n",
            halt.by,
            crate::display::local_time(halt.since),
            halt.reason
        )
    })
}

#[derive(Debug, Args)]
pub struct RetireArgs {
    /// The agent to retire.
    pub agent: String,
    /// Why (told to everyone, kept on the card).
    #[arg(long)]
    pub reason: String,
}

/// `retire AGENT --reason TEXT`: break its leases, reopen its tasks, mark the card, tell all.
pub fn retire(ctx: &Ctx, args: RetireArgs) -> Result<()> {
    let by = actor(ctx);
    let done =
        crate::oversight::retire::retire(&ctx.repo, &ctx.config, &by, &args.agent, &args.reason)?;
    if ctx.json() {
        return output::json(&done);
    }
    if !done.changed {
        return outln!(
            "{} was already retired; nothing left to release",
            done.agent
        );
    }
    let list = |ids: &[String]| {
        if ids.is_empty() {
            "none".to_string()
        } else {
            ids.join(" ")
        }
    };
    outln!(
        "retired {}: leases broken: {}; tasks reopened: {} (everyone was told; `git comm join {}` brings it back)",
        done.agent,
        list(&done.leases),
        list(&done.tasks),
        done.agent
    )
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Count from this time: a duration back (2h, 7d), a date or an RFC 3339 time.
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// One agent only.
    #[arg(long, value_name = "A")]
    pub agent: Option<String>,
}

/// `stats`: per-agent messages, estimated tokens, leases, violations and tasks done.
pub fn stats(ctx: &Ctx, args: StatsArgs) -> Result<()> {
    let query = crate::oversight::stats::Query {
        since: args
            .since
            .as_deref()
            .map(crate::clock::parse_since)
            .transpose()?,
        agent: args.agent,
    };
    let rows = crate::oversight::stats::stats(&ctx.repo, &ctx.config, &query)?;
    if ctx.json() {
        return output::json(&json!({ "agents": rows }));
    }
    if rows.is_empty() {
        return outln!("no agents yet: git comm join NAME");
    }
    let compact = ctx.format == super::Format::Compact;
    if !compact {
        outln!("agent sent recv tokens_sent tokens_read tokens_other leases lease_time violations done")?;
    }
    for s in rows {
        let budget = ctx
            .config
            .budget_of(&s.name)
            .map(|b| format!(" budget={b}/day"))
            .unwrap_or_default();
        outln!(
            "{} {} {} {} {} {} {} {}s {} {}{budget}",
            s.name,
            s.messages_sent,
            s.messages_received,
            s.tokens_sent,
            s.tokens_read,
            s.tokens_other,
            s.leases,
            s.lease_seconds,
            s.violations,
            s.tasks_done
        )?;
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Where to write the HTML page.
    #[arg(short = 'o', long = "output", value_name = "FILE.html")]
    pub output: std::path::PathBuf,
}

/// `report -o FILE.html`: one self-contained page of the swarm's history.
pub fn report(ctx: &Ctx, args: ReportArgs) -> Result<()> {
    let title = ctx
        .repo
        .workdir()
        .and_then(|p| p.file_name())
        .map_or("git comm report".to_string(), |n| {
            format!("git comm report: {}", n.to_string_lossy())
        });
    let report = crate::oversight::report::gather(&ctx.repo, &ctx.config, &title)?;
    let html = crate::oversight::report::render(&report);
    std::fs::write(&args.output, &html).map_err(|e| {
        crate::error::Error::usage(format!("cannot write {}: {e}", args.output.display()))
            .with_hint("pass a writable path with -o")
    })?;
    if ctx.json() {
        return output::json(&json!({
            "file": args.output, "bytes": html.len(), "agents": report.agents.len(),
            "messages": report.message_count, "tasks": report.tasks.len(),
            "events": report.events.len(),
        }));
    }
    outln!(
        "wrote {} ({} KiB: {} agents, {} messages, {} tasks)",
        args.output.display(),
        html.len().div_ceil(1024),
        report.agents.len(),
        report.message_count,
        report.tasks.len()
    )
}
