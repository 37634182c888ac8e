//! The set of files a check looks at, and how to read them: the worktree (tracked files plus
//! untracked ones not ignored by .gitignore) or the index (staged blobs, never the worktree).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ignore::WalkState;

use gix::bstr::ByteSlice;

use super::files::Files;
use crate::error::{Context, Result};
use crate::repo::changes::{Change, Staged};
use crate::repo::index::Entry as IndexEntry;
use crate::repo::{ObjectId, Repo};

/// Files larger than this are skipped with a notice (generated bundles, data).
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

pub enum Origin {
    Worktree(PathBuf),
    Index,
}

/// Repo-relative paths (always `/`-separated) with, for the index, their blob ids.
pub struct Snapshot {
    pub origin: Origin,
    pub files: Files,
}

impl Snapshot {
    /// The staged content: every regular file entry of the index (stage 0).
    pub fn index(repo: &Repo) -> Result<Snapshot> {
        let files = match repo.index()? {
            Some(index) => Files::of_index(index, is_staged_file),
            None => Files::default(),
        };
        Ok(Snapshot::new(Origin::Index, files))
    }

    /// The files of a commit's tree (read from the object database, like the index).
    pub fn tree(repo: &Repo, tree: ObjectId) -> Result<Snapshot> {
        let state = repo
            .gix()
            .index_from_tree(&tree)
            .context("cannot read the commit's tree")?;
        let files = Files::from_sorted(
            state
                .entries()
                .iter()
                .filter(|entry| {
                    entry.mode == gix::index::entry::Mode::FILE
                        || entry.mode == gix::index::entry::Mode::FILE_EXECUTABLE
                })
                .map(|entry| (entry.path(&state).to_str_lossy(), Some(entry.id))),
        );
        Ok(Snapshot::new(Origin::Index, files))
    }

    /// The worktree: tracked files that exist plus untracked files .gitignore does not hide.
    pub fn worktree(repo: &Repo) -> Result<Snapshot> {
        let root = repo.workdir().map(PathBuf::from).ok_or_else(|| {
            crate::Error::usage("this repository has no worktree")
                .with_hint("run the check in a worktree, or use --staged")
        })?;
        let index = repo
            .gix()
            .index_or_empty()
            .context("cannot read the index")?;
        let mut paths = walk_unignored(&root);
        paths.sort_unstable();
        paths.dedup();
        // Tracked files that .gitignore hides: the walk skipped them, the index has them.
        let mut hidden = Vec::new();
        for entry in index.entries() {
            let path = entry.path(&index).to_str_lossy();
            let walked = paths.binary_search_by(|p| p.as_str().cmp(&path)).is_ok();
            if !walked && root.join(path.as_ref()).is_file() {
                hidden.push(path.into_owned());
            }
        }
        paths.extend(hidden);
        let files = Files::from_unsorted(paths.into_iter().map(|p| (p, None)));
        Ok(Snapshot::new(Origin::Worktree(root), files))
    }

    fn new(origin: Origin, files: Files) -> Snapshot {
        Snapshot { origin, files }
    }

    pub fn is_file(&self, path: &str) -> bool {
        self.files.contains(path)
    }

    /// A directory holding at least one file (the root `""` always counts).
    pub fn is_dir(&self, path: &str) -> bool {
        // Asked for a few paths per import: a lookup in the sorted paths costs less than
        // listing every directory of the repository up front.
        let prefix = format!("{path}/");
        path.is_empty()
            || self
                .files
                .paths_from(&prefix)
                .next()
                .is_some_and(|file| file.starts_with(&prefix))
    }

    /// Read a file's bytes (from the worktree or the object database).
    pub fn read(&self, repo: &gix::Repository, path: &str) -> Option<Vec<u8>> {
        match &self.origin {
            Origin::Worktree(root) => std::fs::read(root.join(path)).ok(),
            Origin::Index => {
                let id = self.files.blob(path)?;
                repo.find_blob(id).ok().map(|b| b.data.clone())
            }
        }
    }

    /// Read a worktree file without a repository handle (safe on any thread).
    pub fn read_worktree(&self, path: &str) -> Option<Vec<u8>> {
        match &self.origin {
            Origin::Worktree(root) => std::fs::read(root.join(path)).ok(),
            Origin::Index => None,
        }
    }

    pub fn read_text(&self, repo: &gix::Repository, path: &str) -> Option<String> {
        self.read(repo, path)
            .and_then(|bytes| String::from_utf8(bytes).ok())
    }

    /// The blob id of a file's content: known for the index, hashed for the worktree.
    pub fn blob_id(&self, path: &str, bytes: &[u8]) -> ObjectId {
        match self.files.blob(path) {
            Some(id) => id,
            None => gix::objs::compute_hash(gix::hash::Kind::Sha1, gix::objs::Kind::Blob, bytes)
                .expect("sha1 hashing does not fail"),
        }
    }
}

/// A regular file at stage 0: what [`Snapshot::index`] lists.
pub fn is_staged_file(entry: &IndexEntry) -> bool {
    let regular = entry.mode == gix::index::entry::Mode::FILE
        || entry.mode == gix::index::entry::Mode::FILE_EXECUTABLE;
    regular && entry.stage == 0
}

/// The staged content of one file, as `Snapshot::index(repo)?.read(..)` would give it,
/// without listing the whole index.
pub fn read_indexed(repo: &Repo, path: &str) -> Result<Option<Vec<u8>>> {
    let Some(index) = repo.index()? else {
        return Ok(None);
    };
    let entry = index
        .find(path.as_bytes(), 0)
        .map(|n| index.entry(n))
        .filter(is_staged_file);
    Ok(entry.and_then(|e| repo.gix().find_blob(e.id).ok().map(|b| b.data.clone())))
}

/// Every file under `root` that .gitignore (and .ignore) files do not hide, walked on all
/// threads (a tree of thousands of directories costs a stat per ignore file per directory).
fn walk_unignored(root: &Path) -> Vec<String> {
    let found = Mutex::new(Vec::new());
    ignore::WalkBuilder::new(root)
        .hidden(false)
        .parents(false)
        .require_git(false)
        .filter_entry(|e| e.file_name() != ".git")
        .build_parallel()
        .run(|| {
            Box::new(|entry| {
                let Ok(entry) = entry else {
                    return WalkState::Continue;
                };
                if entry.file_type().is_some_and(|t| t.is_file()) {
                    if let Ok(rel) = entry.path().strip_prefix(root) {
                        let path = rel.to_string_lossy().replace('\\', "/");
                        if let Ok(mut found) = found.lock() {
                            found.push(path);
                        }
                    }
                }
                WalkState::Continue
            })
        });
    found.into_inner().unwrap_or_default()
}

/// The staged changes against HEAD (while a merge is being concluded: against every merged
/// head), or `None` when every staged file must be checked: no HEAD yet, or the config itself
/// is staged. Reads only the HEAD subtrees the index cache-tree does not vouch for, so its
/// cost follows what changed, not the size of the repository. `known`: that change set,
/// already computed by the caller with the HEAD it was computed against.
pub fn staged_changes(repo: &Repo, known: Option<&Staged>) -> Result<Option<Vec<Change>>> {
    let staged = match known {
        Some(known) => known.clone(),
        None if crate::repo::changes::head_commit(repo)?.is_none() => return Ok(None),
        None => crate::repo::changes::staged_against_head(repo)?,
    };
    if staged.head.is_none()
        || staged
            .changes
            .iter()
            .any(|c| c.path == crate::config::CONFIG_PATH)
    {
        return Ok(None);
    }
    Ok(Some(staged.changes))
}

/// The paths of `changes` that are staged (not deleted): what a staged check reads.
pub fn staged_paths(changes: &[Change]) -> HashSet<String> {
    changes
        .iter()
        .filter(|c| c.blob.is_some())
        .map(|c| c.path.clone())
        .collect()
}
