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

/// Merge two task sets: per task, a terminal state (done, failed) wins over a non-terminal
/// one so completions survive; otherwise the newer `updated` wins; a task one side lacks is
/// kept.
pub fn merge(ours: &[Task], theirs: &[Task]) -> Vec<Task> {
    let mut out: Vec<Task> = Vec::new();
    for t in ours.iter().chain(theirs) {
        match out.iter_mut().find(|o| o.id == t.id) {
            None => out.push(t.clone()),
            Some(o) => {
                let better = match (t.is_terminal(), o.is_terminal()) {
                    (true, false) => true,
                    (false, true) => false,
                    _ => t.updated > o.updated,
                };
                if better {
                    *o = t.clone();
                }
            }
        }
    }
    out.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
    out
}
