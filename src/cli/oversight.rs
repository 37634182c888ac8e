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
        if !ctx.config.domains.contains_key(d) {
            return Err(crate::agent::unknown_domain(&ctx.config, d));
        }
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
