//! The task ledger: `refs/comm-node/tasks`, a commit chain whose tree holds one JSON file per
//! task, fanned out as git notes does: `ab/t-ab12cd34.json` (the two hex characters after
//! `t-` name the directory). One change rewrites one small subtree and the root (about
//! 10 KB at 10,000 tasks), not every entry. The first layout was flat (`t-….json` at the
//! root): readers accept it, and the first write moves its blobs, unchanged, to their
//! fan-out paths.
//!
//! Every write is one commit by the acting agent (`add t-… title`, `claim t-… by bob`,
//! `done t-…`; a batch such as `plan` is one commit listing every change), so
//! `git log refs/comm-node/tasks` is the audit. Writes plan against the current tip and
//! compare-and-swap; on a conflict they re-plan.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::repo::tree::Edit;
use crate::repo::{backoff, ObjectId, Repo, Swap};

use super::Task;
pub use crate::model::task::{check_entry, fan_dir, path_of, JSON};

const SUFFIX: &str = "tasks";
const CAS_DEADLINE: Duration = Duration::from_secs(60);

/// One change: the task as it becomes, and the commit subject saying what happened.
pub struct Change {
    pub task: Task,
    pub subject: String,
}

pub fn tasks_ref(repo: &Repo) -> String {
    repo.ns_ref(SUFFIX)
}

/// Every task stored at ledger commit `commit`, oldest first (either layout).
pub fn tasks_at(repo: &Repo, commit: ObjectId) -> Result<Vec<Task>> {
    let mut tasks = Vec::new();
    repo.for_each_ledger_file(commit, |name, bytes| {
        if !name.ends_with(JSON) {
            return Ok(());
        }
        let task: Task = serde_json::from_slice(bytes).map_err(|e| {
            Error::git(format!("task {name} at {commit} is invalid: {e}"))
                .with_hint("run `git comm doctor`")
        })?;
        tasks.push(task);
        Ok(())
    })?;
    tasks.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
    Ok(tasks)
}

/// Every task in the ledger.
pub fn all(repo: &Repo) -> Result<Vec<Task>> {
    match repo.read_ref(&tasks_ref(repo))? {
        Some(tip) => tasks_at(repo, tip),
        None => Ok(Vec::new()),
    }
}

/// The tree of ledger commit `base` (none: empty) with `changed` tasks written in. A base in
/// the flat layout is migrated: its blobs move, unchanged, to their fan-out paths.
pub fn tree_with(repo: &Repo, base: Option<ObjectId>, changed: &[Task]) -> Result<ObjectId> {
    let base_tree = base.map(|c| repo.tree_of(c)).transpose()?;
    let mut edits = Vec::new();
    if let Some(tree) = base_tree {
        edits.extend(migration_edits(repo, tree)?);
    }
    for task in changed {
        let json = serde_json::to_vec_pretty(task).expect("task serializes");
        edits.push(Edit {
            path: path_of(&task.id),
            blob: Some(repo.write_blob(&json)?),
        });
    }
    repo.edit_tree(base_tree, &edits)
}

/// Moves of flat-layout entries (`t-….json` at the root) to their fan-out paths.
fn migration_edits(repo: &Repo, tree: ObjectId) -> Result<Vec<Edit>> {
    let mut edits = Vec::new();
    for entry in repo.tree_entries(tree)? {
        if !entry.mode.is_blob() {
            continue;
        }
        let name = entry.filename.to_string();
        if let Some(id) = name.strip_suffix(JSON) {
            edits.push(Edit {
                path: path_of(id),
                blob: Some(entry.oid),
            });
        }
        edits.push(Edit {
            path: name,
            blob: None,
        });
    }
    Ok(edits)
}

/// Plan changes against the current tasks and commit them atomically, in one commit;
/// `plan` is re-run on the new tip when another writer moved the ledger. Returns the
/// changes written (none: nothing to do).
pub fn write(
    repo: &Repo,
    actor: &str,
    plan: impl FnMut(&[Task]) -> Result<Vec<Change>>,
) -> Result<Vec<Change>> {
    write_batch(repo, actor, None, plan)
}

/// [`write`] for many changes at once (`plan`, `task import`): one commit and one
/// compare-and-swap for all of them, all or nothing. `summary` is the commit's subject; the
/// body lists every change.
pub fn write_batch(
    repo: &Repo,
    actor: &str,
    summary: Option<&str>,
    mut plan: impl FnMut(&[Task]) -> Result<Vec<Change>>,
) -> Result<Vec<Change>> {
    let name = tasks_ref(repo);
    let started = Instant::now();
    let mut attempt = 0u32;
    loop {
        let tip = repo.read_ref(&name)?;
        let tasks = match tip {
            Some(tip) => tasks_at(repo, tip)?,
            None => Vec::new(),
        };
        let changes = plan(&tasks)?;
        if changes.is_empty() {
            return Ok(changes);
        }
        if let Some(bad) = changes
            .iter()
            .find_map(|c| c.task.problem().map(|why| (c, why)))
        {
            return Err(Error::usage(format!("task {}: {}", bad.0.task.id, bad.1)));
        }
        let changed: Vec<Task> = changes.iter().map(|c| c.task.clone()).collect();
        let tree = tree_with(repo, tip, &changed)?;
        let parents: Vec<ObjectId> = tip.into_iter().collect();
        let message = commit_message(summary, &changes);
        let commit = repo.write_commit(tree, &parents, actor, &message)?;
        crate::failpoint::hit("tasks-before-swap");
        if repo.swap_ref(&name, tip, commit)? == Swap::Done {
            return Ok(changes);
        }
        attempt += 1;
        if started.elapsed() > CAS_DEADLINE {
            return Err(Error::git(format!(
                "gave up updating {name} after {attempt} contended attempts"
            ))
            .with_hint("other agents keep writing the task ledger; try again"));
        }
        backoff(attempt);
    }
}

/// The commit message of a write: the one change's subject, or the summary (else a count)
/// followed by every change's subject.
fn commit_message(summary: Option<&str>, changes: &[Change]) -> String {
    if let ([one], None) = (changes, summary) {
        return format!("{}\n", one.subject);
    }
    let mut message = match summary {
        Some(s) => format!("{s}\n\n"),
        None => format!("{} task changes\n\n", changes.len()),
    };
    for change in changes {
        message.push_str(&change.subject);
        message.push('\n');
    }
    message
}

/// Merge two task sets, given the tasks at a common ancestor (`base`, empty when none):
/// per task and per field. A field changed on one side only takes that side's value; a field
/// changed on both takes the newer task's (`updated`), except that a completion (done,
/// failed) always wins over a non-terminal state, so completions survive. A task only one
/// side has is kept. Linear in the number of tasks.
pub fn merge(base: &[Task], ours: &[Task], theirs: &[Task]) -> Vec<Task> {
    let by_id = |tasks: &'_ [Task]| -> HashMap<String, usize> {
        tasks
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id.clone(), i))
            .collect()
    };
    let (base_ids, our_ids, their_ids) = (by_id(base), by_id(ours), by_id(theirs));
    let mut out: Vec<Task> = Vec::with_capacity(ours.len().max(theirs.len()));
    for t in ours {
        let merged = match their_ids.get(&t.id) {
            Some(&i) => merge_task(base_ids.get(&t.id).map(|&b| &base[b]), t, &theirs[i]),
            None => t.clone(),
        };
        out.push(merged);
    }
    out.extend(
        theirs
            .iter()
            .filter(|t| !our_ids.contains_key(&t.id))
            .cloned(),
    );
    out.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
    out
}

fn merge_task(base: Option<&Task>, ours: &Task, theirs: &Task) -> Task {
    use serde_json::{Map, Value};
    let as_map = |t: &Task| match serde_json::to_value(t).expect("task serializes") {
        Value::Object(m) => m,
        _ => unreachable!("a task is an object"),
    };
    let (o, t) = (as_map(ours), as_map(theirs));
    let b = base.map(as_map).unwrap_or_default();
    let newer_is_theirs = theirs.updated > ours.updated;
    let mut merged = Map::new();
    let keys: std::collections::BTreeSet<&String> = o.keys().chain(t.keys()).collect();
    for key in keys {
        let (ov, tv, bv) = (o.get(key), t.get(key), b.get(key));
        // Theirs when only they changed it, or both did and theirs is newer; else ours.
        let only_theirs_changed = ov == bv && tv != bv;
        let both_changed = ov != bv && tv != bv && ov != tv;
        let pick = if only_theirs_changed || (both_changed && newer_is_theirs) {
            tv
        } else {
            ov
        };
        if let Some(v) = pick {
            merged.insert(key.clone(), v.clone());
        }
    }
    // Completions survive whichever side is newer.
    let terminal = [ours, theirs].into_iter().find(|x| x.is_terminal());
    if let (Some(done), false) = (terminal, ours.is_terminal() && theirs.is_terminal()) {
        merged.insert("state".into(), Value::String(done.state.clone()));
        merged.insert(
            "note".into(),
            serde_json::to_value(&done.note).expect("serializes"),
        );
    }
    merged.insert(
        "updated".into(),
        Value::from(ours.updated.max(theirs.updated)),
    );
    serde_json::from_value(Value::Object(merged)).unwrap_or_else(|_| {
        if newer_is_theirs {
            theirs.clone()
        } else {
            ours.clone()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(state: &str, title: &str, assignee: Option<&str>, updated: i64) -> Task {
        Task {
            title: title.into(),
            created: 0,
            updated,
            ..Task::sample(state, assignee, None)
        }
    }

    #[test]
    fn fields_changed_on_different_sides_both_survive() {
        let base = task("open", "t", None, 1);
        let ours = task("open", "renamed", None, 2); // title edited here
        let theirs = task("claimed", "t", Some("bob"), 3); // claimed there
        let m = merge(&[base], &[ours], &[theirs]);
        assert_eq!(m[0].title, "renamed");
        assert_eq!(m[0].state, "claimed");
        assert_eq!(m[0].assignee.as_deref(), Some("bob"));
        assert_eq!(m[0].updated, 3);
    }

    #[test]
    fn a_completion_wins_over_a_newer_block() {
        let base = task("claimed", "t", Some("bob"), 1);
        let done = task("done", "t", Some("bob"), 2);
        let mut blocked = task("blocked", "t", Some("bob"), 3);
        blocked.note = Some("unsure".into());
        let m = merge(&[base], &[done], &[blocked]);
        assert_eq!(m[0].state, "done");
    }
}
