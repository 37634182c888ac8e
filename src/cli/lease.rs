//! `lease`, `renew`, `release`, `leases`.

use clap::Args;
use serde_json::{json, Value};

use super::format::{local_time, Format};
use super::output::{self, outln};
use super::Ctx;
use crate::agent;
use crate::error::{Error, Result};
use crate::lease::ledger::{self, Snapshot};
use crate::lease::{self, Event, Lease, Request, Resource};
use crate::sync;

#[derive(Debug, Args)]
pub struct LeaseArgs {
    /// Path globs relative to the repo root (src/api/**, src/*.ts) or named keys (task:123).
    #[arg(required = true, value_name = "RESOURCE")]
    pub resources: Vec<String>,
    /// Coexist with other shared leases (still blocks and is blocked by exclusive ones).
    #[arg(long)]
    pub shared: bool,
    /// How long the lease lives: 90s, 30m, 2h, 1d.
    #[arg(long, default_value = "30m", value_name = "DURATION")]
    pub ttl: String,
    /// Why you hold it (shown to agents you block).
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Task the lease is for.
    #[arg(long, value_name = "ID")]
    pub task: Option<String>,
    /// Grant only once the ledger is pushed to the remote (default when `leases: {sync:
    /// true}` or `git config comm.leaseSync true`).
    #[arg(long)]
    pub sync: bool,
    /// Remote for --sync (default: comm.remote, else origin).
    #[arg(long, value_name = "REMOTE", requires = "sync")]
    pub remote: Option<String>,
}

#[derive(Debug, Args)]
pub struct RenewArgs {
    /// Lease ids or unique prefixes (default: all your live leases).
    #[arg(value_name = "ID")]
    pub ids: Vec<String>,
    /// New lifetime from now: 90s, 30m, 2h, 1d (default: each lease's own TTL again).
    #[arg(long, value_name = "DURATION")]
    pub ttl: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReleaseArgs {
    /// Lease ids or unique prefixes.
    #[arg(value_name = "ID")]
    pub ids: Vec<String>,
    /// Release all your leases.
    #[arg(long, conflicts_with_all = ["ids", "force"])]
    pub all: bool,
    /// Break another agent's lease (recorded in the ledger with who and why).
    #[arg(long, requires = "reason")]
    pub force: bool,
    /// Why the lease is broken (required with --force).
    #[arg(long, value_name = "TEXT", requires = "force")]
    pub reason: Option<String>,
}

#[derive(Debug, Args)]
pub struct LeasesArgs {
    /// Only your own leases.
    #[arg(long)]
    pub mine: bool,
}

/// The acting agent, which must be a known agent (joined or declared in the config).
fn acting_agent(ctx: &Ctx) -> Result<String> {
    let me = ctx.me()?;
    let known = agent::known_agents(&ctx.repo, &ctx.config)?;
    agent::require_known(&known, &me)?;
    Ok(me)
}

fn one_line_text(what: &str, text: Option<String>) -> Result<Option<String>> {
    match text {
        Some(t) if t.trim().is_empty() || t.contains('\n') => Err(Error::usage(format!(
            "--{what} must be a non-empty single line"
        ))),
        other => Ok(other),
    }
}

pub fn lease(ctx: &Ctx, args: LeaseArgs) -> Result<()> {
    let request = Request {
        resources: args.resources,
        exclusive: !args.shared,
        ttl_secs: lease::parse_ttl(&args.ttl)?,
        reason: one_line_text("reason", args.reason)?,
        task: one_line_text("task", args.task)?,
    };
    let wanted = request.validate()?;
    let me = acting_agent(ctx)?;
    // Resolved before the grant is written: a bad remote must leave the ledger untouched.
    let confirm_remote = if args.sync || sync::lease::enabled(&ctx.repo, &ctx.config) {
        Some(sync::resolve_remote(&ctx.repo, args.remote.as_deref())?)
    } else {
        None
    };
    let granted = match sync::lease::acquire(
        &ctx.repo,
        &me,
        &request,
        confirm_remote.as_ref(),
        |blocking| conflict_error(blocking, &wanted),
    ) {
        Ok(granted) => granted,
        Err(refused) => {
            if ctx.json() && !refused.blocking.is_empty() {
                let now = agent::now_secs();
                let list: Vec<Value> = refused
                    .blocking
                    .iter()
                    .map(|l| lease_json(l, now))
                    .collect();
                // The refusal below is the error that matters; a failed write adds nothing.
                let _ = output::json(&json!({"granted": false, "conflicts": list}));
            }
            return Err(refused.error);
        }
    };
    let granted = &granted;
    let confirmed_on = confirm_remote.as_ref().map(|r| r.name.clone());
    if ctx.json() {
        output::json(&json!({
            "granted": true,
            "lease": lease_json(granted, agent::now_secs()),
            "confirmed_on": confirmed_on,
        }))
    } else {
        print_leases(ctx, "granted", std::slice::from_ref(granted)).and_then(|()| {
            match &confirmed_on {
                Some(remote) if ctx.format == Format::Human => {
                    outln!("confirmed on {remote}: the grant counts on every clone")
                }
                _ => Ok(()),
            }
        })
    }
    .map_err(|e| output::explain(e, &format!("lease {} was granted", granted.id)))
}

/// The refusal: every blocking lease with holder, overlapping resources, reason, expiry.
fn conflict_error(blocking: &[Lease], wanted: &[Resource]) -> Error {
    let mut message = format!(
        "lease refused (nothing granted): {} conflicting lease{}",
        blocking.len(),
        if blocking.len() == 1 { "" } else { "s" }
    );
    for l in blocking {
        let overlapping: Vec<&str> = l
            .parsed_resources()
            .iter()
            .zip(&l.resources)
            .filter(|(r, _)| wanted.iter().any(|w| w.overlaps(r)))
            .map(|(_, text)| text.as_str())
            .collect();
        message.push_str(&format!(
            "\n  {} held by {} ({}) until {}, lease {}{}",
            overlapping.join(" "),
            l.holder,
            mode(l),
            local_time(l.expires),
            l.id,
            l.reason
                .as_ref()
                .map(|r| format!(", reason: {r}"))
                .unwrap_or_default()
        ));
    }
    let holder = &blocking[0].holder;
    let asked: Vec<&str> = wanted.iter().map(Resource::text).collect();
    Error::blocked(message).with_hint(format!(
        "nothing was granted; ask the holder (git comm send {holder} -s \"need {}\"), \
         wait until it expires, or lease something narrower",
        asked.join(" ")
    ))
}

fn mode(l: &Lease) -> &'static str {
    if l.exclusive {
        "exclusive"
    } else {
        "shared"
    }
}

pub fn renew(ctx: &Ctx, args: RenewArgs) -> Result<()> {
    let ttl = args.ttl.as_deref().map(lease::parse_ttl).transpose()?;
    let me = acting_agent(ctx)?;
    sync::pending::sweep(&ctx.repo)?;
    let events = ledger::write(&ctx.repo, &me, |snap| {
        let targets = own_targets(snap, &args.ids, &me)?;
        if targets.is_empty() {
            return Err(Error::usage(format!("{me} holds no live lease to renew"))
                .with_hint("take one with `git comm lease RESOURCE...`"));
        }
        Ok(targets
            .into_iter()
            .map(|l| Event::Renew(lease::renewed(&l, snap.now, ttl)))
            .collect())
    })?;
    print_leases(ctx, "renewed", &leases_of(&events, "renew"))
        .map_err(|e| output::explain(e, "the leases were renewed"))
}

/// The leases `ids` name (all of `me`'s live ones when empty); each must be `me`'s.
fn own_targets(snap: &Snapshot, ids: &[String], me: &str) -> Result<Vec<Lease>> {
    if ids.is_empty() {
        return Ok(snap
            .live
            .iter()
            .filter(|l| l.holder == me)
            .cloned()
            .collect());
    }
    let mut targets: Vec<Lease> = Vec::new();
    for text in ids {
        let target = find_live(snap, text)?;
        if target.holder != me {
            return Err(Error::usage(format!(
                "lease {} is held by {}, not {me}",
                target.id, target.holder
            ))
            .with_hint(format!(
                "to break it: git comm release --force {} --reason TEXT",
                target.id
            )));
        }
        if !targets.iter().any(|t| t.id == target.id) {
            targets.push(target.clone());
        }
    }
    Ok(targets)
}

/// A live lease by id or prefix; an expired one gets its own message.
fn find_live<'a>(snap: &'a Snapshot, text: &str) -> Result<&'a Lease> {
    lease::find(&snap.live, text).map_err(|err| match lease::find(&snap.expired, text) {
        Ok(dead) => Error::usage(format!(
            "lease {} expired at {}",
            dead.id,
            local_time(dead.expires)
        ))
        .with_hint("take a new one with `git comm lease RESOURCE...`"),
        Err(_) => err,
    })
}

pub fn release(ctx: &Ctx, args: ReleaseArgs) -> Result<()> {
    if args.ids.is_empty() && !args.all {
        return Err(Error::usage("which lease? give IDs or --all")
            .with_hint("list yours with `git comm leases --mine`"));
    }
    let reason = one_line_text("reason", args.reason)?;
    let me = acting_agent(ctx)?;
    sync::pending::sweep(&ctx.repo)?;
    let events = ledger::write(&ctx.repo, &me, |snap| {
        if args.force {
            let reason = reason.clone().expect("clap requires --reason with --force");
            let mut events = Vec::new();
            for text in &args.ids {
                let target = find_live(snap, text)?.clone();
                if !events.iter().any(|e: &Event| e.lease().id == target.id) {
                    events.push(Event::Break {
                        lease: target,
                        by: me.clone(),
                        reason: reason.clone(),
                    });
                }
            }
            return Ok(events);
        }
        let ids = if args.all { &[][..] } else { &args.ids[..] };
        let targets = own_targets(snap, ids, &me)?;
        Ok(targets.into_iter().map(Event::Release).collect())
    })?;
    let verb = if args.force { "break" } else { "release" };
    let done = leases_of(&events, verb);
    if done.is_empty() && !ctx.json() {
        return outln!("{me} holds no live lease");
    }
    let verb = if args.force { "broke" } else { "released" };
    print_leases(ctx, verb, &done)
        .map_err(|e| output::explain(e, &format!("the leases were {verb}")))
}

fn leases_of(events: &[Event], verb: &str) -> Vec<Lease> {
    events
        .iter()
        .filter(|e| e.verb() == verb)
        .map(|e| e.lease().clone())
        .collect()
}

pub fn leases(ctx: &Ctx, args: LeasesArgs) -> Result<()> {
    let mut live = lease::live_leases(&ctx.repo)?;
    if args.mine {
        let me = ctx.me()?;
        live.retain(|l| l.holder == me);
    }
    let now = agent::now_secs();
    match ctx.format {
        Format::Json => {
            let list: Vec<Value> = live.iter().map(|l| lease_json(l, now)).collect();
            output::json(&list)?;
        }
        _ if live.is_empty() => outln!("no live leases")?,
        Format::Compact => {
            for l in &live {
                outln!("{}", compact_line(l))?;
            }
        }
        Format::Human => {
            for l in &live {
                outln!("{}", human_line(l, now))?;
            }
        }
    }
    Ok(())
}

/// The stored lease plus `expires_local` and `live`, for JSON output.
pub fn lease_json(l: &Lease, now: i64) -> Value {
    let mut value = serde_json::to_value(l).expect("lease serializes");
    value["expires_local"] = json!(local_time(l.expires));
    value["live"] = json!(l.is_live(now));
    value
}

/// `1a2b3c4d5e6f alice x 2026-11-21 14:33 src/** task:7`
fn compact_line(l: &Lease) -> String {
    let flag = if l.exclusive { "x" } else { "s" };
    format!(
        "{} {} {flag} {} {}",
        l.id,
        l.holder,
        local_time(l.expires),
        l.resources.join(" ")
    )
}

/// `1a2b3c4d5e6f  alice  exclusive  until 2026-11-21 14:33 (29m left)  src/**  reason: ..`
pub fn human_line(l: &Lease, now: i64) -> String {
    let mut line = format!(
        "{}  {}  {}  until {} ({} left)  {}",
        l.id,
        l.holder,
        mode(l),
        local_time(l.expires),
        remaining(l.expires - now),
        l.resources.join(" ")
    );
    if let Some(reason) = &l.reason {
        line.push_str(&format!("  reason: {reason}"));
    }
    if let Some(task) = &l.task {
        line.push_str(&format!("  task {task}"));
    }
    line
}

fn remaining(secs: i64) -> String {
    let secs = secs.max(0);
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m", secs / 60),
        3600..=86_399 => format!("{}h{:02}m", secs / 3600, secs % 3600 / 60),
        _ => format!("{}d", secs / 86_400),
    }
}

fn print_leases(ctx: &Ctx, verb: &str, leases: &[Lease]) -> Result<()> {
    let now = agent::now_secs();
    match ctx.format {
        Format::Json => {
            let list: Vec<Value> = leases.iter().map(|l| lease_json(l, now)).collect();
            output::json(&json!({ verb: list }))?;
        }
        Format::Compact => {
            for l in leases {
                outln!("{}", l.id)?;
            }
        }
        Format::Human => {
            for l in leases {
                outln!(
                    "{verb} {} {} {} until {}  {}",
                    l.id,
                    l.holder,
                    mode(l),
                    local_time(l.expires),
                    l.resources.join(" ")
                )?;
            }
        }
    }
    Ok(())
}
