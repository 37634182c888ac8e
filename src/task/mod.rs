//! Tasks: what to work on. A task is ready when it is open, nobody holds its claim (a live
//! lease on `task:ID`), every task it comes `after` is done and every artifact it `needs` is
//! published (at least the version named). A claim is a lease on `task:ID` (plus optional
//! path globs), so the commit guard, expiry, force-break and `--sync` confirmation across
//! machines all apply. The ledger is in [`ledger`].

pub mod backlog;
pub mod beads;
pub mod claims;
pub mod ledger;
pub mod plan;
pub mod work;

use crate::error::{Error, Result};
use crate::lease::Lease;
pub use crate::model::task::*;

/// Why a task is not ready (empty when it is).
pub fn waits_for(
    task: &Task,
    all: &[Task],
    live_leases: &[Lease],
    published: &dyn Fn(&str) -> Option<u64>,
) -> Vec<String> {
    let find = |id: &str| all.iter().find(|t| t.id == id);
    waits_for_with(task, &find, live_leases, published)
}

/// [`waits_for`] with a lookup of tasks by id (an index, when many tasks are judged).
pub fn waits_for_with<'a>(
    task: &Task,
    find: &dyn Fn(&str) -> Option<&'a Task>,
    live_leases: &[Lease],
    published: &dyn Fn(&str) -> Option<u64>,
) -> Vec<String> {
    let mut reasons = Vec::new();
    let key = claim_key(&task.id);
    let claim = live_leases.iter().find(|l| l.resources.contains(&key));
    // A claimed task whose claim lease lapsed (a lost agent) is open again.
    let lapsed = matches!(task.state.as_str(), "claimed" | "in_progress") && claim.is_none();
    if task.state != "open" && !lapsed {
        reasons.push(format!("it is {}", task.state));
    }
    if let Some(l) = claim {
        reasons.push(format!("claimed by {}", l.holder));
    }
    for dep in &task.after {
        match find(dep) {
            Some(t) if t.state == "done" => {}
            Some(t) => reasons.push(format!("after {dep} ({}, {})", t.title, t.state)),
            None => reasons.push(format!("after {dep} (unknown task)")),
        }
    }
    for need in &task.needs {
        let Ok((key, min)) = parse_need(need) else {
            continue;
        };
        match (published(&key), min) {
            (Some(v), Some(m)) if v < m => reasons.push(format!("needs {key}@{m} (latest v{v})")),
            (None, _) => reasons.push(format!("needs {key} (not published)")),
            _ => {}
        }
    }
    reasons
}

/// Order for `next`: my domain first, then priority, then age.
pub fn rank(ready: &mut [&Task], my_domain: Option<&str>) {
    ready.sort_by(|a, b| {
        let mine = |t: &Task| my_domain.is_some() && t.domain.as_deref() == my_domain;
        mine(b)
            .cmp(&mine(a))
            .then(b.priority.cmp(&a.priority))
            .then(a.created.cmp(&b.created))
            .then(a.id.cmp(&b.id))
    });
}

/// The task whose id is `text` or starts with it (at least `t-` and 4 hex characters).
pub fn find<'a>(tasks: &'a [Task], text: &str) -> Result<&'a Task> {
    let text = text.trim();
    if let Some(t) = tasks.iter().find(|t| t.id == text) {
        return Ok(t);
    }
    if text.len() < 6 {
        return Err(Error::usage(format!("task id '{text}' is too short"))
            .with_hint("give the id as printed, e.g. t-1a2b3c4d (at least t-1a2b)"));
    }
    crate::display::unique_by_prefix(tasks, |t| &t.id, text, "task", "task", "git comm task list")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::Priority;

    fn task(id: &str, state: &str, after: &[&str], needs: &[&str]) -> Task {
        Task {
            id: id.into(),
            title: "t".into(),
            body: String::new(),
            domain: None,
            priority: Priority::Normal,
            after: after.iter().map(|s| s.to_string()).collect(),
            needs: needs.iter().map(|s| s.to_string()).collect(),
            state: state.into(),
            assignee: None,
            claim: None,
            creator: "lead".into(),
            created: 0,
            updated: 0,
            note: None,
        }
    }

    #[test]
    fn readiness_follows_dependencies_and_artifacts() {
        let a = task("t-0000000a", "done", &[], &[]);
        let b = task("t-0000000b", "open", &["t-0000000a"], &["api/schema@2"]);
        let all = vec![a.clone(), b.clone()];
        let none = |_: &str| None;
        assert_eq!(
            waits_for(&b, &all, &[], &none),
            vec!["needs api/schema (not published)"]
        );
        let v1 = |_: &str| Some(1);
        assert_eq!(
            waits_for(&b, &all, &[], &v1),
            vec!["needs api/schema@2 (latest v1)"]
        );
        let v2 = |_: &str| Some(2);
        assert!(waits_for(&b, &all, &[], &v2).is_empty());
        let open_a = task("t-0000000a", "open", &[], &[]);
        let all = vec![open_a, b.clone()];
        assert_eq!(waits_for(&b, &all, &[], &v2).len(), 1);
    }
}
