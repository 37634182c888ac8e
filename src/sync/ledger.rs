//! Three-way merge of the lease ledger (`refs/comm-node/leases`: a commit chain whose flat
//! tree holds one `<lease-id>.json` per live lease). Deletions on either side since the
//! merge base apply; additions from both sides are kept; when a lease added here overlaps
//! an exclusive lease of another holder from the remote (or vice versa), the remote's
//! grant wins and ours is dropped and reported.
//!
//! Uses the lease model of `crate::lease` (same `Lease` type, same conflict rule).

use std::collections::{BTreeMap, BTreeSet};

use crate::error::Result;
use crate::lease::{self, Lease, Request};
use crate::repo::{ObjectId, Repo};

/// A local lease dropped because the remote granted a conflicting one first.
#[derive(Debug, Clone)]
pub struct Dropped {
    pub lease: Lease,
    pub winner: Lease,
}

pub struct Merged {
    pub tree: ObjectId,
    pub dropped: Vec<Dropped>,
}

type Leases = BTreeMap<String, Lease>;

fn leases_of(repo: &Repo, commit: Option<ObjectId>) -> Result<Leases> {
    Ok(match commit {
        Some(c) => lease::ledger::leases_at(repo, c)?
            .into_iter()
            .map(|l| (l.id.clone(), l))
            .collect(),
        None => Leases::new(),
    })
}

/// Live leases of other holders that `mine` conflicts with.
fn blockers(others: &[Lease], mine: &Lease, now: i64) -> Vec<Lease> {
    let request = Request {
        resources: mine.resources.clone(),
        exclusive: mine.exclusive,
        ttl_secs: (mine.expires - now).max(1),
        reason: None,
        task: None,
    };
    lease::conflicts(others, &request, &mine.holder, now)
}

/// Merge `local` and `remote` ledgers given their merge base.
pub fn merge(
    repo: &Repo,
    base: Option<ObjectId>,
    local: ObjectId,
    remote: ObjectId,
    now: i64,
) -> Result<Merged> {
    let base = leases_of(repo, base)?;
    let ours = leases_of(repo, Some(local))?;
    let theirs = leases_of(repo, Some(remote))?;
    let ids: BTreeSet<&String> = ours.keys().chain(theirs.keys()).collect();
    let mut result = Leases::new();
    let mut added_here = Vec::new();
    for id in ids {
        match (ours.get(id), theirs.get(id)) {
            (Some(o), Some(t)) => {
                result.insert(id.clone(), newer(o, t).clone());
            }
            (Some(o), None) if !base.contains_key(id) => {
                result.insert(id.clone(), o.clone());
                added_here.push(id.clone());
            }
            (None, Some(t)) if !base.contains_key(id) => {
                result.insert(id.clone(), t.clone());
            }
            _ => {} // deleted on one side since the base: the deletion applies
        }
    }
    let remote_live: Vec<Lease> = theirs.values().cloned().collect();
    let mut dropped = Vec::new();
    for id in added_here {
        let mine = result[&id].clone();
        if let Some(winner) = blockers(&remote_live, &mine, now).into_iter().next() {
            result.remove(&id);
            dropped.push(Dropped {
                lease: mine,
                winner,
            });
        }
    }
    let leases: Vec<Lease> = result.into_values().collect();
    let tree = lease::ledger::write_tree(repo, &leases)?;
    Ok(Merged { tree, dropped })
}

/// Of two versions of one lease (e.g. renewed on both sides) keep the later expiry;
/// on a tie the remote's.
fn newer<'a>(ours: &'a Lease, theirs: &'a Lease) -> &'a Lease {
    if ours.expires > theirs.expires {
        ours
    } else {
        theirs
    }
}
