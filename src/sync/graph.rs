//! Commit-graph questions sync asks: ancestry, ahead/behind counts, a merge base.

use std::collections::HashSet;

use crate::error::{Context, Result};
use crate::repo::{walk, ObjectId, Repo};

/// Commits reachable from `tip` but not from `hidden`.
pub fn count_only(repo: &Repo, tip: ObjectId, hidden: ObjectId) -> Result<usize> {
    let mut n = 0;
    for visit in walk::only_from(repo, &[tip], &[hidden])? {
        visit?;
        n += 1;
    }
    Ok(n)
}

/// Is `ancestor` reachable from `descendant` (or equal to it)?
pub fn is_ancestor(repo: &Repo, ancestor: ObjectId, descendant: ObjectId) -> Result<bool> {
    if ancestor == descendant {
        return Ok(true);
    }
    Ok(walk::only_from(repo, &[ancestor], &[descendant])?
        .next()
        .is_none())
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

/// Of `tips`, the heads a merge into `local` needs: each tip not reachable from `local`
/// nor from another tip, once. Also whether `local` is reachable from them (then a single
/// head is a fast-forward). One walk over the commits the tips add, whatever their number.
pub fn new_heads(
    repo: &Repo,
    local: Option<ObjectId>,
    tips: &[ObjectId],
) -> Result<(Vec<ObjectId>, bool)> {
    let mut unique = tips.to_vec();
    unique.sort();
    unique.dedup();
    let hidden: Vec<ObjectId> = local.into_iter().collect();
    let mut visited = HashSet::new();
    let mut parents = HashSet::new();
    for visit in walk::only_from(repo, &unique, &hidden)? {
        let visit = visit?;
        parents.extend(visit.parents);
        visited.insert(visit.id);
    }
    let heads = unique
        .into_iter()
        .filter(|t| visited.contains(t) && !parents.contains(t))
        .collect();
    Ok((heads, local.is_some_and(|l| parents.contains(&l))))
}

/// Commit time of `id` in unix seconds.
pub fn commit_time(repo: &Repo, id: ObjectId) -> Result<i64> {
    let commit = repo.gix().find_commit(id).context("cannot read commit")?;
    Ok(commit.time().context("cannot read commit time")?.seconds)
}
