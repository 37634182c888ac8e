//! Mail through a shared remote without a shared write point. Each clone pushes its mail
//! (the local `mail` ref: its own messages and everything it merged) to its own remote ref,
//! `outbox/<clone>`, which no other clone writes: pushes never race, so no sync retries or
//! gives up because another clone sent mail first. A sync fetches every clone's outbox
//! (and a legacy shared `mail` ref, if the remote has one) and merges them into the local
//! `mail`, which stays the one chain every reader uses.
//!
//! The clone's name is `comm.outbox` in its git config, made on the first sync: `o-` and 12
//! hex characters, unique across machines without coordination.

use crate::error::{Error, Result};
use crate::repo::Repo;

const CONFIG_KEY: &str = "comm.outbox";
pub const PREFIX: &str = "outbox/";

/// The local ref a remote suffix merges into: every outbox, and `mail`, into `mail`.
pub fn local_suffix(suffix: &str) -> &str {
    if suffix.starts_with(PREFIX) {
        "mail"
    } else {
        suffix
    }
}

/// Is `suffix` one of the remote's views of the mail?
pub fn is_mail_view(suffix: &str) -> bool {
    suffix == "mail" || suffix.starts_with(PREFIX)
}

/// This clone's outbox suffix (`outbox/o-...`), if it has one yet.
pub fn mine(repo: &Repo) -> Option<String> {
    repo.config_string(CONFIG_KEY)
        .filter(|id| crate::agent::validate_name(id).is_ok())
        .map(|id| format!("{PREFIX}{id}"))
}

/// This clone's outbox suffix, named now if it has none.
pub fn ensure_mine(repo: &Repo) -> Result<String> {
    if let Some(existing) = mine(repo) {
        return Ok(existing);
    }
    let id = new_id(repo);
    let out = std::process::Command::new("git")
        .arg("--git-dir")
        .arg(repo.common_dir())
        .args(["config", CONFIG_KEY, &id])
        .output()
        .map_err(|e| Error::git(format!("cannot run git config: {e}")))?;
    if !out.status.success() {
        return Err(Error::git(format!(
            "cannot name this clone's outbox: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(format!("{PREFIX}{id}"))
}

fn new_id(repo: &Repo) -> String {
    let dir = repo.common_dir().display().to_string();
    format!("o-{}", crate::model::name::unique_hex(&[&dir], 6))
}
