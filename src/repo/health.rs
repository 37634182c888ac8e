//! What `git comm doctor` checks in the local state, and what `doctor --repair` restores:
//! namespace refs whose value the gate would refuse (restored to the newest good value from
//! the ref's reflog, else from a remote-tracking copy, else from the first good ancestor),
//! stale lock files, and commits or leases from the future (clock skew).

use std::path::PathBuf;

use super::gate::{self, TRACKING_ROOT};
use super::locks::{self, Lock};
use super::tracking;
use super::{ObjectId, Repo, Swap};
use crate::error::Result;

/// A namespace ref holding a value the gate refuses.
#[derive(Debug, Clone)]
pub struct Broken {
    pub name: String,
    pub value: ObjectId,
    pub reason: String,
    /// The newest good value found, and where it came from.
    pub restore: Option<(ObjectId, String)>,
}

/// Every namespace ref whose current value fails the gate.
pub fn broken_refs(repo: &Repo) -> Result<Vec<Broken>> {
    let mut broken = Vec::new();
    for (name, value) in repo.list_refs(repo.namespace())? {
        let suffix = &name[repo.namespace().len()..];
        if let Err(reason) = gate::check_value(repo, suffix, value) {
            let restore = last_good(repo, &name, suffix, value);
            broken.push(Broken {
                name,
                value,
                reason,
                restore,
            });
        }
    }
    Ok(broken)
}

fn passes(repo: &Repo, suffix: &str, id: ObjectId) -> bool {
    gate::check_value(repo, suffix, id).is_ok()
}

/// Newest good value of `name`: from its reflog, a tracking copy, or its first-parent line.
fn last_good(repo: &Repo, name: &str, suffix: &str, value: ObjectId) -> Option<(ObjectId, String)> {
    for (i, id) in reflog_values(repo, name).into_iter().enumerate() {
        if id != value && passes(repo, suffix, id) {
            return Some((id, format!("reflog entry {i} of {name}")));
        }
    }
    for (label, copies) in tracking::read_all(repo).ok()? {
        match copies.get(suffix) {
            Some(&id) if passes(repo, suffix, id) => {
                return Some((id, tracking::ref_name(&label, suffix)));
            }
            _ => {}
        }
    }
    first_good_ancestor(repo, suffix, value).map(|id| (id, "its first good ancestor".to_string()))
}

/// Values a ref held, newest first, from `logs/<ref>` in the common git dir.
pub fn reflog_values(repo: &Repo, name: &str) -> Vec<ObjectId> {
    let path: PathBuf = repo.common_dir().join("logs").join(name);
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let mut values: Vec<ObjectId> = text
        .lines()
        .filter_map(|line| line.split(' ').nth(1))
        .filter_map(|hex| ObjectId::from_hex(hex.as_bytes()).ok())
        .filter(|id| !id.is_null())
        .collect();
    values.reverse();
    values
}

/// Walk first parents of a (bad) commit until one passes the gate: the state from before a
/// bad merge. Bounded, since a long bad chain is better restored by hand.
fn first_good_ancestor(repo: &Repo, suffix: &str, value: ObjectId) -> Option<ObjectId> {
    let mut current = value;
    for _ in 0..64 {
        let commit = repo.gix().find_commit(current).ok()?;
        let parent = commit.parent_ids().next()?.detach();
        if passes(repo, suffix, parent) {
            return Some(parent);
        }
        current = parent;
    }
    None
}

/// Lock files in the namespace and tracking areas, and `packed-refs.lock`.
pub fn locks(repo: &Repo) -> Vec<Lock> {
    let ns = repo.namespace().to_string();
    locks::scan(
        repo,
        &[
            ns.as_str(),
            TRACKING_ROOT,
            tracking::DIR,
            super::incoming::DIR,
        ],
    )
}

/// A commit (or lease) dated further in the future than the skew tolerance.
#[derive(Debug, Clone)]
pub struct FromTheFuture {
    pub what: String,
    pub who: String,
    pub ahead_secs: i64,
}

/// Tips of mail, the ledger and cards, and lease creation times, dated past now + skew.
/// `leases` are the ledger's leases (the ledger is read above this layer).
pub fn future_entries(
    repo: &Repo,
    leases: &[crate::model::lease::Lease],
) -> Result<Vec<FromTheFuture>> {
    let now = crate::clock::now_secs();
    let skew = repo.policy().skew_secs;
    let mut found = Vec::new();
    for (name, id) in repo.list_refs(repo.namespace())? {
        let Ok(commit) = repo.gix().find_commit(id) else {
            continue;
        };
        let Ok(committer) = commit.committer() else {
            continue;
        };
        let ahead = committer.seconds() - now;
        if ahead > skew {
            found.push(FromTheFuture {
                what: format!("{name} tip {}", &id.to_string()[..10]),
                who: committer.name.to_string(),
                ahead_secs: ahead,
            });
        }
    }
    {
        for l in leases.iter().filter(|l| l.created - now > skew) {
            found.push(FromTheFuture {
                what: format!("lease {}", l.id),
                who: l.holder.clone(),
                ahead_secs: l.created - now,
            });
        }
    }
    Ok(found)
}

/// What `doctor --repair` did.
#[derive(Debug, Default)]
pub struct Repaired {
    pub restored: Vec<(String, ObjectId, ObjectId, String)>,
    pub unrepairable: Vec<Broken>,
    pub cleared_locks: Vec<Lock>,
}

/// Restore every broken ref to its last good value and clear stale locks.
pub fn repair(repo: &Repo) -> Result<Repaired> {
    let mut done = Repaired {
        cleared_locks: locks::clear(&locks(repo)),
        ..Repaired::default()
    };
    for b in broken_refs(repo)? {
        match &b.restore {
            Some((good, from)) => {
                if repo.swap_ref(&b.name, Some(b.value), *good)? == Swap::Done {
                    done.restored
                        .push((b.name.clone(), b.value, *good, from.clone()));
                }
            }
            None => done.unrepairable.push(b),
        }
    }
    Ok(done)
}
