//! The incoming area: what the last fetch brought from each remote, raw and untrusted,
//! before the storage gate. Its refs keep their names
//! (`refs/comm-node-incoming/<remote>/<suffix>`) but live in a ref store of their own,
//! `<common git dir>/comm-node/incoming`: a bare git dir that shares the repository's
//! object store (every git process in it runs with `GIT_OBJECT_DIRECTORY` set to the
//! repository's), so a fetch into it puts the objects where the gate and every reader
//! find them.
//!
//! Why a store of its own: with three refs per clone on the remote, the incoming area of a
//! 128-clone swarm is 384 refs. In the repository, every git process that looks at all
//! refs (the fetch's negotiation, its connectivity check, the push) read each of them, and
//! a fetch that saw 127 clones move wrote 127 ref files, each a new lock file renamed over
//! the old ref. In its own store only the fetch sees them, and where git can (2.45 and
//! later) the store keeps its refs in a reftable, written as one table per fetch.
//!
//! The store is a cache: deleting it is safe (the next fetch fills it again). It never
//! prunes objects (`extensions.preciousObjects`, auto gc off), since it sees only its own
//! refs. Its config includes the repository's first, so remotes, credentials, ssh and
//! proxies apply as in the repository; its own settings come after and win.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use super::gate::INCOMING_ROOT;
use super::{ObjectId, Repo};
use crate::error::{Error, Result};

/// The store's directory, below the common git dir (as lock scans take it).
pub const DIR: &str = "comm-node/incoming/";

/// Settings after the included repository config: a bare store that never runs hooks,
/// never collects garbage and never writes a commit-graph of its own refs alone.
const OWN_CONFIG: &str =
    "[core]\n\trepositoryformatversion = 1\n\tbare = true\n\thooksPath = hooks\n\
[gc]\n\tauto = 0\n[maintenance]\n\tauto = false\n[fetch]\n\twriteCommitGraph = false\n\
[advice]\n\tfetchShowForcedUpdates = false\n";

/// The incoming store of a repository.
#[derive(Debug, Clone)]
pub struct Store {
    pub dir: PathBuf,
    objects: PathBuf,
    /// Refs in a reftable: a fetch updates them in one transaction (`--atomic`).
    pub reftable: bool,
}

impl Store {
    /// `git` run in the store, on the repository's objects.
    pub fn git(&self) -> Command {
        let mut cmd = super::git_command(&self.dir);
        cmd.env("GIT_OBJECT_DIRECTORY", &self.objects)
            .env_remove("GIT_DIR")
            .env_remove("GIT_NAMESPACE");
        cmd
    }
}

fn dir(repo: &Repo) -> PathBuf {
    repo.common_dir().join(DIR.trim_end_matches('/'))
}

fn store_at(repo: &Repo, dir: PathBuf) -> Store {
    let reftable = std::fs::read_to_string(dir.join("config"))
        .is_ok_and(|text| text.to_ascii_lowercase().contains("refstorage = reftable"));
    Store {
        dir,
        objects: repo.common_dir().join("objects"),
        reftable,
    }
}

/// The store, if a fetch made it.
pub fn existing(repo: &Repo) -> Option<Store> {
    let dir = dir(repo);
    dir.join("config").is_file().then(|| store_at(repo, dir))
}

/// The store, made now if there is none: in a reftable when git can, else in files.
pub fn ensure(repo: &Repo) -> Result<Store> {
    if let Some(store) = existing(repo) {
        return Ok(store);
    }
    let dir = dir(repo);
    let staging = dir.with_file_name(format!(".incoming-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let reftable = init(&staging, true).is_ok();
    if !reftable {
        init(&staging, false)?;
    }
    write_config(&staging, reftable)?;
    if dir.is_dir() && !dir.join("config").is_file() {
        // A store whose making was cut short: it holds nothing yet.
        let _ = std::fs::remove_dir_all(&dir);
    }
    // Another process may have made the store meanwhile: then its store is the one.
    if std::fs::rename(&staging, &dir).is_err() {
        let _ = std::fs::remove_dir_all(&staging);
        if !dir.join("config").is_file() {
            return Err(
                Error::git(format!("cannot make the incoming store {}", dir.display())).with_hint(
                    "check that the git dir is writable, then run `git comm sync` again",
                ),
            );
        }
    }
    Ok(store_at(repo, dir))
}

fn init(dir: &std::path::Path, reftable: bool) -> Result<()> {
    let mut cmd = Command::new("git");
    cmd.args(["init", "-q", "--bare", "--template="]);
    if reftable {
        cmd.arg("--ref-format=reftable");
    }
    let out = cmd
        .arg(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_OBJECT_DIRECTORY")
        .output()
        .map_err(|e| Error::git(format!("cannot run git init: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    let _ = std::fs::remove_dir_all(dir);
    Err(Error::git(format!(
        "cannot make the incoming store: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    )))
}

fn write_config(dir: &std::path::Path, reftable: bool) -> Result<()> {
    let extensions = if reftable {
        "[extensions]\n\trefStorage = reftable\n\tpreciousObjects = true\n"
    } else {
        "[extensions]\n\tpreciousObjects = true\n"
    };
    let text = format!("[include]\n\tpath = ../../config\n{OWN_CONFIG}{extensions}");
    std::fs::write(dir.join("config"), text)
        .map_err(|e| Error::git(format!("cannot write {}: {e}", dir.display())))
}

/// Delete the incoming refs an earlier version fetched into the repository itself (or a
/// plain `git fetch` with the refspec `init --remote` used to configure): sync does not
/// read them, and every git process would. A plain fetch that moved one meanwhile leaves
/// it for the next sync.
pub fn drop_legacy(repo: &Repo) -> Result<()> {
    let legacy = repo.list_refs(INCOMING_ROOT)?;
    if !legacy.is_empty() {
        repo.delete_refs(&legacy)?;
    }
    Ok(())
}

/// Make the store again from nothing: it is a cache, and a damaged one (a broken reftable,
/// a half-deleted directory) fails every fetch.
pub fn remake(repo: &Repo) -> Result<Store> {
    let dir = dir(repo);
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {} // gone already
        Err(e) => {
            return Err(Error::git(format!(
                "cannot remove the incoming store {}: {e}",
                dir.display()
            ))
            .with_hint("delete that directory by hand, then run `git comm sync` again"))
        }
    }
    ensure(repo)
}

/// The raw values fetched from the remote labelled `label`: suffix -> value.
pub fn read(repo: &Repo, label: &str) -> Result<BTreeMap<String, ObjectId>> {
    let prefix = format!("{INCOMING_ROOT}{label}/");
    Ok(list(repo, &prefix)?
        .into_iter()
        .map(|(name, id)| (name[prefix.len()..].to_string(), id))
        .collect())
}

/// Every remote's raw values: (label, suffix, value).
pub fn read_all(repo: &Repo) -> Result<Vec<(String, String, ObjectId)>> {
    Ok(list(repo, INCOMING_ROOT)?
        .into_iter()
        .filter_map(|(name, id)| {
            let (label, suffix) = name[INCOMING_ROOT.len()..].split_once('/')?;
            Some((label.to_string(), suffix.to_string(), id))
        })
        .collect())
}

/// The store's refs below `prefix`, as (full name, value); none when there is no store.
fn list(repo: &Repo, prefix: &str) -> Result<Vec<(String, ObjectId)>> {
    let Some(store) = existing(repo) else {
        return Ok(Vec::new());
    };
    let out = store
        .git()
        .args(["for-each-ref", "--format=%(objectname) %(refname)", prefix])
        .output()
        .map_err(|e| Error::git(format!("cannot run git for-each-ref: {e}")))?;
    if !out.status.success() {
        return Err(Error::git(format!(
            "cannot list the incoming store {}: {}",
            store.dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
        .with_hint("the store is a cache: delete that directory and run `git comm sync`"));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let (hex, name) = line.split_once(' ')?;
            Some((name.to_string(), ObjectId::from_hex(hex.as_bytes()).ok()?))
        })
        .collect())
}
