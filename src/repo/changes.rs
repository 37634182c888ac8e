//! Which paths a commit touches: the staged index against HEAD (pre-commit), or a commit
//! against its parents (post-commit, pre-push). A rename is a deletion plus an addition,
//! so both sides are always reported.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use gix::bstr::ByteSlice;
use gix::objs::tree::EntryKind;

use crate::error::{Context, Result};
use crate::repo::index::{CacheTree, Entry as IndexEntry, Index};
use crate::repo::{ObjectId, Repo};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Modified,
    Deleted,
}

/// One touched path; `blob` is the new content (none for a deletion), so content checks
/// (imports) can read exactly what is committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    pub kind: ChangeKind,
    pub blob: Option<ObjectId>,
}

type Entries = HashMap<String, (ObjectId, EntryKind)>;

/// HEAD as a staged change set was computed against it, so that later steps of the same
/// hook run do not resolve HEAD and read its commit again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub commit: ObjectId,
    pub tree: ObjectId,
    /// A merge is being concluded (`MERGE_HEAD` is there).
    pub merging: bool,
}

/// The staged changes and the HEAD they were computed against (`None`: no commit yet).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Staged {
    pub head: Option<Head>,
    pub changes: Vec<Change>,
}

/// Staged changes: the index (GIT_INDEX_FILE honoured) against HEAD. While a merge is
/// being concluded, only paths that differ from every merged head count, so merging
/// someone else's finished work is not mistaken for editing it.
pub fn staged(repo: &Repo) -> Result<Vec<Change>> {
    Ok(staged_against_head(repo)?.changes)
}

/// [`staged`], with the HEAD it was computed against.
pub fn staged_against_head(repo: &Repo) -> Result<Staged> {
    let Some(index) = open_index(repo)? else {
        return Ok(Staged::default());
    };
    let Some(commit) = head_commit(repo)? else {
        let staged = index_entries(&index, &HashSet::new());
        return Ok(Staged {
            head: None,
            changes: diff(&staged, &Entries::new()),
        });
    };
    let (merging, merged) = merge_heads(repo)?;
    let head = Head {
        commit,
        tree: tree_of(repo, commit)?,
        merging,
    };
    let mut changes: Option<Vec<Change>> = None;
    let bases =
        std::iter::once((commit, Some(head.tree))).chain(merged.into_iter().map(|m| (m, None)));
    for (base, known_tree) in bases {
        // Directories whose cached tree id (index TREE extension) equals the base's
        // subtree hold no change: neither side is read below them.
        let tree = match known_tree {
            Some(tree) => tree,
            None => tree_of(repo, base)?,
        };
        let cache = index.tree();
        let found = if cache.is_some_and(|c| c.num_entries.is_some() && c.id == tree) {
            Vec::new()
        } else {
            let mut old = Entries::new();
            let mut same_dirs = HashSet::new();
            collect_tree_pruned(repo, tree, cache, "", &mut old, &mut same_dirs)?;
            diff(&index_entries(&index, &same_dirs), &old)
        };
        changes = Some(match changes {
            None => found,
            Some(previous) => previous
                .into_iter()
                .filter(|c| found.iter().any(|o| o.path == c.path))
                .collect(),
        });
    }
    Ok(Staged {
        head: Some(head),
        changes: changes.unwrap_or_default(),
    })
}

/// Changes a commit introduces relative to its parents (all files for a root commit;
/// for a merge, paths differing from every parent).
pub fn of_commit(repo: &Repo, commit: ObjectId) -> Result<Vec<Change>> {
    let parents: Vec<ObjectId> = repo
        .gix()
        .find_commit(commit)
        .context("cannot read commit")?
        .parent_ids()
        .map(|id| id.detach())
        .collect();
    let tree = tree_of(repo, commit)?;
    let Some((first, rest)) = parents.split_first() else {
        let mut changes = Vec::new();
        diff_trees(repo, None, Some(tree), "", &mut changes)?;
        return Ok(sorted(changes));
    };
    let mut changes = Vec::new();
    diff_trees(
        repo,
        Some(tree_of(repo, *first)?),
        Some(tree),
        "",
        &mut changes,
    )?;
    for parent in rest {
        let mut other = Vec::new();
        diff_trees(
            repo,
            Some(tree_of(repo, *parent)?),
            Some(tree),
            "",
            &mut other,
        )?;
        changes.retain(|c| other.iter().any(|o| o.path == c.path));
    }
    Ok(sorted(changes))
}

/// HEAD's commit and tree, and whether a merge is being concluded; `None` before the first
/// commit.
pub fn head(repo: &Repo) -> Result<Option<Head>> {
    let Some(commit) = head_commit(repo)? else {
        return Ok(None);
    };
    Ok(Some(Head {
        commit,
        tree: tree_of(repo, commit)?,
        merging: repo.git_dir().join("MERGE_HEAD").exists(),
    }))
}

pub fn head_commit(repo: &Repo) -> Result<Option<ObjectId>> {
    let head = repo.gix().head().context("cannot read HEAD")?;
    Ok(head.id().map(|id| id.detach()))
}

/// Whether a merge is being concluded (`MERGE_HEAD` is there), and the merged heads it
/// names that exist here.
fn merge_heads(repo: &Repo) -> Result<(bool, Vec<ObjectId>)> {
    let path = repo.git_dir().join("MERGE_HEAD");
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok((false, Vec::new()));
    };
    let heads = text
        .lines()
        .filter_map(|l| ObjectId::from_hex(l.trim().as_bytes()).ok())
        .filter(|id| repo.gix().has_object(*id))
        .collect();
    Ok((true, heads))
}

fn diff(new: &Entries, old: &Entries) -> Vec<Change> {
    let mut changes: Vec<Change> = Vec::new();
    for (path, (id, kind)) in new {
        let change_kind = match old.get(path) {
            None => ChangeKind::Added,
            Some(previous) if previous != &(*id, *kind) => ChangeKind::Modified,
            Some(_) => continue,
        };
        changes.push(Change {
            path: path.clone(),
            kind: change_kind,
            blob: Some(*id),
        });
    }
    for path in old.keys().filter(|p| !new.contains_key(*p)) {
        changes.push(Change {
            path: path.clone(),
            kind: ChangeKind::Deleted,
            blob: None,
        });
    }
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    changes
}

fn sorted(mut changes: Vec<Change>) -> Vec<Change> {
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    changes
}

/// The index shared with later readers in this process (the boundary check), so it is
/// read and decoded once.
fn open_index(repo: &Repo) -> Result<Option<std::sync::Arc<Index>>> {
    repo.index()
}

/// Index entries, except those below a directory in `skip_dirs` (`a/b`, no slash).
fn index_entries(index: &Index, skip_dirs: &HashSet<String>) -> Entries {
    let skipped = skipped_ranges(index, skip_dirs);
    let mut entries = Entries::new();
    let mut next = 0;
    for range in skipped.iter().chain(std::iter::once(&(index.len()..0))) {
        for entry in index.entries(next..range.start.max(next)) {
            insert_entry(entry, &mut entries);
        }
        next = next.max(range.end);
    }
    entries
}

/// The index ranges below `dirs`, by position: a directory's entries are contiguous
/// in the path-sorted index, so unchanged directories cost a binary search, not a scan.
fn skipped_ranges(index: &Index, dirs: &HashSet<String>) -> Vec<Range<usize>> {
    let mut ranges: Vec<Range<usize>> = dirs
        .iter()
        .filter_map(|dir| index.prefixed_range(format!("{dir}/").as_bytes()))
        .collect();
    ranges.sort_by_key(|r| r.start);
    ranges
}

fn insert_entry(entry: IndexEntry, entries: &mut Entries) {
    if entry.intent_to_add {
        return;
    }
    let kind = entry
        .mode
        .to_tree_entry_mode()
        .map(|m| m.kind())
        .unwrap_or(EntryKind::Blob);
    let path = entry.path.to_str_lossy().into_owned();
    entries.insert(path, (entry.id, kind));
}

fn tree_of(repo: &Repo, commit: ObjectId) -> Result<ObjectId> {
    Ok(repo
        .gix()
        .find_commit(commit)
        .context("cannot read commit")?
        .tree_id()
        .context("cannot read commit tree")?
        .detach())
}

/// (name, id, kind) of each entry of a tree.
fn tree_entries(repo: &Repo, tree: ObjectId) -> Result<Vec<(String, ObjectId, EntryKind)>> {
    let object = repo.gix().find_tree(tree).context("cannot read tree")?;
    let decoded = object.decode().context("cannot decode tree")?;
    Ok(decoded
        .entries
        .iter()
        .map(|e| {
            (
                e.filename.to_str_lossy().into_owned(),
                e.oid.to_owned(),
                e.mode.kind(),
            )
        })
        .collect())
}

/// All files of `tree`, except below directories whose id matches the index cache-tree
/// node for the same directory (those go to `same_dirs`).
fn collect_tree_pruned(
    repo: &Repo,
    tree: ObjectId,
    cache: Option<&CacheTree>,
    prefix: &str,
    out: &mut Entries,
    same_dirs: &mut HashSet<String>,
) -> Result<()> {
    for (name, id, kind) in tree_entries(repo, tree)? {
        let path = format!("{prefix}{name}");
        if kind != EntryKind::Tree {
            out.insert(path, (id, kind));
            continue;
        }
        let child = cache.and_then(|c| {
            c.children
                .iter()
                .find(|t| t.name.as_slice() == name.as_bytes())
        });
        if child.is_some_and(|c| c.num_entries.is_some() && c.id == id) {
            same_dirs.insert(path);
        } else {
            collect_tree_pruned(repo, id, child, &format!("{path}/"), out, same_dirs)?;
        }
    }
    Ok(())
}

/// Changes from tree `old` to tree `new`, descending only into subtrees that differ.
fn diff_trees(
    repo: &Repo,
    old: Option<ObjectId>,
    new: Option<ObjectId>,
    prefix: &str,
    out: &mut Vec<Change>,
) -> Result<()> {
    if old == new {
        return Ok(());
    }
    let old_entries = match old {
        Some(t) => tree_entries(repo, t)?,
        None => Vec::new(),
    };
    let new_entries = match new {
        Some(t) => tree_entries(repo, t)?,
        None => Vec::new(),
    };
    let index_by_name =
        |list: &[(String, ObjectId, EntryKind)]| -> HashMap<String, (ObjectId, EntryKind)> {
            list.iter()
                .map(|(n, id, kind)| (n.clone(), (*id, *kind)))
                .collect()
        };
    let (old_map, new_map) = (index_by_name(&old_entries), index_by_name(&new_entries));
    let mut names: Vec<&str> = old_entries
        .iter()
        .chain(new_entries.iter())
        .map(|(n, _, _)| n.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        let path = format!("{prefix}{name}");
        let before = old_map.get(name).copied();
        let after = new_map.get(name).copied();
        if before == after {
            continue;
        }
        let is_tree =
            |side: Option<(ObjectId, EntryKind)>| side.is_some_and(|(_, k)| k == EntryKind::Tree);
        let subtree = |side: Option<(ObjectId, EntryKind)>| {
            side.filter(|(_, k)| *k == EntryKind::Tree)
                .map(|(id, _)| id)
        };
        if is_tree(before) || is_tree(after) {
            diff_trees(
                repo,
                subtree(before),
                subtree(after),
                &format!("{path}/"),
                out,
            )?;
        }
        let file_before = before.filter(|(_, k)| *k != EntryKind::Tree);
        let file_after = after.filter(|(_, k)| *k != EntryKind::Tree);
        let kind = match (file_before, file_after) {
            (None, None) => continue,
            (None, Some(_)) => ChangeKind::Added,
            (Some(_), None) => ChangeKind::Deleted,
            (Some(_), Some(_)) => ChangeKind::Modified,
        };
        out.push(Change {
            path,
            kind,
            blob: file_after.map(|(id, _)| id),
        });
    }
    Ok(())
}
