//! The lease ledger: `refs/comm-node/leases`, a commit chain whose tree (fanned out:
//! `ab/ab12….json`; earlier versions wrote it flat) holds one
//! `<lease-id>.json` per live lease and one `<lease-id>.end` tombstone per lease that was
//! released, expired, broken or withdrawn (kept until its expiry plus twice the clock-skew
//! tolerance, so no merge can bring it back). Every grant, renew, release, expiry and
//! forced break is one commit (author = acting agent), so `git log` on the ref is the
//! audit trail.
//!
//! A write reads the tip, prunes expired leases (one `expire` commit each), lets the
//! caller plan its events against the live set, writes the commit chain and moves the ref
//! with compare-and-swap; when another writer got there first, it re-plans on the new tip.
//! The plan runs again on every attempt, so a conflict check inside it is atomic.

use std::time::{Duration, Instant};

use crate::agent::now_secs;
use crate::error::{Error, Result};
use crate::repo::tree::Edit;
use crate::repo::{backoff, ObjectId, Repo, Swap};

use super::Lease;
pub use crate::model::lease::entry::{check_entry, fan_dir, Tombstone, END_SUFFIX, JSON_SUFFIX};

const LEDGER_SUFFIX: &str = "leases";
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

    /// Apply this event to a ledger state: grants and renewals upsert the lease; every
    /// ending leaves a tombstone.
    pub fn apply(&self, state: &mut State, now: i64) {
        let lease = self.lease();
        state.leases.retain(|l| l.id != lease.id);
        match self {
            Event::Grant(l) | Event::Renew(l) => state.leases.push(l.clone()),
            _ => state.end(lease, self.verb(), now),
        }
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The whole ledger at one commit: leases (expired ones included) and tombstones.
#[derive(Debug, Clone, Default)]
pub struct State {
    pub leases: Vec<Lease>,
    pub ended: Vec<Tombstone>,
}

impl State {
    /// Record that `lease` ended (`how`) at `now`.
    pub fn end(&mut self, lease: &Lease, how: &str, now: i64) {
        self.leases.retain(|l| l.id != lease.id);
        if !self.ended.iter().any(|t| t.id == lease.id) {
            self.ended.push(Tombstone {
                id: lease.id.clone(),
                holder: lease.holder.clone(),
                expires: lease.expires,
                ended: now,
                how: how.to_string(),
            });
        }
    }

    /// The order a read of the tree gives: leases by creation, tombstones by id.
    fn sort(&mut self) {
        self.leases
            .sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        self.ended.sort_by(|a, b| a.id.cmp(&b.id));
    }

    pub fn is_ended(&self, id: &str) -> bool {
        self.ended.iter().any(|t| t.id == id)
    }

    /// Drop tombstones that can no longer matter: their lease is dead by any clock.
    /// Returns the ids dropped.
    pub fn forget_old_tombstones(&mut self, now: i64, skew: i64) -> Vec<String> {
        let mut dropped = Vec::new();
        self.ended.retain(|t| {
            let keep = t.expires + 2 * skew > now;
            if !keep {
                dropped.push(t.id.clone());
            }
            keep
        });
        dropped
    }
}

/// What a planner sees: the ledger at one tip, split at `now`. A lease blocks others
/// until its expiry plus the clock-skew tolerance (`skew`), so it stays in `live` until
/// then; `expired` ones are pruned by this write.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub live: Vec<Lease>,
    /// Expired leases still in the tree; this write prunes them.
    pub expired: Vec<Lease>,
    pub now: i64,
    pub skew: i64,
}

pub fn ledger_ref(repo: &Repo) -> String {
    repo.ns_ref(LEDGER_SUFFIX)
}

/// The ledger state in the tree of commit `commit`. The current tip's state is cached by
/// tree id ([`super::cache`]), so a write or a pre-commit does not parse every entry again.
pub fn state_at(repo: &Repo, commit: ObjectId) -> Result<State> {
    let tree = repo.tree_of(commit)?;
    if let Some(state) = super::cache::load(repo, tree) {
        return Ok(state);
    }
    let state = read_state(repo, commit)?;
    if repo.read_ref(&ledger_ref(repo))? == Some(commit) {
        super::cache::store(repo, tree, &state);
    }
    Ok(state)
}

/// Read and parse every entry of the ledger tree of `commit`.
fn read_state(repo: &Repo, commit: ObjectId) -> Result<State> {
    let mut state = State::default();
    repo.for_each_ledger_file(commit, |name, bytes| {
        let invalid = |e: serde_json::Error| {
            Error::git(format!(
                "lease ledger entry {name} at {commit} is invalid: {e}"
            ))
            .with_hint("run `git comm doctor`; inspect it with `git log -p refs/comm-node/leases`")
        };
        if name.ends_with(JSON_SUFFIX) {
            state
                .leases
                .push(serde_json::from_slice(bytes).map_err(invalid)?);
        } else if name.ends_with(END_SUFFIX) {
            state
                .ended
                .push(serde_json::from_slice(bytes).map_err(invalid)?);
        }
        Ok(())
    })?;
    state.sort();
    Ok(state)
}

/// Every lease stored in the tree of ledger commit `commit`, expired or not.
pub fn leases_at(repo: &Repo, commit: ObjectId) -> Result<Vec<Lease>> {
    Ok(state_at(repo, commit)?.leases)
}

/// Every lease in the current ledger, expired ones included.
pub fn all_leases(repo: &Repo) -> Result<Vec<Lease>> {
    match repo.read_ref(&ledger_ref(repo))? {
        Some(tip) => leases_at(repo, tip),
        None => Ok(Vec::new()),
    }
}

/// One lease's life as the ledger's history tells it, for judging past commits against
/// the leases of their time. Its times are the entries' own (`created`, the tombstone's
/// `ended`), never commit times: ledger commits made in the same second have no order by time.
#[derive(Debug, Clone)]
pub struct Span {
    /// The lease as stored last in history order (its latest renewal).
    pub lease: Lease,
    /// When it was first granted: the earliest `created` of its stored versions (a renewal
    /// restarts `created`).
    pub granted: i64,
    /// When it ended (released, expired, broken, withdrawn), from its tombstone.
    pub ended: Option<i64>,
}

impl Span {
    /// Held at some moment of the second `time` or the seconds beside it (in favour of the
    /// committer who may have held it).
    pub fn held_around(&self, time: i64) -> bool {
        self.granted <= time + 1 && self.ended.is_none_or(|e| e >= time - 1)
    }

    /// Held at the second `time`: granted by then (a grant in the same second came first:
    /// the hook reads the ledger as the commit starts) and not ended in it (what bound others).
    pub fn held_at(&self, time: i64) -> bool {
        self.granted <= time && self.ended.is_none_or(|e| e > time)
    }
}

/// A ledger entry as read from one blob (parsed once per blob, however many commits hold it).
enum Entry {
    Lease(Lease),
    Ended(Tombstone),
    Other,
}

/// Every lease the ledger ever held, with its grant and end times, from the whole history
/// (all parents, merges included) read in topological order, oldest first.
pub fn history(repo: &Repo) -> Result<Vec<Span>> {
    let Some(tip) = repo.read_ref(&ledger_ref(repo))? else {
        return Ok(Vec::new());
    };
    let walk_error = |e: &dyn std::fmt::Display| Error::git(format!("cannot read the ledger: {e}"));
    let mut seen: std::collections::HashSet<ObjectId> = Default::default();
    let mut spans = Spans::default();
    for id in oldest_first(repo, tip)? {
        let tree = repo
            .gix()
            .find_commit(id)
            .and_then(|c| c.tree())
            .map_err(|e| walk_error(&e))?;
        for item in repo.tree_entries(tree.id)? {
            // An object already seen is an entry (or a fan-out directory of entries)
            // already recorded, unchanged since.
            if !seen.insert(item.oid) {
                continue;
            }
            if item.mode.is_tree() {
                for inner in repo.tree_entries(item.oid)? {
                    if seen.insert(inner.oid) {
                        record_blob(repo, &mut spans, &inner)?;
                    }
                }
            } else {
                record_blob(repo, &mut spans, &item)?;
            }
        }
    }
    Ok(spans.all)
}

fn record_blob(repo: &Repo, spans: &mut Spans, entry: &gix::objs::tree::Entry) -> Result<()> {
    if !entry.mode.is_blob() {
        return Ok(());
    }
    let data = repo
        .gix()
        .find_blob(entry.oid)
        .map_err(|e| Error::git(format!("cannot read the ledger: {e}")))?;
    spans.record(&parse_entry(&entry.filename.to_string(), &data.data));
    Ok(())
}

fn parse_entry(name: &str, bytes: &[u8]) -> Entry {
    let parsed = if name.ends_with(JSON_SUFFIX) {
        serde_json::from_slice(bytes).ok().map(Entry::Lease)
    } else if name.ends_with(END_SUFFIX) {
        serde_json::from_slice(bytes).ok().map(Entry::Ended)
    } else {
        None
    };
    parsed.unwrap_or(Entry::Other)
}

/// Spans by lease id, in order of first appearance.
#[derive(Default)]
struct Spans {
    all: Vec<Span>,
    index: std::collections::HashMap<String, usize>,
}

impl Spans {
    fn record(&mut self, entry: &Entry) {
        match entry {
            Entry::Lease(lease) => match self.index.get(&lease.id) {
                Some(&at) => {
                    let span = &mut self.all[at];
                    span.granted = span.granted.min(lease.created);
                    span.lease = lease.clone();
                }
                None => {
                    self.index.insert(lease.id.clone(), self.all.len());
                    self.all.push(Span {
                        lease: lease.clone(),
                        granted: lease.created,
                        ended: None,
                    });
                }
            },
            Entry::Ended(tomb) => {
                if let Some(&at) = self.index.get(&tomb.id) {
                    let ended = &mut self.all[at].ended;
                    *ended = Some(ended.map_or(tomb.ended, |e| e.min(tomb.ended)));
                }
            }
            Entry::Other => {}
        }
    }
}

/// The commits of the ledger's history, every parent before its children.
fn oldest_first(repo: &Repo, tip: ObjectId) -> Result<Vec<ObjectId>> {
    let read = |id: ObjectId| -> Result<Vec<ObjectId>> {
        let commit = repo
            .gix()
            .find_commit(id)
            .map_err(|e| Error::git(format!("cannot read the ledger: {e}")))?;
        Ok(commit.parent_ids().map(|p| p.detach()).collect())
    };
    let mut order = Vec::new();
    let mut done: std::collections::HashSet<ObjectId> = Default::default();
    // Depth-first, a commit is emitted once all its parents were.
    let mut stack = vec![(tip, false)];
    while let Some((id, parents_done)) = stack.pop() {
        if parents_done {
            order.push(id);
            continue;
        }
        if !done.insert(id) {
            continue;
        }
        stack.push((id, true));
        for parent in read(id)? {
            if !done.contains(&parent) {
                stack.push((parent, false));
            }
        }
    }
    Ok(order)
}

/// The leases of `history` around unix time `time`, for judging a past commit by `author`
/// (commit times have one-second resolution, so the second before and after count as
/// "then"): `(held_at, held_around)`: what bound others at that second, and every lease held
/// at any point of the window (what the committer may have held).
///
/// Another agent's lease granted in the commit's own second does not bind it when the
/// author's own lease ended in that second or the one before: the ledger's order says the
/// author released first and the grant came after, so the commit (made under the author's
/// lease) came first too.
pub fn leases_around(history: &[Span], time: i64, author: &str) -> (Vec<Lease>, Vec<Lease>) {
    let released_then = history
        .iter()
        .any(|s| s.lease.holder == author && s.ended.is_some_and(|e| e == time || e == time - 1));
    let binding = |s: &Span| {
        s.held_at(time) && !(released_then && s.granted == time && s.lease.holder != author)
    };
    let leases = |keep: &dyn Fn(&Span) -> bool| {
        history
            .iter()
            .filter(|s| keep(s))
            .map(|s| s.lease.clone())
            .collect()
    };
    (leases(&binding), leases(&|s| s.held_around(time)))
}

/// Leases that still block others now: before their expiry plus the clock-skew tolerance.
pub fn live_leases(repo: &Repo) -> Result<Vec<Lease>> {
    let now = now_secs();
    let skew = repo.policy().skew_secs;
    Ok(all_leases(repo)?
        .into_iter()
        .filter(|l| l.blocks_at(now, skew))
        .collect())
}

/// The tree for a ledger state, fanned out by the first two hex digits of each lease id
/// (`ab/ab12cd34ef56.json`), so a change adds one small subtree and the root as new objects
/// however many leases and tombstones the ledger holds. Ledgers written flat by earlier
/// versions are read as they are.
pub fn write_tree(repo: &Repo, state: &State) -> Result<ObjectId> {
    let mut files = Vec::with_capacity(state.leases.len() + state.ended.len());
    for lease in &state.leases {
        files.push((
            format!("{}{JSON_SUFFIX}", lease.id),
            entry_blob(repo, lease)?,
        ));
    }
    for tomb in &state.ended {
        files.push((format!("{}{END_SUFFIX}", tomb.id), entry_blob(repo, tomb)?));
    }
    repo.write_fanout_tree(&files, |name| fan_dir(name).to_string())
}

/// The blob of one ledger entry (a lease or a tombstone), as every ledger tree stores it.
fn entry_blob(repo: &Repo, entry: &impl serde::Serialize) -> Result<ObjectId> {
    repo.write_blob(&serde_json::to_vec_pretty(entry).expect("ledger entries serialize"))
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
    let skew = repo.policy().skew_secs;
    let started = Instant::now();
    let mut attempt = 0u32;
    loop {
        let tip = repo.read_ref(&name)?;
        let current = match tip {
            Some(tip) => state_at(repo, tip)?,
            None => State::default(),
        };
        let now = now_secs();
        let (live, expired): (Vec<Lease>, Vec<Lease>) = current
            .leases
            .iter()
            .cloned()
            .partition(|l| l.blocks_at(now, skew));
        let snapshot = Snapshot {
            live,
            expired,
            now,
            skew,
        };
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
        let (new_tip, tree, state) = write_chain(repo, tip, current, &events, actor, now, skew)?;
        if repo.swap_ref(&name, tip, new_tip)? == Swap::Done {
            super::cache::store(repo, tree, &state);
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

/// One commit per event on top of `tip`; returns the last commit, its tree and the state
/// it holds. Each tree is the previous one edited where the event changed it (its lease's
/// entry and tombstone, and on the first, the tombstones forgotten), so a change writes
/// its entries, their directories and the root, however many entries the ledger holds; a
/// ledger still in the flat layout is written whole once (moving it to fan-out).
fn write_chain(
    repo: &Repo,
    tip: Option<ObjectId>,
    mut state: State,
    events: &[Event],
    actor: &str,
    now: i64,
    skew: i64,
) -> Result<(ObjectId, ObjectId, State)> {
    let mut parent = tip;
    let mut tree = match tip {
        Some(tip) => Some(repo.tree_of(tip)?).filter(|&t| is_fanned_out(repo, t)),
        None => None,
    };
    let mut edits: Vec<Edit> = state
        .forget_old_tombstones(now, skew)
        .iter()
        .map(|id| removal(id, END_SUFFIX))
        .collect();
    for event in events {
        event.apply(&mut state, now);
        let written = match tree {
            Some(base) => {
                edits.extend(entry_edits(repo, &state, &event.lease().id)?);
                repo.edit_tree(Some(base), &std::mem::take(&mut edits))?
            }
            None => write_tree(repo, &state)?,
        };
        let parents: Vec<ObjectId> = parent.into_iter().collect();
        parent = Some(repo.write_commit(written, &parents, actor, &event.message())?);
        tree = Some(written);
    }
    state.sort();
    let tree = tree.expect("at least one event");
    Ok((parent.expect("at least one event"), tree, state))
}

/// Does ledger tree `tree` keep every entry in a fan-out directory (no flat entries left)?
fn is_fanned_out(repo: &Repo, tree: ObjectId) -> bool {
    repo.tree_entries(tree)
        .is_ok_and(|entries| entries.iter().all(|e| e.mode.is_tree()))
}

/// The edits that store lease `id` as `state` holds it: its entry and its tombstone each
/// written when present, removed when not (an event touches only its own lease).
fn entry_edits(repo: &Repo, state: &State, id: &str) -> Result<[Edit; 2]> {
    let lease = state.leases.iter().find(|l| l.id == id);
    let tomb = state.ended.iter().find(|t| t.id == id);
    Ok([
        entry_edit(repo, id, JSON_SUFFIX, lease)?,
        entry_edit(repo, id, END_SUFFIX, tomb)?,
    ])
}

/// The edit that stores `entry` as lease `id`'s `suffix` file, or removes that file.
fn entry_edit(
    repo: &Repo,
    id: &str,
    suffix: &str,
    entry: Option<&impl serde::Serialize>,
) -> Result<Edit> {
    Ok(Edit {
        path: entry_path(id, suffix),
        blob: entry.map(|e| entry_blob(repo, e)).transpose()?,
    })
}

fn removal(id: &str, suffix: &str) -> Edit {
    Edit {
        path: entry_path(id, suffix),
        blob: None,
    }
}

/// Where the entry of lease `id` with `suffix` lives in a fanned-out ledger tree.
fn entry_path(id: &str, suffix: &str) -> String {
    format!("{}/{id}{suffix}", fan_dir(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(holder: &str, granted: i64, ended: Option<i64>) -> Span {
        Span {
            lease: Lease {
                id: format!("{holder:a<12}")[..12].to_string(),
                holder: holder.into(),
                resources: vec!["CHANGELOG.md".into()],
                exclusive: true,
                reason: None,
                task: None,
                created: granted,
                expires: granted + 600,
            },
            granted,
            ended,
        }
    }

    #[test]
    fn a_grant_in_the_second_the_author_released_does_not_bind_the_authors_commit() {
        // backend held the file until second 100 and committed in it; frontend's grant
        // came after the release, in the same second.
        let history = vec![span("backend", 90, Some(100)), span("frontend", 100, None)];
        let (binding, _) = leases_around(&history, 100, "backend");
        assert!(binding.is_empty(), "{binding:?}");
        // Without a release of its own, the same grant binds a commit of that second.
        let (binding, _) = leases_around(&history, 100, "carol");
        assert_eq!(binding.len(), 1);
        // And a second later it binds backend too.
        let (binding, _) = leases_around(&history, 101, "backend");
        assert_eq!(binding.len(), 1);
    }
}
