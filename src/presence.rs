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

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Presence {
    pub name: String,
    /// Unix seconds.
    pub last_seen: i64,
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

/// When `name` was last seen by its presence ref, if recorded.
pub fn last_seen(repo: &Repo, name: &str) -> Option<i64> {
    let id = repo.read_ref(&presence_ref(repo, name)).ok()??;
    at(repo, id).map(|p| p.last_seen)
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
    if let Some(p) = current.and_then(|id| at(repo, id)) {
        if (0..REFRESH_SECS).contains(&(now - p.last_seen)) {
            return Ok(());
        }
    }
    let presence = Presence {
        name: name.to_string(),
        last_seen: now,
    };
    let blob = repo.write_blob(&serde_json::to_vec(&presence).expect("presence serializes"))?;
    repo.swap_ref(&name_ref, current, blob)?;
    Ok(())
}
