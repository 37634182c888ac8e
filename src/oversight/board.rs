//! The state of the swarm at one moment, for `watch`: agents with what they do and owe,
//! tasks by state, live leases, the latest events and any halt in force.

use crate::config::Config;
use crate::error::Result;
use crate::halt::Halt;
use crate::lease::Lease;
use crate::mail::{self, mailbox, Reader};
use crate::oversight::standing::Standing;
use crate::repo::Repo;
use crate::task::Task;

use super::events::{self, Event};

/// One agent's row.
#[derive(Debug, Clone)]
pub struct AgentRow {
    pub standing: Standing,
    pub unread: mail::Unread,
    pub leases: usize,
}

#[derive(Debug, Clone)]
pub struct Board {
    pub now: i64,
    pub halt: Option<Halt>,
    pub agents: Vec<AgentRow>,
    pub tasks: Vec<Task>,
    pub leases: Vec<Lease>,
    /// Newest first.
    pub events: Vec<Event>,
}

/// Task states in board order.
pub const TASK_COLUMNS: [&str; 6] = crate::task::STATES;

/// Read the board; `events` is how many of the latest events to keep.
pub fn read(repo: &Repo, config: &Config, events: usize) -> Result<Board> {
    let leases = crate::lease::ledger::live_leases(repo)?;
    let standings = crate::oversight::standing::standings(repo, config)?;
    let readers: Vec<Reader> = standings
        .iter()
        .filter(|s| s.card.retired.is_none())
        .map(|s| Reader {
            name: s.card.name.clone(),
            domain: s.card.domain.clone(),
        })
        .collect();
    let unread = mail::unread_counts(repo, &readers)?;
    let agents: Vec<AgentRow> = standings
        .into_iter()
        .map(|standing| {
            let name = &standing.card.name;
            AgentRow {
                unread: readers
                    .iter()
                    .position(|r| &r.name == name)
                    .map_or(mail::Unread::default(), |i| unread[i]),
                leases: leases.iter().filter(|l| &l.holder == name).count(),
                standing,
            }
        })
        .collect();
    let names: Vec<String> = agents
        .iter()
        .map(|a| a.standing.card.name.clone())
        .collect();
    let messages = mailbox::latest(repo, events)?;
    let mut latest = events::collect(repo, &messages, &names, events)?;
    latest.truncate(events);
    Ok(Board {
        now: crate::clock::now_secs(),
        halt: crate::halt::in_force(repo)?,
        agents,
        tasks: crate::task::ledger::all(repo)?,
        leases,
        events: latest,
    })
}

impl Board {
    /// Tasks in one state, newest change first.
    pub fn tasks_in(&self, state: &str) -> Vec<&Task> {
        let mut tasks: Vec<&Task> = self.tasks.iter().filter(|t| t.state == state).collect();
        tasks.sort_by_key(|t| std::cmp::Reverse(t.updated));
        tasks
    }
}
