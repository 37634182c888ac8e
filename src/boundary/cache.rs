//! Import lists cached by blob id (+ language + extractor version) under the common git dir.
//! Rebuildable and never authoritative: a missing, stale, corrupt or other-format cache is
//! ignored and rewritten; concurrent writers each replace the file atomically (last one
//! wins). Bounded: each entry remembers the day it was last used; entries unused for
//! `MAX_AGE_DAYS` are dropped, and past `MAX_ENTRIES` the least recently used go first.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::imports::{Import, Lang};
use crate::repo::{ObjectId, Repo};

/// Bump when the file's layout changes; a file of another format is ignored.
const FORMAT_VERSION: u32 = 2;
/// Bump when extraction changes what it produces for the same source.
pub(super) const EXTRACTOR_VERSION: u32 = 4;
const FILE_NAME: &str = "imports.json";
const MAX_ENTRIES: usize = 100_000;
const MAX_AGE_DAYS: u32 = 30;

#[derive(Serialize, Deserialize)]
struct OnDisk {
    /// Absent (0) in files written before the format was versioned.
    #[serde(default)]
    format: u32,
    version: String,
    entries: HashMap<String, Entry>,
}

#[derive(Clone, Serialize, Deserialize)]
struct Entry {
    imports: Vec<Import>,
    /// Days since the Unix epoch when a check last used the entry.
    used: u32,
}

pub struct ImportCache {
    path: PathBuf,
    today: u32,
    entries: HashMap<String, Entry>,
    fresh: Mutex<Vec<(String, Vec<Import>)>>,
    /// Keys read this run whose `used` day is older than today.
    touched: Mutex<Vec<String>>,
}

/// What every stored import result depends on: this build and its import extractor. The
/// import cache, the graph cache and the verified state are valid only under the same one.
pub(super) fn version() -> String {
    format!("{}-{}", env!("CARGO_PKG_VERSION"), EXTRACTOR_VERSION)
}

fn key(lang: Lang, id: &ObjectId) -> String {
    format!("{}:{id}", lang.name())
}

fn days_since_epoch() -> u32 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    (secs / 86_400) as u32
}

impl ImportCache {
    pub fn load(repo: &Repo) -> ImportCache {
        ImportCache::at(
            &repo.cache_dir("imports").join(FILE_NAME),
            days_since_epoch(),
        )
    }

    /// A cache that finds nothing and saves nothing (when another cache serves the run).
    pub fn unused() -> ImportCache {
        ImportCache {
            path: PathBuf::new(),
            today: days_since_epoch(),
            entries: HashMap::new(),
            fresh: Mutex::new(Vec::new()),
            touched: Mutex::new(Vec::new()),
        }
    }

    /// The cache stored at `path`, as seen on day `today`.
    fn at(path: &Path, today: u32) -> ImportCache {
        let entries = std::fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<OnDisk>(&bytes).ok())
            .filter(|disk| disk.format == FORMAT_VERSION && disk.version == version())
            .map(|disk| disk.entries)
            .unwrap_or_default();
        ImportCache {
            path: path.to_path_buf(),
            today,
            entries,
            fresh: Mutex::new(Vec::new()),
            touched: Mutex::new(Vec::new()),
        }
    }

    pub fn get(&self, lang: Lang, id: &ObjectId) -> Option<Vec<Import>> {
        let key = key(lang, id);
        let entry = self.entries.get(&key)?;
        if entry.used < self.today {
            if let Ok(mut touched) = self.touched.lock() {
                touched.push(key);
            }
        }
        Some(entry.imports.clone())
    }

    pub fn put(&self, lang: Lang, id: &ObjectId, imports: &[Import]) {
        if let Ok(mut fresh) = self.fresh.lock() {
            fresh.push((key(lang, id), imports.to_vec()));
        }
    }

    /// Write new entries and today's uses back, pruned. Nothing is written when the run
    /// added nothing and used only entries already marked today (a warm check stays
    /// read-only). Failures are ignored: the cache only saves time.
    pub fn save(self) {
        let fresh = self.fresh.into_inner().unwrap_or_default();
        let touched = self.touched.into_inner().unwrap_or_default();
        if self.path.as_os_str().is_empty() || (fresh.is_empty() && touched.is_empty()) {
            return;
        }
        let mut entries = self.entries;
        for key in touched {
            if let Some(entry) = entries.get_mut(&key) {
                entry.used = self.today;
            }
        }
        for (key, imports) in fresh {
            let used = self.today;
            entries.insert(key, Entry { imports, used });
        }
        prune(&mut entries, self.today);
        write_atomically(
            &self.path,
            &OnDisk {
                format: FORMAT_VERSION,
                version: version(),
                entries,
            },
        );
    }
}

/// Drop entries unused for `MAX_AGE_DAYS`, then the least recently used past `MAX_ENTRIES`.
fn prune(entries: &mut HashMap<String, Entry>, today: u32) {
    entries.retain(|_, e| today.saturating_sub(e.used) <= MAX_AGE_DAYS);
    if entries.len() <= MAX_ENTRIES {
        return;
    }
    let mut ranked: Vec<(u32, String)> = entries
        .iter()
        .map(|(key, e)| (e.used, key.clone()))
        .collect();
    ranked.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    for (_, key) in ranked.drain(MAX_ENTRIES..) {
        entries.remove(&key);
    }
}

fn write_atomically(path: &Path, disk: &OnDisk) {
    let Some(dir) = path.parent() else {
        return;
    };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let tmp = dir.join(format!("{FILE_NAME}.{}.tmp", std::process::id()));
    let written = serde_json::to_vec(disk)
        .ok()
        .map(|bytes| std::fs::write(&tmp, bytes).is_ok())
        .unwrap_or(false);
    if !written || std::fs::rename(&tmp, path).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::boundary::imports::{ImportKind, Spec};

    fn id(n: u8) -> ObjectId {
        ObjectId::from_bytes_or_panic(&[n; 20])
    }

    fn imports(name: &str) -> Vec<Import> {
        vec![Import {
            line: 1,
            col: 8,
            text: name.to_string(),
            kind: ImportKind::Static,
            spec: Spec::Module {
                specifier: name.to_string(),
            },
        }]
    }

    fn stored_days(path: &Path) -> Vec<u32> {
        let disk: OnDisk = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let mut days: Vec<u32> = disk.entries.values().map(|e| e.used).collect();
        days.sort();
        days
    }

    #[test]
    fn entries_unused_for_a_month_are_pruned_and_uses_renew_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let cache = ImportCache::at(&path, 100);
        cache.put(Lang::Python, &id(1), &imports("a"));
        cache.put(Lang::Python, &id(2), &imports("b"));
        cache.save();

        // Day 120: `a` is used again, `b` is not.
        let cache = ImportCache::at(&path, 120);
        assert_eq!(cache.get(Lang::Python, &id(1)), Some(imports("a")));
        cache.save();
        assert_eq!(stored_days(&path), [100, 120]);

        // Day 140: `b` was last used 40 days ago and goes; `a` (20 days) stays.
        let cache = ImportCache::at(&path, 140);
        cache.put(Lang::Python, &id(3), &imports("c"));
        cache.save();
        assert_eq!(stored_days(&path), [120, 140]);
        let cache = ImportCache::at(&path, 140);
        assert_eq!(cache.get(Lang::Python, &id(1)), Some(imports("a")));
        assert_eq!(cache.get(Lang::Python, &id(3)), Some(imports("c")));
        assert_eq!(cache.get(Lang::Python, &id(2)), None);
        // The same language only: a blob's imports differ by how it is read.
        assert_eq!(cache.get(Lang::Rust, &id(1)), None);
    }

    #[test]
    fn a_warm_run_of_the_same_day_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let cache = ImportCache::at(&path, 7);
        cache.put(Lang::Rust, &id(1), &imports("a"));
        cache.save();
        std::fs::remove_file(&path).unwrap();
        let cache = ImportCache::at(&path, 7);
        cache.save();
        assert!(!path.exists());
    }

    #[test]
    fn past_the_size_bound_the_least_recently_used_go_first() {
        let mut entries: HashMap<String, Entry> = (0..MAX_ENTRIES + 10)
            .map(|i| {
                let used = if i < 20 { 1 } else { 5 };
                (
                    format!("k{i}"),
                    Entry {
                        imports: Vec::new(),
                        used,
                    },
                )
            })
            .collect();
        prune(&mut entries, 5);
        assert_eq!(entries.len(), MAX_ENTRIES);
        assert_eq!(entries.values().filter(|e| e.used == 1).count(), 10);
        assert!((20..MAX_ENTRIES + 10).all(|i| entries.contains_key(&format!("k{i}"))));
    }

    #[test]
    fn a_file_of_another_format_or_extractor_is_ignored_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let cache = ImportCache::at(&path, 1);
        cache.put(Lang::Python, &id(1), &imports("a"));
        cache.save();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains(&format!("\"format\":{FORMAT_VERSION}")),
            "{text}"
        );

        let older = text.replace(&format!("\"format\":{FORMAT_VERSION}"), "\"format\":1");
        std::fs::write(&path, older).unwrap();
        assert_eq!(ImportCache::at(&path, 1).get(Lang::Python, &id(1)), None);

        // The unversioned layout of earlier releases (no `format`, bare import lists).
        let legacy = format!(
            "{{\"version\":\"{}\",\"entries\":{{\"python:{}\":[]}}}}",
            version(),
            id(1)
        );
        std::fs::write(&path, legacy).unwrap();
        let cache = ImportCache::at(&path, 1);
        assert_eq!(cache.get(Lang::Python, &id(1)), None);
        cache.put(Lang::Python, &id(2), &imports("b"));
        cache.save();
        assert_eq!(
            ImportCache::at(&path, 1).get(Lang::Python, &id(2)),
            Some(imports("b"))
        );

        let other_extractor = std::fs::read_to_string(&path)
            .unwrap()
            .replace(&version(), "0.0.0-1");
        std::fs::write(&path, other_extractor).unwrap();
        assert_eq!(ImportCache::at(&path, 1).get(Lang::Python, &id(2)), None);
    }
}
