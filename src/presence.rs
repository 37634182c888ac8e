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

use crate::error::Result;
pub use crate::model::presence::{decode, Presence, MAX_BYTES, READ_DAYS, STATES};
use crate::repo::{ObjectId, Repo};

/// A refresh within this many seconds of the last one is skipped.
pub const REFRESH_SECS: i64 = 5;

pub fn presence_ref(repo: &Repo, name: &str) -> String {
    repo.ns_ref(&format!("presence/{name}"))
}

fn supported(repo: &Repo) -> bool {
    !repo.namespace().starts_with("refs/heads/")
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

/// Whether sync may leave the pushed presence `pushed` on the remote although the local
/// one, `local`, is newer: it only says the agent was seen later and counted more, and the
/// pushed one is younger than `every` seconds. A swarm's every command refreshes its
/// presence; pushing each refresh would make every clone fetch, admit and store one more
/// ref per agent on each sync, for a last-seen time that `who` shows to the minute.
pub fn can_wait(repo: &Repo, local: ObjectId, pushed: ObjectId, every: i64) -> bool {
    let (Some(local), Some(pushed)) = (at(repo, local), at(repo, pushed)) else {
        return false;
    };
    let age = crate::clock::now_secs() - pushed.last_seen;
    (0..every).contains(&age) && local.only_fresher_than(&pushed)
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
