//! `init`, `join`, `who`, `whoami`.

use clap::Args;
use serde_json::json;

use super::format::{ago, iso_time};
use super::output::{self, outln};
use super::Ctx;
use crate::agent::{self, Card, JoinOptions};
use crate::config::{CONFIG_PATH, SKELETON};
use crate::error::{Error, Result};

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Also configure this remote's push refspecs so plain git push carries the namespace.
    #[arg(long, value_name = "REMOTE")]
    pub remote: Option<String>,
}

#[derive(Debug, Args)]
pub struct JoinArgs {
    /// Agent name (default: your identity).
    pub name: Option<String>,
    /// Bind the agent to a domain: its commits may then only touch that domain's scope
    /// (the pre-commit hook refuses the rest), and mail to @DOMAIN reaches it.
    #[arg(long, conflicts_with = "no_domain")]
    pub domain: Option<String>,
    /// Remove the agent's domain binding (a binding in .comm-node/config.yaml still applies).
    #[arg(long)]
    pub no_domain: bool,
    #[arg(long)]
    pub role: Option<String>,
    /// The program driving the agent (e.g. claude-code).
    #[arg(long)]
    pub program: Option<String>,
    #[arg(long)]
    pub model: Option<String>,
}

const NEXT_STEPS: &str = "\
next:
  git comm join NAME [--domain D]   register an agent
  export GIT_COMM_AGENT=NAME        act as it (or --as NAME, or git config comm.agent NAME)
  git comm send TO -s SUBJECT       mail an agent, @domain or all
  git comm inbox                    read your unread mail";

pub fn init(ctx: &Ctx, args: InitArgs) -> Result<()> {
    let refspecs = match &args.remote {
        Some(remote) => Some(crate::sync::configure_remote(&ctx.repo, remote)?),
        None => None,
    };
    let root = ctx.repo.workdir().ok_or_else(|| {
        Error::usage("this repository has no work tree").with_hint("run init in a clone")
    })?;
    let path = root.join(CONFIG_PATH);
    let created = !path.exists();
    if created {
        std::fs::create_dir_all(path.parent().expect("config path has a parent"))?;
        std::fs::write(&path, SKELETON)?;
    }
    // `git comm --help` is `man git-comm` to git: where man has no page, show the long help.
    let _ = crate::setup::register_help_viewer(&ctx.repo);
    if ctx.json() {
        return output::json(
            &json!({"config": CONFIG_PATH, "created": created, "remote": args.remote, "refspecs_added": refspecs}),
        );
    }
    let verb = if created { "created" } else { "exists" };
    outln!("{verb} {CONFIG_PATH}")?;
    if let (Some(remote), Some(added)) = (&args.remote, &refspecs) {
        for change in added {
            match change.strip_prefix("removed ") {
                Some(spec) => outln!("removed {spec} (sync fetches into its own store)")?,
                None => outln!("configured {change}")?,
            }
        }
        if added.is_empty() {
            outln!("{remote}: refspecs already configured")?;
        }
        outln!("plain git push now carries the namespace (fast-forward only); `git comm sync` fetches and merges it")?;
    }
    outln!("{NEXT_STEPS}")
}

pub fn join(ctx: &Ctx, args: JoinArgs) -> Result<()> {
    let me = ctx.me().ok();
    let name = match args.name {
        Some(name) => name,
        None => ctx.me()?,
    };
    // Registering another agent (an operator, a lead) does not mean it was seen.
    let seen = me.as_ref().is_none_or(|me| me == &name);
    let options = JoinOptions {
        seen,
        domain: args.domain,
        clear_domain: args.no_domain,
        role: args.role,
        program: args.program,
        model: args.model,
    };
    let card = agent::join(&ctx.repo, &ctx.config, &name, options)?;
    if ctx.json() {
        output::json(&card)
    } else {
        outln!("joined {}{}", card.name, domain_suffix(&card.domain))
    }
}

fn domain_suffix(domain: &Option<String>) -> String {
    domain
        .as_ref()
        .map(|d| format!(" (domain {d})"))
        .unwrap_or_default()
}

pub fn who(ctx: &Ctx) -> Result<()> {
    let standings = crate::oversight::standing::standings(&ctx.repo, &ctx.config)?;
    if ctx.json() {
        let rows: Vec<_> = standings.iter().map(standing_json).collect();
        return output::json(&rows);
    }
    if standings.is_empty() {
        outln!("no agents yet: git comm join NAME")?;
    }
    let now = agent::now_secs();
    for s in &standings {
        let line = standing_line(s, now);
        let line = match (ctx.format, line.split_once(' ')) {
            (super::Format::Human, Some((name, rest))) => {
                format!("{} {rest}", super::colour::agent(name))
            }
            _ => line,
        };
        outln!("{line}")?;
    }
    Ok(())
}

/// `alice domain=api seen=2m ago state=busy task=T-1 note="..." role=backend`, with
/// `STALE (leases at risk: ...)` for an agent unseen past `presence.stale`.
pub fn standing_line(s: &crate::oversight::standing::Standing, now: i64) -> String {
    let card = &s.card;
    let seen = if card.last_seen > 0 {
        ago(card.last_seen, now)
    } else {
        "never".to_string()
    };
    let mut line = format!(
        "{} domain={} seen={}",
        card.name,
        card.domain.as_deref().unwrap_or("-"),
        seen
    );
    if let Some(p) = &s.presence {
        if let Some(state) = &p.state {
            line.push_str(&format!(" state={state}"));
        }
        if let Some(task) = &p.task {
            line.push_str(&format!(" task={task}"));
        }
        if let Some(note) = &p.note {
            line.push_str(&format!(" note={note:?}"));
        }
    }
    for (key, value) in [
        ("role", &card.role),
        ("program", &card.program),
        ("model", &card.model),
    ] {
        if let Some(v) = value {
            line.push_str(&format!(" {key}={v}"));
        }
    }
    if let Some(r) = &card.retired {
        line.push_str(&format!(" RETIRED ({})", r.reason));
    }
    if s.stale {
        line.push_str(" STALE");
        if !s.leases_at_risk.is_empty() {
            line.push_str(&format!(
                " (leases at risk: {})",
                s.leases_at_risk.join(" ")
            ));
        }
        if !s.tasks_at_risk.is_empty() {
            line.push_str(&format!(" (tasks at risk: {})", s.tasks_at_risk.join(" ")));
        }
    }
    line
}

fn standing_json(s: &crate::oversight::standing::Standing) -> serde_json::Value {
    let mut value = card_json(&s.card);
    let p = s.presence.clone().unwrap_or_default();
    value["state"] = json!(p.state);
    value["task"] = json!(p.task);
    value["note"] = json!(p.note);
    value["stale"] = json!(s.stale);
    value["leases_at_risk"] = json!(s.leases_at_risk);
    value["tasks_at_risk"] = json!(s.tasks_at_risk);
    value["retired"] = json!(s.card.retired);
    value
}

fn card_json(card: &Card) -> serde_json::Value {
    json!({
        "name": card.name,
        "domain": card.domain,
        "role": card.role,
        "program": card.program,
        "model": card.model,
        "joined": (card.joined > 0).then(|| iso_time(card.joined)),
        "last_seen": (card.last_seen > 0).then(|| iso_time(card.last_seen)),
    })
}

#[derive(Debug, Args)]
pub struct StateArgs {
    /// busy, idle, blocked or done.
    #[arg(value_parser = ["busy", "idle", "blocked", "done"])]
    pub state: String,
    /// The task you are on: an existing task id (or unique prefix); shown until that
    /// task is done, failed or no longer yours.
    #[arg(long, value_name = "ID")]
    pub task: Option<String>,
    /// One line for the others (what you are doing, what blocks you).
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
}

pub fn state(ctx: &Ctx, args: StateArgs) -> Result<()> {
    let me = ctx.me()?;
    let known = agent::known_agents(&ctx.repo, &ctx.config)?;
    agent::require_known(&known, &me)?;
    let task = match &args.task {
        Some(text) => Some(existing_task(ctx, text)?),
        None => None,
    };
    let p = crate::presence::set_state(&ctx.repo, &me, &args.state, task, args.note)?;
    if ctx.json() {
        return output::json(&p);
    }
    let mut line = format!("{me} is {}", args.state);
    if let Some(task) = &p.task {
        line.push_str(&format!(" on {task}"));
    }
    if let Some(note) = &p.note {
        line.push_str(&format!(": {note}"));
    }
    outln!("{line}")
}

/// The full id of the task `text` names (an id or a unique prefix); exit 2 when there is
/// no such task, so a state never points at nothing.
fn existing_task(ctx: &Ctx, text: &str) -> Result<String> {
    let tasks = crate::task::ledger::all(&ctx.repo)?;
    Ok(crate::task::find(&tasks, text)?.id.clone())
}

pub fn whoami(ctx: &Ctx) -> Result<()> {
    let me = ctx.me()?;
    let card = agent::read_card(&ctx.repo, &me)?;
    let domain = agent::domain_of(&ctx.config, card.as_ref(), &me);
    let joined = card.is_some() || ctx.config.agents.contains_key(&me);
    if ctx.json() {
        return output::json(&json!({"name": me, "domain": domain, "joined": joined}));
    }
    let note = if joined {
        ""
    } else {
        " (not joined: git comm join)"
    };
    outln!("{me}{}{note}", domain_suffix(&domain))
}
