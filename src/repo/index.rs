//! The index as git-comm reads it: an entry table over the mapped file, not a decoded copy.
//!
//! A hook reads the index once per commit to find the staged change set and to list the
//! files imports resolve against, and looks up a few dozen paths in it. gix decodes every
//! entry into a struct of its own and copies every path (on the 5,000-file bench, a tenth of
//! the pre-commit). Here each entry is a small slot pointing into the mapped file: its path,
//! id, mode, stage and intent-to-add flag, which is all git-comm asks of it. Index versions
//! 2 and 3 with SHA-1 ids are read this way; anything else (version 4's compressed paths, a
//! split or sparse index, an unknown required extension, an entry that does not parse) is
//! decoded by gix and copied into the same table, so every caller sees one type.

use std::ops::Range;
use std::path::Path;

use gix::index::entry::Mode;

use crate::repo::mapped::{self, Bytes};
use crate::repo::ObjectId;

const HASH_LEN: usize = 20;
const HEADER_LEN: usize = 12;
/// Fixed part of an on-disk entry before its path (stat data, mode, id, flags).
const ENTRY_FIXED: usize = 62;
const EXTENDED: u16 = 0x4000;
/// In the extended flags: `git add -N`, staged as nothing.
const INTENT_TO_ADD: u16 = 0x2000;
const NAME_MASK: u16 = 0x0fff;

/// The modes git writes in an index.
const MODES: [Mode; 5] = [
    Mode::FILE,
    Mode::FILE_EXECUTABLE,
    Mode::SYMLINK,
    Mode::COMMIT,
    Mode::DIR,
];

#[derive(Clone, Copy)]
struct Slot {
    path: u32,
    path_len: u32,
    id: u32,
    mode: Mode,
    stage: u8,
    intent_to_add: bool,
}

/// One entry, borrowed from the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    pub path: &'a [u8],
    pub id: ObjectId,
    pub mode: Mode,
    pub stage: u8,
    pub intent_to_add: bool,
}

/// A node of the cache-tree (the `TREE` extension): the tree id a directory's entries
/// write, when still valid (`num_entries` is `None` once an entry below changed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheTree {
    pub name: Vec<u8>,
    pub id: ObjectId,
    pub num_entries: Option<u32>,
    pub children: Vec<CacheTree>,
}

pub struct Index {
    bytes: Bytes,
    slots: Vec<Slot>,
    tree: Option<CacheTree>,
}

impl Index {
    /// The index at `path`, from its own bytes where it can be (see the module doc), else as
    /// gix decodes it.
    pub fn open(path: &Path, gix_repo: &gix::Repository) -> std::io::Result<Index> {
        // git replaces the index by rename, never rewriting it in place.
        let bytes = mapped::map(path)?;
        let sha1 = gix_repo.object_hash() == gix::hash::Kind::Sha1;
        if let Some((slots, tree)) = sha1.then(|| parse(&bytes)).flatten() {
            return Ok(Index { bytes, slots, tree });
        }
        let decoded = gix_repo
            .open_index()
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(Index::from_gix(&decoded))
    }

    /// A copy of an index gix decoded.
    pub fn from_gix(index: &gix::index::File) -> Index {
        let mut bytes = Vec::new();
        let mut slots = Vec::with_capacity(index.entries().len());
        for entry in index.entries() {
            let id = bytes.len() as u32;
            bytes.extend_from_slice(entry.id.as_slice());
            let path = bytes.len() as u32;
            let name = entry.path(index);
            bytes.extend_from_slice(name);
            slots.push(Slot {
                path,
                path_len: name.len() as u32,
                id,
                mode: entry.mode,
                stage: entry.stage_raw() as u8,
                intent_to_add: entry
                    .flags
                    .contains(gix::index::entry::Flags::INTENT_TO_ADD),
            });
        }
        Index {
            bytes: Bytes::Owned(bytes),
            slots,
            tree: index.tree().map(cache_tree_of),
        }
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn path(&self, n: usize) -> &[u8] {
        let slot = &self.slots[n];
        &self.bytes[slot.path as usize..(slot.path + slot.path_len) as usize]
    }

    pub fn entry(&self, n: usize) -> Entry<'_> {
        let slot = self.slots[n];
        let id_at = slot.id as usize;
        Entry {
            path: self.path(n),
            id: ObjectId::from_bytes_or_panic(&self.bytes[id_at..id_at + HASH_LEN]),
            mode: slot.mode,
            stage: slot.stage,
            intent_to_add: slot.intent_to_add,
        }
    }

    /// Entries `range`, in order.
    pub fn entries(&self, range: Range<usize>) -> impl Iterator<Item = Entry<'_>> + '_ {
        range.map(move |n| self.entry(n))
    }

    /// How many entries sort before `path` (entries are sorted by path, then stage).
    pub fn partition_point(&self, path: &[u8]) -> usize {
        let (mut low, mut high) = (0, self.len());
        while low < high {
            let mid = low + (high - low) / 2;
            if self.path(mid) < path {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        low
    }

    /// The entry of `path` at `stage`.
    pub fn find(&self, path: &[u8], stage: u8) -> Option<usize> {
        let mut at = self.partition_point(path);
        while at < self.len() && self.path(at) == path {
            if self.slots[at].stage == stage {
                return Some(at);
            }
            at += 1;
        }
        None
    }

    /// The entries whose path starts with `prefix`; `None` when there are none.
    pub fn prefixed_range(&self, prefix: &[u8]) -> Option<Range<usize>> {
        let start = self.partition_point(prefix);
        let mut end = start;
        while end < self.len() && self.path(end).starts_with(prefix) {
            end += 1;
        }
        (end > start).then_some(start..end)
    }

    pub fn tree(&self) -> Option<&CacheTree> {
        self.tree.as_ref()
    }
}

fn cache_tree_of(tree: &gix::index::extension::Tree) -> CacheTree {
    CacheTree {
        name: tree.name.to_vec(),
        id: tree.id,
        num_entries: tree.num_entries,
        children: tree.children.iter().map(cache_tree_of).collect(),
    }
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

/// The entry table and cache-tree of a version 2 or 3 index, or `None` for anything this
/// reader leaves to gix.
fn parse(bytes: &[u8]) -> Option<(Vec<Slot>, Option<CacheTree>)> {
    if bytes.get(..4)? != b"DIRC" || bytes.len() < HEADER_LEN + HASH_LEN {
        return None;
    }
    let version = be32(bytes, 4)?;
    if version != 2 && version != 3 {
        return None;
    }
    let count = be32(bytes, 8)? as usize;
    let body_end = bytes.len() - HASH_LEN;
    let mut slots = Vec::with_capacity(count.min(body_end / ENTRY_FIXED));
    let mut at = HEADER_LEN;
    for _ in 0..count {
        let (slot, next) = parse_entry(bytes, at, body_end, version)?;
        if slots
            .last()
            .is_some_and(|last: &Slot| !in_order(bytes, last, &slot))
        {
            return None;
        }
        slots.push(slot);
        at = next;
    }
    let tree = parse_extensions(bytes, at, body_end)?;
    Some((slots, tree))
}

fn parse_entry(bytes: &[u8], at: usize, end: usize, version: u32) -> Option<(Slot, usize)> {
    if at + ENTRY_FIXED > end {
        return None;
    }
    let bits = be32(bytes, at + 24)?;
    let mode = MODES.into_iter().find(|mode| mode.bits() == bits)?;
    let flags = be16(bytes, at + 60)?;
    let (name_at, intent_to_add) = if flags & EXTENDED != 0 {
        if version < 3 {
            return None;
        }
        (
            at + ENTRY_FIXED + 2,
            be16(bytes, at + ENTRY_FIXED)? & INTENT_TO_ADD != 0,
        )
    } else {
        (at + ENTRY_FIXED, false)
    };
    let name_len = match flags & NAME_MASK {
        NAME_MASK => bytes.get(name_at..end)?.iter().position(|&b| b == 0)?,
        len => len as usize,
    };
    if name_len == 0 || *bytes.get(name_at + name_len)? != 0 {
        return None;
    }
    // Padded with NULs to a multiple of 8, at least one.
    let next = at + ((name_at - at + name_len + 8) & !7);
    if next > end {
        return None;
    }
    let slot = Slot {
        path: u32::try_from(name_at).ok()?,
        path_len: name_len as u32,
        id: u32::try_from(at + 40).ok()?,
        mode,
        stage: ((flags >> 12) & 3) as u8,
        intent_to_add,
    };
    Some((slot, next))
}

/// Entries are sorted by path, then stage: a file that is not is left to gix to judge.
fn in_order(bytes: &[u8], before: &Slot, after: &Slot) -> bool {
    let path = |s: &Slot| &bytes[s.path as usize..(s.path + s.path_len) as usize];
    (path(before), before.stage) < (path(after), after.stage)
}

/// The cache-tree, after checking the other extensions are ones this reader may ignore.
fn parse_extensions(bytes: &[u8], mut at: usize, end: usize) -> Option<Option<CacheTree>> {
    let mut tree = None;
    while at < end {
        let signature = bytes.get(at..at + 4)?;
        let size = be32(bytes, at + 4)? as usize;
        let data = bytes.get(at + 8..(at + 8).checked_add(size)?)?;
        if at + 8 + size > end {
            return None;
        }
        match signature {
            b"TREE" => tree = Some(parse_tree(&mut &data[..])?),
            // A split index keeps its entries elsewhere; a sparse one has directory entries.
            b"link" | b"sdir" => return None,
            // Optional extensions start with an upper-case letter; others must be understood.
            _ if !signature[0].is_ascii_uppercase() => return None,
            _ => {}
        }
        at += 8 + size;
    }
    Some(tree)
}

/// One node and its subtrees: `name NUL entry_count SP subtree_count LF [id]`.
fn parse_tree(data: &mut &[u8]) -> Option<CacheTree> {
    let name = take_until(data, 0)?.to_vec();
    let entries: i64 = std::str::from_utf8(take_until(data, b' ')?)
        .ok()?
        .parse()
        .ok()?;
    let subtrees: usize = std::str::from_utf8(take_until(data, b'\n')?)
        .ok()?
        .parse()
        .ok()?;
    let (id, num_entries) = if entries >= 0 {
        let id = data.get(..HASH_LEN)?;
        *data = &data[HASH_LEN..];
        (
            ObjectId::from_bytes_or_panic(id),
            Some(u32::try_from(entries).ok()?),
        )
    } else {
        (ObjectId::null(gix::hash::Kind::Sha1), None)
    };
    let children = (0..subtrees)
        .map(|_| parse_tree(data))
        .collect::<Option<Vec<_>>>()?;
    Some(CacheTree {
        name,
        id,
        num_entries,
        children,
    })
}

fn take_until<'a>(data: &mut &'a [u8], end: u8) -> Option<&'a [u8]> {
    let at = data.iter().position(|&b| b == end)?;
    let taken = &data[..at];
    *data = &data[at + 1..];
    Some(taken)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn git_run(dir: &Path, args: &[&str]) -> std::process::Output {
        Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@e")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@e")
            .output()
            .unwrap()
    }

    fn git(dir: &Path, args: &[&str]) {
        let out = git_run(dir, args);
        assert!(out.status.success(), "git {args:?}: {out:?}");
    }

    fn git_out(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}");
        String::from_utf8(out.stdout).unwrap()
    }

    fn write(dir: &Path, path: &str, text: &str) {
        let file = dir.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }

    /// What gix decodes, in this module's terms.
    /// (path, id, mode, stage, intent to add) per entry, and the cache-tree.
    type Table = (Vec<(Vec<u8>, ObjectId, u32, u8, bool)>, Option<CacheTree>);

    fn as_gix_sees(dir: &Path) -> Table {
        let repo = gix::open(dir).unwrap();
        let index = repo.open_index().unwrap();
        table(&Index::from_gix(&index))
    }

    fn table(index: &Index) -> Table {
        let entries = index
            .entries(0..index.len())
            .map(|e| {
                (
                    e.path.to_vec(),
                    e.id,
                    e.mode.bits(),
                    e.stage,
                    e.intent_to_add,
                )
            })
            .collect();
        (entries, index.tree().cloned())
    }

    /// `git ls-files -s -z` of the table: `mode id stage\tpath\0`.
    fn staged_as_git_lists(index: &Index) -> String {
        index
            .entries(0..index.len())
            .map(|e| {
                let path = String::from_utf8_lossy(e.path);
                format!("{:06o} {} {}\t{path}\0", e.mode.bits(), e.id, e.stage)
            })
            .collect()
    }

    fn read(dir: &Path) -> (Index, bool) {
        let repo = gix::open(dir).unwrap();
        let index = Index::open(&dir.join(".git/index"), &repo).unwrap();
        let in_place = matches!(index.bytes, Bytes::Mapped(_));
        (index, in_place)
    }

    /// The entry table agrees with gix's decoding on every kind of index git writes, and is
    /// read in place exactly for versions 2 and 3 without a split or sparse index.
    #[test]
    fn the_table_agrees_with_gix_on_every_index_git_writes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git(root, &["init", "-q", "-b", "main"]);
        for n in 0..30 {
            write(root, &format!("src/d{}/f{n}.ts", n % 4), &format!("{n}\n"));
        }
        write(root, "run.sh", "#!/bin/sh\n");
        git(root, &["update-index", "--add", "--chmod=+x", "run.sh"]);
        std::os::unix::fs::symlink("run.sh", root.join("link")).unwrap();
        git(root, &["add", "-A"]);
        git(root, &["commit", "-q", "-m", "one"]);
        // A name of 0xfff bytes or more (its length is then found by its NUL): longer than
        // a path may be on disk, so it is only put in the index.
        let long = format!("{}/deep.txt", vec!["x".repeat(200); 21].join("/"));
        let blob = git_out(root, &["hash-object", "-w", "run.sh"]);
        let info = format!("100644,{},{long}", blob.trim());
        git(root, &["update-index", "--add", "--cacheinfo", &info]);
        git(root, &["write-tree"]);
        let check = |what: &str, in_place_expected: bool| {
            let (index, in_place) = read(root);
            assert_eq!(in_place, in_place_expected, "{what}: read in place");
            assert_eq!(table(&index), as_gix_sees(root), "{what}");
            index
        };
        // gix cannot decode this one ("Index trailer should have been 20 bytes long"): git
        // itself is the reference.
        let (index, in_place) = read(root);
        assert!(in_place);
        assert_eq!(
            staged_as_git_lists(&index),
            git_out(root, &["ls-files", "-s", "-z"])
        );
        assert!(index.tree().is_some_and(|t| t.num_entries.is_some()));
        assert!(
            index.path(index.len() - 1).len() > 4095,
            "a name past 0xfff"
        );
        assert_eq!(
            index.find(b"src/d1/f5.ts", 0),
            Some(index.partition_point(b"src/d1/f5.ts"))
        );
        assert_eq!(index.find(b"src/d1/f5", 0), None);
        assert_eq!(index.prefixed_range(b"src/d2/").map(|r| r.len()), Some(7));
        assert_eq!(index.prefixed_range(b"src/d9/"), None);

        git(root, &["update-index", "--force-remove", &long]);
        git(root, &["write-tree"]);
        let index = check("version 2, cache-tree complete", true);
        assert!(index.tree().is_some_and(|t| t.num_entries.is_some()));
        write(root, "src/d1/f5.ts", "changed\n");
        write(root, "new.ts", "new\n");
        git(root, &["add", "src/d1/f5.ts"]);
        git(root, &["add", "-N", "new.ts"]);
        let index = check("version 3 (intent to add), cache-tree partly invalid", true);
        assert!(index.entries(0..index.len()).any(|e| e.intent_to_add));
        assert!(index.tree().is_some_and(|t| t.num_entries.is_none()));

        git(root, &["rm", "-q", "--cached", "new.ts"]);
        git(root, &["commit", "-q", "-am", "two"]);
        git(root, &["checkout", "-q", "-b", "side", "HEAD~1"]);
        write(root, "src/d1/f5.ts", "theirs\n");
        git(root, &["commit", "-q", "-am", "side"]);
        let merge = git_run(root, &["merge", "-q", "main"]);
        assert!(!merge.status.success(), "the merge conflicts: {merge:?}");
        let index = check("unmerged stages", true);
        let stages: Vec<u8> = (0..index.len())
            .filter(|&n| index.path(n) == b"src/d1/f5.ts")
            .map(|n| index.entry(n).stage)
            .collect();
        assert_eq!(stages, [1, 2, 3]);
        assert_eq!(index.find(b"src/d1/f5.ts", 0), None);
        assert!(index.find(b"src/d1/f5.ts", 2).is_some());
        git(root, &["merge", "--abort"]);

        git(root, &["update-index", "--index-version", "4"]);
        check("version 4, decoded by gix", false);
        git(root, &["update-index", "--index-version", "2"]);
        git(root, &["update-index", "--split-index"]);
        let bytes = std::fs::read(root.join(".git/index")).unwrap();
        assert!(bytes.windows(4).any(|w| w == b"link"), "split");
        check("a split index, decoded by gix", false);
    }

    #[test]
    fn a_damaged_index_is_left_to_gix() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git(root, &["init", "-q"]);
        write(root, "a.txt", "a\n");
        write(root, "b.txt", "b\n");
        git(root, &["add", "-A"]);
        let bytes = std::fs::read(root.join(".git/index")).unwrap();
        assert!(parse(&bytes).is_some());
        for cut in [0, 11, 40, bytes.len() - HASH_LEN - 1] {
            assert!(parse(&bytes[..cut]).is_none(), "cut at {cut}");
        }
        let mut bad_mode = bytes.clone();
        bad_mode[HEADER_LEN + 24..HEADER_LEN + 28].copy_from_slice(&0o100664u32.to_be_bytes());
        assert!(parse(&bad_mode).is_none());
        let mut bad_count = bytes.clone();
        bad_count[8..12].copy_from_slice(&3u32.to_be_bytes());
        assert!(parse(&bad_count).is_none());
    }
}
