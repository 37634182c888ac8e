//! The remote-tracking copies: for each remote, the value of every namespace ref of the
//! remote that the storage gate admitted, kept in one file per remote
//! (`<common git dir>/comm-node/tracking/<label>`).
//!
//! They used to be one ref each (`refs/comm-node-remotes/<label>/<suffix>`): three per clone
//! of the swarm. Every git process that looks at all refs (fetch, its connectivity check,
//! push) read each of those files, and a sync that saw N clones move wrote N of them, each
//! a new lock file. One file is read once and written once per sync. The names stay the
//! refs' (`refs/comm-node-remotes/<label>/<suffix>`) for the gate and in messages.
//!
//! Writes pass the gate as ref writes do, hold `<file>.lock` (a killed writer's lock is
//! cleared once stale, as for refs), and replace the file by rename, so a reader sees the
//! old copies or the new ones. Each entry moves only from the value the writer expected.
//! A repository written by an earlier version keeps its tracking refs until the first write
//! here, which takes them over and deletes them.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::gate::{self, TRACKING_ROOT};
use super::{locks, ObjectId, Repo};
use crate::error::{Error, Result};

const HEADER: &str = "# git-comm tracking copies v1";
/// The directory of the files, below the common git dir (as lock scans take it).
pub const DIR: &str = "comm-node/tracking/";
/// How long a writer waits for another's lock (a write takes about a millisecond).
const LOCK_WAIT: Duration = Duration::from_secs(5);

/// The tracking copies of one remote: suffix (e.g. `outbox/ab12`) -> admitted value.
pub type Copies = BTreeMap<String, ObjectId>;

/// One entry's move: from `expected` (`None`: absent) to `new` (`None`: delete).
#[derive(Debug, Clone)]
pub struct Move {
    pub suffix: String,
    pub expected: Option<ObjectId>,
    pub new: Option<ObjectId>,
}

/// The tracking copies of the remote labelled `label`.
pub fn read(repo: &Repo, label: &str) -> Result<Copies> {
    match read_file(&path(repo, label))? {
        Some(copies) => Ok(copies),
        None => legacy(repo, label),
    }
}

/// Every remote's tracking copies: (label, copies).
pub fn read_all(repo: &Repo) -> Result<Vec<(String, Copies)>> {
    let mut labels: Vec<String> = std::fs::read_dir(dir(repo))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| !name.ends_with(".lock") && !name.starts_with('.'))
        .collect();
    for (name, _) in repo.list_refs(TRACKING_ROOT)? {
        if let Some((label, _)) = name[TRACKING_ROOT.len()..].split_once('/') {
            labels.push(label.to_string());
        }
    }
    labels.sort();
    labels.dedup();
    labels
        .into_iter()
        .map(|label| read(repo, &label).map(|copies| (label, copies)))
        .collect()
}

/// The full ref name a tracking copy is known by.
pub fn ref_name(label: &str, suffix: &str) -> String {
    format!("{TRACKING_ROOT}{label}/{suffix}")
}

/// Apply every move whose entry still holds its expected value; true when all applied.
/// Each new value passes the storage gate first: a value it refuses stops the whole write.
pub fn swap(repo: &Repo, label: &str, moves: &[Move]) -> Result<bool> {
    if moves.is_empty() {
        return Ok(true);
    }
    for m in moves {
        let name = ref_name(label, &m.suffix);
        match m.new {
            Some(new) => gate::check_write(repo, &name, new, m.expected)?,
            None => gate::check_delete(repo, &name)?,
        }
    }
    let file = path(repo, label);
    let lock_path = lock_path(&file);
    let Some(mut lock) = acquire(&lock_path)? else {
        return Ok(false);
    };
    let written = write_under_lock(repo, label, &file, &lock_path, &mut lock, moves);
    if written.is_err() {
        let _ = std::fs::remove_file(&lock_path);
    }
    let all_applied = written?;
    drop_legacy(repo, label)?;
    Ok(all_applied)
}

fn write_under_lock(
    repo: &Repo,
    label: &str,
    file: &Path,
    lock_path: &Path,
    lock: &mut std::fs::File,
    moves: &[Move],
) -> Result<bool> {
    let mut copies = read(repo, label)?;
    let mut all_applied = true;
    for m in moves {
        if copies.get(&m.suffix).copied() != m.expected {
            all_applied = false;
            continue;
        }
        match m.new {
            Some(new) => copies.insert(m.suffix.clone(), new),
            None => copies.remove(&m.suffix),
        };
    }
    lock.write_all(&render(&copies))
        .and_then(|()| lock.flush())
        .map_err(|e| io_error(lock_path, e))?;
    crate::failpoint::hit("tracking-before-rename");
    std::fs::rename(lock_path, file).map_err(|e| io_error(file, e))?;
    Ok(all_applied)
}

/// `<common git dir>/comm-node/tracking`.
pub fn dir(repo: &Repo) -> PathBuf {
    repo.common_dir().join(DIR.trim_end_matches('/'))
}

fn path(repo: &Repo, label: &str) -> PathBuf {
    dir(repo).join(label)
}

fn lock_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// The file's copies; `None` when there is no file. A file that does not parse (a damaged
/// disk) counts as empty: the copies are the remote as last admitted, and the next sync
/// admits every fetched value again and rewrites them.
fn read_file(file: &Path) -> Result<Option<Copies>> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => return Ok(Some(Copies::new())),
        Err(e) => return Err(io_error(file, e)),
    };
    Ok(Some(parse(&text).unwrap_or_default()))
}

fn parse(text: &str) -> Option<Copies> {
    let mut lines = text.lines();
    if lines.next()? != HEADER {
        return None;
    }
    lines
        .map(|line| {
            let (hex, suffix) = line.split_once(' ')?;
            let id = ObjectId::from_hex(hex.as_bytes()).ok()?;
            (!suffix.is_empty()).then(|| (suffix.to_string(), id))
        })
        .collect()
}

fn render(copies: &Copies) -> Vec<u8> {
    let mut out = String::with_capacity(HEADER.len() + 1 + copies.len() * 80);
    out.push_str(HEADER);
    out.push('\n');
    for (suffix, id) in copies {
        out.push_str(&format!("{id} {suffix}\n"));
    }
    out.into_bytes()
}

/// Take `<file>.lock`, waiting for a live writer and clearing a dead one's; `None` when a
/// live writer kept it past [`LOCK_WAIT`].
fn acquire(lock_path: &Path) -> Result<Option<std::fs::File>> {
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(lock_path)
        {
            Ok(file) => return Ok(Some(file)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let parent = lock_path.parent().expect("the lock has a directory");
                std::fs::create_dir_all(parent).map_err(|e| io_error(parent, e))?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if locks::clear_stale_file(lock_path) {
                    continue;
                }
                if Instant::now() >= deadline {
                    return Ok(None);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(io_error(lock_path, e)),
        }
    }
}

/// Tracking refs an earlier version wrote for `label`.
fn legacy(repo: &Repo, label: &str) -> Result<Copies> {
    let prefix = format!("{TRACKING_ROOT}{label}/");
    Ok(repo
        .list_refs(&prefix)?
        .into_iter()
        .map(|(name, id)| (name[prefix.len()..].to_string(), id))
        .collect())
}

/// Delete the tracking refs of `label` once the file holds them.
fn drop_legacy(repo: &Repo, label: &str) -> Result<()> {
    let doomed = repo.list_refs(&format!("{TRACKING_ROOT}{label}/"))?;
    if doomed.is_empty() {
        return Ok(());
    }
    repo.delete_refs(&doomed).map(|_| ())
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::git(format!("cannot write {}: {e}", path.display()))
        .with_hint("check the permissions and free space of the git dir; run `git comm sync` again")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_round_trip_and_a_damaged_file_counts_as_empty() {
        let mut copies = Copies::new();
        let id = ObjectId::from_hex(b"0123456789abcdef0123456789abcdef01234567").unwrap();
        copies.insert("outbox/ab12".to_string(), id);
        copies.insert("agents/x".to_string(), id);
        let text = String::from_utf8(render(&copies)).unwrap();
        assert_eq!(parse(&text), Some(copies));
        assert_eq!(parse("garbage\n"), None);
        assert_eq!(parse(&format!("{HEADER}\nnot-hex outbox/x\n")), None);
        assert_eq!(parse(&format!("{HEADER}\n{id} \n")), None);
    }
}
