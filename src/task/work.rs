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
    if let Some(held) = live
        .iter()
        .find(|l| l.resources.contains(&claim_key(&task.id)) && l.holder != me)
    {
        return Err(claimed_by(&task, held));
    }
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
        claimed_by(&task, &blocking[0])
    })
    .map_err(|refused| refused.error)?;
    crate::failpoint::hit("claim-after-lease");
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
    crate::failpoint::hit("claim-after-ledger-write");
    if let Some(lost) = lapsed {
        tell_lapsed(repo, me, &task, &lost)?;
    }
    Ok((task, lease))
}

fn claimed_by(task: &Task, lease: &Lease) -> Error {
    Error::blocked(format!(
        "task {} is claimed by {} (lease {})",
        task.id, lease.holder, lease.id
    ))
    .with_hint("pick another: git comm next --claim")
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

/// How a task is finished: its end state, the note, and the reason for finishing over
/// another agent's live claim (`--force --reason`), if given.
#[derive(Debug, Clone, Default)]
pub struct Finish {
    /// done or failed.
    pub state: String,
    pub note: Option<String>,
    pub forced: Option<String>,
}

/// Finish `id` as `how.state`: release its claim's leases and tell the creator, the holders
/// of tasks that come after it and, for those nobody claimed, their domain. Finishing a task
/// another agent holds a live claim on breaks that claim, so it needs `how.forced` (exit 2
/// without it, nothing changed); who forced it and why goes into the task ledger commit,
/// the lease break and the mail, which the claim's holder gets too.
pub fn finish(repo: &Repo, me: &str, id: &str, how: &Finish) -> Result<Task> {
    let live = lease::live_leases(repo)?;
    let mut overridden: Option<String> = None;
    let task = transition(repo, me, id, |t| {
        if t.is_terminal() {
            return Err(
                Error::usage(format!("task {} is already {}", t.id, t.state))
                    .with_hint(format!("`git comm task reopen {}` first", t.id)),
            );
        }
        overridden = claim_holder(t, &live).filter(|holder| holder != me);
        let mut subject = format!("{} {} by {me}", how.state, t.id);
        if let Some(holder) = &overridden {
            let Some(reason) = &how.forced else {
                return Err(claimed_by_other(t, holder, &how.state));
            };
            subject.push_str(&format!(", forced over {holder}'s claim: {reason}"));
            // The trailer is what the gate's authority rules read (`model::authority`).
            let reason_line = reason.split_whitespace().collect::<Vec<_>>().join(" ");
            subject.push_str(&format!(
                "\n\n{} {} {reason_line}",
                crate::model::authority::FORCED_TRAILER,
                t.id
            ));
        }
        t.state = how.state.clone();
        t.note = how.note.clone();
        Ok(subject)
    })?;
    let forced = overridden.as_ref().zip(how.forced.as_ref());
    let why = match forced {
        Some((holder, reason)) => format!(
            "task {} finished by {me} over {holder}'s claim: {reason}",
            task.id
        ),
        None => format!("task {} finished", task.id),
    };
    release_claim_because(repo, me, &task, &why)?;
    notify(repo, me, &task, forced)?;
    Ok(task)
}

/// Who holds `task`'s claim: the holder of its live `task:ID` lease (a lapsed claim holds
/// nothing).
fn claim_holder(task: &Task, live: &[Lease]) -> Option<String> {
    let key = claim_key(&task.id);
    live.iter()
        .find(|l| l.resources.contains(&key))
        .map(|l| l.holder.clone())
}

fn claimed_by_other(task: &Task, holder: &str, state: &str) -> Error {
    let verb = if state == "done" { "done" } else { "fail" };
    let reason = if verb == "done" { " --reason TEXT" } else { "" };
    Error::usage(format!(
        "task {} is claimed by {holder}; finishing it would break their claim",
        task.id
    ))
    .with_hint(format!(
        "ask {holder} (git comm send {holder} -s ...), or break the claim on record: \
         git comm task {verb} {} --force{reason}",
        task.id
    ))
}

/// Release the leases of a task's claim (held by the claimant, so released in its name).
pub fn release_claim(repo: &Repo, me: &str, task: &Task) -> Result<()> {
    release_claim_because(repo, me, task, &format!("task {} finished", task.id))
}

/// Release the leases of a task's claim; another agent's are broken, saying `why`.
fn release_claim_because(repo: &Repo, me: &str, task: &Task, why: &str) -> Result<()> {
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
                        reason: why.to_string(),
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

/// One message about a finished `task` to its creator; for each task that comes after
/// it, its assignee and creator, or its `@domain` when nobody claimed it yet (so whoever
/// may pick it up hears it is unblocked); and the holder of a claim finished over
/// (`forced`: holder, reason). It carries the `Comm-Task` trailer.
fn notify(repo: &Repo, me: &str, task: &Task, forced: Option<(&String, &String)>) -> Result<()> {
    let mut to: Vec<String> = vec![task.creator.clone()];
    let mut unblocked = Vec::new();
    for t in ledger::all(repo)? {
        if !t.after.contains(&task.id) || t.is_terminal() {
            continue;
        }
        to.push(t.creator.clone());
        match (&t.assignee, &t.domain) {
            (Some(assignee), _) => to.push(assignee.clone()),
            (None, Some(domain)) => to.push(format!("@{domain}")),
            (None, None) => {}
        }
        unblocked.push(format!("after it: {} {}", t.id, t.title));
    }
    if let Some((holder, _)) = forced {
        to.push(holder.clone());
    }
    to.retain(|r| r != me);
    to.sort();
    to.dedup();
    if to.is_empty() {
        return Ok(());
    }
    let mut body: Vec<String> = task.note.iter().cloned().collect();
    if let Some((holder, reason)) = forced {
        body.push(format!("forced by {me} over {holder}'s claim: {reason}"));
    }
    body.extend(unblocked);
    let draft = Draft {
        subject: format!("{} {}: {}", task.state, task.id, task.title),
        body: body.join("\n"),
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
