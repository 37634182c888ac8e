//! Halt: an emergency stop shared by every clone. `refs/comm-node/halt` is a commit chain
//! whose tree holds `halt.json` (`halted`, `reason`, `by`, `domain`, `since`); every halt
//! and resume is a commit, so `git log refs/comm-node/halt` is the audit. While halted the
//! pre-commit hook refuses agents' commits (only those of `domain` when one is named) and
//! every agent command prints one halt line first; people without an agent identity can
//! still commit, and anyone can resume.

use crate::error::{Error, Result};
use crate::repo::{NewCommit, ObjectId, Repo};

pub use crate::model::halt::{check_file, Halt, FILE, OPERATOR};

pub fn halt_ref(repo: &Repo) -> String {
    repo.ns_ref("halt")
}

/// The halt stored in commit `id`.
pub fn at(repo: &Repo, id: ObjectId) -> Result<Halt> {
    let bytes = repo
        .read_tree_file(id, FILE)?
        .ok_or_else(|| Error::git(format!("halt commit {id} has no {FILE}")))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::git(format!("halt commit {id}: {e}")))
}

/// The current halt, if any was ever set.
pub fn current(repo: &Repo) -> Result<Option<Halt>> {
    match repo.read_ref(&halt_ref(repo))? {
        Some(tip) => at(repo, tip).map(Some),
        None => Ok(None),
    }
}

/// Is there a halt in force? (`None` when not halted.)
pub fn in_force(repo: &Repo) -> Result<Option<Halt>> {
    Ok(current(repo)?.filter(|h| h.halted))
}

/// Record `halt` as the new state, as a commit by `actor`.
pub fn write(repo: &Repo, actor: &str, halt: &Halt) -> Result<()> {
    if let Some(why) = halt.problem() {
        return Err(Error::usage(why));
    }
    let json = serde_json::to_vec_pretty(halt).expect("halt serializes");
    let tree = repo.write_flat_tree(&[(FILE.to_string(), repo.write_blob(&json)?)])?;
    let subject = if halt.halted {
        format!(
            "halt{} by {}: {}",
            halt.domain
                .as_ref()
                .map(|d| format!(" {d}"))
                .unwrap_or_default(),
            halt.by,
            halt.reason
        )
    } else {
        format!("resume by {}", halt.by)
    };
    repo.append(&halt_ref(repo), |_| {
        Ok(NewCommit {
            tree,
            extra_parents: Vec::new(),
            author: actor.to_string(),
            message: format!("{subject}\n"),
        })
    })?;
    Ok(())
}
