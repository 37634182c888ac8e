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
const KINDS: [ImportKind; 5] = [
    ImportKind::Static,
    ImportKind::TypeOnly,
    ImportKind::ReExport,
    ImportKind::Dynamic,
    ImportKind::Require,
];

/// What the resolved graph depends on besides each file's own blob.
pub type Key = [u8; 32];

/// One source file as the graph last saw it.
pub struct ResolvedFile {
    path: u32,
    lang: Lang,
    id: ObjectId,
    imports: Vec<Import>,
    /// (index into `imports`, index into the path table) of each import leading to a file.
    hops: Vec<(u32, u32)>,
}

/// A file to save: its imports and, for those leading to another file, the target's index
/// in `paths`.
pub struct FileToSave<'a> {
    pub path: &'a str,
    pub lang: Lang,
    pub id: ObjectId,
    pub imports: &'a [Import],
    pub hops: Vec<(u32, u32)>,
}

/// The cached graph whose key matched this run's.
pub struct GraphCache {
    paths: Vec<String>,
    /// Sorted by path (the snapshot's order), for binary search.
    files: Vec<ResolvedFile>,
}

/// The key of `snapshot` under `config`; `None` for a worktree (no blob ids).
pub fn key(snapshot: &Snapshot, config: &Config) -> Option<Key> {
    let mut hasher = Sha256::new();
    hasher.update(version().as_bytes());
    let settings = serde_json::to_vec(&(&config.python, &config.exclude)).ok()?;
    hasher.update(&settings);
    for (path, id) in &snapshot.files {
        let id = (*id)?;
        hasher.update(path.as_bytes());
        hasher.update([0]);
        if Lang::from_path(path).is_none() {
            hasher.update(id.as_slice());
        }
    }
    Some(hasher.finalize().into())
}

fn version() -> String {
    format!(
        "{}-{}",
        env!("CARGO_PKG_VERSION"),
        super::cache::EXTRACTOR_VERSION
    )
}

fn file_path(repo: &Repo) -> PathBuf {
    repo.cache_dir("graph").join(FILE_NAME)
}

impl GraphCache {
    /// The cached graph if one is stored for exactly `key`.
    pub fn load(repo: &Repo, key: &Key) -> Option<GraphCache> {
        GraphCache::read(&file_path(repo), key)
    }

    fn read(path: &Path, key: &Key) -> Option<GraphCache> {
        let bytes = std::fs::read(path).ok()?;
        decode(&bytes, key)
    }

    fn entry(&self, path: &str, lang: Lang, id: &ObjectId) -> Option<usize> {
        let at = self
            .files
            .binary_search_by(|f| self.paths[f.path as usize].as_str().cmp(path))
            .ok()?;
        let file = &self.files[at];
        (file.lang == lang && &file.id == id).then_some(at)
    }

    /// The imports of `path` if its blob is the one cached (moved out: asked once per file).
    pub fn take_imports(&mut self, path: &str, lang: Lang, id: &ObjectId) -> Option<Vec<Import>> {
        let at = self.entry(path, lang, id)?;
        Some(std::mem::take(&mut self.files[at].imports))
    }

    /// The resolved hops of `path` at blob `id`: (import index, target path).
    pub fn hops(&self, path: &str, lang: Lang, id: &ObjectId) -> Option<Vec<(usize, &str)>> {
        let at = self.entry(path, lang, id)?;
        Some(
            self.files[at]
                .hops
                .iter()
                .map(|&(import, to)| (import as usize, self.paths[to as usize].as_str()))
                .collect(),
        )
    }
}

/// Replace the stored graph (atomically; failures are ignored: the cache only saves time).
pub fn save(repo: &Repo, key: &Key, paths: &[String], files: &[FileToSave]) {
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

fn encode(key: &Key, paths: &[String], files: &[FileToSave]) -> Vec<u8> {
    let mut out = Writer(Vec::with_capacity(64 * 1024));
    out.0.extend_from_slice(MAGIC);
    out.u32(FORMAT_VERSION);
    out.str(&version());
    out.0.extend_from_slice(key);
    out.u32(paths.len() as u32);
    for path in paths {
        out.str(path);
    }
    let index: std::collections::HashMap<&str, u32> = paths
        .iter()
        .enumerate()
        .map(|(i, p)| (p.as_str(), i as u32))
        .collect();
    let mut sorted: Vec<&FileToSave> = files
        .iter()
        .filter(|f| index.contains_key(f.path))
        .collect();
    sorted.sort_by(|a, b| a.path.cmp(b.path));
    out.u32(sorted.len() as u32);
    for file in sorted {
        out.u32(index[file.path]);
        out.0.push(lang_tag(file.lang));
        out.0.extend_from_slice(file.id.as_slice());
        out.u32(file.imports.len() as u32);
        for import in file.imports {
            out.import(import);
        }
        out.u32(file.hops.len() as u32);
        for &(import, to) in &file.hops {
            out.u32(import);
            out.u32(to);
        }
    }
    let checksum = crc32fast::hash(&out.0);
    out.u32(checksum);
    out.0
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

    fn import(&mut self, import: &Import) {
        self.u32(import.line);
        self.u32(import.col);
        self.0
            .push(KINDS.iter().position(|&k| k == import.kind).unwrap_or(0) as u8);
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
fn decode(bytes: &[u8], key: &Key) -> Option<GraphCache> {
    let (body, checksum) = bytes.split_at_checked(bytes.len().checked_sub(4)?)?;
    if crc32fast::hash(body).to_le_bytes() != checksum {
        return None;
    }
    let mut r = Reader { bytes: body, at: 0 };
    if r.take(MAGIC.len())? != MAGIC || r.u32()? != FORMAT_VERSION || r.str()? != version() {
        return None;
    }
    if r.take(key.len())? != key {
        return None;
    }
    let paths: Vec<String> = (0..r.count()?)
        .map(|_| r.str().map(str::to_string))
        .collect::<Option<_>>()?;
    let files: Vec<ResolvedFile> = (0..r.count()?)
        .map(|_| r.file(paths.len()))
        .collect::<Option<_>>()?;
    let sorted = files
        .windows(2)
        .all(|w| paths[w[0].path as usize] < paths[w[1].path as usize]);
    (sorted && r.at == body.len()).then_some(GraphCache { paths, files })
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let slice = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(slice)
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    /// A length that cannot exceed the bytes left (each element takes at least one byte).
    fn count(&mut self) -> Option<usize> {
        let n = self.u32()? as usize;
        (n <= self.bytes.len() - self.at).then_some(n)
    }

    fn str(&mut self) -> Option<&'a str> {
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

    fn file(&mut self, paths: usize) -> Option<ResolvedFile> {
        let path = self.u32()?;
        let lang = *Lang::ALL.get(self.u8()? as usize)?;
        let id = ObjectId::try_from(self.take(20)?).ok()?;
        let imports: Vec<Import> = (0..self.count()?)
            .map(|_| self.import())
            .collect::<Option<_>>()?;
        let hops: Vec<(u32, u32)> = (0..self.count()?)
            .map(|_| Some((self.u32()?, self.u32()?)))
            .collect::<Option<_>>()?;
        let in_range = (path as usize) < paths
            && hops
                .iter()
                .all(|&(i, to)| (i as usize) < imports.len() && (to as usize) < paths);
        in_range.then_some(ResolvedFile {
            path,
            lang,
            id,
            imports,
            hops,
        })
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
        let paths = vec!["b.ts".to_string(), "a.ts".to_string()];
        let imports = every_spec();
        let files = [FileToSave {
            path: "a.ts",
            lang: Lang::TypeScript,
            id,
            imports: &imports,
            hops: vec![(0, 0)],
        }];
        (encode(key, &paths, &files), id)
    }

    #[test]
    fn a_stored_graph_reads_back_for_its_key_and_blob_only() {
        let key = [1; 32];
        let (bytes, id) = stored(&key);
        let mut cache = decode(&bytes, &key).expect("decodes");
        assert_eq!(
            cache.hops("a.ts", Lang::TypeScript, &id),
            Some(vec![(0, "b.ts")])
        );
        let other = ObjectId::from_bytes_or_panic(&[8; 20]);
        assert!(cache.hops("a.ts", Lang::TypeScript, &other).is_none());
        assert!(cache.hops("a.ts", Lang::JavaScript, &id).is_none());
        assert!(cache.hops("b.ts", Lang::TypeScript, &id).is_none());
        assert_eq!(
            cache.take_imports("a.ts", Lang::TypeScript, &id),
            Some(every_spec())
        );
        assert!(decode(&bytes, &[2; 32]).is_none());
    }

    #[test]
    fn a_corrupt_or_truncated_file_is_ignored() {
        let key = [1; 32];
        let (bytes, _) = stored(&key);
        for at in [0, 20, bytes.len() / 2, bytes.len() - 1] {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x40;
            assert!(decode(&flipped, &key).is_none(), "byte {at} flipped");
        }
        for len in [0, 3, bytes.len() / 2, bytes.len() - 1] {
            assert!(decode(&bytes[..len], &key).is_none(), "cut at {len}");
        }
    }
}
