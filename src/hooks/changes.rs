//! Which paths a commit touches: the staged index against HEAD (pre-commit), or a commit
//! against its parents (post-commit, pre-push). A rename is a deletion plus an addition,
//! so both sides are always reported.

use std::collections::HashMap;

use gix::bstr::ByteSlice;
use gix::objs::tree::EntryKind;

use crate::error::{Context, Result};
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

/// Staged changes: the index (GIT_INDEX_FILE honoured) against HEAD. While a merge is
/// being concluded, only paths that differ from every merged head count, so merging
/// someone else's finished work is not mistaken for editing it.
pub fn staged(repo: &Repo) -> Result<Vec<Change>> {
    let staged = index_entries(repo)?;
    let mut bases = Vec::new();
    if let Some(head) = head_commit(repo)? {
        bases.push(head);
        bases.extend(merge_heads(repo)?);
    }
    diff_against_all(repo, &staged, &bases)
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
    let entries = commit_entries(repo, commit)?;
    diff_against_all(repo, &entries, &parents)
}

pub fn head_commit(repo: &Repo) -> Result<Option<ObjectId>> {
    let head = repo.gix().head().context("cannot read HEAD")?;
    Ok(head.id().map(|id| id.detach()))
}

fn merge_heads(repo: &Repo) -> Result<Vec<ObjectId>> {
    let path = repo.git_dir().join("MERGE_HEAD");
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(Vec::new());
    };
    Ok(text
        .lines()
        .filter_map(|l| ObjectId::from_hex(l.trim().as_bytes()).ok())
        .filter(|id| repo.gix().has_object(*id))
        .collect())
}

fn diff_against_all(repo: &Repo, new: &Entries, bases: &[ObjectId]) -> Result<Vec<Change>> {
    let Some((first, rest)) = bases.split_first() else {
        return Ok(diff(new, &Entries::new()));
    };
    let mut changes = diff(new, &commit_entries(repo, *first)?);
    for base in rest {
        let other = diff(new, &commit_entries(repo, *base)?);
        changes.retain(|c| other.iter().any(|o| o.path == c.path));
    }
    Ok(changes)
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

fn index_entries(repo: &Repo) -> Result<Entries> {
    let index = match repo.gix().open_index() {
        Ok(index) => index,
        Err(_) if !repo.gix().index_path().exists() => return Ok(Entries::new()),
        Err(e) => return Err(crate::Error::git(format!("cannot read the index: {e}"))),
    };
    let mut entries = Entries::with_capacity(index.entries().len());
    for entry in index.entries() {
        if entry
            .flags
            .contains(gix::index::entry::Flags::INTENT_TO_ADD)
        {
            continue;
        }
        let kind = entry
            .mode
            .to_tree_entry_mode()
            .map(|m| m.kind())
            .unwrap_or(EntryKind::Blob);
        let path = entry.path(&index).to_str_lossy().into_owned();
        entries.insert(path, (entry.id, kind));
    }
    Ok(entries)
}

fn commit_entries(repo: &Repo, commit: ObjectId) -> Result<Entries> {
    let tree = repo
        .gix()
        .find_commit(commit)
        .context("cannot read commit")?
        .tree_id()
        .context("cannot read commit tree")?
        .detach();
    let mut entries = Entries::new();
    collect_tree(repo, tree, "", &mut entries)?;
    Ok(entries)
}

fn collect_tree(repo: &Repo, tree: ObjectId, prefix: &str, out: &mut Entries) -> Result<()> {
    let object = repo.gix().find_tree(tree).context("cannot read tree")?;
    let mut subtrees = Vec::new();
    for entry in object.decode().context("cannot decode tree")?.entries {
        let path = format!("{prefix}{}", entry.filename.to_str_lossy());
        let kind = entry.mode.kind();
        if kind == EntryKind::Tree {
            subtrees.push((entry.oid.to_owned(), path));
        } else {
            out.insert(path, (entry.oid.to_owned(), kind));
        }
    }
    for (id, path) in subtrees {
        collect_tree(repo, id, &format!("{path}/"), out)?;
    }
    Ok(())
}
