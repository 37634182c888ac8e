//! When each remote was last synced (a rebuildable cache under the git dir).

use serde::{Deserialize, Serialize};

use crate::repo::Repo;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LastSync {
    pub remote: String,
    /// Unix seconds.
    pub time: i64,
    pub pushed: usize,
    pub adopted: usize,
}

fn path(repo: &Repo, label: &str) -> std::path::PathBuf {
    repo.cache_dir("sync").join(format!("{label}.json"))
}

pub fn save(repo: &Repo, label: &str, last: &LastSync) {
    let file = path(repo, label);
    if let Some(dir) = file.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    // A cache: failing to write it must not fail a sync that succeeded.
    let _ = std::fs::write(file, serde_json::to_vec(last).expect("serializes"));
}

pub fn load(repo: &Repo, label: &str) -> Option<LastSync> {
    let bytes = std::fs::read(path(repo, label)).ok()?;
    serde_json::from_slice(&bytes).ok()
}
