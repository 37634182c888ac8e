//! The swarm's history as one stream of events, read from what git already stores: mail
//! (messages, acks, publishes, violations, halts, retirements), the lease ledger (grants,
//! renewals, releases, expiries, breaks), the task ledger (every transition) and commits on
//! local branches whose author is an agent.

use serde::Serialize;

use crate::error::Result;
use crate::mail::Message;
use crate::repo::Repo;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Event {
    /// Unix seconds.
    pub time: i64,
    /// The agent the event belongs to (the holder of a lease, the sender of mail).
    pub agent: String,
    /// message, ack, publish, violation, halt, retire, grant, renew, release, expire,
    /// break, withdraw, drop, task or commit.
    pub kind: String,
    pub text: String,
}

/// The event of one message: its type decides the kind.
pub fn of_message(m: &Message) -> Event {
    let kind = match m.kind.as_str() {
        "artifact" => "publish",
        "violation" | "halt" | "retire" | "ack" => m.kind.as_str(),
        _ => "message",
    };
    let text = match kind {
        "message" => format!("to {}: {}", m.to.join(","), m.subject),
        _ => m.subject.clone(),
    };
    Event {
        time: m.time,
        agent: m.from.clone(),
        kind: kind.to_string(),
        text,
    }
}

/// Lease ledger events, newest first, at most `limit` commits read. A ledger subject is
/// `VERB ID HOLDER: RESOURCES` (or `break ID by AGENT: REASON`, which belongs to the breaker).
pub fn lease_events(repo: &Repo, limit: usize) -> Result<Vec<Event>> {
    let tip = repo.read_ref(&crate::lease::ledger::ledger_ref(repo))?;
    Ok(repo
        .log(&tip.into_iter().collect::<Vec<_>>(), None, limit)?
        .into_iter()
        .filter(|c| !c.merge)
        .map(|c| {
            let mut words = c.subject.split_whitespace();
            let verb = words.next().unwrap_or("").to_string();
            let _id = words.next();
            let holder = match words.next() {
                Some(h) if verb != "break" => h.trim_end_matches(':').to_string(),
                _ => c.author.clone(),
            };
            Event {
                time: c.time,
                agent: holder,
                kind: verb,
                text: c.subject,
            }
        })
        .collect())
}

/// Task ledger transitions (add, claim, start, block, done, fail, ...), newest first.
pub fn task_events(repo: &Repo, limit: usize) -> Result<Vec<Event>> {
    let tip = repo.read_ref(&crate::task::ledger::tasks_ref(repo))?;
    Ok(repo
        .log(&tip.into_iter().collect::<Vec<_>>(), None, limit)?
        .into_iter()
        .filter(|c| !c.merge)
        .map(|c| Event {
            time: c.time,
            agent: c.author,
            kind: "task".to_string(),
            text: c.subject,
        })
        .collect())
}

/// Commits on local branches (`refs/heads/*`) authored by one of `agents`, newest first.
pub fn commit_events(repo: &Repo, agents: &[String], limit: usize) -> Result<Vec<Event>> {
    let tips: Vec<_> = repo
        .list_refs("refs/heads/")?
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    Ok(repo
        .log(&tips, None, limit)?
        .into_iter()
        .filter(|c| !c.merge && agents.contains(&c.author))
        .map(|c| Event {
            time: c.time,
            agent: c.author,
            kind: "commit".to_string(),
            text: format!("{} {}", crate::display::short(&c.id), c.subject),
        })
        .collect())
}

/// Every kind of event, newest first: all of `messages`, and up to `limit` commits of
/// each ledger and of the branches.
pub fn collect(
    repo: &Repo,
    messages: &[Message],
    agents: &[String],
    limit: usize,
) -> Result<Vec<Event>> {
    let mut events: Vec<Event> = messages.iter().map(of_message).collect();
    events.extend(lease_events(repo, limit)?);
    events.extend(task_events(repo, limit)?);
    events.extend(commit_events(repo, agents, limit)?);
    events.sort_by_key(|e| std::cmp::Reverse(e.time));
    Ok(events)
}
