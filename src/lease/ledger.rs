//! The lease ledger: `refs/comm-node/leases`, a commit chain whose flat tree holds one
//! `<lease-id>.json` per live lease. Every grant, renew, release, expiry and forced break
//! is one commit (author = acting agent), so `git log` on the ref is the audit trail.
//!
//! A write reads the tip, prunes expired leases (one `expire` commit each), lets the
//! caller plan its events against the live set, writes the commit chain and moves the ref
//! with compare-and-swap; when another writer got there first, it re-plans on the new tip.
//! The plan runs again on every attempt, so a conflict check inside it is atomic.

use std::time::{Duration, Instant};

use crate::agent::now_secs;
use crate::error::{Error, Result};
use crate::repo::{backoff, ObjectId, Repo, Swap};

use super::Lease;

const LEDGER_SUFFIX: &str = "leases";
const JSON_SUFFIX: &str = ".json";
/// How long a writer keeps retrying a contended ledger before giving up.
const CAS_DEADLINE: Duration = Duration::from_secs(60);

/// One change to the ledger; each becomes one commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Grant(Lease),
    /// The lease with its new expiry.
    Renew(Lease),
    Release(Lease),
    Expire(Lease),
    Break {
        lease: Lease,
        by: String,
        reason: String,
    },
}

impl Event {
    pub fn lease(&self) -> &Lease {
        match self {
            Event::Grant(l) | Event::Renew(l) | Event::Release(l) | Event::Expire(l) => l,
            Event::Break { lease, .. } => lease,
        }
    }

    pub fn verb(&self) -> &'static str {
        match self {
            Event::Grant(_) => "grant",
            Event::Renew(_) => "renew",
            Event::Release(_) => "release",
            Event::Expire(_) => "expire",
            Event::Break { .. } => "break",
        }
    }

    /// The commit subject, e.g. `grant 1a2b3c4d5e6f alice: src/** task:7`.
    pub fn subject(&self) -> String {
        let lease = self.lease();
        match self {
            Event::Break { by, reason, .. } => {
                format!("break {} by {by}: {}", lease.id, one_line(reason))
            }
            _ => format!(
                "{} {} {}: {}",
                self.verb(),
                lease.id,
                lease.holder,
                lease.resources.join(" ")
            ),
        }
    }

    fn message(&self) -> String {
        let lease = self.lease();
        let mut message = format!("{}\n", self.subject());
        if let Event::Break { .. } = self {
            message.push_str(&format!(
                "\nholder: {}\nresources: {}\n",
                lease.holder,
                lease.resources.join(" ")
            ));
        }
        message
    }

    /// Apply this event to a lease set.
    pub fn apply(&self, leases: &mut Vec<Lease>) {
        let lease = self.lease();
        leases.retain(|l| l.id != lease.id);
        if let Event::Grant(l) | Event::Renew(l) = self {
            leases.push(l.clone());
        }
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What a planner sees: the ledger at one tip, split at `now`.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub live: Vec<Lease>,
    /// Expired leases still in the tree; this write prunes them.
    pub expired: Vec<Lease>,
    pub now: i64,
}

pub fn ledger_ref(repo: &Repo) -> String {
    repo.ns_ref(LEDGER_SUFFIX)
}

/// Every lease stored in the tree of ledger commit `commit`, expired or not, by id.
pub fn leases_at(repo: &Repo, commit: ObjectId) -> Result<Vec<Lease>> {
    let mut leases = Vec::new();
    for (name, bytes) in repo.tree_files(commit)? {
        if !name.ends_with(JSON_SUFFIX) {
            continue;
        }
        let lease: Lease = serde_json::from_slice(&bytes).map_err(|e| {
            Error::git(format!(
                "lease ledger entry {name} at {commit} is invalid: {e}"
            ))
            .with_hint("inspect it with `git log -p refs/comm-node/leases`")
        })?;
        leases.push(lease);
    }
    leases.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
    Ok(leases)
}

/// Every lease in the current ledger, expired ones included.
pub fn all_leases(repo: &Repo) -> Result<Vec<Lease>> {
    match repo.read_ref(&ledger_ref(repo))? {
        Some(tip) => leases_at(repo, tip),
        None => Ok(Vec::new()),
    }
}

/// Leases alive now.
pub fn live_leases(repo: &Repo) -> Result<Vec<Lease>> {
    let now = now_secs();
    Ok(all_leases(repo)?
        .into_iter()
        .filter(|l| l.is_live(now))
        .collect())
}

/// The flat tree for a lease set.
pub fn write_tree(repo: &Repo, leases: &[Lease]) -> Result<ObjectId> {
    let mut files = Vec::with_capacity(leases.len());
    for lease in leases {
        let json = serde_json::to_vec_pretty(lease).expect("lease serializes");
        files.push((
            format!("{}{JSON_SUFFIX}", lease.id),
            repo.write_blob(&json)?,
        ));
    }
    repo.write_flat_tree(&files)
}

/// Plan events against the current ledger and commit them atomically (with expired
/// leases pruned first). `plan` may refuse by returning an error; it is re-run on the
/// new tip whenever another writer moved the ledger. Returns every event written
/// (expiries included); nothing is written when there is nothing to do.
pub fn write(
    repo: &Repo,
    actor: &str,
    mut plan: impl FnMut(&Snapshot) -> Result<Vec<Event>>,
) -> Result<Vec<Event>> {
    let name = ledger_ref(repo);
    let started = Instant::now();
    let mut attempt = 0u32;
    loop {
        let tip = repo.read_ref(&name)?;
        let current = match tip {
            Some(tip) => leases_at(repo, tip)?,
            None => Vec::new(),
        };
        let now = now_secs();
        let (live, expired) = super::prune(&current, now);
        let snapshot = Snapshot { live, expired, now };
        let mut events: Vec<Event> = snapshot
            .expired
            .iter()
            .cloned()
            .map(Event::Expire)
            .collect();
        events.extend(plan(&snapshot)?);
        if events.is_empty() {
            return Ok(events);
        }
        let new_tip = write_chain(repo, tip, current, &events, actor)?;
        if repo.swap_ref(&name, tip, new_tip)? == Swap::Done {
            return Ok(events);
        }
        attempt += 1;
        if started.elapsed() > CAS_DEADLINE {
            return Err(Error::git(format!(
                "gave up updating {name} after {attempt} contended attempts"
            ))
            .with_hint("other agents keep writing the lease ledger; try again"));
        }
        backoff(attempt);
    }
}

/// One commit per event on top of `tip`; returns the last commit.
fn write_chain(
    repo: &Repo,
    tip: Option<ObjectId>,
    mut leases: Vec<Lease>,
    events: &[Event],
    actor: &str,
) -> Result<ObjectId> {
    let mut parent = tip;
    for event in events {
        event.apply(&mut leases);
        let tree = write_tree(repo, &leases)?;
        let parents: Vec<ObjectId> = parent.into_iter().collect();
        parent = Some(repo.write_commit(tree, &parents, actor, &event.message())?);
    }
    Ok(parent.expect("at least one event"))
}
