//! What agents do with tasks: add, claim (a lease on `task:ID`), move through states,
//! finish (releasing the claim and telling whoever waits on it), and pick the next one.

use crate::error::{Error, Result};
use crate::lease::{self, ledger as leases, Event, Lease, Request};
use crate::mail::{mailbox, Draft, Priority};
use crate::repo::Repo;
use crate::sync::{self, Remote};

use super::ledger::{self, Change};
use super::{claim_key, find, Task};

/// What `task add` takes.
#[derive(Debug, Clone, Default)]
pub struct NewTask {
    pub title: String,
    pub body: String,
    pub domain: Option<String>,
    pub after: Vec<String>,
    pub needs: Vec<String>,
    pub priority: Priority,
}

impl NewTask {
    /// The open task this becomes, with id `id` and dependencies `after` (task ids).
    pub fn to_task(&self, id: &str, creator: &str, after: Vec<String>, now: i64) -> Task {
        Task {
            id: id.to_string(),
            title: self.title.trim().to_string(),
            body: self.body.clone(),
            domain: self.domain.clone(),
            priority: self.priority,
            after,
            needs: self.needs.clone(),
            state: "open".into(),
            assignee: None,
            claim: None,
            creator: creator.to_string(),
            created: now,
            updated: now,
            note: None,
        }
    }
}

/// The published version of each artifact key, for readiness.
pub fn published(repo: &Repo) -> impl Fn(&str) -> Option<u64> + '_ {
    move |key| {
        crate::artifact::latest(repo, key)
            .ok()
            .flatten()
            .map(|v| v.meta.version)
    }
}

/// Add a task (dependencies must exist; needs must parse).
pub fn add(repo: &Repo, me: &str, new: NewTask) -> Result<Task> {
    for need in &new.needs {
        super::parse_need(need)?;
    }
    let now = crate::clock::now_secs();
    let id = super::new_id(me, &new.title);
    let changes = ledger::write(repo, me, |tasks| {
        let mut after = Vec::new();
        for dep in &new.after {
            after.push(find(tasks, dep)?.id.clone());
        }
        let task = new.to_task(&id, me, after, now);
        Ok(vec![Change {
            subject: format!("add {} {}", task.id, task.title),
            task,
        }])
    })?;
    Ok(changes.into_iter().next().expect("one change").task)
}

/// Claim `id` for `me`: a lease on `task:ID` plus `globs` (confirmed on `remote` when
/// given), then the task records it. Refused (exit 1) when it is not ready or someone else
/// holds it.
pub fn claim(
    repo: &Repo,
    me: &str,
    id: &str,
    globs: &[String],
    remote: Option<&Remote>,
) -> Result<(Task, Lease)> {
    let tasks = ledger::all(repo)?;
    let task = find(&tasks, id)?.clone();
    let live = lease::live_leases(repo)?;
    let published = published(repo);
    let waiting: Vec<String> = super::waits_for(&task, &tasks, &live, &published)
        .into_iter()
        .filter(|w| !w.starts_with("claimed by"))
        .collect();
    if !waiting.is_empty() {
        return Err(Error::blocked(format!(
            "task {} is not ready: {}",
            task.id,
            waiting.join("; ")
        ))
        .with_hint("`git comm task list --ready` lists what can be claimed now"));
    }
    let mut resources = vec![claim_key(&task.id)];
    resources.extend(globs.iter().cloned());
    let request = Request {
        resources,
        exclusive: true,
        ttl_secs: lease::DEFAULT_TTL_SECS * 4,
        reason: Some(format!("task {}: {}", task.id, task.title)),
        task: Some(task.id.clone()),
    };
    let lease = sync::lease::acquire(repo, me, &request, remote, |blocking| {
        let holder = &blocking[0];
        Error::blocked(format!(
            "task {} is claimed by {} (lease {})",
            task.id, holder.holder, holder.id
        ))
        .with_hint("pick another: git comm next --claim")
    })
    .map_err(|refused| refused.error)?;
    let lapsed = task
        .assignee
        .clone()
        .filter(|a| a != me && matches!(task.state.as_str(), "claimed" | "in_progress"));
    let task = transition(repo, me, &task.id, |t| {
        t.state = "claimed".into();
        t.assignee = Some(me.to_string());
        t.claim = Some(lease.id.clone());
        Ok(format!("claim {} by {me}", t.id))
    })?;
    if let Some(lost) = lapsed {
        tell_lapsed(repo, me, &task, &lost)?;
    }
    Ok((task, lease))
}

/// Apply `change` to task `id` (which returns the commit subject) and record it.
pub fn transition(
    repo: &Repo,
    me: &str,
    id: &str,
    mut change: impl FnMut(&mut Task) -> Result<String>,
) -> Result<Task> {
    let now = crate::clock::now_secs();
    let changes = ledger::write(repo, me, |tasks| {
        let mut task = find(tasks, id)?.clone();
        let subject = change(&mut task)?;
        task.updated = now;
        Ok(vec![Change { task, subject }])
    })?;
    Ok(changes.into_iter().next().expect("one change").task)
}

/// Finish `id` as `state` (done or failed): release its claim's leases and tell the
/// creator and the holders of tasks that come after it.
pub fn finish(repo: &Repo, me: &str, id: &str, state: &str, note: Option<String>) -> Result<Task> {
    let task = transition(repo, me, id, |t| {
        if t.is_terminal() {
            return Err(
                Error::usage(format!("task {} is already {}", t.id, t.state))
                    .with_hint(format!("`git comm task reopen {}` first", t.id)),
            );
        }
        t.state = state.to_string();
        t.note = note.clone();
        Ok(format!("{state} {} by {me}", t.id))
    })?;
    release_claim(repo, me, &task)?;
    notify(repo, me, &task)?;
    Ok(task)
}

/// Release the leases of a task's claim (held by the claimant, so released in its name).
pub fn release_claim(repo: &Repo, me: &str, task: &Task) -> Result<()> {
    let key = claim_key(&task.id);
    leases::write(repo, me, |snap| {
        Ok(snap
            .live
            .iter()
            .filter(|l| l.resources.contains(&key) || task.claim.as_deref() == Some(l.id.as_str()))
            .map(|l| {
                if l.holder == me {
                    Event::Release(l.clone())
                } else {
                    Event::Break {
                        lease: l.clone(),
                        by: me.to_string(),
                        reason: format!("task {} finished", task.id),
                    }
                }
            })
            .collect())
    })?;
    Ok(())
}

/// A claim lapsed (its holder went silent past the lease) and `me` took the task over: tell
/// the creator and the lost holder.
fn tell_lapsed(repo: &Repo, me: &str, task: &Task, lost: &str) -> Result<()> {
    let mut to = vec![task.creator.clone(), lost.to_string()];
    to.retain(|r| r != me);
    to.dedup();
    if to.is_empty() {
        return Ok(());
    }
    let draft = Draft {
        subject: format!(
            "claim of {} by {lost} lapsed; {me} took it: {}",
            task.id, task.title
        ),
        to,
        kind: "info".to_string(),
        task: Some(task.id.clone()),
        ..Draft::default()
    };
    mailbox::append(repo, me, &draft)?;
    Ok(())
}

/// One message to the creator and the assignees of tasks that come after `task`.
fn notify(repo: &Repo, me: &str, task: &Task) -> Result<()> {
    let mut to: Vec<String> = vec![task.creator.clone()];
    for t in ledger::all(repo)? {
        if t.after.contains(&task.id) {
            to.extend(t.assignee.clone());
            to.push(t.creator.clone());
        }
    }
    to.retain(|r| r != me);
    to.sort();
    to.dedup();
    if to.is_empty() {
        return Ok(());
    }
    let draft = Draft {
        subject: format!("{} {}: {}", task.state, task.id, task.title),
        body: task.note.clone().unwrap_or_default(),
        to,
        kind: if task.state == "done" {
            "done"
        } else {
            "failed"
        }
        .to_string(),
        task: Some(task.id.clone()),
        ..Draft::default()
    };
    mailbox::append(repo, me, &draft)?;
    Ok(())
}

/// Ready tasks for `me` in `next` order (my domain first, then priority, then age).
pub fn ready_for(repo: &Repo, my_domain: Option<&str>) -> Result<Vec<Task>> {
    let tasks = ledger::all(repo)?;
    let live = lease::live_leases(repo)?;
    let published = published(repo);
    let by_id: std::collections::HashMap<&str, &Task> =
        tasks.iter().map(|t| (t.id.as_str(), t)).collect();
    let find = |id: &str| by_id.get(id).copied();
    let mut ready: Vec<&Task> = tasks
        .iter()
        .filter(|t| super::waits_for_with(t, &find, &live, &published).is_empty())
        .collect();
    super::rank(&mut ready, my_domain);
    Ok(ready.into_iter().cloned().collect())
}

/// `next --claim`: claim the best ready task, trying the next one when a race is lost.
pub fn claim_next(
    repo: &Repo,
    me: &str,
    my_domain: Option<&str>,
    remote: Option<&Remote>,
) -> Result<Option<(Task, Lease)>> {
    for task in ready_for(repo, my_domain)? {
        match claim(repo, me, &task.id, &[], remote) {
            Ok(claimed) => return Ok(Some(claimed)),
            Err(e) if e.kind == crate::error::Kind::Blocked => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}
