//! Who is around: every agent's card and declared state, and the leases and claims of
//! agents that went stale.

use crate::error::Result;
use crate::presence::Presence;
use crate::repo::Repo;

/// The presence without its task once that task is over for the agent: done or failed, or
/// released or handed to someone else after the state was declared. A state names what
/// the agent does now; a finished task must not linger in it (whoever finished it).
fn without_finished_task(mut p: Presence, tasks: &[crate::task::Task]) -> Presence {
    let over = p.task.as_deref().is_some_and(|id| {
        tasks.iter().find(|t| t.id == id).is_some_and(|t| {
            let moved_on = t.updated > p.since.unwrap_or(i64::MAX)
                && t.assignee.as_deref() != Some(p.name.as_str());
            t.is_terminal() || moved_on
        })
    });
    if over {
        p.task = None;
    }
    p
}

/// One agent as the others see it: card, declared state, and whether it went stale.
#[derive(Debug, Clone)]
pub struct Standing {
    pub card: crate::agent::Card,
    pub presence: Option<Presence>,
    /// Unseen for longer than `presence.stale`.
    pub stale: bool,
    /// Live leases of a stale agent: work nobody may be doing.
    pub leases_at_risk: Vec<String>,
    /// Tasks a stale agent holds the claim of.
    pub tasks_at_risk: Vec<String>,
}

/// Every agent with its presence; stale ones with their leases at risk.
pub fn standings(repo: &Repo, config: &crate::config::Config) -> Result<Vec<Standing>> {
    let now = crate::clock::now_secs();
    let stale_after = config.stale_secs();
    let leases = crate::lease::ledger::live_leases(repo)?;
    let tasks = crate::task::ledger::all(repo)?;
    Ok(crate::agent::roster(repo, config)?
        .into_iter()
        .map(|card| {
            let presence =
                crate::presence::read(repo, &card.name).map(|p| without_finished_task(p, &tasks));
            let stale =
                card.retired.is_none() && card.last_seen > 0 && now - card.last_seen > stale_after;
            let held: Vec<_> = leases
                .iter()
                .filter(|l| stale && l.holder == card.name)
                .collect();
            let tasks_at_risk = held
                .iter()
                .flat_map(|l| l.resources.iter())
                .filter_map(|r| r.strip_prefix("task:").map(str::to_string))
                .collect();
            Standing {
                leases_at_risk: held.iter().map(|l| l.id.clone()).collect(),
                tasks_at_risk,
                card,
                presence,
                stale,
            }
        })
        .collect())
}
