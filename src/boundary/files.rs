//! The paths of a snapshot, sorted, in one buffer: looked up by binary search. The index and a
//! tree are already sorted by path, so listing 5,000 files costs one pass and two
//! allocations, where a map allocated a string and a node per file (and freed them all again
//! at the end of every commit's check).

use std::ops::Range;

use crate::repo::ObjectId;

/// Sorted, unique repository paths and their blob ids (none in the worktree).
#[derive(Default)]
pub struct Files {
    text: String,
    entries: Vec<Entry>,
}

struct Entry {
    path: Range<u32>,
    id: Option<ObjectId>,
}

impl Files {
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
        Files::from_sorted_sized(items, 0, 0)
    }

    /// [`Files::from_sorted`] with room for about `count` paths of `bytes` bytes in all made
    /// up front (the index knows both): the lists are not moved as they grow.
    pub fn from_sorted_sized<S: AsRef<str>>(
        items: impl IntoIterator<Item = (S, Option<ObjectId>)>,
        count: usize,
        bytes: usize,
    ) -> Files {
        let mut items = items.into_iter();
        let mut files = Files {
            text: String::with_capacity(bytes),
            entries: Vec::with_capacity(count.max(items.size_hint().0)),
        };
        while let Some((path, id)) = items.next() {
            let path = path.as_ref();
            match files.last_path().map(|last| last.cmp(path)) {
                Some(std::cmp::Ordering::Equal) => {
                    if let Some(last) = files.entries.last_mut() {
                        last.id = id;
                    }
                }
                Some(std::cmp::Ordering::Greater) => {
                    // Only non-UTF-8 names, shown lossily, can come out of order.
                    let mut all: Vec<(String, Option<ObjectId>)> =
                        files.iter().map(|(p, id)| (p.to_string(), id)).collect();
                    all.push((path.to_string(), id));
                    all.extend(items.map(|(p, id)| (p.as_ref().to_string(), id)));
                    return Files::from_unsorted(all);
                }
                _ => files.push(path, id),
            }
        }
        files
    }

    fn push(&mut self, path: &str, id: Option<ObjectId>) {
        let start = self.text.len() as u32;
        self.text.push_str(path);
        self.entries.push(Entry {
            path: start..self.text.len() as u32,
            id,
        });
    }

    fn last_path(&self) -> Option<&str> {
        self.entries.last().map(|e| self.path_at(e))
    }

    fn path_at(&self, entry: &Entry) -> &str {
        &self.text[entry.path.start as usize..entry.path.end as usize]
    }

    fn position(&self, path: &str) -> Result<usize, usize> {
        self.entries
            .binary_search_by(|entry| self.path_at(entry).cmp(path))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn contains(&self, path: &str) -> bool {
        self.position(path).is_ok()
    }

    /// The listed copy of `path`, borrowed from the list.
    pub fn key(&self, path: &str) -> Option<&str> {
        let at = self.position(path).ok()?;
        Some(self.path_at(&self.entries[at]))
    }

    /// The blob id of `path` (`None` when unlisted or in the worktree).
    pub fn blob(&self, path: &str) -> Option<ObjectId> {
        self.entries[self.position(path).ok()?].id
    }

    /// Every path, in order.
    pub fn paths(&self) -> impl Iterator<Item = &str> + '_ {
        self.entries.iter().map(|e| self.path_at(e))
    }

    /// Every path with its blob id, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Option<ObjectId>)> + '_ {
        self.entries.iter().map(|e| (self.path_at(e), e.id))
    }

    /// The paths from `start` on, in order.
    pub fn paths_from<'a>(&'a self, start: &str) -> impl Iterator<Item = &'a str> + 'a {
        let at = self.position(start).unwrap_or_else(|at| at);
        self.entries[at..].iter().map(|e| self.path_at(e))
    }
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
        assert_eq!(files.len(), 3);
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
