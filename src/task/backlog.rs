//! Where an agent's tasks stand when none is ready: how many are done, which wait and on
//! what, which are held. `next` says this instead of a bare "no ready task", and exits 1
//! only when something blocks (a task waits), 0 when there is simply nothing left to do.

use serde::Serialize;

use crate::error::Result;
use crate::lease::Lease;
use crate::repo::Repo;

use super::{ledger, waits_for, Task};

/// The tasks of one agent (its domain's, its own, and those of no domain) by standing.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Backlog {
    pub agent: String,
    pub domain: Option<String>,
    /// Done or failed.
    pub done: usize,
    /// Ids of tasks the agent holds the claim of.
    pub mine: Vec<String>,
    /// Ids of tasks another agent holds the claim of.
    pub others: Vec<String>,
    /// Tasks that cannot be claimed yet, with why.
    pub waiting: Vec<Waiting>,
}

/// A task that waits, and on what.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Waiting {
    pub id: String,
    pub title: String,
    pub waits_for: Vec<String>,
}

impl Backlog {
    /// Something must happen before the agent can go on: a task waits.
    pub fn blocked(&self) -> bool {
        !self.waiting.is_empty()
    }

    /// What the waiting tasks wait on, each once: task ids, artifact keys, `a block`.
    pub fn blockers(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for reason in self.waiting.iter().flat_map(|w| &w.waits_for) {
            let blocker = reason
                .strip_prefix("after ")
                .or_else(|| reason.strip_prefix("needs "))
                .and_then(|rest| rest.split_whitespace().next())
                .map(str::to_string)
                .unwrap_or_else(|| reason.trim_start_matches("it is ").to_string());
            if !out.contains(&blocker) {
                out.push(blocker);
            }
        }
        out
    }

    /// `nothing ready for backend: 2 tasks wait on t-1a2b3c4d, api/schema; 1 yours
    /// (t-...); 3 done`.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if self.blocked() {
            let verb = if self.waiting.len() == 1 {
                "waits"
            } else {
                "wait"
            };
            parts.push(format!(
                "{} {verb} on {}",
                count(self.waiting.len(), "task"),
                self.blockers().join(", ")
            ));
        }
        if !self.mine.is_empty() {
            parts.push(format!(
                "{} yours ({})",
                self.mine.len(),
                self.mine.join(" ")
            ));
        }
        if !self.others.is_empty() {
            parts.push(format!("{} claimed by others", self.others.len()));
        }
        if self.done > 0 {
            parts.push(format!("{} done", self.done));
        }
        if parts.is_empty() {
            parts.push("no tasks".to_string());
        } else if !self.blocked() && self.mine.is_empty() && self.others.is_empty() {
            parts.push("nothing left".to_string());
        }
        format!("nothing ready for {}: {}", self.agent, parts.join("; "))
    }
}

fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Is `task` one of `agent`'s: of its domain (every task when it has none), of no domain,
/// or assigned to it.
fn concerns(task: &Task, agent: &str, domain: Option<&str>) -> bool {
    domain.is_none()
        || task.domain.is_none()
        || task.domain.as_deref() == domain
        || task.assignee.as_deref() == Some(agent)
}

/// Where `agent`'s tasks stand.
pub fn backlog(repo: &Repo, agent: &str, domain: Option<&str>) -> Result<Backlog> {
    let tasks = ledger::all(repo)?;
    let live = crate::lease::live_leases(repo)?;
    let published = super::work::published(repo);
    let mut backlog = Backlog {
        agent: agent.to_string(),
        domain: domain.map(str::to_string),
        ..Backlog::default()
    };
    for task in tasks.iter().filter(|t| concerns(t, agent, domain)) {
        if task.is_terminal() {
            backlog.done += 1;
            continue;
        }
        match holder(task, &live) {
            Some(h) if h == agent => backlog.mine.push(task.id.clone()),
            Some(_) => backlog.others.push(task.id.clone()),
            None => {
                let reasons = waits_for(task, &tasks, &live, &published);
                if !reasons.is_empty() {
                    backlog.waiting.push(Waiting {
                        id: task.id.clone(),
                        title: task.title.clone(),
                        waits_for: reasons,
                    });
                }
            }
        }
    }
    Ok(backlog)
}

/// Who holds the live claim of `task`, if anyone.
fn holder<'a>(task: &Task, live: &'a [Lease]) -> Option<&'a str> {
    let key = super::claim_key(&task.id);
    live.iter()
        .find(|l| l.resources.contains(&key))
        .map(|l| l.holder.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiting(id: &str, reasons: &[&str]) -> Waiting {
        Waiting {
            id: id.into(),
            title: "t".into(),
            waits_for: reasons.iter().map(|r| r.to_string()).collect(),
        }
    }

    #[test]
    fn summary_names_blockers_once_and_says_when_nothing_is_left() {
        let b = Backlog {
            agent: "backend".into(),
            done: 3,
            waiting: vec![
                waiting("t-1", &["after t-0000000a (schema, open)"]),
                waiting(
                    "t-2",
                    &[
                        "after t-0000000a (schema, open)",
                        "needs api/x (not published)",
                    ],
                ),
            ],
            ..Backlog::default()
        };
        assert_eq!(
            b.summary(),
            "nothing ready for backend: 2 tasks wait on t-0000000a, api/x; 3 done"
        );
        let done = Backlog {
            agent: "backend".into(),
            done: 2,
            ..Backlog::default()
        };
        assert!(!done.blocked());
        assert_eq!(
            done.summary(),
            "nothing ready for backend: 2 done; nothing left"
        );
    }
}
