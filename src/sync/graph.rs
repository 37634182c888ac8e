//! Commit-graph questions sync asks: ancestry, ahead/behind counts, a merge base.

use std::collections::HashSet;

use crate::error::{Context, Result};
use crate::repo::{ObjectId, Repo};

/// Commits reachable from `tip` but not from `hidden`.
pub fn count_only(repo: &Repo, tip: ObjectId, hidden: ObjectId) -> Result<usize> {
    let walk = repo
        .gix()
        .rev_walk([tip])
        .with_hidden([hidden])
        .all()
        .context("cannot walk history")?;
    let mut n = 0;
    for info in walk {
        info.context("cannot walk history")?;
        n += 1;
    }
    Ok(n)
}

/// Is `ancestor` reachable from `descendant` (or equal to it)?
pub fn is_ancestor(repo: &Repo, ancestor: ObjectId, descendant: ObjectId) -> Result<bool> {
    if ancestor == descendant {
        return Ok(true);
    }
    let mut walk = repo
        .gix()
        .rev_walk([ancestor])
        .with_hidden([descendant])
        .all()
        .context("cannot walk history")?;
    Ok(walk.next().is_none())
}

/// (ahead, behind) of `local` relative to `remote`.
pub fn ahead_behind(repo: &Repo, local: ObjectId, remote: ObjectId) -> Result<(usize, usize)> {
    Ok((
        count_only(repo, local, remote)?,
        count_only(repo, remote, local)?,
    ))
}

/// A best common ancestor of `a` and `b` (the newest one met walking `b`), if any.
pub fn merge_base(repo: &Repo, a: ObjectId, b: ObjectId) -> Result<Option<ObjectId>> {
    let mut ancestors_of_a = HashSet::new();
    for info in repo
        .gix()
        .rev_walk([a])
        .all()
        .context("cannot walk history")?
    {
        ancestors_of_a.insert(info.context("cannot walk history")?.id);
    }
    for info in repo
        .gix()
        .rev_walk([b])
        .all()
        .context("cannot walk history")?
    {
        let id = info.context("cannot walk history")?.id;
        if ancestors_of_a.contains(&id) {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

/// Commit time of `id` in unix seconds.
pub fn commit_time(repo: &Repo, id: ObjectId) -> Result<i64> {
    let commit = repo.gix().find_commit(id).context("cannot read commit")?;
    Ok(commit.time().context("cannot read commit time")?.seconds)
}
