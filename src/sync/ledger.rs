//! Merge of two lease ledgers (`refs/comm-node/leases`: a commit chain whose flat tree
//! holds `<lease-id>.json` per live lease and `<lease-id>.end` per ended one).
//!
//! The merge needs no merge base: a lease ended on either side (its tombstone is there)
//! stays ended; every other lease from either side is kept (renewed on both: the later
//! expiry). A lease only we have that overlaps an exclusive lease of another holder from
//! the remote loses (the remote's grant counted first) and is dropped with a tombstone,
//! so it cannot come back either. Leases past expiry plus the skew tolerance are ended.
//!
//! Uses the lease model of `crate::lease` (same `Lease` type, same conflict rule).

use std::collections::BTreeMap;

use crate::error::Result;
use crate::lease::ledger::State;
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

/// Live leases of other holders that `mine` conflicts with.
fn blockers(others: &[Lease], mine: &Lease, now: i64, skew: i64) -> Vec<Lease> {
    let request = Request {
        resources: mine.resources.clone(),
        exclusive: mine.exclusive,
        ttl_secs: (mine.expires - now).max(1),
        reason: None,
        task: None,
    };
    lease::conflicts(others, &request, &mine.holder, now, skew)
}

/// Merge the ledgers at `local` and `remote`.
pub fn merge(
    repo: &Repo,
    local: ObjectId,
    remote: ObjectId,
    now: i64,
    skew: i64,
) -> Result<Merged> {
    let ours = lease::ledger::state_at(repo, local)?;
    let theirs = lease::ledger::state_at(repo, remote)?;
    let (mut state, dropped) = merge_states(&ours, &theirs, now, skew);
    state.forget_old_tombstones(now, skew);
    let tree = lease::ledger::write_tree(repo, &state)?;
    Ok(Merged { tree, dropped })
}

/// The pure merge: see the module documentation.
pub fn merge_states(ours: &State, theirs: &State, now: i64, skew: i64) -> (State, Vec<Dropped>) {
    let mut state = State::default();
    for tomb in ours.ended.iter().chain(&theirs.ended) {
        if !state.is_ended(&tomb.id) {
            state.ended.push(tomb.clone());
        }
    }
    let mut merged: BTreeMap<&str, &Lease> = BTreeMap::new();
    for l in ours.leases.iter().chain(&theirs.leases) {
        if state.is_ended(&l.id) {
            continue;
        }
        let keep = merged
            .get(l.id.as_str())
            .is_none_or(|m| l.expires > m.expires);
        if keep {
            merged.insert(&l.id, l);
        }
    }
    let remote_live: Vec<Lease> = theirs
        .leases
        .iter()
        .filter(|l| merged.contains_key(l.id.as_str()))
        .cloned()
        .collect();
    let mut dropped = Vec::new();
    for l in merged.into_values() {
        if !l.blocks_at(now, skew) {
            state.end(l, "expire", now);
            continue;
        }
        let only_ours = !theirs.leases.iter().any(|t| t.id == l.id);
        let winner = if only_ours {
            blockers(&remote_live, l, now, skew).into_iter().next()
        } else {
            None
        };
        match winner {
            Some(winner) => {
                state.end(l, "drop", now);
                dropped.push(Dropped {
                    lease: l.clone(),
                    winner,
                });
            }
            None => state.leases.push(l.clone()),
        }
    }
    state
        .leases
        .sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
    state.ended.sort_by(|a, b| a.id.cmp(&b.id));
    (state, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(id: &str, holder: &str, key: &str, expires: i64) -> Lease {
        Lease {
            id: id.repeat(12),
            holder: holder.into(),
            resources: vec![key.into()],
            exclusive: true,
            reason: None,
            task: None,
            created: 0,
            expires,
        }
    }

    #[test]
    fn a_release_on_either_side_wins_over_an_older_copy() {
        let l = lease("a", "alice", "task:1", 1000);
        let mut released = State::default();
        released.end(&l, "release", 10);
        let still_held = State {
            leases: vec![l.clone()],
            ended: vec![],
        };
        for (ours, theirs) in [(&released, &still_held), (&still_held, &released)] {
            let (merged, dropped) = merge_states(ours, theirs, 20, 300);
            assert!(merged.leases.is_empty(), "the released lease came back");
            assert!(merged.is_ended(&l.id));
            assert!(dropped.is_empty());
        }
    }

    #[test]
    fn a_conflicting_grant_only_we_have_loses_to_the_remote() {
        let mine = lease("b", "bob", "task:1", 1000);
        let theirs_l = lease("a", "alice", "task:1", 1000);
        let ours = State {
            leases: vec![mine.clone()],
            ended: vec![],
        };
        let theirs = State {
            leases: vec![theirs_l.clone()],
            ended: vec![],
        };
        let (merged, dropped) = merge_states(&ours, &theirs, 20, 300);
        assert_eq!(merged.leases, vec![theirs_l]);
        assert_eq!(dropped[0].lease.id, mine.id);
        assert!(merged.is_ended(&mine.id), "the loser is tombstoned");
    }

    #[test]
    fn renewed_on_both_sides_keeps_the_later_expiry() {
        let short = lease("c", "carol", "task:2", 500);
        let long = Lease {
            expires: 900,
            ..short.clone()
        };
        let a = State {
            leases: vec![short],
            ended: vec![],
        };
        let b = State {
            leases: vec![long.clone()],
            ended: vec![],
        };
        assert_eq!(merge_states(&a, &b, 20, 300).0.leases, vec![long.clone()]);
        assert_eq!(merge_states(&b, &a, 20, 300).0.leases, vec![long]);
    }
}
