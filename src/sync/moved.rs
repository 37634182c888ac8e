//! What a sync moved, per kind of state: mail in and out, leases granted and ended here,
//! artifact versions in and out, cursors in and out. Computed from the namespace and the
//! tracking copies before and after, so "nothing changed" is exact.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::error::Result;
use crate::repo::{ObjectId, Repo};

type Refs = BTreeMap<String, ObjectId>;

#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct Moved {
    pub mail_in: usize,
    pub mail_out: usize,
    /// Leases live here now that were not before the sync (granted elsewhere).
    pub leases_granted: Vec<String>,
    /// Leases live before the sync and not after (released, expired or dropped elsewhere).
    pub leases_ended: Vec<String>,
    /// Leases granted here that the remote now has.
    pub leases_granted_out: Vec<String>,
    /// Leases ended here whose ending the remote now has.
    pub leases_ended_out: Vec<String>,
    /// Tasks changed here / on the remote by this sync.
    pub tasks_in: usize,
    pub tasks_out: usize,
    /// The halt state changed here / on the remote.
    pub halt_in: bool,
    pub halt_out: bool,
    /// `domain/name@vN` now here that were not.
    pub artifacts_in: Vec<String>,
    /// `domain/name@vN` now on the remote that were not.
    pub artifacts_out: Vec<String>,
    pub cursors_in: usize,
    pub cursors_out: usize,
    /// Agent cards (and presence) updated here / on the remote.
    pub agents_in: usize,
    pub agents_out: usize,
}

impl Moved {
    pub fn is_empty(&self) -> bool {
        *self == Moved::default()
    }
}

/// Compare the namespace (`local_*`) and the tracking copies (`remote_*`) before and after.
pub fn summarize(
    repo: &Repo,
    local_before: &Refs,
    local_after: &Refs,
    remote_before: &Refs,
    remote_after: &Refs,
) -> Result<Moved> {
    Ok(Moved {
        mail_in: new_messages(repo, local_before.get("mail"), local_after.get("mail"))?,
        mail_out: mail_out(repo, remote_before, remote_after)?,
        leases_granted: lease_diff(repo, local_before, local_after)?,
        leases_ended: lease_diff(repo, local_after, local_before)?,
        leases_granted_out: lease_diff(repo, remote_before, remote_after)?,
        leases_ended_out: lease_diff(repo, remote_after, remote_before)?,
        tasks_in: changed_tasks(repo, local_before, local_after)?,
        tasks_out: changed_tasks(repo, remote_before, remote_after)?,
        halt_in: local_before.get("halt") != local_after.get("halt"),
        halt_out: remote_before.get("halt") != remote_after.get("halt"),
        artifacts_in: artifact_versions(repo, local_before, local_after),
        artifacts_out: artifact_versions(repo, remote_before, remote_after),
        cursors_in: changed(local_before, local_after, "cursors/"),
        cursors_out: changed(remote_before, remote_after, "cursors/"),
        agents_in: changed(local_before, local_after, "agents/"),
        agents_out: changed(remote_before, remote_after, "agents/"),
    })
}

fn new_messages(repo: &Repo, before: Option<&ObjectId>, after: Option<&ObjectId>) -> Result<usize> {
    match after {
        Some(&tip) if before != Some(&tip) => {
            Ok(crate::mail::mailbox::walk(repo, tip, before.copied())?.len())
        }
        _ => Ok(0),
    }
}

/// Messages the remote's views of the mail (every outbox, a legacy `mail`) hold after and
/// held in none of them before.
fn mail_out(repo: &Repo, before: &Refs, after: &Refs) -> Result<usize> {
    let views = |refs: &Refs| -> Vec<ObjectId> {
        refs.iter()
            .filter(|(s, _)| super::outbox::is_mail_view(s))
            .map(|(_, id)| *id)
            .collect()
    };
    let tips: Vec<ObjectId> = after
        .iter()
        .filter(|(s, id)| super::outbox::is_mail_view(s) && before.get(*s) != Some(id))
        .map(|(_, id)| *id)
        .collect();
    if tips.is_empty() {
        return Ok(0);
    }
    let walk = repo
        .gix()
        .rev_walk(tips)
        .with_hidden(views(before))
        .all()
        .map_err(|e| crate::error::Error::git(format!("cannot walk mail: {e}")))?;
    let mut count = 0;
    for info in walk {
        let id = info
            .map_err(|e| crate::error::Error::git(format!("cannot walk mail: {e}")))?
            .id;
        count += usize::from(crate::mail::mailbox::load(repo, id)?.is_some());
    }
    Ok(count)
}

/// Ids of leases live at `to`'s ledger and not at `from`'s.
fn lease_diff(repo: &Repo, from: &Refs, to: &Refs) -> Result<Vec<String>> {
    let live = |refs: &Refs| -> Result<BTreeSet<String>> {
        let Some(&tip) = refs.get("leases") else {
            return Ok(BTreeSet::new());
        };
        let now = crate::clock::now_secs();
        Ok(crate::lease::ledger::leases_at(repo, tip)?
            .into_iter()
            .filter(|l| l.is_live(now))
            .map(|l| l.id)
            .collect())
    };
    if from.get("leases") == to.get("leases") {
        return Ok(Vec::new());
    }
    let (before, after) = (live(from)?, live(to)?);
    Ok(after.difference(&before).cloned().collect())
}

/// How many tasks differ between the task ledgers of `before` and `after`.
fn changed_tasks(repo: &Repo, before: &Refs, after: &Refs) -> Result<usize> {
    let (Some(&new), old) = (after.get("tasks"), before.get("tasks")) else {
        return Ok(0);
    };
    if old == Some(&new) {
        return Ok(0);
    }
    let old_tasks = match old {
        Some(&id) => crate::task::ledger::tasks_at(repo, id)?,
        None => Vec::new(),
    };
    Ok(crate::task::ledger::tasks_at(repo, new)?
        .iter()
        .filter(|t| !old_tasks.contains(t))
        .count())
}

fn artifact_versions(repo: &Repo, before: &Refs, after: &Refs) -> Vec<String> {
    after
        .iter()
        .filter(|(s, id)| s.starts_with("artifacts/") && before.get(*s) != Some(id))
        .filter_map(|(s, id)| {
            let key = &s["artifacts/".len()..];
            crate::artifact::tag::read(repo, key, *id)
                .ok()
                .map(|v| format!("{key}@v{}", v.meta.version))
        })
        .collect()
}

fn changed(before: &Refs, after: &Refs, prefix: &str) -> usize {
    after
        .iter()
        .filter(|(s, id)| s.starts_with(prefix) && before.get(*s) != Some(id))
        .count()
}
