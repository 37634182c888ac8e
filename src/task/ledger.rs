//! The task ledger: `refs/comm-node/tasks`, a commit chain whose flat tree holds one
//! `<id>.json` per task. Every change is one commit by the acting agent (`add t-… title`,
//! `claim t-… by bob`, `done t-…`), so `git log refs/comm-node/tasks` is the audit. Writes
//! plan against the current tip and compare-and-swap; on a conflict they re-plan.

use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::repo::{backoff, ObjectId, Repo, Swap};

use super::Task;

const SUFFIX: &str = "tasks";
const JSON: &str = ".json";
const CAS_DEADLINE: Duration = Duration::from_secs(60);

/// One change: the task as it becomes, and the commit subject saying what happened.
pub struct Change {
    pub task: Task,
    pub subject: String,
}

pub fn tasks_ref(repo: &Repo) -> String {
    repo.ns_ref(SUFFIX)
}

/// Every task stored at ledger commit `commit`, oldest first.
pub fn tasks_at(repo: &Repo, commit: ObjectId) -> Result<Vec<Task>> {
    let mut tasks = Vec::new();
    repo.for_each_tree_file(commit, |name, bytes| {
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

/// The flat tree for a task set.
pub fn write_tree(repo: &Repo, tasks: &[Task]) -> Result<ObjectId> {
    let mut files = Vec::with_capacity(tasks.len());
    for t in tasks {
        let json = serde_json::to_vec_pretty(t).expect("task serializes");
        files.push((format!("{}{JSON}", t.id), repo.write_blob(&json)?));
    }
    repo.write_flat_tree(&files)
}

/// Is `bytes`, stored as `name`, a valid task entry? (For the storage gate.)
pub fn check_entry(name: &str, bytes: &[u8]) -> std::result::Result<(), String> {
    let id = name
        .strip_suffix(JSON)
        .ok_or_else(|| "not a task file (<id>.json)".to_string())?;
    let task: Task = serde_json::from_slice(bytes).map_err(|e| format!("not a task: {e}"))?;
    if task.id != id {
        return Err(format!("holds task {} under another name", task.id));
    }
    task.problem().map_or(Ok(()), Err)
}

/// Plan changes against the current tasks and commit them atomically, one commit each;
/// `plan` is re-run on the new tip when another writer moved the ledger. Returns the
/// changes written (none: nothing to do).
pub fn write(
    repo: &Repo,
    actor: &str,
    mut plan: impl FnMut(&[Task]) -> Result<Vec<Change>>,
) -> Result<Vec<Change>> {
    let name = tasks_ref(repo);
    let started = Instant::now();
    let mut attempt = 0u32;
    loop {
        let tip = repo.read_ref(&name)?;
        let mut tasks = match tip {
            Some(tip) => tasks_at(repo, tip)?,
            None => Vec::new(),
        };
        let changes = plan(&tasks)?;
        if changes.is_empty() {
            return Ok(changes);
        }
        let mut parent = tip;
        for change in &changes {
            if let Some(why) = change.task.problem() {
                return Err(Error::usage(format!("task {}: {why}", change.task.id)));
            }
            tasks.retain(|t| t.id != change.task.id);
            tasks.push(change.task.clone());
            let tree = write_tree(repo, &tasks)?;
            let parents: Vec<ObjectId> = parent.into_iter().collect();
            parent =
                Some(repo.write_commit(tree, &parents, actor, &format!("{}\n", change.subject))?);
        }
        if repo.swap_ref(&name, tip, parent.expect("a change"))? == Swap::Done {
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

/// Merge two task sets, given the tasks at a common ancestor (`base`, empty when none):
/// per task and per field. A field changed on one side only takes that side's value; a field
/// changed on both takes the newer task's (`updated`), except that a completion (done,
/// failed) always wins over a non-terminal state, so completions survive. A task only one
/// side has is kept.
pub fn merge(base: &[Task], ours: &[Task], theirs: &[Task]) -> Vec<Task> {
    let mut out: Vec<Task> = Vec::new();
    for t in ours.iter().chain(theirs) {
        if out.iter().any(|o| o.id == t.id) {
            continue;
        }
        let o = ours.iter().find(|x| x.id == t.id);
        let th = theirs.iter().find(|x| x.id == t.id);
        let merged = match (o, th) {
            (Some(o), Some(th)) => merge_task(base.iter().find(|b| b.id == t.id), o, th),
            (Some(one), None) | (None, Some(one)) => one.clone(),
            (None, None) => unreachable!("the task comes from one side"),
        };
        out.push(merged);
    }
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
    use crate::mail::Priority;

    fn task(state: &str, title: &str, assignee: Option<&str>, updated: i64) -> Task {
        Task {
            id: "t-0000000a".into(),
            title: title.into(),
            body: String::new(),
            domain: None,
            priority: Priority::Normal,
            after: vec![],
            needs: vec![],
            state: state.into(),
            assignee: assignee.map(str::to_string),
            claim: None,
            creator: "lead".into(),
            created: 0,
            updated,
            note: None,
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
