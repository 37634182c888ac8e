//! `retire`: take an agent out of the swarm without erasing it. Its leases are broken, the
//! tasks it holds go back to open, its card says retired (why, when, by whom) and everyone
//! is told. History stays: mail, ledger commits and the card chain keep every trace.
//!
//! Each step is its own atomic write, so a retirement cut short (a killed process) is
//! finished by running it again: the steps that already happened find nothing left to do.

use serde::Serialize;

use crate::agent::{self, Card, Retired};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::lease::ledger::{self as leases, Event};
use crate::mail::{mailbox, Draft, Priority};
use crate::repo::Repo;
use crate::task::ledger::{self as tasks, Change};

/// What a retirement did.
#[derive(Debug, Clone, Serialize)]
pub struct Retirement {
    pub agent: String,
    pub reason: String,
    pub by: String,
    /// Ids of the leases it broke.
    pub leases: Vec<String>,
    /// Ids of the tasks it put back to open.
    pub tasks: Vec<String>,
    /// False when the agent was already retired and nothing was left to undo.
    pub changed: bool,
}

/// Retire `name` on behalf of `by` (an agent or the operator).
pub fn retire(
    repo: &Repo,
    config: &Config,
    by: &str,
    name: &str,
    reason: &str,
) -> Result<Retirement> {
    let known = agent::known_agents(repo, config)?;
    agent::require_known(&known, name)?;
    let reason = one_line(reason);
    if reason.is_empty() {
        return Err(Error::usage("--reason is empty").with_hint("say why the agent is retired"));
    }
    let leases = break_leases(repo, by, name, &reason)?;
    let tasks = unclaim_tasks(repo, by, name)?;
    let card = agent::read_card(repo, name)?;
    let already = card.as_ref().is_some_and(|c| c.retired.is_some());
    let changed = !already || !leases.is_empty() || !tasks.is_empty();
    if !already {
        mark_retired(repo, card, name, by, &reason)?;
    }
    if changed {
        announce(repo, by, name, &reason, &leases, &tasks)?;
    }
    Ok(Retirement {
        agent: name.to_string(),
        reason,
        by: by.to_string(),
        leases,
        tasks,
        changed,
    })
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn break_leases(repo: &Repo, by: &str, name: &str, reason: &str) -> Result<Vec<String>> {
    let events = leases::write(repo, by, |snap| {
        Ok(snap
            .live
            .iter()
            .filter(|l| l.holder == name)
            .map(|l| Event::Break {
                lease: l.clone(),
                by: by.to_string(),
                reason: format!("{name} retired: {reason}"),
            })
            .collect())
    })?;
    Ok(events.iter().map(|e| e.lease().id.clone()).collect())
}

/// Tasks the agent holds (claimed, in progress or blocked) go back to open, unassigned.
fn unclaim_tasks(repo: &Repo, by: &str, name: &str) -> Result<Vec<String>> {
    let now = crate::clock::now_secs();
    let changes = tasks::write(repo, by, |all| {
        Ok(all
            .iter()
            .filter(|t| {
                t.assignee.as_deref() == Some(name) && !t.is_terminal() && t.state != "open"
            })
            .map(|t| {
                let mut task = t.clone();
                task.state = "open".to_string();
                task.assignee = None;
                task.claim = None;
                task.updated = now;
                Change {
                    subject: format!("unclaim {} ({name} retired)", t.id),
                    task,
                }
            })
            .collect())
    })?;
    Ok(changes.into_iter().map(|c| c.task.id).collect())
}

fn mark_retired(repo: &Repo, card: Option<Card>, name: &str, by: &str, reason: &str) -> Result<()> {
    let now = crate::clock::now_secs();
    let card = Card {
        retired: Some(Retired {
            at: now,
            by: by.to_string(),
            reason: reason.to_string(),
        }),
        ..card.unwrap_or(Card {
            name: name.to_string(),
            joined: now,
            ..Card::default()
        })
    };
    agent::write_card(repo, &card, &format!("retire {name}: {reason}"))
}

fn announce(
    repo: &Repo,
    by: &str,
    name: &str,
    reason: &str,
    leases: &[String],
    tasks: &[String],
) -> Result<()> {
    let mut body = String::new();
    if !leases.is_empty() {
        body.push_str(&format!("leases broken: {}\n", leases.join(" ")));
    }
    if !tasks.is_empty() {
        body.push_str(&format!("tasks reopened: {}\n", tasks.join(" ")));
    }
    let draft = Draft {
        subject: format!("retired {name}: {reason}"),
        body,
        to: vec![agent::EVERYONE.to_string()],
        kind: "retire".to_string(),
        priority: Priority::High,
        ..Draft::default()
    };
    mailbox::append(repo, by, &draft)?;
    Ok(())
}
