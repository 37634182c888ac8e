//! The version of each artifact an agent last saw (through `get` or `wait`), so `wait`'s
//! default baseline is "newer than what I have seen" and a version a sync already brought
//! in is not missed. Local to this clone, under the git dir; rebuildable (losing it only
//! makes the next `wait` return the latest version at once).

use std::collections::BTreeMap;

use crate::repo::Repo;

fn path(repo: &Repo, agent: &str) -> std::path::PathBuf {
    repo.cache_dir("seen").join(format!("{agent}.json"))
}

fn load(repo: &Repo, agent: &str) -> BTreeMap<String, u64> {
    std::fs::read(path(repo, agent))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// The last version of `key` that `agent` saw here.
pub fn last_seen(repo: &Repo, agent: &str, key: &str) -> Option<u64> {
    load(repo, agent).get(key).copied()
}

/// Remember that `agent` saw `version` of `key` (never moves backwards). Best effort.
pub fn record(repo: &Repo, agent: &str, key: &str, version: u64) {
    let mut seen = load(repo, agent);
    if seen.get(key).is_some_and(|v| *v >= version) {
        return;
    }
    seen.insert(key.to_string(), version);
    let file = path(repo, agent);
    if let Some(dir) = file.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let tmp = file.with_extension("json.tmp");
    if std::fs::write(&tmp, serde_json::to_vec(&seen).expect("serializes")).is_ok() {
        let _ = std::fs::rename(tmp, file);
    }
}
