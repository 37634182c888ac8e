//! What a sync moved, per kind of state: messages and acks in and out, leases granted and
//! ended here, artifact versions in and out, cursors in and out. Computed from the namespace
//! and the tracking copies before and after, so "nothing changed" is exact. Counts are of
//! records, not refs: every message (a non-merge mail commit, however many merges join them)
//! and every artifact version along the `Previous:` chain.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::error::Result;
use crate::repo::{ObjectId, Repo};

type Refs = BTreeMap<String, ObjectId>;

#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct Moved {
    /// Messages (acks excepted) now here / on the remote that were not.
    pub mail_in: usize,
    pub mail_out: usize,
    /// Acks now here / on the remote that were not.
    pub acks_in: usize,
    pub acks_out: usize,
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
    let mail_in = Mail::count(
        repo,
        local_after.get("mail").into_iter().copied(),
        local_before.get("mail").into_iter().copied(),
    )?;
    let mail_out = mail_out(repo, remote_before, remote_after)?;
    Ok(Moved {
        mail_in: mail_in.messages,
        mail_out: mail_out.messages,
        acks_in: mail_in.acks,
        acks_out: mail_out.acks,
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

/// Messages and acks between two sets of mail tips.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Mail {
    messages: usize,
    acks: usize,
}

impl Mail {
    /// Mail commits reachable from `tips` and from none of `hidden`; merges are skipped,
    /// so one merge per sync or one per outbox counts the same.
    fn count(
        repo: &Repo,
        tips: impl IntoIterator<Item = ObjectId>,
        hidden: impl IntoIterator<Item = ObjectId>,
    ) -> Result<Mail> {
        let tips: Vec<ObjectId> = tips.into_iter().collect();
        let mut mail = Mail::default();
        if tips.is_empty() {
            return Ok(mail);
        }
        let hidden: Vec<ObjectId> = hidden.into_iter().collect();
        for visit in crate::repo::walk::only_from(repo, &tips, &hidden)? {
            let id = visit?.id;
            match crate::mail::mailbox::load(repo, id)? {
                Some(m) if m.kind == "ack" => mail.acks += 1,
                Some(_) => mail.messages += 1,
                None => {}
            }
        }
        Ok(mail)
    }
}

/// Mail the remote's views (every outbox, a legacy `mail`) hold after and held in none of
/// them before.
fn mail_out(repo: &Repo, before: &Refs, after: &Refs) -> Result<Mail> {
    let views = |refs: &Refs| -> Vec<ObjectId> {
        refs.iter()
            .filter(|(s, _)| super::outbox::is_mail_view(s))
            .map(|(_, id)| *id)
            .collect()
    };
    let tips = after
        .iter()
        .filter(|(s, id)| super::outbox::is_mail_view(s) && before.get(*s) != Some(id))
        .map(|(_, id)| *id);
    Mail::count(repo, tips, views(before))
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

/// Every version (`domain/name@vN`, oldest first) the artifact refs of `after` hold and
/// those of `before` did not: the `Previous:` chain from the new tip down to the old one.
fn artifact_versions(repo: &Repo, before: &Refs, after: &Refs) -> Vec<String> {
    let mut out = Vec::new();
    for (suffix, tip) in after
        .iter()
        .filter(|(s, id)| s.starts_with("artifacts/") && before.get(*s) != Some(id))
    {
        let key = &suffix["artifacts/".len()..];
        let old = before.get(suffix).copied();
        let old_version = old.and_then(|id| crate::artifact::tag::read(repo, key, id).ok());
        let floor = old_version.map_or(0, |v| v.meta.version);
        let Ok(chain) = crate::artifact::chain(repo, key, *tip) else {
            continue;
        };
        let mut new: Vec<String> = chain
            .iter()
            .take_while(|v| Some(v.tag) != old && v.meta.version > floor)
            .map(|v| format!("{key}@v{}", v.meta.version))
            .collect();
        new.reverse();
        out.extend(new);
    }
    out
}

fn changed(before: &Refs, after: &Refs, prefix: &str) -> usize {
    after
        .iter()
        .filter(|(s, id)| s.starts_with(prefix) && before.get(*s) != Some(id))
        .count()
}
