//! `stats`: what communication costs, per agent. Tokens are estimates (a quarter of the
//! bytes of subject and body, [`Message::tokens`]): sent counts what an agent wrote, read
//! counts the mail `inbox`, `show` and `thread` showed it, other counts everything else its
//! commands printed (help, prime, task lists, status...; kept per UTC day in its presence).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::agent::Card;
use crate::config::Config;
use crate::error::Result;
use crate::lease::Lease;
use crate::mail::{mailbox, Message, Reader};
use crate::repo::Repo;
use crate::task::Task;

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct AgentStats {
    pub name: String,
    pub messages_sent: u64,
    pub messages_received: u64,
    pub tokens_sent: u64,
    /// Mail shown to the agent.
    pub tokens_read: u64,
    /// Every other output the agent's commands printed.
    pub tokens_other: u64,
    /// Leases granted to the agent.
    pub leases: u64,
    /// How long those leases were held, in seconds (until released, expired or broken;
    /// until now for live ones).
    pub lease_seconds: i64,
    /// Commits that bypassed the checks (`violation` messages it caused).
    pub violations: u64,
    pub tasks_done: u64,
}

/// What `stats` counts: events at or after `since` (unix seconds), one agent or all.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub since: Option<i64>,
    pub agent: Option<String>,
}

/// Statistics of every agent (or the one asked for), sorted by name.
pub fn stats(repo: &Repo, config: &Config, query: &Query) -> Result<Vec<AgentStats>> {
    let roster = crate::agent::roster(repo, config)?;
    if let Some(name) = &query.agent {
        let known: Vec<String> = roster.iter().map(|c| c.name.clone()).collect();
        crate::agent::require_known(&known, name)?;
    }
    let messages = match query.since {
        Some(t) => mailbox::since(repo, t)?,
        None => mailbox::all(repo)?,
    };
    let spans = lease_spans(repo)?;
    let tasks = crate::task::ledger::all(repo)?;
    let inputs = Inputs {
        messages: &messages,
        spans: &spans,
        tasks: &tasks,
        since: query.since.unwrap_or(i64::MIN),
    };
    Ok(roster
        .iter()
        .filter(|c| query.agent.as_ref().is_none_or(|a| a == &c.name))
        .map(|card| inputs.of(card, burn(repo, &card.name, query.since)))
        .collect())
}

/// The history `stats` reads, loaded once for all agents.
pub struct Inputs<'a> {
    pub messages: &'a [Message],
    pub spans: &'a [LeaseSpan],
    pub tasks: &'a [Task],
    pub since: i64,
}

impl Inputs<'_> {
    /// The statistics of one agent, given what it read: (mail, other output) tokens.
    pub fn of(&self, card: &Card, (tokens_read, tokens_other): (u64, u64)) -> AgentStats {
        let reader = Reader {
            name: card.name.clone(),
            domain: card.domain.clone(),
        };
        let mut s = AgentStats {
            name: card.name.clone(),
            tokens_read,
            tokens_other,
            ..AgentStats::default()
        };
        for m in self.messages.iter().filter(|m| m.time >= self.since) {
            if m.from == card.name {
                s.messages_sent += 1;
                s.tokens_sent += m.tokens();
                s.violations += u64::from(m.kind == "violation");
            } else if reader.is_recipient(m) {
                s.messages_received += 1;
            }
        }
        for span in self
            .spans
            .iter()
            .filter(|l| l.holder == card.name && l.start >= self.since)
        {
            s.leases += 1;
            s.lease_seconds += span.end - span.start;
        }
        s.tasks_done = self
            .tasks
            .iter()
            .filter(|t| t.state == "done" && t.assignee.as_deref() == Some(&card.name))
            .filter(|t| t.updated >= self.since)
            .count() as u64;
        s
    }
}

/// Tokens shown to `name` as (mail, other output), from its presence counters (whole UTC
/// days from the day of `since`).
pub fn burn(repo: &Repo, name: &str, since: Option<i64>) -> (u64, u64) {
    let Some(p) = crate::presence::read(repo, name) else {
        return (0, 0);
    };
    let first_day = since.map(crate::presence::day_of).unwrap_or_default();
    let from = |days: &BTreeMap<String, u64>| -> u64 {
        days.iter()
            .filter(|(day, _)| **day >= first_day)
            .map(|(_, tokens)| tokens)
            .sum()
    };
    (from(&p.read), from(&p.output))
}

/// One lease from grant to end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseSpan {
    pub id: String,
    pub holder: String,
    pub start: i64,
    /// When it was released, expired or broken; now (capped at its expiry) while live.
    pub end: i64,
}

/// Every lease the ledger's history granted, with how long it was held.
pub fn lease_spans(repo: &Repo) -> Result<Vec<LeaseSpan>> {
    let tip = repo.read_ref(&crate::lease::ledger::ledger_ref(repo))?;
    let mut log = repo.log(&tip.into_iter().collect::<Vec<_>>(), None, usize::MAX)?;
    log.reverse();
    let live = crate::lease::ledger::live_leases(repo)?;
    let now = crate::clock::now_secs();
    let mut open: BTreeMap<String, LeaseSpan> = BTreeMap::new();
    let mut done = Vec::new();
    for entry in log.iter().filter(|e| !e.merge) {
        let mut words = entry.subject.split_whitespace();
        let (Some(verb), Some(id)) = (words.next(), words.next()) else {
            continue;
        };
        match verb {
            "grant" => {
                let holder = words.next().unwrap_or("").trim_end_matches(':');
                open.entry(id.to_string()).or_insert(LeaseSpan {
                    id: id.to_string(),
                    holder: holder.to_string(),
                    start: entry.time,
                    end: entry.time,
                });
            }
            "renew" => {}
            _ => {
                if let Some(mut span) = open.remove(id) {
                    span.end = entry.time.max(span.start);
                    done.push(span);
                }
            }
        }
    }
    done.extend(open.into_values().map(|mut span| {
        let expiry = live
            .iter()
            .find(|l| l.id == span.id)
            .map(|l: &Lease| l.expires);
        span.end = now.min(expiry.unwrap_or(now)).max(span.start);
        span
    }));
    done.sort_by(|a, b| a.start.cmp(&b.start).then(a.id.cmp(&b.id)));
    Ok(done)
}

/// Estimated tokens `name` sent and read (mail and every other output) since the start of
/// today (UTC).
pub fn used_today(repo: &Repo, name: &str) -> Result<u64> {
    let now = crate::clock::now_secs();
    let day_start = now - now.rem_euclid(86_400);
    let sent: u64 = mailbox::since(repo, day_start)?
        .iter()
        .filter(|m| m.from == name)
        .map(Message::tokens)
        .sum();
    let (mail, other) = burn(repo, name, Some(day_start));
    Ok(sent + mail + other)
}

/// Once per UTC day, the line telling `name` it passed its token budget (config
/// `agents: {NAME: {budget: N}}`); `None` when under budget or already told today.
pub fn budget_notice(repo: &Repo, config: &Config, name: &str) -> Result<Option<String>> {
    let Some(budget) = config.budget_of(name) else {
        return Ok(None);
    };
    let today = crate::presence::day_of(crate::clock::now_secs());
    let told = crate::presence::read(repo, name).and_then(|p| p.budget_told);
    if told.as_deref() == Some(today.as_str()) {
        return Ok(None);
    }
    let used = used_today(repo, name)?;
    if used <= budget {
        return Ok(None);
    }
    crate::presence::update(repo, name, |p, _| p.budget_told = Some(today.clone()))?;
    Ok(Some(format!(
        "budget: {name} used ~{used} of {budget} tokens today (UTC): keep messages short, read with --format compact"
    )))
}
