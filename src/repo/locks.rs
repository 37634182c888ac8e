//! Lock files left behind by killed writers.
//!
//! git and gix lock a ref by creating `<ref>.lock` next to it (and `packed-refs.lock` for
//! the packed file), write the new value into it and rename it over the ref. A writer
//! killed in between leaves the lock, and from then on every write of that ref fails. A
//! lock is stale when no process holds it open and it is older than [`MIN_STALE_AGE`]
//! (a live writer holds a ref lock for milliseconds); where open files cannot be listed
//! (no `/proc`), only locks older than [`STALE_AGE_WITHOUT_PROC`] count as stale.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::Repo;

pub const MIN_STALE_AGE: Duration = Duration::from_secs(2);
pub const STALE_AGE_WITHOUT_PROC: Duration = Duration::from_secs(60);
const LOCK_SUFFIX: &str = ".lock";

/// A lock file found in the ref store.
#[derive(Debug, Clone)]
pub struct Lock {
    pub path: PathBuf,
    pub age: Duration,
    pub stale: bool,
}

/// The lock files guarding `ref_name` (its own and the packed-refs lock).
fn lock_paths(repo: &Repo, ref_name: &str) -> [PathBuf; 2] {
    let common = repo.common_dir();
    [
        common.join(format!("{ref_name}{LOCK_SUFFIX}")),
        common.join(format!("packed-refs{LOCK_SUFFIX}")),
    ]
}

/// Remove locks left by dead writers guarding any of `ref_names`; true when one was removed
/// (the caller retries its write). A lock nobody holds open is waited on until it is
/// [`MIN_STALE_AGE`] old (a writer between closing and renaming it finishes in that time),
/// then removed with a notice; a lock a live process holds is left alone.
pub fn clear_stale(repo: &Repo, ref_names: &[&str]) -> bool {
    let mut cleared = false;
    for name in ref_names {
        for path in lock_paths(repo, name) {
            let Some(mut lock) = inspect(&path) else {
                continue;
            };
            if !lock.stale && held_open(&path) == Some(false) {
                std::thread::sleep(MIN_STALE_AGE.saturating_sub(lock.age));
                match inspect(&path) {
                    Some(again) => lock = again,
                    None => {
                        cleared = true; // its writer finished meanwhile
                        continue;
                    }
                }
            }
            cleared |= lock.stale && remove(&lock);
        }
    }
    cleared
}

/// Remove the lock file at `path` when its writer is gone (see [`MIN_STALE_AGE`]); true
/// when it was removed. For locks of files that are not refs.
pub fn clear_stale_file(path: &Path) -> bool {
    let old_enough = std::fs::metadata(path)
        .ok()
        .and_then(|m| m.modified().ok())
        .and_then(|m| SystemTime::now().duration_since(m).ok())
        .is_some_and(|age| age >= MIN_STALE_AGE);
    old_enough && inspect(path).is_some_and(|lock| lock.stale && remove(&lock))
}

/// Is any lock guarding `ref_names` present (a writer at work, or one that just died)?
pub fn any_present(repo: &Repo, ref_names: &[&str]) -> bool {
    ref_names
        .iter()
        .any(|name| lock_paths(repo, name).iter().any(|p| p.exists()))
}

/// Every lock file in the namespace, the tracking areas and `packed-refs.lock`.
pub fn scan(repo: &Repo, prefixes: &[&str]) -> Vec<Lock> {
    let common = repo.common_dir();
    let mut found = Vec::new();
    if let Some(lock) = inspect(&common.join(format!("packed-refs{LOCK_SUFFIX}"))) {
        found.push(lock);
    }
    for prefix in prefixes {
        let dir = common.join(prefix.trim_end_matches('/'));
        collect(&dir, &mut found);
        // The namespace root itself may be locked as a ref (`refs/comm-node.lock` never is,
        // but `refs/comm-node/mail.lock` sits inside the directory walked above).
    }
    found
}

/// Remove every stale lock in `locks`; returns the ones removed.
pub fn clear(locks: &[Lock]) -> Vec<Lock> {
    locks
        .iter()
        .filter(|l| l.stale && remove(l))
        .cloned()
        .collect()
}

fn collect(dir: &Path, found: &mut Vec<Lock>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => collect(&path, found),
            Ok(_) if path.to_string_lossy().ends_with(LOCK_SUFFIX) => {
                if let Some(lock) = inspect(&path) {
                    found.push(lock);
                }
            }
            _ => {}
        }
    }
}

fn inspect(path: &Path) -> Option<Lock> {
    let meta = std::fs::metadata(path).ok()?;
    let age = meta
        .modified()
        .ok()
        .and_then(|m| SystemTime::now().duration_since(m).ok())
        .unwrap_or_default();
    let stale = match held_open(path) {
        Some(true) => false,
        Some(false) => age >= MIN_STALE_AGE,
        None => age >= STALE_AGE_WITHOUT_PROC,
    };
    Some(Lock {
        path: path.to_path_buf(),
        age,
        stale,
    })
}

fn remove(lock: &Lock) -> bool {
    match std::fs::remove_file(&lock.path) {
        Ok(()) => {
            // Best effort: a closed stderr must not stop the write this removal unblocks.
            let _ = writeln!(
                std::io::stderr(),
                "notice: removed stale lock {} (left {}s ago by a writer that is gone)",
                lock.path.display(),
                lock.age.as_secs()
            );
            true
        }
        Err(_) => false,
    }
}

/// Does any process hold `path` open? `None` when that cannot be known here.
fn held_open(path: &Path) -> Option<bool> {
    let target = std::fs::canonicalize(path).ok()?;
    let procs = std::fs::read_dir("/proc").ok()?;
    for proc_entry in procs.flatten() {
        let name = proc_entry.file_name();
        if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(proc_entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if std::fs::read_link(fd.path()).is_ok_and(|link| link == target) {
                return Some(true);
            }
        }
    }
    Some(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_held_open_is_live_and_an_old_unheld_one_is_stale() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mail.lock");
        let file = std::fs::File::create(&path).unwrap();
        let old = SystemTime::now() - Duration::from_secs(30);
        file.set_modified(old).unwrap();
        let held = inspect(&path).unwrap();
        assert!(!held.stale, "an open lock belongs to a live writer");
        drop(file);
        let left = inspect(&path).unwrap();
        assert!(left.stale, "nobody holds it and it is 30s old");
        let fresh = dir.path().join("fresh.lock");
        std::fs::File::create(&fresh).unwrap();
        assert!(!inspect(&fresh).unwrap().stale, "too young to judge");
    }
}
