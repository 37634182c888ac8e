//! Presence: when each agent was last seen, without a commit per call.
//!
//! `refs/comm-node/presence/<agent>` points straight at a small JSON blob
//! (`{"name": ..., "last_seen": ...}`), replaced on each refresh. A blob has no history, so
//! `git log --all` never shows presence, and the ref keeps no reflog. Sync carries it (the
//! newer `last_seen` wins). Every command acting as a joined agent refreshes it, at most
//! once per [`REFRESH_SECS`]. Under a branch namespace (`refs/heads/...`), where git keeps
//! only commits, presence is not recorded and `last seen` falls back to the agent card.

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
}

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
    let name_ref = presence_ref(repo, name);
    loop {
        let current = repo.read_ref(&name_ref)?;
        let now = crate::clock::now_secs();
        let presence = Presence {
            name: name.to_string(),
            last_seen: now,
            state: Some(state.to_string()),
            task: task.clone(),
            note: note.clone(),
            since: Some(now),
        };
        if let Some(why) = presence.problem(name) {
            return Err(crate::error::Error::usage(why));
        }
        let blob = repo.write_blob(&serde_json::to_vec(&presence).expect("presence serializes"))?;
        if repo.swap_ref(&name_ref, current, blob)? == crate::repo::Swap::Done {
            return Ok(presence);
        }
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

/// One agent as the others see it: card, declared state, and whether it went stale.
#[derive(Debug, Clone)]
pub struct Standing {
    pub card: crate::agent::Card,
    pub presence: Option<Presence>,
    /// Unseen for longer than `presence.stale`.
    pub stale: bool,
    /// Live leases of a stale agent: work nobody may be doing.
    pub leases_at_risk: Vec<String>,
}

/// Every agent with its presence; stale ones with their leases at risk.
pub fn standings(repo: &Repo, config: &crate::config::Config) -> Result<Vec<Standing>> {
    let now = crate::clock::now_secs();
    let stale_after = config.stale_secs();
    let leases = crate::lease::ledger::live_leases(repo)?;
    Ok(crate::agent::roster(repo, config)?
        .into_iter()
        .map(|card| {
            let presence = read(repo, &card.name);
            let stale = card.last_seen > 0 && now - card.last_seen > stale_after;
            let leases_at_risk = if stale {
                leases
                    .iter()
                    .filter(|l| l.holder == card.name)
                    .map(|l| l.id.clone())
                    .collect()
            } else {
                Vec::new()
            };
            Standing {
                card,
                presence,
                stale,
                leases_at_risk,
            }
        })
        .collect())
}
