//! The resolved whole-repository import graph of a snapshot read from git (the index or a
//! commit's tree), cached under the git dir so that a check with indirect rules (the
//! pre-commit hook on every commit) reads one compact binary file and parses and resolves
//! only the files whose blob changed, instead of loading every file's imports from the JSON
//! import cache and resolving them all again.
//!
//! Rebuildable and never authoritative. The file counts only when its key matches: format
//! and extractor version, the config's resolution settings (`python`, `exclude`), every path
//! of the snapshot (resolution asks which files exist) and the blob of every file that is not
//! source code (tsconfig.json, package.json, Cargo.toml: what resolution reads). Within it,
//! a file's imports and resolved hops count only for the same path, language and blob id;
//! any other file is parsed and resolved again. A checksum covers the whole file: a
//! truncated, corrupt or foreign file is ignored and replaced.

use std::borrow::Cow;
use std::ops::Range;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::imports::{Import, ImportKind, Lang, Spec};
use super::snapshot::Snapshot;
use crate::config::Config;
use crate::repo::{ObjectId, Repo};

const MAGIC: &[u8; 16] = b"comm-node graph\n";
/// Bump when the layout changes.
const FORMAT_VERSION: u32 = 1;
const FILE_NAME: &str = "graph.bin";
pub(super) const KINDS: [ImportKind; 5] = [
    ImportKind::Static,
    ImportKind::TypeOnly,
    ImportKind::ReExport,
    ImportKind::Dynamic,
    ImportKind::Require,
];

/// What the resolved graph depends on besides each file's own blob.
pub type Key = [u8; 32];

/// One import of a file leading to another file, as the graph needs it.
#[derive(Clone)]
pub struct HopSpec<'a> {
    /// The import's index in its file's list.
    pub at: u32,
    pub to: Cow<'a, str>,
    pub line: u32,
    pub col: u32,
    pub kind: ImportKind,
    pub text: &'a str,
}

/// A file's imports: parsed, or still encoded as the graph cache stores them.
#[derive(Clone, Copy)]
pub enum Imports<'a> {
    Parsed(&'a [Import]),
    Encoded { count: u32, bytes: &'a [u8] },
}

/// One source file as the graph cache holds it; imports stay encoded until asked for.
struct CachedFile {
    path: u32,
    lang: Lang,
    id: ObjectId,
    import_count: u32,
    imports: Range<usize>,
    hops: Range<usize>,
}

struct CachedHop {
    at: u32,
    to: u32,
    line: u32,
    col: u32,
    kind: ImportKind,
    text: Range<usize>,
}

/// A file to save: its imports and the hops the graph resolved for it.
pub struct FileToSave<'a> {
    /// The file's index in the path table.
    pub node: u32,
    pub path: &'a str,
    pub lang: Lang,
    pub id: ObjectId,
    pub imports: Imports<'a>,
    /// (hop, index of its target in the path table).
    pub hops: Vec<(&'a HopSpec<'a>, u32)>,
}

/// The cached graph whose key matched this run's.
pub struct GraphCache {
    bytes: Vec<u8>,
    /// Every path and hop text, one after the other (`names[range]` is one of them).
    names: String,
    paths: Vec<Range<usize>>,
    /// Sorted by path (the snapshot's order).
    files: Vec<CachedFile>,
    hops: Vec<CachedHop>,
}

/// The key of `snapshot` under `config`; `None` for a worktree (no blob ids).
pub fn key(snapshot: &Snapshot, config: &Config) -> Option<Key> {
    let mut hasher = Sha256::new();
    hasher.update(super::cache::version().as_bytes());
    let settings = serde_json::to_vec(&(&config.python, &config.exclude)).ok()?;
    hasher.update(&settings);
    for (path, id) in snapshot.files.iter() {
        let id = id?;
        hasher.update(path.as_bytes());
        hasher.update([0]);
        if Lang::from_path(path).is_none() {
            hasher.update(id.as_slice());
        }
    }
    Some(hasher.finalize().into())
}

fn file_path(repo: &Repo) -> PathBuf {
    repo.cache_dir("graph").join(FILE_NAME)
}

impl GraphCache {
    /// The cached graph if one is stored for exactly `key`.
    pub fn load(repo: &Repo, key: &Key) -> Option<GraphCache> {
        let bytes = std::fs::read(file_path(repo)).ok()?;
        decode(bytes, key)
    }

    fn path(&self, n: u32) -> &str {
        &self.names[self.paths[n as usize].clone()]
    }

    /// For each of `files` (sorted by path), the cache entry holding the same blob.
    pub fn matches(&self, files: &[(&str, Lang, Option<ObjectId>)]) -> Vec<Option<usize>> {
        let mut at = 0;
        files
            .iter()
            .map(|&(path, lang, id)| {
                while at < self.files.len() && self.path(self.files[at].path) < path {
                    at += 1;
                }
                let file = self.files.get(at)?;
                let same = self.path(file.path) == path && file.lang == lang;
                (same && Some(file.id) == id).then_some(at)
            })
            .collect()
    }

    /// The imports of entry `n` (`None` if they do not decode: read the blob instead).
    pub fn imports(&self, n: usize) -> Option<Vec<Import>> {
        let file = &self.files[n];
        let mut r = Reader {
            bytes: &self.bytes[file.imports.clone()],
            at: 0,
        };
        let imports = (0..file.import_count)
            .map(|_| r.import())
            .collect::<Option<Vec<_>>>()?;
        (r.at == r.bytes.len()).then_some(imports)
    }

    /// The imports of entry `n` as stored, to be saved again without decoding them.
    pub fn encoded_imports(&self, n: usize) -> Imports<'_> {
        let file = &self.files[n];
        Imports::Encoded {
            count: file.import_count,
            bytes: &self.bytes[file.imports.clone()],
        }
    }

    /// The resolved hops of entry `n`.
    pub fn hops(&self, n: usize) -> Vec<HopSpec<'_>> {
        self.hops[self.files[n].hops.clone()]
            .iter()
            .map(|hop| HopSpec {
                at: hop.at,
                to: Cow::Borrowed(self.path(hop.to)),
                line: hop.line,
                col: hop.col,
                kind: hop.kind,
                text: &self.names[hop.text.clone()],
            })
            .collect()
    }
}

/// Replace the stored graph (atomically; failures are ignored: the cache only saves time).
pub fn save(repo: &Repo, key: &Key, paths: &[&str], files: &[FileToSave]) {
    write_atomically(&file_path(repo), &encode(key, paths, files));
}

fn write_atomically(path: &Path, bytes: &[u8]) {
    let Some(dir) = path.parent() else {
        return;
    };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let tmp = dir.join(format!("{FILE_NAME}.{}.tmp", std::process::id()));
    if std::fs::write(&tmp, bytes).is_err() || std::fs::rename(&tmp, path).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

fn encode(key: &Key, paths: &[&str], files: &[FileToSave]) -> Vec<u8> {
    let mut out = Writer(Vec::with_capacity(1024 * 1024));
    out.0.extend_from_slice(MAGIC);
    out.u32(FORMAT_VERSION);
    out.str(&super::cache::version());
    out.0.extend_from_slice(key);
    out.u32(paths.len() as u32);
    for path in paths {
        out.str(path);
    }
    let mut sorted: Vec<&FileToSave> = files
        .iter()
        .filter(|f| paths.get(f.node as usize) == Some(&f.path))
        .collect();
    sorted.sort_by(|a, b| a.path.cmp(b.path));
    out.u32(sorted.len() as u32);
    for file in sorted {
        out.u32(file.node);
        out.0.push(lang_tag(file.lang));
        out.0.extend_from_slice(file.id.as_slice());
        out.imports(file.imports);
        out.u32(file.hops.len() as u32);
        for &(hop, to) in &file.hops {
            out.u32(hop.at);
            out.u32(to);
            out.u32(hop.line);
            out.u32(hop.col);
            out.0.push(kind_tag(hop.kind));
            out.str(hop.text);
        }
    }
    let checksum = crc32fast::hash(&out.0);
    out.u32(checksum);
    out.0
}

pub(super) fn kind_tag(kind: ImportKind) -> u8 {
    KINDS.iter().position(|&k| k == kind).unwrap_or(0) as u8
}

fn lang_tag(lang: Lang) -> u8 {
    Lang::ALL.iter().position(|&l| l == lang).unwrap_or(0) as u8
}

struct Writer(Vec<u8>);

impl Writer {
    fn u32(&mut self, n: u32) {
        self.0.extend_from_slice(&n.to_le_bytes());
    }

    fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.0.extend_from_slice(s.as_bytes());
    }

    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            Some(s) => {
                self.0.push(1);
                self.str(s);
            }
            None => self.0.push(0),
        }
    }

    /// Count, byte length, then the imports (the length lets a reader skip them).
    fn imports(&mut self, imports: Imports) {
        match imports {
            Imports::Parsed(imports) => {
                self.u32(imports.len() as u32);
                let len_at = self.0.len();
                self.u32(0);
                for import in imports {
                    self.import(import);
                }
                let len = (self.0.len() - len_at - 4) as u32;
                self.0[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
            }
            Imports::Encoded { count, bytes } => {
                self.u32(count);
                self.u32(bytes.len() as u32);
                self.0.extend_from_slice(bytes);
            }
        }
    }

    fn import(&mut self, import: &Import) {
        self.u32(import.line);
        self.u32(import.col);
        self.0.push(kind_tag(import.kind));
        self.str(&import.text);
        match &import.spec {
            Spec::Module { specifier } => {
                self.0.push(0);
                self.str(specifier);
            }
            Spec::Python {
                level,
                module,
                name,
            } => {
                self.0.push(1);
                self.u32(*level);
                self.str(module);
                self.opt_str(name.as_deref());
            }
            Spec::RustPath { segments } => {
                self.0.push(2);
                self.u32(segments.len() as u32);
                for segment in segments {
                    self.str(segment);
                }
            }
            Spec::RustMod { name, path } => {
                self.0.push(3);
                self.str(name);
                self.opt_str(path.as_deref());
            }
            Spec::RustCrate { name } => {
                self.0.push(4);
                self.str(name);
            }
            Spec::NonLiteral => self.0.push(5),
        }
    }
}

/// The graph stored in `bytes` for `key`; `None` for anything else (other key, version or
/// format, bad checksum, an index out of range, files out of order).
fn decode(bytes: Vec<u8>, key: &Key) -> Option<GraphCache> {
    let body_len = bytes.len().checked_sub(4)?;
    let (body, checksum) = bytes.split_at(body_len);
    if crc32fast::hash(body).to_le_bytes() != checksum {
        return None;
    }
    let mut r = Reader { bytes: body, at: 0 };
    if r.take(MAGIC.len())? != MAGIC
        || r.u32()? != FORMAT_VERSION
        || r.str()? != super::cache::version()
    {
        return None;
    }
    if r.take(key.len())? != key {
        return None;
    }
    let mut names = String::with_capacity(body.len() / 2);
    let mut name = |text: &str| {
        let start = names.len();
        names.push_str(text);
        start..names.len()
    };
    let paths: Vec<Range<usize>> = (0..r.count()?)
        .map(|_| Some(name(r.str()?)))
        .collect::<Option<_>>()?;
    let mut hops = Vec::new();
    let mut files = Vec::new();
    for _ in 0..r.count()? {
        let path = r.index(paths.len())?;
        let lang = *Lang::ALL.get(r.u8()? as usize)?;
        let id = ObjectId::try_from(r.take(20)?).ok()?;
        let import_count = r.u32()?;
        let len = r.u32()? as usize;
        let imports = r.at..r.at.checked_add(len)?;
        r.take(len)?;
        let first_hop = hops.len();
        for _ in 0..r.count()? {
            let hop = CachedHop {
                at: r.u32()?,
                to: r.index(paths.len())?,
                line: r.u32()?,
                col: r.u32()?,
                kind: *KINDS.get(r.u8()? as usize)?,
                text: name(r.str()?),
            };
            if hop.at >= import_count {
                return None;
            }
            hops.push(hop);
        }
        files.push(CachedFile {
            path,
            lang,
            id,
            import_count,
            imports,
            hops: first_hop..hops.len(),
        });
    }
    let path = |n: u32| &names[paths[n as usize].clone()];
    let sorted = files.windows(2).all(|w| path(w[0].path) < path(w[1].path));
    if !sorted || r.at != body.len() {
        return None;
    }
    Some(GraphCache {
        bytes,
        names,
        paths,
        files,
        hops,
    })
}

pub(super) struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, at: 0 }
    }

    /// Bytes read so far.
    pub(super) fn at(&self) -> usize {
        self.at
    }

    pub(super) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let slice = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(slice)
    }

    pub(super) fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    pub(super) fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    /// A length that cannot exceed the bytes left (each element takes at least one byte).
    pub(super) fn count(&mut self) -> Option<usize> {
        let n = self.u32()? as usize;
        (n <= self.bytes.len() - self.at).then_some(n)
    }

    pub(super) fn str(&mut self) -> Option<&'a str> {
        let n = self.u32()? as usize;
        std::str::from_utf8(self.take(n)?).ok()
    }

    fn string(&mut self) -> Option<String> {
        self.str().map(str::to_string)
    }

    fn opt_string(&mut self) -> Option<Option<String>> {
        match self.u8()? {
            0 => Some(None),
            1 => Some(Some(self.string()?)),
            _ => None,
        }
    }

    /// An index below `len`.
    pub(super) fn index(&mut self, len: usize) -> Option<u32> {
        let n = self.u32()?;
        ((n as usize) < len).then_some(n)
    }

    fn import(&mut self) -> Option<Import> {
        let line = self.u32()?;
        let col = self.u32()?;
        let kind = *KINDS.get(self.u8()? as usize)?;
        let text = self.string()?;
        let spec = match self.u8()? {
            0 => Spec::Module {
                specifier: self.string()?,
            },
            1 => Spec::Python {
                level: self.u32()?,
                module: self.string()?,
                name: self.opt_string()?,
            },
            2 => Spec::RustPath {
                segments: (0..self.count()?)
                    .map(|_| self.string())
                    .collect::<Option<_>>()?,
            },
            3 => Spec::RustMod {
                name: self.string()?,
                path: self.opt_string()?,
            },
            4 => Spec::RustCrate {
                name: self.string()?,
            },
            5 => Spec::NonLiteral,
            _ => return None,
        };
        Some(Import {
            line,
            col,
            text,
            kind,
            spec,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn import(line: u32, spec: Spec) -> Import {
        Import {
            line,
            col: 3,
            text: format!("text{line}"),
            kind: ImportKind::TypeOnly,
            spec,
        }
    }

    fn every_spec() -> Vec<Import> {
        vec![
            import(
                1,
                Spec::Module {
                    specifier: "./b".into(),
                },
            ),
            import(
                2,
                Spec::Python {
                    level: 2,
                    module: "x.y".into(),
                    name: Some("z".into()),
                },
            ),
            import(
                3,
                Spec::RustPath {
                    segments: vec!["crate".into(), "a".into()],
                },
            ),
            import(
                4,
                Spec::RustMod {
                    name: "m".into(),
                    path: None,
                },
            ),
            import(5, Spec::RustCrate { name: "c".into() }),
            import(6, Spec::NonLiteral),
        ]
    }

    fn stored(key: &Key) -> (Vec<u8>, ObjectId) {
        let id = ObjectId::from_bytes_or_panic(&[7; 20]);
        let imports = every_spec();
        let hop = HopSpec {
            at: 0,
            to: "b.ts".into(),
            line: 1,
            col: 3,
            kind: ImportKind::TypeOnly,
            text: "text1",
        };
        let files = [FileToSave {
            node: 1,
            path: "a.ts",
            lang: Lang::TypeScript,
            id,
            imports: Imports::Parsed(&imports),
            hops: vec![(&hop, 0)],
        }];
        (encode(key, &["b.ts", "a.ts"], &files), id)
    }

    #[test]
    fn a_stored_graph_reads_back_for_its_key_and_blob_only() {
        let key = [1; 32];
        let (bytes, id) = stored(&key);
        let cache = decode(bytes.clone(), &key).expect("decodes");
        let other = ObjectId::from_bytes_or_panic(&[8; 20]);
        let asked = [
            ("a.ts", Lang::TypeScript, Some(id)),
            ("a.ts", Lang::JavaScript, Some(id)),
            ("a.ts", Lang::TypeScript, Some(other)),
            ("b.ts", Lang::TypeScript, Some(id)),
        ];
        let found: Vec<_> = asked.iter().map(|a| cache.matches(&[*a])[0]).collect();
        assert_eq!(found, [Some(0), None, None, None]);
        let hops = cache.hops(0);
        assert_eq!(hops.len(), 1);
        assert_eq!((hops[0].to.as_ref(), hops[0].text), ("b.ts", "text1"));
        assert_eq!(cache.imports(0), Some(every_spec()));
        assert!(decode(bytes, &[2; 32]).is_none());
    }

    #[test]
    fn a_corrupt_or_truncated_file_is_ignored() {
        let key = [1; 32];
        let (bytes, _) = stored(&key);
        for at in [0, 20, bytes.len() / 2, bytes.len() - 1] {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x40;
            assert!(decode(flipped, &key).is_none(), "byte {at} flipped");
        }
        for len in [0, 3, bytes.len() / 2, bytes.len() - 1] {
            assert!(
                decode(bytes[..len].to_vec(), &key).is_none(),
                "cut at {len}"
            );
        }
    }
}
