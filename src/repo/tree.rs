//! Trees below the root: reading every blob of a fanned-out tree (`ab/<name>`, as git notes
//! lays out thousands of entries) and editing a tree in place, so one changed entry rewrites
//! only its own subtree and the root, not every entry.

use std::collections::BTreeMap;

use gix::bstr::{BString, ByteSlice};
use gix::objs::tree::{Entry, EntryKind};

use super::{ObjectId, Repo};
use crate::error::{Context, Result};

/// One change to a tree: the blob at `path` (`name` or `dir/name`) becomes `blob`, or is
/// removed when `blob` is `None`.
#[derive(Debug, Clone)]
pub struct Edit {
    pub path: String,
    pub blob: Option<ObjectId>,
}

impl Repo {
    /// The tree of `commit`.
    pub fn tree_of(&self, commit: ObjectId) -> Result<ObjectId> {
        Ok(self
            .inner
            .find_commit(commit)
            .context("cannot read commit")?
            .tree_id()
            .context("cannot read tree")?
            .detach())
    }

    /// The entries of `tree`, in git's order.
    pub fn tree_entries(&self, tree: ObjectId) -> Result<Vec<Entry>> {
        let tree = self.inner.find_tree(tree).context("cannot read tree")?;
        let decoded = tree.decode().context("cannot decode tree")?;
        Ok(decoded.entries.iter().map(|e| (*e).into()).collect())
    }

    /// Visit every blob of the tree of `commit` and of its direct subtrees as
    /// (file name, content): both the flat and the fanned-out layout of a ledger.
    pub fn for_each_ledger_file(
        &self,
        commit: ObjectId,
        mut visit: impl FnMut(&str, &[u8]) -> Result<()>,
    ) -> Result<()> {
        let root = self.tree_of(commit)?;
        for entry in self.tree_entries(root)? {
            if entry.mode.is_tree() {
                for inner in self.tree_entries(entry.oid)? {
                    self.visit_blob(&inner, &mut visit)?;
                }
            } else {
                self.visit_blob(&entry, &mut visit)?;
            }
        }
        Ok(())
    }

    fn visit_blob(
        &self,
        entry: &Entry,
        visit: &mut impl FnMut(&str, &[u8]) -> Result<()>,
    ) -> Result<()> {
        if !entry.mode.is_blob() {
            return Ok(());
        }
        let blob = self
            .inner
            .find_blob(entry.oid)
            .context("cannot read blob")?;
        visit(&entry.filename.to_str_lossy(), &blob.data)
    }

    /// A fanned-out tree of `files` (name, blob): each file in the directory `dir_of(name)`
    /// names. Written whole, but unchanged directories hash to the subtrees already stored,
    /// so only changed ones are new objects.
    pub fn write_fanout_tree(
        &self,
        files: &[(String, ObjectId)],
        dir_of: impl Fn(&str) -> String,
    ) -> Result<ObjectId> {
        let edits: Vec<Edit> = files
            .iter()
            .map(|(name, blob)| Edit {
                path: format!("{}/{name}", dir_of(name)),
                blob: Some(*blob),
            })
            .collect();
        self.edit_tree(None, &edits)
    }

    /// Apply `edits` to `base` (`None`: the empty tree) and write what changed: untouched
    /// subtrees keep their ids, a subtree left empty disappears.
    pub fn edit_tree(&self, base: Option<ObjectId>, edits: &[Edit]) -> Result<ObjectId> {
        Ok(self.edit_subtree(base, edits)?.0)
    }

    /// [`Repo::edit_tree`], also telling whether the result is empty.
    fn edit_subtree(&self, base: Option<ObjectId>, edits: &[Edit]) -> Result<(ObjectId, bool)> {
        let mut by_dir: BTreeMap<&str, Vec<Edit>> = BTreeMap::new();
        let mut here: Vec<&Edit> = Vec::new();
        for edit in edits {
            match edit.path.split_once('/') {
                Some((dir, rest)) => by_dir.entry(dir).or_default().push(Edit {
                    path: rest.to_string(),
                    blob: edit.blob,
                }),
                None => here.push(edit),
            }
        }
        let mut entries: BTreeMap<BString, Entry> = match base {
            Some(tree) => self
                .tree_entries(tree)?
                .into_iter()
                .map(|e| (e.filename.clone(), e))
                .collect(),
            None => BTreeMap::new(),
        };
        for edit in here {
            let name = BString::from(edit.path.as_str());
            match edit.blob {
                Some(oid) => {
                    entries.insert(name.clone(), blob_entry(name, oid));
                }
                None => {
                    entries.remove(&name);
                }
            }
        }
        for (dir, inner) in by_dir {
            let name = BString::from(dir);
            let old = entries
                .get(&name)
                .filter(|e| e.mode.is_tree())
                .map(|e| e.oid);
            let (new, empty) = self.edit_subtree(old, &inner)?;
            if empty {
                entries.remove(&name);
            } else {
                entries.insert(
                    name.clone(),
                    Entry {
                        mode: EntryKind::Tree.into(),
                        filename: name,
                        oid: new,
                    },
                );
            }
        }
        let mut entries: Vec<Entry> = entries.into_values().collect();
        entries.sort();
        let empty = entries.is_empty();
        let tree = gix::objs::Tree { entries };
        let id = self
            .inner
            .write_object(&tree)
            .context("cannot write tree")?
            .detach();
        Ok((id, empty))
    }
}

fn blob_entry(filename: BString, oid: ObjectId) -> Entry {
    Entry {
        mode: EntryKind::Blob.into(),
        filename,
        oid,
    }
}
