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

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::lease::Lease;
use crate::mail::Priority;

/// Task states. `claimed` and `in_progress` mean someone holds the claim.
pub const STATES: [&str; 6] = [
    "open",
    "claimed",
    "in_progress",
    "blocked",
    "done",
    "failed",
];
pub const MAX_TITLE: usize = 200;
pub const MAX_BODY: usize = 64 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Task {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    pub priority: Priority,
    /// Tasks that must be done first.
    #[serde(default)]
    pub after: Vec<String>,
    /// Artifacts that must be published first: `domain/name` or `domain/name@V`.
    #[serde(default)]
    pub needs: Vec<String>,
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// The lease id of the claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<String>,
    pub creator: String,
    /// Unix seconds.
    pub created: i64,
    /// Unix seconds: the last change (merges keep the newer task).
    pub updated: i64,
    /// A reason (block, fail) or a note (done).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Task {
    pub fn is_terminal(&self) -> bool {
        matches!(self.state.as_str(), "done" | "failed")
    }

    /// What makes a stored task invalid, if anything.
    pub fn problem(&self) -> Option<String> {
        if !is_id(&self.id) {
            return Some(format!("'{}' is not a task id (t-xxxxxxxx)", self.id));
        }
        if self.title.trim().is_empty() || self.title.len() > MAX_TITLE || self.title.contains('\n')
        {
            return Some(format!("title must be one line of 1..{MAX_TITLE} bytes"));
        }
        if self.body.len() > MAX_BODY {
            return Some(format!("body longer than {MAX_BODY} bytes"));
        }
        if !STATES.contains(&self.state.as_str()) {
            return Some(format!("unknown state '{}'", self.state));
        }
        let names = self
            .domain
            .iter()
            .chain(self.assignee.iter())
            .chain(std::iter::once(&self.creator));
        for name in names {
            if crate::agent::validate_name(name).is_err() {
                return Some(format!("'{name}' is not a valid name"));
            }
        }
        if let Some(bad) = self.after.iter().find(|a| !is_id(a)) {
            return Some(format!("after: '{bad}' is not a task id"));
        }
        if let Some(bad) = self.needs.iter().find(|n| parse_need(n).is_err()) {
            return Some(format!("needs: '{bad}' is not DOMAIN/NAME[@V]"));
        }
        None
    }
}

/// Is `text` a task id: `t-` and 8 lowercase hex characters?
pub fn is_id(text: &str) -> bool {
    text.strip_prefix("t-")
        .is_some_and(|h| h.len() == 8 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

/// A new id: a hash of creator, title, time, process and a counter (collision-free offline
/// in practice: two machines would need the same inputs in the same nanosecond).
pub fn new_id(creator: &str, title: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mut hasher = Sha256::new();
    hasher.update(creator.as_bytes());
    hasher.update([0]);
    hasher.update(title.as_bytes());
    hasher.update(nanos.to_le_bytes());
    hasher.update(std::process::id().to_le_bytes());
    hasher.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    let digest = hasher.finalize();
    let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("t-{hex}")
}

/// `domain/name[@V]` -> (key, minimum version).
pub fn parse_need(text: &str) -> Result<(String, Option<u64>)> {
    let spec = crate::artifact::Spec::parse(text)?;
    Ok((spec.key(), spec.version))
}

/// The lease resource a claim holds.
pub fn claim_key(id: &str) -> String {
    format!("task:{id}")
}

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

    #[test]
    fn ids() {
        let id = new_id("lead", "x");
        assert!(is_id(&id), "{id}");
        assert_ne!(id, new_id("lead", "x"));
        assert!(!is_id("t-XYZ"));
    }
}
