//! Grants of `lease --sync` not confirmed yet. The grant is written to the local ledger
//! first and counts only once the remote took it; a process killed in between would leave
//! a local grant that the next sync publishes as if it had been confirmed.
//!
//! So before the grant is written, `lease --sync` creates a marker
//! `<git common dir>/comm-node/pending-grants/<lease-id>` and holds an exclusive lock on it
//! for the whole confirmation; once the grant is confirmed or withdrawn it deletes the
//! marker (still locked, so nobody mistakes it for abandoned). The operating system drops
//! the lock when the process dies, however it dies. Every command that syncs or writes the
//! ledger first [`sweep`]s: a marker whose lock it can take belongs to a dead process, and
//! its lease is withdrawn locally (a commit by the holder saying why) before anything is
//! pushed; a marker still locked belongs to a live process and is left alone.
//!
//! Who holds the lock on the file the marker's path names owns the marker: a sweeper that
//! got the lock checks the path still names the file it locked, because the owner deletes
//! the marker before it lets go.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Context, Error, Result};
use crate::lease::{ledger, Event, Lease};
use crate::repo::Repo;

/// The note on the ledger commit that withdraws an abandoned grant.
pub const WITHDRAWN_NOTE: &str = "withdrawn: lease --sync never confirmed (process died)";
/// How often a new marker is recreated when sweepers keep removing it under our feet.
const CREATE_ATTEMPTS: u32 = 20;

/// Where the markers live (shared by all worktrees).
pub fn dir(repo: &Repo) -> PathBuf {
    repo.common_dir().join("comm-node").join("pending-grants")
}

/// What a marker file records (for doctor and the notice; the file name is the lease id).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Info {
    pub lease: String,
    pub holder: String,
    pub pid: u32,
    pub created: i64,
}

/// A locked marker for a grant being confirmed. Dropping it without [`Marker::finish`]
/// releases the lock and leaves the file, so the next sweep withdraws the grant.
#[derive(Debug)]
pub struct Marker {
    file: File,
    path: PathBuf,
}

impl Marker {
    /// Create and lock the marker for `lease_id` (before the grant is written).
    pub fn create(repo: &Repo, lease_id: &str, holder: &str) -> Result<Marker> {
        let dir = dir(repo);
        fs::create_dir_all(&dir).context(&format!("cannot create {}", dir.display()))?;
        let path = dir.join(lease_id);
        for _ in 0..CREATE_ATTEMPTS {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .context(&format!("cannot create {}", path.display()))?;
            file.lock()
                .context(&format!("cannot lock {}", path.display()))?;
            // A sweeper may have taken the fresh, still empty file for an abandoned one
            // between our open and our lock, and deleted it: start over.
            if !names(&path, &file) {
                continue;
            }
            let mut marker = Marker { file, path };
            marker.record(&Info {
                lease: lease_id.to_string(),
                holder: holder.to_string(),
                pid: std::process::id(),
                created: crate::agent::now_secs(),
            })?;
            return Ok(marker);
        }
        Err(Error::git(format!(
            "cannot create the pending-grant marker {}: it keeps disappearing",
            path.display()
        ))
        .with_hint("another git comm process keeps sweeping markers; try again"))
    }

    fn record(&mut self, info: &Info) -> Result<()> {
        let what = format!("cannot write {}", self.path.display());
        self.file.set_len(0).context(&what)?;
        let json = serde_json::to_vec(info).expect("marker serializes");
        self.file.write_all(&json).context(&what)?;
        self.file.sync_all().context(&what)
    }

    /// The grant got another id before it was written: the marker follows it.
    pub fn rename(&mut self, lease_id: &str, holder: &str) -> Result<()> {
        let to = self.path.with_file_name(lease_id);
        fs::rename(&self.path, &to).context(&format!("cannot rename {}", self.path.display()))?;
        self.path = to;
        self.record(&Info {
            lease: lease_id.to_string(),
            holder: holder.to_string(),
            pid: std::process::id(),
            created: crate::agent::now_secs(),
        })
    }

    /// The grant was confirmed or withdrawn: delete the marker, then let go of the lock.
    pub fn finish(self) -> Result<()> {
        match fs::remove_file(&self.path) {
            Err(e) if e.kind() != ErrorKind::NotFound => {
                Err(e).context(&format!("cannot delete {}", self.path.display()))
            }
            _ => Ok(()),
        }
    }
}

/// Does `path` still name the file `file` is open on?
#[cfg(unix)]
fn names(path: &Path, file: &File) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (fs::metadata(path), file.metadata()) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn names(path: &Path, _file: &File) -> bool {
    path.exists()
}

/// A marker as `doctor` sees it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub lease_id: String,
    pub info: Option<Info>,
    /// Its process still holds the lock (confirmation under way).
    pub live: bool,
}

/// The marker files, by name.
fn marker_paths(repo: &Repo) -> Result<Vec<(String, PathBuf)>> {
    let dir = dir(repo);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).context(&format!("cannot read {}", dir.display())),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.context(&format!("cannot read {}", dir.display()))?;
        if let Some(name) = entry.file_name().to_str() {
            found.push((name.to_string(), entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

/// A marker locked by us, or `None` when it is gone or still held by a live process.
fn take(path: &Path) -> Result<Option<File>> {
    let file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).context(&format!("cannot open {}", path.display())),
    };
    match file.try_lock() {
        Ok(()) => Ok(names(path, &file).then_some(file)),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => Err(e).context(&format!("cannot lock {}", path.display())),
    }
}

fn read_info(path: &Path) -> Option<Info> {
    serde_json::from_slice(&fs::read(path).ok()?).ok()
}

/// Every marker, live or abandoned (for `doctor`; changes nothing).
pub fn list(repo: &Repo) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    for (name, path) in marker_paths(repo)? {
        let Ok(file) = File::open(&path) else {
            continue; // finished meanwhile
        };
        let live = match file.try_lock_shared() {
            Ok(()) => false,
            Err(TryLockError::WouldBlock) => true,
            Err(TryLockError::Error(e)) => {
                return Err(e).context(&format!("cannot lock {}", path.display()))
            }
        };
        out.push(Entry {
            lease_id: name,
            info: read_info(&path),
            live,
        });
    }
    Ok(out)
}

/// Withdraw the grants of markers whose process died (one commit each, by the holder,
/// noting why), delete those markers, and print a `notice:` line per withdrawn lease on
/// stderr. Markers of live processes are left alone. Returns the withdrawn leases.
pub fn sweep(repo: &Repo) -> Result<Vec<Lease>> {
    let mut withdrawn = Vec::new();
    for (name, path) in marker_paths(repo)? {
        let Some(lock) = take(&path)? else {
            continue;
        };
        // A marker whose lease is not live (never written, or ended since) just goes.
        if let Some(lease) = withdraw(repo, &name)? {
            // Best effort: a closed stderr must not stop the withdrawal.
            let _ = writeln!(
                std::io::stderr(),
                "notice: withdrew lease {} of {} [{}]: `lease --sync` never confirmed it (its process died)",
                lease.id,
                lease.holder,
                lease.resources.join(", ")
            );
            withdrawn.push(lease);
        }
        Marker { file: lock, path }.finish()?;
    }
    Ok(withdrawn)
}

/// End live lease `lease_id` with a commit by its holder that says it was never confirmed.
fn withdraw(repo: &Repo, lease_id: &str) -> Result<Option<Lease>> {
    let Some(lease) = ledger::live_leases(repo)?
        .into_iter()
        .find(|l| l.id == lease_id)
    else {
        return Ok(None);
    };
    // A break by the holder itself: the ledger's event that carries a note.
    let events = ledger::write(repo, &lease.holder, |snap| {
        Ok(snap
            .live
            .iter()
            .filter(|l| l.id == lease_id)
            .map(|l| Event::Break {
                lease: l.clone(),
                by: l.holder.clone(),
                reason: WITHDRAWN_NOTE.to_string(),
            })
            .collect())
    })?;
    Ok(events
        .into_iter()
        .find(|e| matches!(e, Event::Break { .. }))
        .map(|e| e.lease().clone()))
}
