//! Import lists cached by blob id (+ language + extractor version) under the common git dir.
//! Rebuildable and never authoritative: a missing, stale or corrupt cache is ignored and
//! rewritten; concurrent writers each replace the file atomically (last one wins).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::imports::{Import, Lang};
use crate::repo::{ObjectId, Repo};

/// Bump when extraction changes what it produces for the same source.
const EXTRACTOR_VERSION: u32 = 3;
const FILE_NAME: &str = "imports.json";
/// Past this many entries the cache restarts from what the current run used.
const MAX_ENTRIES: usize = 200_000;

#[derive(Serialize, Deserialize)]
struct OnDisk {
    version: String,
    entries: HashMap<String, Vec<Import>>,
}

pub struct ImportCache {
    path: PathBuf,
    entries: HashMap<String, Vec<Import>>,
    fresh: Mutex<Vec<(String, Vec<Import>)>>,
}

fn version() -> String {
    format!("{}-{}", env!("CARGO_PKG_VERSION"), EXTRACTOR_VERSION)
}

fn key(lang: Lang, id: &ObjectId) -> String {
    format!("{}:{id}", lang.name())
}

impl ImportCache {
    pub fn load(repo: &Repo) -> ImportCache {
        let path = repo.cache_dir("imports").join(FILE_NAME);
        let entries = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<OnDisk>(&bytes).ok())
            .filter(|disk| disk.version == version())
            .map(|disk| disk.entries)
            .unwrap_or_default();
        ImportCache {
            path,
            entries,
            fresh: Mutex::new(Vec::new()),
        }
    }

    pub fn get(&self, lang: Lang, id: &ObjectId) -> Option<Vec<Import>> {
        self.entries.get(&key(lang, id)).cloned()
    }

    pub fn put(&self, lang: Lang, id: &ObjectId, imports: &[Import]) {
        if let Ok(mut fresh) = self.fresh.lock() {
            fresh.push((key(lang, id), imports.to_vec()));
        }
    }

    /// Write new entries back. Failures are ignored: the cache only saves time.
    pub fn save(self) {
        let fresh = self.fresh.into_inner().unwrap_or_default();
        if fresh.is_empty() {
            return;
        }
        let mut entries = self.entries;
        if entries.len() + fresh.len() > MAX_ENTRIES {
            entries.clear();
        }
        entries.extend(fresh);
        let disk = OnDisk {
            version: version(),
            entries,
        };
        let Some(dir) = self.path.parent() else {
            return;
        };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        let tmp = dir.join(format!("{FILE_NAME}.{}.tmp", std::process::id()));
        let written = serde_json::to_vec(&disk)
            .ok()
            .map(|bytes| std::fs::write(&tmp, bytes).is_ok())
            .unwrap_or(false);
        if !written || std::fs::rename(&tmp, &self.path).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}
