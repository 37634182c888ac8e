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
use crate::repo::{ObjectId, Repo};

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

/// Most joins a clone keeps unpublished: past them its outbox is pushed even with no new
/// message, so the walk that decides stays short for an agent that only reads.
const MOST_UNPUBLISHED_JOINS: usize = 32;

/// Does the local `mail` hold something the remote's views of the mail lack and other
/// clones need: a message (any commit that is not a join), or more joins than
/// [`MOST_UNPUBLISHED_JOINS`]? A sync that only joined what the other outboxes brought has
/// nothing to publish: every clone makes that join itself, so pushing it would only move
/// one more ref for every other clone to fetch, and make each of them join again.
pub fn has_news(repo: &Repo, mail: ObjectId, views: &[ObjectId]) -> Result<bool> {
    news_beyond(repo, mail, views, None)
}

/// Does the local `mail` wait to be pushed to this clone's outbox, judged against the
/// remote's refs as last fetched (`remote`: suffix -> value)? Only news is pushed.
pub fn mail_waits(
    repo: &Repo,
    mail: ObjectId,
    remote: &std::collections::BTreeMap<String, ObjectId>,
) -> Result<bool> {
    if mine(repo).and_then(|m| remote.get(&m).copied()) == Some(mail) {
        return Ok(false);
    }
    let views: Vec<ObjectId> = remote
        .iter()
        .filter(|(suffix, _)| is_mail_view(suffix))
        .map(|(_, id)| *id)
        .collect();
    has_news(repo, mail, &views)
}

/// Does `mail` hold, beyond what `hidden` reaches, a message, the commit `keep`, or more
/// than [`MOST_UNPUBLISHED_JOINS`] joins? When it does not, `hidden` may stand in for it:
/// nothing but this clone's own joins would be left behind.
pub fn news_beyond(
    repo: &Repo,
    mail: ObjectId,
    hidden: &[ObjectId],
    keep: Option<ObjectId>,
) -> Result<bool> {
    let mut joins = 0;
    for visit in crate::repo::walk::only_from(repo, &[mail], hidden)? {
        let visit = visit?;
        if visit.parents.len() < 2 || Some(visit.id) == keep {
            return Ok(true);
        }
        joins += 1;
        if joins > MOST_UNPUBLISHED_JOINS {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::repo::scratch::{commit, scratch};

    #[test]
    fn joins_are_news_only_past_the_limit_and_a_message_always_is() {
        let (_dir, repo) = scratch();
        let published = commit(&repo, &[], "m1\n");
        let other = commit(&repo, &[], "m2\n");
        let views = [published, other];
        let mut mail = commit(&repo, &[published, other], "join\n");
        assert!(!has_news(&repo, mail, &views).unwrap(), "one join");
        for _ in 1..MOST_UNPUBLISHED_JOINS {
            mail = commit(&repo, &[mail, other], "join\n");
        }
        assert!(
            !has_news(&repo, mail, &views).unwrap(),
            "joins up to the limit"
        );
        let one_more = commit(&repo, &[mail, other], "join\n");
        assert!(has_news(&repo, one_more, &views).unwrap(), "past the limit");
        let message = commit(&repo, &[mail], "m3\n");
        assert!(has_news(&repo, message, &views).unwrap(), "a message");
        assert!(
            !has_news(&repo, published, &views).unwrap(),
            "all published"
        );
    }
}
