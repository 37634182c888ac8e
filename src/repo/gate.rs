//! The storage gate: the one place that decides whether a value may stand in a ref of the
//! namespace (or of the remote-tracking area sync keeps).
//!
//! Every local write passes [`check_write`] (object type and structure of the new tip, no
//! commit with a non-commit parent). Every value sync fetched from a remote passes
//! [`admit`] before anything local is built on it: the same checks, plus the history the
//! remote added (each new mail commit, each new artifact version). A remote value that
//! fails is never merged, adopted or pushed over; sync reports it and goes on.
//!
//! What each kind of ref may hold:
//! - `mail`: commits with the empty tree, a message no larger than the body limit plus
//!   headers, authors with valid agent names; a message has one parent, sync's joins may
//!   have many (one octopus merge per sync, at most [`MAX_MAIL_PARENTS`]).
//! - `outbox/<clone>`: the same as `mail` (one clone's view of it, pushed by that clone).
//! - `cursors/<agent>`: a commit.
//! - `agents/<agent>`: a commit whose tree is exactly `card.json`, a card of that agent.
//! - `leases`: a commit whose tree holds `ab/<id>.json` leases and `ab/<id>.end` tombstones
//!   (fan-out by the id's first two hex digits; the old flat layout too)
//!   (valid holder, canonical resources, expiry at most the TTL cap after its own creation
//!   and not past that cap from now plus the clock-skew tolerance).
//! - `tasks`: a commit whose tree holds `ab/<id>.json` tasks (fan-out; the old flat
//!   `<id>.json` layout too) with valid ids, names, states and needs. Only entries that differ
//!   from a value already admitted (the ref's current value, the tracking copy) are read.
//! - `halt`: a commit whose tree is exactly a valid `halt.json`.
//! - `presence/<agent>`: a blob of at most 4 KiB, that agent's presence JSON.
//! - `artifacts/<domain>/<name>` and `artifact-versions/<domain>/<name>/vN`: an annotated
//!   tag on a blob whose metadata decodes, names this artifact, and matches the blob size.

use gix::bstr::ByteSlice;

use super::{ObjectId, Repo};
use crate::error::{Error, Result};

/// Remote-tracking copies of admitted remote values: `refs/comm-node-remotes/<remote>/…`.
pub const TRACKING_ROOT: &str = "refs/comm-node-remotes/";
/// Raw fetched values, before the gate: `refs/comm-node-incoming/<remote>/…`.
pub const INCOMING_ROOT: &str = "refs/comm-node-incoming/";

/// Largest card, lease or tombstone file.
const MAX_ENTRY_BYTES: u64 = 64 * 1024;
/// Most entries one lease ledger tree may hold.
const MAX_LEDGER_ENTRIES: usize = 100_000;
/// Largest artifact version.
pub const MAX_ARTIFACT_BYTES: u64 = 100 * 1024 * 1024;
/// Most parents of one mail commit: a sync joins every clone's new outbox in one merge.
pub const MAX_MAIL_PARENTS: usize = 1024;
/// Room for the subject and trailers around a message body.
const MESSAGE_OVERHEAD: u64 = 64 * 1024;
const CARD_FILE: &str = "card.json";

/// What a ref in the namespace holds, by its name below the namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Mail,
    /// `outbox/<clone>`: one clone's view of the mail, written by that clone only.
    Outbox(String),
    Cursor(String),
    Card(String),
    Leases,
    Tasks,
    Artifact(String),
    ArtifactVersion(String, u64),
    Presence(String),
    Halt,
}

/// Classify `suffix` (the ref name below the namespace); every name segment must be a
/// valid agent/domain name.
pub fn kind_of(suffix: &str) -> std::result::Result<Kind, String> {
    let parts: Vec<&str> = suffix.split('/').collect();
    let named = |name: &str| -> std::result::Result<String, String> {
        crate::model::name::validate_name(name)
            .map(|_| name.to_string())
            .map_err(|_| format!("'{name}' is not a valid name"))
    };
    match parts.as_slice() {
        ["mail"] => Ok(Kind::Mail),
        ["outbox", clone] => Ok(Kind::Outbox(named(clone)?)),
        ["leases"] => Ok(Kind::Leases),
        ["tasks"] => Ok(Kind::Tasks),
        ["halt"] => Ok(Kind::Halt),
        ["cursors", agent] => Ok(Kind::Cursor(named(agent)?)),
        ["agents", agent] => Ok(Kind::Card(named(agent)?)),
        ["presence", agent] => Ok(Kind::Presence(named(agent)?)),
        ["artifacts", domain, name] => Ok(Kind::Artifact(format!(
            "{}/{}",
            named(domain)?,
            named(name)?
        ))),
        ["artifact-versions", domain, name, v] => {
            let version = v
                .strip_prefix('v')
                .and_then(|n| n.parse::<u64>().ok())
                .filter(|n| *n > 0 && !v.starts_with("v0"))
                .ok_or_else(|| format!("'{v}' is not a version (v1, v2, ...)"))?;
            Ok(Kind::ArtifactVersion(
                format!("{}/{}", named(domain)?, named(name)?),
                version,
            ))
        }
        _ => Err("not a ref git-comm knows".to_string()),
    }
}

/// Where a full ref name lives: (suffix below the namespace or tracking label).
fn suffix_of<'a>(repo: &Repo, name: &'a str) -> Option<&'a str> {
    if let Some(s) = name.strip_prefix(repo.namespace()) {
        return Some(s);
    }
    name.strip_prefix(TRACKING_ROOT)
        .and_then(|rest| rest.split_once('/'))
        .map(|(_, s)| s)
}

/// May `new` be written to `name`? Refuses refs outside the namespace and tracking area,
/// and values the kind may not hold.
/// `expected` is the value being replaced: it passed the gate when written, so entries it
/// shares with `new` are not read again.
pub fn check_write(
    repo: &Repo,
    name: &str,
    new: ObjectId,
    expected: Option<ObjectId>,
) -> Result<()> {
    let refuse = |why: String| {
        Error::git(format!("refusing to write {name}: {why}")).with_hint(
            "nothing was written; this is a bug or a corrupted object: run `git comm doctor`",
        )
    };
    let suffix = suffix_of(repo, name).ok_or_else(|| refuse("outside the namespace".into()))?;
    let kind = kind_of(suffix).map_err(refuse)?;
    let known: Vec<ObjectId> = expected.into_iter().collect();
    check_tip(repo, &kind, new, &known).map_err(refuse)
}

/// Deletions are allowed only in the tracking area (a remote's ref vanished).
pub fn check_delete(repo: &Repo, name: &str) -> Result<()> {
    if name.starts_with(TRACKING_ROOT) || name.starts_with(INCOMING_ROOT) {
        return Ok(());
    }
    let _ = repo;
    Err(Error::git(format!("refusing to delete {name}"))
        .with_hint("shared refs are append-only; release or retire instead"))
}

/// May the remote's value `incoming` of `suffix` be used here? `known` are values already
/// admitted or written locally (the local ref, the tracking copy): history they reach was
/// checked before, so only what the remote added is walked.
pub fn admit(
    repo: &Repo,
    suffix: &str,
    incoming: ObjectId,
    known: &[ObjectId],
) -> std::result::Result<(), String> {
    admit_in(repo, suffix, incoming, known, &[]).map_err(|r| r.to_string())
}

/// Why the gate refuses a value: its shape, or a commit that breaks a rule of who may
/// write what.
#[derive(Debug, Clone)]
pub enum Rejected {
    Invalid(String),
    Unauthorized(super::authorize::Refused),
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejected::Invalid(why) => f.write_str(why),
            Rejected::Unauthorized(r) => write!(
                f,
                "commit {} by {}: {}",
                r.commit.to_hex_with_len(10),
                r.agent,
                r.refusal
            ),
        }
    }
}

/// [`admit`], judging the commits it adds with the other values of the same push
/// (`pending`: suffix, new value) as facts first (the server guard sees a claim and its
/// lease arrive together).
pub fn admit_in(
    repo: &Repo,
    suffix: &str,
    incoming: ObjectId,
    known: &[ObjectId],
    pending: super::authorize::Pending,
) -> std::result::Result<(), Rejected> {
    let kind = kind_of(suffix).map_err(Rejected::Invalid)?;
    check_tip(repo, &kind, incoming, known).map_err(Rejected::Invalid)?;
    match &kind {
        Kind::Artifact(key) | Kind::ArtifactVersion(key, _) => {
            check_artifact_chain(repo, key, incoming, known).map_err(Rejected::Invalid)
        }
        Kind::Presence(_) => Ok(()), // a blob: no history
        _ => {
            check_new_history(repo, &kind, incoming, known).map_err(Rejected::Invalid)?;
            super::authorize::new_history(repo, &kind, incoming, known, pending)
                .map_err(Rejected::Unauthorized)
        }
    }
}

/// Admit several views of the mail (`outbox/<clone>`, a legacy `mail`) fetched at once, as
/// [`admit`] would one by one: each tip is checked, then the commits all of them add over
/// `known` are walked once (per-view walks each recomputed where their history meets the
/// known one, so a sync's cost grew with the clones). When that walk meets a bad commit,
/// every view is admitted on its own, so only those that reach it are refused.
/// Any per-ref rule [`admit`] gains for mail views must be applied here too.
pub fn admit_mail_views(
    repo: &Repo,
    views: &[(&str, ObjectId)],
    known: &[ObjectId],
) -> Vec<std::result::Result<(), String>> {
    let tips_ok: Vec<std::result::Result<Kind, String>> = views
        .iter()
        .map(|(suffix, id)| {
            let kind = kind_of(suffix)?;
            if !matches!(kind, Kind::Mail | Kind::Outbox(_)) {
                return Err(format!("{suffix} is not a view of the mail"));
            }
            check_tip(repo, &kind, *id, known).map(|()| kind)
        })
        .collect();
    let tips: Vec<ObjectId> = views
        .iter()
        .zip(&tips_ok)
        .filter(|(_, ok)| ok.is_ok())
        .map(|((_, id), _)| *id)
        .collect();
    if check_new_history_of(repo, &Kind::Mail, &tips, known).is_ok() {
        return tips_ok.into_iter().map(|ok| ok.map(|_| ())).collect();
    }
    views
        .iter()
        .map(|(suffix, id)| admit(repo, suffix, *id, known))
        .collect()
}

/// Is `id` a valid value for `suffix`, judged by the value itself (its history is not
/// walked)? What `doctor` asks of every namespace ref.
pub fn check_value(repo: &Repo, suffix: &str, id: ObjectId) -> std::result::Result<(), String> {
    check_tip(repo, &kind_of(suffix)?, id, &[])
}

/// Check the value `id` itself; `known` values were admitted before (what they share with
/// `id` need not be read again).
fn check_tip(
    repo: &Repo,
    kind: &Kind,
    id: ObjectId,
    known: &[ObjectId],
) -> std::result::Result<(), String> {
    match kind {
        Kind::Artifact(key) => check_artifact_tag(repo, key, id, None).map(|_| ()),
        Kind::ArtifactVersion(key, v) => check_artifact_tag(repo, key, id, Some(*v)).map(|_| ()),
        Kind::Presence(agent) => check_presence(repo, agent, id),
        _ => {
            let commit = commit_of(repo, id)?;
            match kind {
                Kind::Mail | Kind::Outbox(_) => check_mail_commit(repo, id, &commit),
                Kind::Card(agent) => check_card(repo, agent, &commit),
                Kind::Leases => check_ledger(repo, &commit, known_tree(repo, known)),
                Kind::Cursor(_) => Ok(()),
                Kind::Tasks => check_tasks(repo, &commit, known_tree(repo, known)),
                Kind::Halt => check_halt(repo, &commit),
                Kind::Artifact(_) | Kind::ArtifactVersion(..) | Kind::Presence(_) => {
                    unreachable!("non-commits handled above")
                }
            }
        }
    }
}

fn check_presence(repo: &Repo, agent: &str, id: ObjectId) -> std::result::Result<(), String> {
    let (kind, size) = header(repo, id)?;
    if kind != gix::objs::Kind::Blob {
        return Err(format!("{id} is {}, not a presence blob", kind_name(kind)));
    }
    if size > crate::model::presence::MAX_BYTES {
        return Err(format!(
            "presence is {size} bytes (at most {})",
            crate::model::presence::MAX_BYTES
        ));
    }
    let bytes = read_entry(repo, "presence", id, size)?;
    match crate::model::presence::decode(&bytes) {
        Some(p) => p.problem(agent).map_or(Ok(()), Err),
        None => Err("presence is not valid JSON".to_string()),
    }
}

/// A decoded commit's essentials.
struct CommitInfo {
    tree: ObjectId,
    parents: Vec<ObjectId>,
    author: String,
    message_len: u64,
}

fn kind_name(kind: gix::objs::Kind) -> &'static str {
    match kind {
        gix::objs::Kind::Blob => "a blob",
        gix::objs::Kind::Tree => "a tree",
        gix::objs::Kind::Commit => "a commit",
        gix::objs::Kind::Tag => "a tag",
    }
}

fn header(repo: &Repo, id: ObjectId) -> std::result::Result<(gix::objs::Kind, u64), String> {
    let h = repo
        .gix()
        .find_header(id)
        .map_err(|_| format!("object {id} is missing"))?;
    Ok((h.kind(), h.size()))
}

/// Read commit `id`, checking it is a commit and every parent is one too.
fn commit_of(repo: &Repo, id: ObjectId) -> std::result::Result<CommitInfo, String> {
    let (kind, size) = header(repo, id)?;
    if kind != gix::objs::Kind::Commit {
        return Err(format!("{id} is {}, not a commit", kind_name(kind)));
    }
    let commit = repo
        .gix()
        .find_commit(id)
        .map_err(|e| format!("commit {id} cannot be read: {e}"))?;
    let decoded = commit
        .decode()
        .map_err(|e| format!("commit {id} is malformed: {e}"))?;
    let parents: Vec<ObjectId> = decoded.parents().collect();
    for parent in &parents {
        let (kind, _) = header(repo, *parent)?;
        if kind != gix::objs::Kind::Commit {
            return Err(format!(
                "commit {id} has parent {parent} that is {}",
                kind_name(kind)
            ));
        }
    }
    let author = decoded
        .author()
        .map(|a| a.name.to_str_lossy().into_owned())
        .unwrap_or_default();
    Ok(CommitInfo {
        tree: decoded.tree(),
        parents,
        author,
        message_len: size,
    })
}

fn check_mail_commit(repo: &Repo, id: ObjectId, c: &CommitInfo) -> std::result::Result<(), String> {
    let empty = ObjectId::empty_tree(gix::hash::Kind::Sha1);
    if c.tree != empty {
        return Err(format!(
            "mail commit {id} carries files (mail commits have an empty tree)"
        ));
    }
    if c.parents.len() > MAX_MAIL_PARENTS {
        return Err(format!(
            "mail commit {id} has {} parents (at most {MAX_MAIL_PARENTS})",
            c.parents.len()
        ));
    }
    let cap = repo.policy().max_body + MESSAGE_OVERHEAD;
    if c.message_len > cap {
        return Err(format!(
            "mail commit {id} is {} bytes, over the {cap}-byte limit (mail.max_body plus headers)",
            c.message_len
        ));
    }
    if crate::model::name::validate_name(&c.author).is_err() {
        return Err(format!(
            "mail commit {id} has an invalid author name '{}'",
            c.author
        ));
    }
    Ok(())
}

/// The blobs directly in `tree`, as (name, id, size); anything else is refused.
fn flat_blobs(
    repo: &Repo,
    tree: ObjectId,
) -> std::result::Result<Vec<(String, ObjectId, u64)>, String> {
    let mut out = Vec::new();
    for (name, id, is_dir) in tree_items(repo, tree)? {
        if is_dir {
            return Err(format!("'{name}' is not a file"));
        }
        let (kind, size) = header(repo, id)?;
        if kind != gix::objs::Kind::Blob {
            return Err(format!("'{name}' is {}", kind_name(kind)));
        }
        out.push((name, id, size));
    }
    Ok(out)
}

/// The content of ledger file `name` (blob `id`): refused when it is not a blob or is too
/// large.
fn read_blob_entry(repo: &Repo, name: &str, id: ObjectId) -> std::result::Result<Vec<u8>, String> {
    let (kind, size) = header(repo, id)?;
    if kind != gix::objs::Kind::Blob {
        return Err(format!("'{name}' is {}", kind_name(kind)));
    }
    read_entry(repo, name, id, size)
}

fn read_entry(
    repo: &Repo,
    name: &str,
    id: ObjectId,
    size: u64,
) -> std::result::Result<Vec<u8>, String> {
    if size > MAX_ENTRY_BYTES {
        return Err(format!(
            "'{name}' is {size} bytes (at most {MAX_ENTRY_BYTES})"
        ));
    }
    Ok(repo
        .gix()
        .find_blob(id)
        .map_err(|e| format!("'{name}' cannot be read: {e}"))?
        .data
        .clone())
}

fn check_card(repo: &Repo, agent: &str, c: &CommitInfo) -> std::result::Result<(), String> {
    let files = flat_blobs(repo, c.tree)?;
    let [(name, id, size)] = files.as_slice() else {
        return Err(format!(
            "a card holds exactly {CARD_FILE}, found {} files",
            files.len()
        ));
    };
    if name != CARD_FILE {
        return Err(format!("a card holds {CARD_FILE}, found '{name}'"));
    }
    let bytes = read_entry(repo, name, *id, *size)?;
    let card: crate::model::card::Card =
        serde_json::from_slice(&bytes).map_err(|e| format!("{CARD_FILE} is not a card: {e}"))?;
    card.problem(agent)
        .map_or(Ok(()), |why| Err(format!("{CARD_FILE}: {why}")))
}

/// The tree of the first known value that is a commit: entries it holds were checked.
fn known_tree(repo: &Repo, known: &[ObjectId]) -> Option<ObjectId> {
    known.iter().find_map(|k| {
        let commit = repo.gix().find_commit(*k).ok()?;
        Some(commit.tree_id().ok()?.detach())
    })
}

/// A tree's entries as (name, id, is a subtree); anything but files and subtrees is refused.
fn tree_items(
    repo: &Repo,
    tree: ObjectId,
) -> std::result::Result<Vec<(String, ObjectId, bool)>, String> {
    let tree_obj = repo
        .gix()
        .find_tree(tree)
        .map_err(|e| format!("tree {tree} cannot be read: {e}"))?;
    let mut out = Vec::new();
    for entry in tree_obj.iter() {
        let entry = entry.map_err(|e| format!("tree {tree} is malformed: {e}"))?;
        let name = entry.filename().to_string();
        if !entry.mode().is_blob() && !entry.mode().is_tree() {
            return Err(format!("'{name}' is neither a file nor a directory"));
        }
        out.push((name, entry.oid().to_owned(), entry.mode().is_tree()));
    }
    Ok(out)
}

/// The task ledger's tree: `ab/<id>.json` entries (or flat `<id>.json`), each a valid task in
/// its own directory. Subtrees and files identical to the known tree's are not read again.
fn check_tasks(
    repo: &Repo,
    c: &CommitInfo,
    known: Option<ObjectId>,
) -> std::result::Result<(), String> {
    let count = check_fanout(repo, c.tree, known, |name, id, dir| {
        check_task_file(repo, name, id, dir)
    })?;
    if count > MAX_LEDGER_ENTRIES {
        return Err(format!("{count} tasks (at most {MAX_LEDGER_ENTRIES})"));
    }
    Ok(())
}

/// Walk a ledger tree in either layout (files at the root, or in two-hex-digit fan-out
/// directories), calling `check_file(name, blob, directory)` for each file that differs
/// from the `known` tree (already admitted). Returns how many files the tree holds.
fn check_fanout(
    repo: &Repo,
    tree: ObjectId,
    known: Option<ObjectId>,
    mut check_file: impl FnMut(&str, ObjectId, Option<&str>) -> std::result::Result<(), String>,
) -> std::result::Result<usize, String> {
    let items_of = |tree: Option<ObjectId>| -> std::collections::HashMap<String, ObjectId> {
        tree.and_then(|t| tree_items(repo, t).ok())
            .unwrap_or_default()
            .into_iter()
            .map(|(name, id, _)| (name, id))
            .collect()
    };
    let known_items = items_of(known);
    let mut count = 0;
    for (name, id, is_dir) in tree_items(repo, tree)? {
        let seen = known_items.get(&name) == Some(&id);
        if !is_dir {
            count += 1;
            if !seen {
                check_file(&name, id, None)?;
            }
            continue;
        }
        if name.len() != 2 || !name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(format!(
                "'{name}/' is not a fan-out directory (two hex digits)"
            ));
        }
        let inner = tree_items(repo, id)?;
        count += inner.len();
        if seen {
            continue;
        }
        let known_inner = items_of(known_items.get(&name).copied());
        for (file, file_id, nested) in inner {
            if nested {
                return Err(format!("'{name}/{file}/' is a directory inside a fan-out"));
            }
            if known_inner.get(&file) != Some(&file_id) {
                check_file(&file, file_id, Some(&name))?;
            }
        }
    }
    Ok(count)
}

/// One task file, named `<id>.json`, in the fan-out directory `dir` its id names (if any).
fn check_task_file(
    repo: &Repo,
    name: &str,
    id: ObjectId,
    dir: Option<&str>,
) -> std::result::Result<(), String> {
    let bytes = read_blob_entry(repo, name, id)?;
    if let Some(dir) = dir {
        if crate::model::task::fan_dir(name) != dir {
            return Err(format!("task {name} is filed under '{dir}/'"));
        }
    }
    crate::model::task::check_entry(name, &bytes).map_err(|why| format!("task {name}: {why}"))
}

fn check_halt(repo: &Repo, c: &CommitInfo) -> std::result::Result<(), String> {
    let files = flat_blobs(repo, c.tree)?;
    let [(name, id, size)] = files.as_slice() else {
        return Err(format!(
            "a halt holds exactly halt.json, found {} files",
            files.len()
        ));
    };
    if name != "halt.json" {
        return Err(format!("a halt holds halt.json, found '{name}'"));
    }
    let bytes = read_entry(repo, name, *id, *size)?;
    crate::model::halt::check_file(&bytes)
}

fn check_ledger(
    repo: &Repo,
    c: &CommitInfo,
    known: Option<ObjectId>,
) -> std::result::Result<(), String> {
    // An entry admitted before stays valid: its caps only loosen as time passes.
    let now = crate::clock::now_secs();
    let skew = repo.policy().skew_secs;
    let count = check_fanout(repo, c.tree, known, |name, id, dir| {
        if dir.is_some_and(|d| crate::model::lease::entry::fan_dir(name) != d) {
            return Err(format!(
                "ledger entry {name} is filed under '{}/'",
                dir.unwrap_or("")
            ));
        }
        let bytes = read_blob_entry(repo, name, id)?;
        crate::model::lease::entry::check_entry(name, &bytes, now, skew)
            .map_err(|why| format!("ledger entry {name}: {why}"))
    })?;
    if count > MAX_LEDGER_ENTRIES {
        return Err(format!(
            "{count} ledger entries (at most {MAX_LEDGER_ENTRIES})"
        ));
    }
    Ok(())
}

/// Walk the commits `incoming` adds over `known`, checking each as the kind requires.
fn check_new_history(
    repo: &Repo,
    kind: &Kind,
    incoming: ObjectId,
    known: &[ObjectId],
) -> std::result::Result<(), String> {
    check_new_history_of(repo, kind, &[incoming], known)
}

/// Walk the commits `tips` add over `known` (one walk for all), checking each.
fn check_new_history_of(
    repo: &Repo,
    kind: &Kind,
    tips: &[ObjectId],
    known: &[ObjectId],
) -> std::result::Result<(), String> {
    if tips.is_empty() {
        return Ok(());
    }
    let incoming = tips[0];
    let hidden: Vec<ObjectId> = known
        .iter()
        .copied()
        .filter(|k| header(repo, *k).is_ok_and(|(kind, _)| kind == gix::objs::Kind::Commit))
        .collect();
    let walk = super::walk::only_from(repo, tips, &hidden)
        .map_err(|e| format!("history of {incoming} cannot be walked: {}", e.message))?;
    for visit in walk {
        let visit = visit.map_err(|e| format!("history of {incoming} is broken: {}", e.message))?;
        let commit = commit_of(repo, visit.id)?;
        if matches!(kind, Kind::Mail | Kind::Outbox(_)) {
            check_mail_commit(repo, visit.id, &commit)?;
        }
        if !matches!(kind, Kind::Cursor(_)) {
            check_signature(repo, visit.id)?;
        }
    }
    Ok(())
}

/// With `identity.signed` on, is commit or tag `id` signed by a key allowed_signers lists
/// for its author? `required` refuses it otherwise, `warn` admits it with a warning.
/// (Cursors point into the mail history, which is checked as mail.)
fn check_signature(repo: &Repo, id: ObjectId) -> std::result::Result<(), String> {
    use super::signing::{problem, Mode};
    let mode = repo.policy().identity.mode;
    if mode == Mode::Off {
        return Ok(());
    }
    match (problem(repo, id), mode) {
        (None, _) => Ok(()),
        (Some(why), Mode::Required) => Err(format!("identity: {why}")),
        (Some(why), _) => {
            eprintln!("warning: identity: {why} (admitted: identity.signed is warn)");
            Ok(())
        }
    }
}

/// Check one artifact tag; returns its `Previous:`.
fn check_artifact_tag(
    repo: &Repo,
    key: &str,
    id: ObjectId,
    version: Option<u64>,
) -> std::result::Result<Option<ObjectId>, String> {
    let (kind, _) = header(repo, id)?;
    if kind != gix::objs::Kind::Tag {
        return Err(format!("{id} is {}, not an annotated tag", kind_name(kind)));
    }
    let v = read_artifact_tag(repo, key, id)?;
    let (target_kind, size) = header(repo, v.blob)?;
    if target_kind != gix::objs::Kind::Blob {
        return Err(format!(
            "tag {id} points at {}, not a blob",
            kind_name(target_kind)
        ));
    }
    if size != v.meta.size {
        return Err(format!(
            "tag {id} says Size {} but the blob has {size} bytes",
            v.meta.size
        ));
    }
    if size > MAX_ARTIFACT_BYTES {
        return Err(format!(
            "artifact is {size} bytes (at most {MAX_ARTIFACT_BYTES})"
        ));
    }
    if let Some(expected) = version {
        if v.meta.version != expected {
            return Err(format!(
                "tag {id} is v{}, stored as v{expected}",
                v.meta.version
            ));
        }
    }
    Ok(v.meta.previous)
}

/// Walk `Previous:` from `incoming` until a known tag, checking each version.
/// Does the version chain of artifact `key` from tag `new` back through `Previous:` reach
/// tag `old`? (An artifact ref may only move forward.)
pub fn artifact_descends(
    repo: &Repo,
    key: &str,
    new: ObjectId,
    old: ObjectId,
) -> std::result::Result<bool, String> {
    let mut next = Some(new);
    while let Some(id) = next {
        if id == old {
            return Ok(true);
        }
        next = check_artifact_tag(repo, key, id, None)?;
    }
    Ok(false)
}

fn check_artifact_chain(
    repo: &Repo,
    key: &str,
    incoming: ObjectId,
    known: &[ObjectId],
) -> std::result::Result<(), String> {
    let mut next = Some(incoming);
    let mut expected_version: Option<u64> = None;
    while let Some(id) = next {
        if known.contains(&id) && id != incoming {
            return Ok(());
        }
        let v = read_artifact_tag(repo, key, id)?;
        check_signature(repo, id)?;
        if let Some(want) = expected_version {
            if v.meta.version != want {
                return Err(format!(
                    "version chain skips from v{} to v{}",
                    want + 1,
                    v.meta.version
                ));
            }
        }
        next = check_artifact_tag(repo, key, id, None)?;
        if next.is_some() && v.meta.version <= 1 {
            return Err(format!(
                "tag {id} is v{} but names a previous version",
                v.meta.version
            ));
        }
        expected_version = v.meta.version.checked_sub(1);
    }
    match expected_version {
        Some(0) | None => Ok(()),
        Some(v) => Err(format!("version chain ends at v{} without v{v}", v + 1)),
    }
}

/// Read and decode the artifact tag `id` of artifact `key`.
pub fn read_artifact_tag(
    repo: &Repo,
    key: &str,
    id: ObjectId,
) -> std::result::Result<crate::model::artifact::Version, String> {
    let corrupt = |why: &str| format!("artifact {key}: tag {id} {why}");
    let tag = repo
        .gix()
        .find_tag(id)
        .map_err(|_| corrupt("is missing or not a tag"))?;
    let decoded = tag
        .decode()
        .map_err(|e| corrupt(&format!("cannot be decoded: {e}")))?;
    let (publisher, time) = match decoded.tagger().ok().flatten() {
        Some(sig) => (sig.name.to_str_lossy().into_owned(), sig.seconds()),
        None => (String::new(), 0),
    };
    let message = decoded.message.to_str_lossy();
    let meta =
        crate::model::artifact::Meta::decode(key, super::signing::strip_tag_signature(&message))
            .ok_or_else(|| corrupt("has no artifact metadata"))?;
    Ok(crate::model::artifact::Version {
        tag: id,
        blob: decoded.target(),
        publisher,
        time,
        meta,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ref_names_are_classified_and_bad_names_refused() {
        assert_eq!(kind_of("mail"), Ok(Kind::Mail));
        assert_eq!(kind_of("agents/alice"), Ok(Kind::Card("alice".into())));
        assert_eq!(
            kind_of("artifact-versions/api/schema/v12"),
            Ok(Kind::ArtifactVersion("api/schema".into(), 12))
        );
        for bad in [
            "agents/-rf",
            "agents/nested/deep",
            "cursors/..",
            "artifacts/api",
            "artifact-versions/api/s/v0",
            "artifact-versions/api/s/v01",
            "whatever",
        ] {
            assert!(kind_of(bad).is_err(), "{bad}");
        }
    }
}
