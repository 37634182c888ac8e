//! Reading and writing the mail ref: append a message, walk history, unread via cursors.

use gix::bstr::ByteSlice;

use crate::error::{Context, Error, Result};
use crate::mail::message::{decode, Draft, Message};
use crate::repo::{NewCommit, ObjectId, Repo, Swap};

pub fn mail_ref(repo: &Repo) -> String {
    repo.ns_ref("mail")
}

pub fn cursor_ref(repo: &Repo, agent: &str) -> String {
    repo.ns_ref(&format!("cursors/{agent}"))
}

/// Append one message from `from`; returns its id. Safe under concurrent writers.
pub fn append(repo: &Repo, from: &str, draft: &Draft) -> Result<ObjectId> {
    draft.validate()?;
    let tree = repo.empty_tree()?;
    let text = draft.encode();
    repo.append(&mail_ref(repo), |_| {
        Ok(NewCommit {
            tree,
            extra_parents: Vec::new(),
            author: from.to_string(),
            message: text.clone(),
        })
    })
}

/// Decode one commit; `None` if it is a merge or carries no comm trailers.
pub fn load(repo: &Repo, id: ObjectId) -> Result<Option<Message>> {
    let commit = repo
        .gix()
        .find_commit(id)
        .map_err(|_| Error::usage(format!("{id} is not a commit")))?;
    let decoded = commit.decode().context("cannot decode commit")?;
    if decoded.parents.len() > 1 {
        return Ok(None);
    }
    let author = decoded.author().context("cannot read author")?;
    let raw = decoded.message.to_str_lossy();
    Ok(decode(
        id,
        &author.name.to_str_lossy(),
        author.seconds(),
        &raw,
    ))
}

/// Messages reachable from `tip` but not from `hidden`, newest first.
/// Cost grows with the number of commits between the two, not with history.
pub fn walk(repo: &Repo, tip: ObjectId, hidden: Option<ObjectId>) -> Result<Vec<Message>> {
    let mut out = Vec::new();
    for id in walk_ids(repo, tip, hidden)? {
        if let Some(message) = load(repo, id)? {
            out.push(message);
        }
    }
    Ok(out)
}

/// Ids of the commits reachable from `tip` but not from `hidden`, newest first.
pub fn walk_ids(repo: &Repo, tip: ObjectId, hidden: Option<ObjectId>) -> Result<Vec<ObjectId>> {
    walk_ids_bounded(repo, tip, hidden, usize::MAX)
}

/// Ids of at most `limit` commits reachable from `tip` and not from `hidden`, newest first.
pub fn walk_ids_bounded(
    repo: &Repo,
    tip: ObjectId,
    hidden: Option<ObjectId>,
    limit: usize,
) -> Result<Vec<ObjectId>> {
    let hidden: Vec<ObjectId> = hidden.into_iter().collect();
    let mut out = Vec::new();
    for visit in crate::repo::walk::only_from(repo, &[tip], &hidden)?.take(limit) {
        out.push(visit?.id);
    }
    Ok(out)
}

/// Ids of the `limit` newest commits reachable from `tip` (newest first): no history
/// beyond them is read.
pub fn newest_ids(repo: &Repo, tip: ObjectId, limit: usize) -> Result<Vec<ObjectId>> {
    walk_ids_bounded(repo, tip, None, limit)
}

/// Every message in the mailbox, newest first.
pub fn all(repo: &Repo) -> Result<Vec<Message>> {
    match repo.read_ref(&mail_ref(repo))? {
        Some(tip) => walk(repo, tip, None),
        None => Ok(Vec::new()),
    }
}

/// Messages committed at or after unix time `since`, newest first; the walk stops at the
/// first older commit, so the cost follows the window, not the history.
pub fn since(repo: &Repo, since: i64) -> Result<Vec<Message>> {
    let Some(tip) = repo.read_ref(&mail_ref(repo))? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for entry in repo.log(&[tip], Some(since), usize::MAX)? {
        if let Some(message) = load(repo, entry.id)? {
            out.push(message);
        }
    }
    Ok(out)
}

/// The newest `n` messages, newest first.
pub fn latest(repo: &Repo, n: usize) -> Result<Vec<Message>> {
    let Some(tip) = repo.read_ref(&mail_ref(repo))? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for entry in repo.log(&[tip], None, n)? {
        if let Some(message) = load(repo, entry.id)? {
            out.push(message);
        }
    }
    Ok(out)
}

/// Find a message by full or abbreviated id (reads accept unique prefixes).
pub fn find(repo: &Repo, id_text: &str) -> Result<Message> {
    let not_found = || {
        Error::usage(format!("unknown message id '{id_text}'"))
            .with_hint("list ids with `git comm inbox --all` or `git comm search TEXT`")
    };
    let id = repo.resolve_prefix(id_text.trim())?.ok_or_else(not_found)?;
    match repo.gix().find_commit(id) {
        Ok(_) => load(repo, id)?.ok_or_else(not_found),
        Err(_) => Err(not_found()),
    }
}

pub fn read_cursor(repo: &Repo, agent: &str) -> Result<Option<ObjectId>> {
    repo.read_ref(&cursor_ref(repo, agent))
}

/// Move the agent's cursor from `seen_from` to `to`. Losing a race to another read by the
/// same agent is harmless: that reader saw at least as much.
pub fn advance_cursor(
    repo: &Repo,
    agent: &str,
    seen_from: Option<ObjectId>,
    to: ObjectId,
) -> Result<()> {
    if seen_from == Some(to) {
        return Ok(());
    }
    match repo.swap_ref(&cursor_ref(repo, agent), seen_from, to)? {
        Swap::Done | Swap::Moved => Ok(()),
    }
}
