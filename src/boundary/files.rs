//! The paths of a snapshot, sorted, looked up by binary search. The index is read in place
//! (it is sorted by path already); a tree's or the worktree's paths are copied into one
//! buffer. A map allocated a string and a node per file, and freed them all again at the end
//! of every commit's check.

use std::ops::Range;
use std::sync::Arc;

use gix::bstr::ByteSlice;

use crate::repo::index::{Entry as IndexEntry, Index};
use crate::repo::ObjectId;

/// Sorted, unique repository paths and their blob ids (none in the worktree).
#[derive(Default)]
pub struct Files {
    inner: Inner,
}

enum Inner {
    /// Paths copied into one buffer.
    Listed { text: String, entries: Vec<Entry> },
    /// The index itself, its paths all UTF-8: nothing copied; `listed` tells which entries
    /// count (regular files at stage 0).
    Index {
        index: Arc<Index>,
        listed: fn(&IndexEntry) -> bool,
    },
}

impl Default for Inner {
    fn default() -> Inner {
        Inner::Listed {
            text: String::new(),
            entries: Vec::new(),
        }
    }
}

struct Entry {
    path: Range<u32>,
    id: Option<ObjectId>,
}

impl Files {
    /// The entries of `index` that `listed` accepts, read in place (the index is sorted by
    /// path); copied, with non-UTF-8 names shown lossily, only if some name is not UTF-8.
    pub fn of_index(index: Arc<Index>, listed: fn(&IndexEntry) -> bool) -> Files {
        if all_utf8(&index) {
            return Files {
                inner: Inner::Index { index, listed },
            };
        }
        Files::from_sorted(
            index
                .entries(0..index.len())
                .filter(|entry| listed(entry))
                .map(|entry| (entry.path.to_str_lossy(), Some(entry.id))),
        )
    }

    /// From paths in any order; a path given twice keeps its last id, as a map would.
    pub fn from_unsorted<S: AsRef<str>>(
        items: impl IntoIterator<Item = (S, Option<ObjectId>)>,
    ) -> Files {
        let mut items: Vec<(S, Option<ObjectId>)> = items.into_iter().collect();
        items.sort_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
        Files::from_sorted(items)
    }

    /// From paths in ascending order (checked: out of order, they are sorted first).
    pub fn from_sorted<S: AsRef<str>>(
        items: impl IntoIterator<Item = (S, Option<ObjectId>)>,
    ) -> Files {
        let mut items = items.into_iter();
        let mut text = String::new();
        let mut entries: Vec<Entry> = Vec::with_capacity(items.size_hint().0);
        while let Some((path, id)) = items.next() {
            let path = path.as_ref();
            let last = entries.last().map(|e| path_in(&text, e));
            match last.map(|last| last.cmp(path)) {
                Some(std::cmp::Ordering::Equal) => {
                    if let Some(last) = entries.last_mut() {
                        last.id = id;
                    }
                }
                Some(std::cmp::Ordering::Greater) => {
                    // Only non-UTF-8 names, shown lossily, can come out of order.
                    let mut all: Vec<(String, Option<ObjectId>)> = entries
                        .iter()
                        .map(|e| (path_in(&text, e).to_string(), e.id))
                        .collect();
                    all.push((path.to_string(), id));
                    all.extend(items.map(|(p, id)| (p.as_ref().to_string(), id)));
                    return Files::from_unsorted(all);
                }
                _ => {
                    let start = text.len() as u32;
                    text.push_str(path);
                    entries.push(Entry {
                        path: start..text.len() as u32,
                        id,
                    });
                }
            }
        }
        Files {
            inner: Inner::Listed { text, entries },
        }
    }

    /// Position of `path` among the listed paths or the index entries.
    fn find(&self, path: &str) -> Option<(&str, Option<ObjectId>)> {
        match &self.inner {
            Inner::Listed { text, entries } => {
                let at = entries
                    .binary_search_by(|e| path_in(text, e).cmp(path))
                    .ok()?;
                Some((path_in(text, &entries[at]), entries[at].id))
            }
            Inner::Index { index, listed } => {
                let entry = index.entry(index.find(path.as_bytes(), 0)?);
                listed(&entry).then_some(())?;
                Some((std::str::from_utf8(entry.path).ok()?, Some(entry.id)))
            }
        }
    }

    pub fn contains(&self, path: &str) -> bool {
        self.find(path).is_some()
    }

    /// The listed copy of `path`, borrowed from the list.
    pub fn key(&self, path: &str) -> Option<&str> {
        self.find(path).map(|(key, _)| key)
    }

    /// The blob id of `path` (`None` when unlisted or in the worktree).
    pub fn blob(&self, path: &str) -> Option<ObjectId> {
        self.find(path)?.1
    }

    /// Every path, in order.
    pub fn paths(&self) -> impl Iterator<Item = &str> + '_ {
        self.iter().map(|(path, _)| path)
    }

    /// Every path with its blob id, in order.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&str, Option<ObjectId>)> + '_> {
        self.iter_from(0)
    }

    /// The paths from `start` on, in order.
    pub fn paths_from<'a>(&'a self, start: &str) -> impl Iterator<Item = &'a str> + 'a {
        let at = match &self.inner {
            Inner::Listed { text, entries } => {
                entries.partition_point(|e| path_in(text, e) < start)
            }
            Inner::Index { index, .. } => index.partition_point(start.as_bytes()),
        };
        self.iter_from(at).map(|(path, _)| path)
    }

    /// The listed paths from position `at` (of the list or of the index's entries).
    fn iter_from(&self, at: usize) -> Box<dyn Iterator<Item = (&str, Option<ObjectId>)> + '_> {
        match &self.inner {
            Inner::Listed { text, entries } => Box::new(
                entries[at.min(entries.len())..]
                    .iter()
                    .map(move |e| (path_in(text, e), e.id)),
            ),
            Inner::Index { index, listed } => {
                let listed = *listed;
                Box::new(
                    index
                        .entries(at.min(index.len())..index.len())
                        .filter(move |e| listed(e))
                        // Checked to be UTF-8 by `all_utf8`.
                        .filter_map(|e| Some((std::str::from_utf8(e.path).ok()?, Some(e.id)))),
                )
            }
        }
    }
}

fn path_in<'a>(text: &'a str, entry: &Entry) -> &'a str {
    &text[entry.path.start as usize..entry.path.end as usize]
}

/// Every name in the index is UTF-8 (nearly always all ASCII, which is checked first).
fn all_utf8(index: &Index) -> bool {
    (0..index.len()).all(|n| {
        let path = index.path(n);
        path.is_ascii() || std::str::from_utf8(path).is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> Option<ObjectId> {
        Some(ObjectId::from_bytes_or_panic(&[n; 20]))
    }

    #[test]
    fn lookups_find_exactly_the_listed_paths() {
        let files = Files::from_sorted([("a/b.ts", id(1)), ("a/c.ts", id(2)), ("b.py", None)]);
        assert_eq!(files.paths().count(), 3);
        assert!(files.contains("a/c.ts") && !files.contains("a/c") && !files.contains("a"));
        assert_eq!(files.blob("a/b.ts"), id(1));
        assert_eq!(files.blob("b.py"), None);
        assert_eq!(files.key("b.py"), Some("b.py"));
        assert_eq!(
            files.paths_from("a/").collect::<Vec<_>>(),
            ["a/b.ts", "a/c.ts", "b.py"]
        );
        assert_eq!(files.paths_from("a/bz").next(), Some("a/c.ts"));
        assert_eq!(files.paths_from("c").next(), None);
    }

    /// The index of a real repository is read in place; with a name that is not UTF-8 it is
    /// copied, that name shown lossily, as the map listed it before.
    #[cfg(unix)]
    #[test]
    fn an_index_is_read_in_place_unless_a_name_is_not_utf8() {
        use crate::boundary::snapshot::is_staged_file;
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            let status = std::process::Command::new("git")
                .args(args)
                .current_dir(dir.path())
                .status()
                .unwrap();
            assert!(status.success(), "git {args:?}");
        };
        git(&["init", "-q"]);
        std::fs::create_dir(dir.path().join("src")).unwrap();
        for name in ["src/a.ts", "src/b.ts", "z.md"] {
            std::fs::write(dir.path().join(name), name).unwrap();
        }
        git(&["add", "-A"]);
        let repo = crate::repo::Repo::discover(dir.path()).unwrap();
        let files = Files::of_index(repo.index().unwrap().unwrap(), is_staged_file);
        assert!(matches!(files.inner, Inner::Index { .. }));
        assert_eq!(
            files.paths().collect::<Vec<_>>(),
            ["src/a.ts", "src/b.ts", "z.md"]
        );
        assert_eq!(files.key("src/b.ts"), Some("src/b.ts"));
        assert!(files.blob("src/a.ts").is_some() && files.blob("src/c.ts").is_none());
        assert!(!files.contains("src"));
        assert_eq!(
            files.paths_from("src/b").collect::<Vec<_>>(),
            ["src/b.ts", "z.md"]
        );

        let odd = dir.path().join(std::ffi::OsStr::from_bytes(b"src/\xff.ts"));
        std::fs::write(odd, "odd").unwrap();
        git(&["add", "-A"]);
        let files = Files::of_index(repo.index().unwrap().unwrap(), is_staged_file);
        assert!(matches!(files.inner, Inner::Listed { .. }));
        assert_eq!(
            files.paths().collect::<Vec<_>>(),
            ["src/a.ts", "src/b.ts", "src/\u{FFFD}.ts", "z.md"]
        );
        assert!(files.blob("src/\u{FFFD}.ts").is_some());
    }

    #[test]
    fn unsorted_or_repeated_paths_list_as_a_map_would() {
        let files = Files::from_sorted([("b", id(1)), ("a", id(2)), ("b", id(3)), ("c", None)]);
        assert_eq!(
            files.iter().collect::<Vec<_>>(),
            [("a", id(2)), ("b", id(3)), ("c", None)]
        );
        let files = Files::from_unsorted([("z", None), ("y", id(4)), ("z", id(5))]);
        assert_eq!(
            files.iter().collect::<Vec<_>>(),
            [("y", id(4)), ("z", id(5))]
        );
    }
}
