//! Presence: when each agent was last seen, without a commit per call.
//!
//! `refs/comm-node/presence/<agent>` points straight at a small JSON blob
//! (`{"name": ..., "last_seen": ...}`), replaced on each refresh. A blob has no history, so
//! `git log --all` never shows presence, and the ref keeps no reflog. Sync carries it (the
//! newer `last_seen` wins). Every command acting as a joined agent refreshes it, at most
//! once per [`REFRESH_SECS`], and counts what the command printed (estimated tokens of mail
//! and of every other output, per UTC day: an agent's real reading cost). Under a branch namespace (`refs/heads/...`), where git keeps
//! only commits, presence is not recorded and `last seen` falls back to the agent card.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::repo::{ObjectId, Repo};

/// A refresh within this many seconds of the last one is skipped.
pub const REFRESH_SECS: i64 = 5;
/// Largest presence blob the gate accepts.
pub const MAX_BYTES: u64 = 4096;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Presence {
    pub name: String,
    /// Unix seconds.
    pub last_seen: i64,
    /// What the agent says it is doing: busy, idle, blocked or done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// When the state was set (unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<i64>,
    /// Estimated tokens of mail shown to the agent (inbox, show, thread) per UTC day
    /// (`YYYY-MM-DD`), the last [`READ_DAYS`] days.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub read: BTreeMap<String, u64>,
    /// Estimated tokens of every other output the agent's commands printed (help, prime,
    /// task lists, status, notices on stderr...) per UTC day, the last
    /// [`READ_DAYS`] days. `read` plus `output` is what the agent read of git comm.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub output: BTreeMap<String, u64>,
    /// The UTC day the agent was last told it passed its token budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_told: Option<String>,
}

/// How many days of read counters a presence keeps.
pub const READ_DAYS: usize = 31;

/// The states an agent may declare.
pub const STATES: [&str; 4] = ["busy", "idle", "blocked", "done"];
/// Longest note or task text.
const MAX_TEXT: usize = 500;

impl Presence {
    /// What makes a stored presence invalid for `agent`, if anything.
    pub fn problem(&self, agent: &str) -> Option<String> {
        if self.name != agent {
            return Some(format!(
                "presence of '{}' stored as that of '{agent}'",
                self.name
            ));
        }
        if let Some(state) = &self.state {
            if !STATES.contains(&state.as_str()) {
                return Some(format!("unknown state '{state}'"));
            }
        }
        let long = |t: &Option<String>| {
            t.as_ref()
                .is_some_and(|t| t.len() > MAX_TEXT || t.contains('\n'))
        };
        let day = |d: &str| d.len() == 10 && d.bytes().all(|b| b.is_ascii_digit() || b == b'-');
        let bad_days = |m: &BTreeMap<String, u64>| m.len() > READ_DAYS || !m.keys().all(|d| day(d));
        if bad_days(&self.read) || bad_days(&self.output) {
            return Some(format!(
                "read counters: at most {READ_DAYS} days keyed YYYY-MM-DD"
            ));
        }
        (long(&self.note) || long(&self.task))
            .then(|| format!("task or note longer than {MAX_TEXT} bytes or multi-line"))
    }
}

pub fn presence_ref(repo: &Repo, name: &str) -> String {
    repo.ns_ref(&format!("presence/{name}"))
}

fn supported(repo: &Repo) -> bool {
    !repo.namespace().starts_with("refs/heads/")
}

/// Decode a presence blob.
pub fn decode(bytes: &[u8]) -> Option<Presence> {
    serde_json::from_slice(bytes).ok()
}

/// The presence stored at blob `id`.
pub fn at(repo: &Repo, id: ObjectId) -> Option<Presence> {
    let blob = repo.gix().find_blob(id).ok()?;
    decode(&blob.data)
}

/// The presence of `name`, if recorded.
pub fn read(repo: &Repo, name: &str) -> Option<Presence> {
    let id = repo.read_ref(&presence_ref(repo, name)).ok()??;
    at(repo, id)
}

/// When `name` was last seen by its presence ref, if recorded.
pub fn last_seen(repo: &Repo, name: &str) -> Option<i64> {
    read(repo, name).map(|p| p.last_seen)
}

/// Set what `name` is doing (`state` one of [`STATES`]); also marks it seen now.
pub fn set_state(
    repo: &Repo,
    name: &str,
    state: &str,
    task: Option<String>,
    note: Option<String>,
) -> Result<Presence> {
    if !STATES.contains(&state) {
        return Err(
            crate::error::Error::usage(format!("unknown state '{state}'"))
                .with_hint("use busy, idle, blocked or done"),
        );
    }
    if !supported(repo) {
        return Err(crate::error::Error::config(
            "agent state needs a namespace outside refs/heads/ (git keeps only commits there)",
        ));
    }
    update(repo, name, |p, now| {
        p.state = Some(state.to_string());
        p.task = task.clone();
        p.note = note.clone();
        p.since = Some(now);
    })
}

/// Read-modify-write the presence of `name` (marking it seen now), with compare-and-swap.
pub fn update(
    repo: &Repo,
    name: &str,
    mut change: impl FnMut(&mut Presence, i64),
) -> Result<Presence> {
    let name_ref = presence_ref(repo, name);
    loop {
        let current = repo.read_ref(&name_ref)?;
        let now = crate::clock::now_secs();
        let mut presence = current.and_then(|id| at(repo, id)).unwrap_or_default();
        presence.name = name.to_string();
        presence.last_seen = now;
        change(&mut presence, now);
        if let Some(why) = presence.problem(name) {
            return Err(crate::error::Error::usage(why));
        }
        let blob = repo.write_blob(&serde_json::to_vec(&presence).expect("presence serializes"))?;
        if repo.swap_ref(&name_ref, current, blob)? == crate::repo::Swap::Done {
            return Ok(presence);
        }
    }
}

/// The UTC day of unix time `secs`, `YYYY-MM-DD`.
pub fn day_of(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_else(|_| "1970-01-01".to_string())
}

/// Tokens of mail this process counted with [`add_read`]: the part of its output that is
/// already counted as mail.
static MAIL_COUNTED: AtomicU64 = AtomicU64::new(0);

/// Count `tokens` of mail shown to `name` today. Without presence support (a branch
/// namespace) nothing is counted.
pub fn add_read(repo: &Repo, name: &str, tokens: u64) -> Result<()> {
    if !supported(repo) || tokens == 0 {
        return Ok(());
    }
    update(repo, name, |p, now| add_to_day(&mut p.read, now, tokens))?;
    MAIL_COUNTED.fetch_add(tokens, Ordering::Relaxed);
    Ok(())
}

/// Tokens of mail counted by this process so far.
pub fn mail_counted() -> u64 {
    MAIL_COUNTED.load(Ordering::Relaxed)
}

/// Mark `name` seen and count `tokens` of (non-mail) output its command printed today:
/// one blob write, no commit. Without presence support nothing is recorded.
pub fn add_output(repo: &Repo, name: &str, tokens: u64) -> Result<()> {
    if !supported(repo) {
        return Ok(());
    }
    if tokens == 0 {
        return touch(repo, name);
    }
    update(repo, name, |p, now| add_to_day(&mut p.output, now, tokens))?;
    Ok(())
}

/// Add `tokens` to today's counter in `days`, keeping the last [`READ_DAYS`] days.
fn add_to_day(days: &mut BTreeMap<String, u64>, now: i64, tokens: u64) {
    *days.entry(day_of(now)).or_default() += tokens;
    while days.len() > READ_DAYS {
        let oldest = days.keys().next().cloned().expect("not empty");
        days.remove(&oldest);
    }
}

/// Record that `name` is active now (skipped when refreshed within [`REFRESH_SECS`]).
/// Losing a race to another refresh is fine: that one is as recent.
pub fn touch(repo: &Repo, name: &str) -> Result<()> {
    if !supported(repo) {
        return Ok(());
    }
    let name_ref = presence_ref(repo, name);
    let current = repo.read_ref(&name_ref)?;
    let now = crate::clock::now_secs();
    let previous = current.and_then(|id| at(repo, id));
    if let Some(p) = &previous {
        if (0..REFRESH_SECS).contains(&(now - p.last_seen)) {
            return Ok(());
        }
    }
    let presence = Presence {
        name: name.to_string(),
        last_seen: now,
        ..previous.unwrap_or_default()
    };
    let blob = repo.write_blob(&serde_json::to_vec(&presence).expect("presence serializes"))?;
    repo.swap_ref(&name_ref, current, blob)?;
    Ok(())
}

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
            let presence = read(repo, &card.name).map(|p| without_finished_task(p, &tasks));
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
