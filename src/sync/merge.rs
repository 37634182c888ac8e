//! Per-ref merge policy: what the local value of a namespace ref becomes after a fetch.
//! Every decision only adds history (merge commits, new versions); nothing is rebased.

use crate::artifact::{self, Meta, Version};
use crate::error::{Error, Result};
use crate::mail::{mailbox, Draft};
use crate::repo::{ObjectId, Repo};

use super::graph::{commit_time, is_ancestor};
use super::ledger;

/// The author of sync's own merge commits.
pub const SYNC_AUTHOR: &str = "git-comm";

/// What to do with a local ref given the remote's value.
#[derive(Debug)]
pub enum Resolution {
    /// Local stays as it is (push it if it differs from the remote).
    Keep,
    /// Move the local ref to this value.
    Set(ObjectId),
    /// Leave it alone and do not push it, for this reason.
    Skip(String),
}

/// Outcome of a merge step worth telling the user about.
#[derive(Debug, Default)]
pub struct Notes {
    pub merged: Vec<String>,
    pub republished: Vec<String>,
    pub dropped_leases: Vec<ledger::Dropped>,
}

impl Notes {
    /// Take over what `other` noted.
    pub fn append(&mut self, mut other: Notes) {
        self.merged.append(&mut other.merged);
        self.republished.append(&mut other.republished);
        self.dropped_leases.append(&mut other.dropped_leases);
    }
}

/// Fast-forward either way when one side contains the other, else `diverged()`.
fn by_ancestry(
    repo: &Repo,
    local: ObjectId,
    remote: ObjectId,
    diverged: impl FnOnce() -> Result<Resolution>,
) -> Result<Resolution> {
    if local == remote || is_ancestor(repo, remote, local)? {
        Ok(Resolution::Keep)
    } else if is_ancestor(repo, local, remote)? {
        Ok(Resolution::Set(remote))
    } else {
        diverged()
    }
}

/// Mail: the local chain and every clone's outbox tip become one history. Tips already
/// contained are dropped; one new head that contains the local tip is a fast-forward;
/// anything else is joined by ONE merge commit (an octopus: no trailers, so not a message),
/// however many clones sent mail. When the new heads already reach every message of the
/// local chain and this clone's published outbox (`published`), the local chain holds
/// nothing but this clone's own unpublished joins: the heads alone stand for it, so a
/// reader takes a sender's tip as it is instead of joining it, and no chain of joins
/// grows in a clone that does not send. Returns the resolution and whether it is a merge.
pub fn mail(
    repo: &Repo,
    local: Option<ObjectId>,
    tips: &[ObjectId],
    published: Option<ObjectId>,
    label: &str,
) -> Result<(Resolution, bool)> {
    let (heads, contains_local) = super::graph::new_heads(repo, local, tips)?;
    let local = match local {
        Some(l) if !heads.is_empty() && !contains_local => {
            super::outbox::news_beyond(repo, l, &heads, published)?.then_some(l)
        }
        other => other,
    };
    let parents: Vec<ObjectId> = match (local, heads.as_slice()) {
        (_, []) => return Ok((Resolution::Keep, false)),
        (None, [one]) => return Ok((Resolution::Set(*one), false)),
        (Some(_), [one]) if contains_local => return Ok((Resolution::Set(*one), false)),
        (Some(l), _) if !contains_local => std::iter::once(l).chain(heads).collect(),
        _ => heads,
    };
    let tree = repo.empty_tree()?;
    let message = match parents.len() {
        2 => format!("sync: join mail from {label}\n"),
        n => format!("sync: join mail from {label} ({n} heads)\n"),
    };
    let id = repo.write_commit(tree, &parents, SYNC_AUTHOR, &message)?;
    Ok((Resolution::Set(id), true))
}

/// Agent card: merge commit whose tree is the card with the newer `last_seen`.
pub fn card(
    repo: &Repo,
    name: &str,
    local: ObjectId,
    remote: ObjectId,
    label: &str,
    notes: &mut Notes,
) -> Result<Resolution> {
    by_ancestry(repo, local, remote, || {
        let seen = |c: ObjectId| -> Result<i64> {
            let bytes = repo.read_tree_file(c, "card.json")?.unwrap_or_default();
            let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
            Ok(value["last_seen"].as_i64().unwrap_or(0))
        };
        let newer = if seen(local)? > seen(remote)? {
            local
        } else {
            remote
        };
        let message = format!("sync: merge card {name} from {label}\n");
        let id = merge_keeping(repo, local, remote, newer, name, &message)?;
        notes.merged.push(format!("agents/{name}"));
        Ok(Resolution::Set(id))
    })
}

/// Tasks: fast-forward, or a merge commit whose tree holds every task of both sides, merged
/// per task and per field against the merge base (completions win).
pub fn tasks(
    repo: &Repo,
    local: ObjectId,
    remote: ObjectId,
    label: &str,
    notes: &mut Notes,
) -> Result<Resolution> {
    by_ancestry(repo, local, remote, || {
        let ours = crate::task::ledger::tasks_at(repo, local)?;
        let theirs = crate::task::ledger::tasks_at(repo, remote)?;
        let base = match super::graph::merge_base(repo, local, remote)? {
            Some(b) => crate::task::ledger::tasks_at(repo, b)?,
            None => Vec::new(),
        };
        let merged = crate::task::ledger::merge(&base, &ours, &theirs);
        // Only what differs from ours is written: the tree stays a small edit of ours.
        let ours_by_id: std::collections::HashMap<&str, &crate::task::Task> =
            ours.iter().map(|t| (t.id.as_str(), t)).collect();
        let changed: Vec<crate::task::Task> = merged
            .into_iter()
            .filter(|t| ours_by_id.get(t.id.as_str()) != Some(&t))
            .collect();
        let tree = crate::task::ledger::tree_with(repo, Some(local), &changed)?;
        let message = format!("sync: merge tasks from {label}\n");
        let id = repo.write_commit(tree, &[local, remote], SYNC_AUTHOR, &message)?;
        notes.merged.push("tasks".to_string());
        Ok(Resolution::Set(id))
    })
}

/// Halt: fast-forward, or a merge commit whose tree is the side set last (`since`), so a
/// halt and a resume made on two clones settle on the later one and both stay in the log.
pub fn halt(
    repo: &Repo,
    local: ObjectId,
    remote: ObjectId,
    label: &str,
    notes: &mut Notes,
) -> Result<Resolution> {
    by_ancestry(repo, local, remote, || {
        let since = |c| crate::halt::at(repo, c).map(|h| h.since);
        let newer = if since(local)? > since(remote)? {
            local
        } else {
            remote
        };
        let message = format!("sync: merge halt from {label}\n");
        let id = merge_keeping(repo, local, remote, newer, SYNC_AUTHOR, &message)?;
        notes.merged.push("halt".to_string());
        Ok(Resolution::Set(id))
    })
}

/// A merge commit of `local` and `remote` whose tree is that of `keep` (one of them): for
/// refs whose whole value is one side's, chosen by the caller.
fn merge_keeping(
    repo: &Repo,
    local: ObjectId,
    remote: ObjectId,
    keep: ObjectId,
    author: &str,
    message: &str,
) -> Result<ObjectId> {
    let tree = repo
        .gix()
        .find_commit(keep)
        .map_err(|e| Error::git(format!("cannot read {keep}: {e}")))?
        .tree_id()
        .map_err(|e| Error::git(format!("cannot read the tree of {keep}: {e}")))?
        .detach();
    repo.write_commit(tree, &[local, remote], author, message)
}

/// Presence: the fresher one wins (newer `last_seen`, then more counted), and between two
/// equally fresh ones the larger blob id, so every clone picks the same and none pushes
/// another agent's presence back over the remote's (blobs, no history to join).
pub fn presence(repo: &Repo, local: ObjectId, remote: ObjectId) -> Result<Resolution> {
    let fresh = |id| crate::presence::at(repo, id).map_or((0, 0), |p| p.freshness());
    let remote_wins = (fresh(remote), remote) > (fresh(local), local);
    Ok(if local != remote && remote_wins {
        Resolution::Set(remote)
    } else {
        Resolution::Keep
    })
}

/// Read cursor: the descendant, or the newer one if they diverged.
pub fn cursor(repo: &Repo, local: ObjectId, remote: ObjectId) -> Result<Resolution> {
    by_ancestry(repo, local, remote, || {
        if commit_time(repo, remote)? >= commit_time(repo, local)? {
            Ok(Resolution::Set(remote))
        } else {
            Ok(Resolution::Keep)
        }
    })
}

/// Any other commit ref: fast-forward either way; divergence is left alone and reported.
pub fn other(repo: &Repo, name: &str, local: ObjectId, remote: ObjectId) -> Result<Resolution> {
    let both_commits =
        repo.gix().find_commit(local).is_ok() && repo.gix().find_commit(remote).is_ok();
    if !both_commits {
        return Ok(if local == remote {
            Resolution::Keep
        } else {
            Resolution::Skip(format!("{name}: local and remote differ; not merged"))
        });
    }
    by_ancestry(repo, local, remote, || {
        Ok(Resolution::Skip(format!(
            "{name}: diverged and sync has no merge rule for it; left as is"
        )))
    })
}

/// Lease ledger: endings on either side stay; conflicting local grants lose to the remote's.
pub fn ledger(
    repo: &Repo,
    local: ObjectId,
    remote: ObjectId,
    label: &str,
    notes: &mut Notes,
) -> Result<Resolution> {
    by_ancestry(repo, local, remote, || {
        let merged = ledger::merge(
            repo,
            local,
            remote,
            crate::clock::now_secs(),
            repo.policy().skew_secs,
        )?;
        let tree = merged.tree;
        let mut message = format!("sync: merge ledger from {label}\n");
        if !merged.dropped.is_empty() {
            message.push('\n');
            for d in &merged.dropped {
                message.push_str(&format!(
                    "dropped {} of {}: conflicts with {} of {} granted on {label}\n",
                    d.lease.id, d.lease.holder, d.winner.id, d.winner.holder
                ));
            }
        }
        let id = repo.write_commit(tree, &[local, remote], SYNC_AUTHOR, &message)?;
        notes.merged.push("leases".to_string());
        notes.dropped_leases.extend(merged.dropped);
        Ok(Resolution::Set(id))
    })
}

/// Artifact `key`: fast-forward along the `Previous:` chain; if both sides published,
/// keep the remote's versions and re-publish ours on top (nothing lost). Returns the
/// resolution and the versions re-published (to announce once the ref is moved).
pub fn artifact(
    repo: &Repo,
    key: &str,
    local: ObjectId,
    remote: ObjectId,
) -> Result<(Resolution, Vec<(Version, Version)>)> {
    if local == remote {
        return Ok((Resolution::Keep, Vec::new()));
    }
    let local_chain = artifact::chain(repo, key, local)?;
    if local_chain.iter().any(|v| v.tag == remote) {
        return Ok((Resolution::Keep, Vec::new()));
    }
    let remote_chain = artifact::chain(repo, key, remote)?;
    if remote_chain.iter().any(|v| v.tag == local) {
        return Ok((Resolution::Set(remote), Vec::new()));
    }
    let mut tip = remote_chain[0].clone();
    let mut republished = Vec::new();
    for mine in local_chain
        .iter()
        .rev()
        .filter(|v| !remote_chain.iter().any(|r| r.tag == v.tag))
    {
        if mine.blob == tip.blob {
            continue; // same content already on top: nothing to add
        }
        let note = format!(
            "re-published by sync: was v{} here, concurrent with the remote's v{}",
            mine.meta.version, tip.meta.version
        );
        let description = if mine.meta.description.is_empty() {
            note
        } else {
            format!("{}\n\n{note}", mine.meta.description)
        };
        let meta = Meta {
            key: key.to_string(),
            version: tip.meta.version + 1,
            previous: Some(tip.tag),
            description,
            ..mine.meta.clone()
        };
        let tag = artifact::tag::write(repo, mine.blob, &mine.publisher, &meta)?;
        let next = artifact::tag::read(repo, key, tag)?;
        republished.push((mine.clone(), next.clone()));
        tip = next;
    }
    Ok((Resolution::Set(tip.tag), republished))
}

/// Tell everyone a local version got a new number.
pub fn announce_republish(repo: &Repo, old: &Version, new: &Version) -> Result<()> {
    let label = format!("{}@v{}", new.meta.key, new.meta.version);
    let draft = Draft {
        subject: format!(
            "republished {label} (was v{} before sync)",
            old.meta.version
        ),
        body: new.meta.description.clone(),
        to: vec![crate::agent::EVERYONE.to_string()],
        kind: "artifact".to_string(),
        artifact: Some(label),
        ..Draft::default()
    };
    mailbox::append(repo, &new.publisher, &draft)?;
    Ok(())
}
