//! The parsed lease ledger of the current tip, kept under the git dir
//! (`comm-node/leases/state.json`), keyed by the ledger tree it was read from. A swarm's
//! ledger holds thousands of leases and tombstones within one lease lifetime, and every
//! grant, release and pre-commit reads it: parsing every entry each time made one grant
//! cost ~20 µs per entry. A tree id names its content exactly, so a hit is the same state
//! a full read gives; a missing, stale or unreadable file costs one full read. Never
//! authoritative: nothing is written to the ledger from it without the gate's check.

use serde::{Deserialize, Serialize};

use super::ledger::{State, Tombstone};
use super::Lease;
use crate::repo::{ObjectId, Repo};

#[derive(Serialize, Deserialize)]
struct Cached {
    tree: String,
    leases: Vec<Lease>,
    ended: Vec<Tombstone>,
}

fn file(repo: &Repo) -> std::path::PathBuf {
    repo.cache_dir("leases").join("state.json")
}

/// The state of ledger tree `tree`, if the cache holds exactly that tree.
pub fn load(repo: &Repo, tree: ObjectId) -> Option<State> {
    let bytes = std::fs::read(file(repo)).ok()?;
    let cached: Cached = serde_json::from_slice(&bytes).ok()?;
    let cached_tree = ObjectId::from_hex(cached.tree.as_bytes()).ok()?;
    (cached_tree == tree).then_some(State {
        leases: cached.leases,
        ended: cached.ended,
    })
}

/// Remember `state` as the state of ledger tree `tree` (best effort, atomic).
pub fn store(repo: &Repo, tree: ObjectId, state: &State) {
    let path = file(repo);
    let Some(dir) = path.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let cached = Cached {
        tree: tree.to_string(),
        leases: state.leases.clone(),
        ended: state.ended.clone(),
    };
    let Ok(bytes) = serde_json::to_vec(&cached) else {
        return;
    };
    let temp = path.with_extension(format!("{}.tmp", std::process::id()));
    if std::fs::write(&temp, bytes).is_ok() && std::fs::rename(&temp, &path).is_err() {
        let _ = std::fs::remove_file(&temp);
    }
}
