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
        mail_out: new_messages(repo, remote_before.get("mail"), remote_after.get("mail"))?,
        leases_granted: lease_diff(repo, local_before, local_after)?,
        leases_ended: lease_diff(repo, local_after, local_before)?,
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
