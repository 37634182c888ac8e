//! The verified state of indirect rules, so that the usual commit (files edited, none added,
//! removed or renamed) skips the whole-repository graph.
//!
//! After a staged check with indirect rules builds the whole graph and finds that no file of
//! any domain reaches a file its indirect rules forbid (not even through another file of the
//! domain, nor directly), it stores under `<git-common-dir>/comm-node/graph/verified.bin`:
//! the sorted paths of the graph, each source file's resolved hops as (target, kind), and per
//! domain with indirect rules two sets: `from`, the files its files reach, and `to`, the
//! files that reach a file it forbids. A new chain needs at least one new hop u -> v, and its
//! first new hop starts in `from` while its last ends in `to`; so when no new hop starts in
//! `from` and none ends in `to`, the staged change adds no chain, and both sets still hold
//! (they may only be larger than needed, which costs a fallback, never a missed chain).
//!
//! The state describes "tree P plus change set C" (P: HEAD's tree when it was checked, C: the
//! staged changes' digest), and, when the index's cache-tree is complete, the tree T that
//! index writes: `git commit` and `git commit -a` complete it before they run pre-commit,
//! and commit exactly that tree. The next check trusts the state when HEAD's tree is T (a
//! tree id names its content: nothing to diff), else only when HEAD is a commit with one
//! parent whose tree is P and whose changes have digest C, i.e. HEAD's tree is exactly what
//! was verified. A fast check appends
//! a small record (the new P and C, the edited files' hops) instead of rewriting the file; the
//! records are compacted into a new file past [`MAX_RECORDS`]. Each part carries a checksum
//! and each record the offset it was written at, so a corrupt, truncated, foreign or
//! interleaved file is never trusted: the check then builds the whole graph, as without it.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::graph_cache::{kind_tag, Reader};
use super::rules::Rules;
use crate::config::Config;
use crate::repo::changes::{Change, ChangeKind, Head};
use crate::repo::mapped::{self, Bytes};
use crate::repo::{ObjectId, Repo};

const MAGIC: &[u8; 16] = b"comm-node state\n";
const RECORD_MAGIC: u32 = 0x7265_6331;
/// Bump when the layout changes.
const FORMAT_VERSION: u32 = 2;
const FILE_NAME: &str = "verified.bin";
/// Appended records before the file is rewritten whole.
const MAX_RECORDS: usize = 32;

pub type Digest32 = [u8; 32];

/// A hop as the state needs it: target (index in the path table) and kind tag.
pub type Edge = (u32, u8);

/// What a stored state is about: HEAD's tree then, and the staged change set on top of it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Basis {
    pub tree: ObjectId,
    pub changes: Digest32,
    /// The tree of HEAD's tree plus the changes, when the index's cache-tree names it.
    pub made: Option<ObjectId>,
}

/// One domain's reach sets, over the path table.
pub struct Reach {
    pub domain: usize,
    pub from: Vec<bool>,
    pub to: Vec<bool>,
}

/// A table of variable-length elements: `count + 1` ascending u32 offsets at `ends`, then the
/// elements (of `size` bytes each) from `at`.
#[derive(Clone, Copy)]
struct Table {
    ends: usize,
    at: usize,
    size: usize,
}

/// A domain's reach sets where they lie: bit sets starting at `from` and `to`.
struct StoredReach {
    domain: usize,
    from: usize,
    to: usize,
}

/// The loaded state (base plus applied records). Its tables are read where they lie in
/// `bytes`: an edit looks up a few paths, so nothing is decoded per file up front.
pub struct State {
    bytes: Bytes,
    config: Digest32,
    /// Number of paths.
    count: usize,
    names: Table,
    hops: Table,
    /// Where the bit set of source files starts.
    source: usize,
    reach: Vec<StoredReach>,
    /// Hops of files edited since the base was written (by later records).
    edited: HashMap<u32, Vec<Edge>>,
    basis: Basis,
    records: usize,
    len: usize,
}

/// What the config contributes to the state: the domains (scopes, rules, ignored kinds) and
/// the resolution settings.
pub fn config_digest(config: &Config) -> Digest32 {
    let mut hasher = Sha256::new();
    hasher.update(super::cache::version().as_bytes());
    let parts = (&config.domains, &config.python, &config.exclude);
    hasher.update(serde_json::to_vec(&parts).unwrap_or_default());
    hasher.finalize().into()
}

/// Digest of a change set (order-independent).
pub fn changes_digest(changes: &[Change]) -> Digest32 {
    let mut lines: Vec<String> = changes
        .iter()
        .map(|c| {
            let blob = c.blob.map(|b| b.to_string()).unwrap_or_else(|| "-".into());
            format!("{:?}\0{}\0{blob}\n", c.kind, c.path)
        })
        .collect();
    lines.sort();
    let mut hasher = Sha256::new();
    for line in &lines {
        hasher.update(line.as_bytes());
    }
    hasher.finalize().into()
}

fn file_path(repo: &Repo) -> PathBuf {
    repo.cache_dir("graph").join(FILE_NAME)
}

/// Whether HEAD's tree is exactly what `basis` describes: the tree it names as made, else
/// (no such tree recorded) HEAD's commit has one parent whose tree is `basis.tree` and
/// changes with digest `basis.changes`.
pub fn head_is_made_from(repo: &Repo, basis: &Basis, head: &Head) -> bool {
    match basis.made {
        Some(made) => made == head.tree,
        None => commit_is_made_from(repo, basis, head.commit),
    }
}

/// The tree the index writes, when its cache-tree is complete (`git commit` completes it
/// before pre-commit runs; a path-limited commit's temporary index has none).
pub fn index_tree(repo: &Repo) -> Option<ObjectId> {
    let index = repo.index().ok()??;
    let root = index.tree()?;
    root.num_entries.is_some().then_some(root.id)
}

/// Whether `commit` is exactly `basis` made: one parent whose tree is `basis.tree`, changes
/// with digest `basis.changes`.
fn commit_is_made_from(repo: &Repo, basis: &Basis, commit: ObjectId) -> bool {
    let Ok(found) = repo.gix().find_commit(commit) else {
        return false;
    };
    let mut parents = found.parent_ids();
    let (Some(parent), None) = (parents.next(), parents.next()) else {
        return false;
    };
    let parent_tree = repo
        .gix()
        .find_commit(parent.detach())
        .ok()
        .and_then(|p| p.tree_id().ok())
        .map(|t| t.detach());
    if parent_tree != Some(basis.tree) {
        return false;
    }
    crate::repo::changes::of_commit(repo, commit)
        .is_ok_and(|made| changes_digest(&made) == basis.changes)
}

impl State {
    /// The stored state for this config, if intact.
    pub fn load(repo: &Repo, config: &Digest32) -> Option<State> {
        // Mapped: the hook looks up a few paths of a 200 KB file (see `repo::mapped`).
        let mut state = decode_base(mapped::map(&file_path(repo)).ok()?)?;
        if &state.config != config {
            return None;
        }
        state.apply_records();
        Some(state)
    }

    pub fn basis(&self) -> Basis {
        self.basis
    }

    /// Element `n` of `table` (offsets were checked at load).
    fn element(&self, table: Table, n: usize) -> &[u8] {
        let end_at = |i: usize| read_u32(&self.bytes, table.ends + 4 * i) as usize;
        let (start, end) = (end_at(n), end_at(n + 1));
        &self.bytes[table.at + start * table.size..table.at + end * table.size]
    }

    fn name(&self, n: usize) -> &[u8] {
        self.element(self.names, n)
    }

    fn bit(&self, set: usize, n: u32) -> bool {
        self.bytes[set + n as usize / 8] & (1 << (n % 8)) != 0
    }

    fn bits(&self, set: usize) -> Vec<bool> {
        (0..self.count as u32).map(|n| self.bit(set, n)).collect()
    }

    /// The index of `path` in the path table (binary search, nothing decoded).
    pub fn index_of(&self, path: &str) -> Option<u32> {
        let path = path.as_bytes();
        let (mut low, mut high) = (0, self.count);
        while low < high {
            let mid = low + (high - low) / 2;
            match self.name(mid).cmp(path) {
                std::cmp::Ordering::Less => low = mid + 1,
                std::cmp::Ordering::Greater => high = mid,
                std::cmp::Ordering::Equal => return Some(mid as u32),
            }
        }
        None
    }

    /// Whether file `n` is a source file of the graph (its hops are stored).
    pub fn is_source(&self, n: u32) -> bool {
        self.bit(self.source, n)
    }

    /// The hops of file `n`, sorted.
    pub fn hops(&self, n: u32) -> Vec<Edge> {
        if let Some(edited) = self.edited.get(&n) {
            return edited.clone();
        }
        self.element(self.hops, n as usize)
            .chunks_exact(5)
            .map(|c| (u32::from_le_bytes([c[0], c[1], c[2], c[3]]), c[4]))
            .collect()
    }

    /// Whether new hop `from -> to` of kind `kind` could be part of a new chain, or make the
    /// stored reach sets too small: it starts at a file some domain reaches, or ends at a file
    /// reaching one it forbids (for a domain that does not ignore its kind).
    pub fn matters(&self, rules: &Rules, from: u32, to: u32, kind: u8) -> bool {
        let kind = super::graph_cache::KINDS[kind as usize];
        self.reach.iter().any(|r| {
            !rules.ignores(r.domain, kind) && (self.bit(r.from, from) || self.bit(r.to, to))
        })
    }

    /// Record that the graph now also holds `edited` (files' new hops) for `basis`: appended,
    /// or the file rewritten whole when records have piled up. Failures are ignored.
    pub fn append(mut self, repo: &Repo, basis: Basis, edited: Vec<(u32, Vec<Edge>)>) {
        if self.records + 1 >= MAX_RECORDS {
            self.edited.extend(edited);
            let hops: Vec<Vec<Edge>> = (0..self.count as u32).map(|n| self.hops(n)).collect();
            let names: Vec<&[u8]> = (0..self.count).map(|n| self.name(n)).collect();
            let reach: Vec<Reach> = self
                .reach
                .iter()
                .map(|r| Reach {
                    domain: r.domain,
                    from: self.bits(r.from),
                    to: self.bits(r.to),
                })
                .collect();
            let source = self.bits(self.source);
            let bytes = encode_base(&self.config, &basis, &names, &hops, &source, &reach);
            write_atomically(repo, &bytes);
            return;
        }
        let record = encode_record(self.len as u64, &basis, &edited);
        let appended = std::fs::OpenOptions::new()
            .append(true)
            .open(file_path(repo))
            .and_then(|mut f| f.write_all(&record));
        if appended.is_err() {
            remove(repo);
        }
    }

    fn apply_records(&mut self) {
        let mut at = self.len;
        while let Some((basis, edited, end)) = decode_record(&self.bytes, at, self.count) {
            self.basis = basis;
            self.edited.extend(edited);
            self.records += 1;
            at = end;
        }
        self.len = at;
    }
}

/// Store the state of a whole graph checked for `basis`; with `reach` `None` (some domain
/// reaches a forbidden file) nothing can be vouched for and any stored state is removed.
pub fn save(
    repo: &Repo,
    config: &Digest32,
    basis: &Basis,
    paths: &[&str],
    hops: &[Option<Vec<Edge>>],
    reach: Option<Vec<Reach>>,
) {
    let Some(reach) = reach else {
        remove(repo);
        return;
    };
    let mut order: Vec<usize> = (0..paths.len()).collect();
    order.sort_by(|&a, &b| paths[a].cmp(paths[b]));
    let mut new_index = vec![0u32; paths.len()];
    for (new, &old) in order.iter().enumerate() {
        new_index[old] = new as u32;
    }
    let names: Vec<&[u8]> = order.iter().map(|&n| paths[n].as_bytes()).collect();
    let sorted_hops: Vec<Vec<Edge>> = order
        .iter()
        .map(|&n| {
            let mut edges: Vec<Edge> = hops[n]
                .iter()
                .flatten()
                .map(|&(to, kind)| (new_index[to as usize], kind))
                .collect();
            edges.sort_unstable();
            edges.dedup();
            edges
        })
        .collect();
    let source: Vec<bool> = order.iter().map(|&n| hops[n].is_some()).collect();
    let permute = |set: &[bool]| order.iter().map(|&n| set[n]).collect::<Vec<bool>>();
    let reach: Vec<Reach> = reach
        .iter()
        .map(|r| Reach {
            domain: r.domain,
            from: permute(&r.from),
            to: permute(&r.to),
        })
        .collect();
    let bytes = encode_base(config, basis, &names, &sorted_hops, &source, &reach);
    write_atomically(repo, &bytes);
}

pub fn remove(repo: &Repo) {
    let _ = std::fs::remove_file(file_path(repo));
}

/// Sorted, deduplicated (target, kind) pairs of `hops`, `None` if a target is not in the
/// state's path table.
pub fn edges<'a>(
    state: &State,
    hops: impl Iterator<Item = (&'a str, super::imports::ImportKind)>,
) -> Option<Vec<Edge>> {
    let mut edges = hops
        .map(|(to, kind)| Some((state.index_of(to)?, kind_tag(kind))))
        .collect::<Option<Vec<Edge>>>()?;
    edges.sort_unstable();
    edges.dedup();
    Some(edges)
}

/// Whether a staged change set can be judged against the stored state: only edits of
/// source files the state holds.
pub fn only_edits_of_sources(state: &State, changes: &[Change]) -> bool {
    !changes.is_empty()
        && changes.iter().all(|c| {
            c.kind == ChangeKind::Modified
                && state.index_of(&c.path).is_some_and(|n| state.is_source(n))
        })
}

fn write_atomically(repo: &Repo, bytes: &[u8]) {
    let path = file_path(repo);
    let Some(dir) = path.parent() else {
        return;
    };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let tmp = dir.join(format!("{FILE_NAME}.{}.tmp", std::process::id()));
    if std::fs::write(&tmp, bytes).is_err() || std::fs::rename(&tmp, &path).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

fn put_u32(out: &mut Vec<u8>, n: u32) {
    out.extend_from_slice(&n.to_le_bytes());
}

fn put_basis(out: &mut Vec<u8>, basis: &Basis) {
    out.extend_from_slice(basis.tree.as_slice());
    out.extend_from_slice(&basis.changes);
    match basis.made {
        Some(made) => {
            out.push(1);
            out.extend_from_slice(made.as_slice());
        }
        None => out.push(0),
    }
}

fn take_basis(r: &mut Reader) -> Option<Basis> {
    let tree = ObjectId::try_from(r.take(20)?).ok()?;
    let changes: Digest32 = r.take(32)?.try_into().ok()?;
    let made = match r.u8()? {
        0 => None,
        1 => Some(ObjectId::try_from(r.take(20)?).ok()?),
        _ => return None,
    };
    Some(Basis {
        tree,
        changes,
        made,
    })
}

fn put_bits(out: &mut Vec<u8>, set: &[bool]) {
    let mut bytes = vec![0u8; set.len().div_ceil(8)];
    for (i, _) in set.iter().enumerate().filter(|(_, &b)| b) {
        bytes[i / 8] |= 1 << (i % 8);
    }
    out.extend_from_slice(&bytes);
}

fn encode_base(
    config: &Digest32,
    basis: &Basis,
    names: &[&[u8]],
    hops: &[Vec<Edge>],
    source: &[bool],
    reach: &[Reach],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(names.len() * 48);
    out.extend_from_slice(MAGIC);
    put_u32(&mut out, FORMAT_VERSION);
    let version = super::cache::version();
    put_u32(&mut out, version.len() as u32);
    out.extend_from_slice(version.as_bytes());
    out.extend_from_slice(config);
    put_basis(&mut out, basis);
    put_u32(&mut out, names.len() as u32);
    let mut offset = 0u32;
    put_u32(&mut out, 0);
    for name in names {
        offset += name.len() as u32;
        put_u32(&mut out, offset);
    }
    for name in names {
        out.extend_from_slice(name);
    }
    let mut count = 0u32;
    put_u32(&mut out, 0);
    for edges in hops {
        count += edges.len() as u32;
        put_u32(&mut out, count);
    }
    for &(to, kind) in hops.iter().flatten() {
        put_u32(&mut out, to);
        out.push(kind);
    }
    put_bits(&mut out, source);
    put_u32(&mut out, reach.len() as u32);
    for r in reach {
        put_u32(&mut out, r.domain as u32);
        put_bits(&mut out, &r.from);
        put_bits(&mut out, &r.to);
    }
    let checksum = crc32fast::hash(&out);
    put_u32(&mut out, checksum);
    out
}

/// Offsets into `bytes` only: a path or a file's hops are read where they lie.
fn decode_base(bytes: impl Into<Bytes>) -> Option<State> {
    let bytes: Bytes = bytes.into();
    let mut r = Reader::new(&bytes);
    if r.take(MAGIC.len())? != MAGIC
        || r.u32()? != FORMAT_VERSION
        || r.str()? != super::cache::version()
    {
        return None;
    }
    let config: Digest32 = r.take(32)?.try_into().ok()?;
    let basis = take_basis(&mut r)?;
    let n = r.count()?;
    let names = table(&mut r, n, 1)?;
    let hops = table(&mut r, n, 5)?;
    let hops_at = hops.at;
    let hop_count = read_u32(&bytes, hops.ends + 4 * n) as usize;
    let source = bits(&mut r, n)?;
    let mut reach = Vec::new();
    for _ in 0..r.count()? {
        let domain = r.u32()? as usize;
        let from = bits(&mut r, n)?;
        let to = bits(&mut r, n)?;
        reach.push(StoredReach { domain, from, to });
    }
    let body = r.at();
    let checksum = r.u32()?;
    if crc32fast::hash(&bytes[..body]) != checksum {
        return None;
    }
    let stored_to_ok = (0..hop_count).all(|h| {
        let at = hops_at + h * 5;
        let to = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap_or_default());
        (to as usize) < n && (bytes[at + 4] as usize) < super::graph_cache::KINDS.len()
    });
    if !stored_to_ok {
        return None;
    }
    let len = r.at();
    Some(State {
        bytes,
        config,
        count: n,
        names,
        hops,
        source,
        reach,
        edited: HashMap::new(),
        basis,
        records: 0,
        len,
    })
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// A table of `n` elements of `size` bytes: `n + 1` ascending offsets starting at 0, checked
/// here (so reading an element later cannot go out of bounds), then the elements, skipped.
fn table(r: &mut Reader, n: usize, size: usize) -> Option<Table> {
    let ends = r.at();
    let mut previous = r.u32()?;
    if previous != 0 {
        return None;
    }
    for _ in 0..n {
        let end = r.u32()?;
        if end < previous {
            return None;
        }
        previous = end;
    }
    let at = r.at();
    r.take((previous as usize).checked_mul(size)?)?;
    Some(Table { ends, at, size })
}

/// Where a bit set of `n` bits starts (skipped).
fn bits(r: &mut Reader, n: usize) -> Option<usize> {
    let at = r.at();
    r.take(n.div_ceil(8))?;
    Some(at)
}

fn encode_record(at: u64, basis: &Basis, edited: &[(u32, Vec<Edge>)]) -> Vec<u8> {
    let mut out = Vec::new();
    put_u32(&mut out, RECORD_MAGIC);
    out.extend_from_slice(&at.to_le_bytes());
    put_basis(&mut out, basis);
    put_u32(&mut out, edited.len() as u32);
    for (node, edges) in edited {
        put_u32(&mut out, *node);
        put_u32(&mut out, edges.len() as u32);
        for &(to, kind) in edges {
            put_u32(&mut out, to);
            out.push(kind);
        }
    }
    let checksum = crc32fast::hash(&out);
    put_u32(&mut out, checksum);
    out
}

type Record = (Basis, Vec<(u32, Vec<Edge>)>, usize);

/// The record at `at`, if whole, intact and written for that very offset (a record appended
/// by a writer that had read a different file is not applied, nor anything after it).
fn decode_record(bytes: &[u8], at: usize, paths: usize) -> Option<Record> {
    let mut r = Reader::new(bytes.get(at..)?);
    if r.u32()? != RECORD_MAGIC {
        return None;
    }
    let written_at = u64::from_le_bytes(r.take(8)?.try_into().ok()?);
    if written_at != at as u64 {
        return None;
    }
    let basis = take_basis(&mut r)?;
    let mut edited = Vec::new();
    for _ in 0..r.count()? {
        let node = r.index(paths)?;
        let edges = (0..r.count()?)
            .map(|_| Some((r.index(paths)?, r.u8()?)))
            .collect::<Option<Vec<Edge>>>()?;
        edited.push((node, edges));
    }
    let body = r.at();
    if crc32fast::hash(&bytes[at..at + body]) != r.u32()? {
        return None;
    }
    let kinds_ok = edited
        .iter()
        .flat_map(|(_, e)| e)
        .all(|&(_, k)| (k as usize) < super::graph_cache::KINDS.len());
    kinds_ok.then_some((basis, edited, at + r.at()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basis(n: u8) -> Basis {
        Basis {
            tree: ObjectId::from_bytes_or_panic(&[n; 20]),
            changes: [n; 32],
            made: n
                .is_multiple_of(2)
                .then(|| ObjectId::from_bytes_or_panic(&[n + 100; 20])),
        }
    }

    /// a.py -> b.py -> c.py; the domain owns a.py and must not reach c.py.
    fn base() -> Vec<u8> {
        let names: [&[u8]; 3] = [b"a.py", b"b.py", b"c.py"];
        let hops = [vec![(1, 0)], vec![(2, 0)], vec![]];
        let reach = [Reach {
            domain: 0,
            from: vec![true, true, false],
            to: vec![false, false, true],
        }];
        encode_base(&[9; 32], &basis(1), &names, &hops, &[true; 3], &reach)
    }

    fn state(bytes: Vec<u8>) -> State {
        let mut state = decode_base(bytes).expect("decodes");
        state.apply_records();
        state
    }

    #[test]
    fn paths_and_hops_are_read_in_place() {
        let state = state(base());
        assert_eq!(state.index_of("b.py"), Some(1));
        assert_eq!(state.index_of("d.py"), None);
        assert_eq!(state.hops(0), [(1, 0)]);
        assert!(state.is_source(2));
        assert!(state.basis() == basis(1));
    }

    #[test]
    fn records_apply_in_order_only_where_they_were_written() {
        let mut bytes = base();
        let first = encode_record(bytes.len() as u64, &basis(2), &[(1, vec![])]);
        bytes.extend_from_slice(&first);
        let state = state(bytes.clone());
        assert_eq!(state.hops(1), []);
        assert!(state.basis() == basis(2));

        // A record written for another offset (a writer that read another file), and
        // everything after it, is not applied.
        let stray = encode_record(bytes.len() as u64 + 1, &basis(3), &[(0, vec![])]);
        let mut interleaved = bytes.clone();
        interleaved.extend_from_slice(&stray);
        assert!(state_of(&interleaved).basis() == basis(2));

        // Nor is a record with a flipped byte or cut short.
        let next = encode_record(bytes.len() as u64, &basis(3), &[(0, vec![])]);
        for broken in [flip(&next, next.len() / 2), next[..next.len() - 1].to_vec()] {
            let mut with = bytes.clone();
            with.extend_from_slice(&broken);
            let state = state_of(&with);
            assert!(state.basis() == basis(2));
            assert_eq!(state.hops(0), [(1, 0)]);
        }
    }

    #[test]
    fn a_corrupt_or_truncated_base_is_ignored() {
        let bytes = base();
        for at in [0, 20, bytes.len() / 2, bytes.len() - 1] {
            assert!(decode_base(flip(&bytes, at)).is_none(), "byte {at} flipped");
        }
        for len in [0, 3, bytes.len() / 2, bytes.len() - 1] {
            assert!(decode_base(bytes[..len].to_vec()).is_none(), "cut at {len}");
        }
    }

    fn state_of(bytes: &[u8]) -> State {
        state(bytes.to_vec())
    }

    fn flip(bytes: &[u8], at: usize) -> Vec<u8> {
        let mut flipped = bytes.to_vec();
        flipped[at] ^= 0x40;
        flipped
    }
}
