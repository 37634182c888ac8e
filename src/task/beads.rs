//! Beads interop: `issues.jsonl` lines (`id`, `title`, `description`, `status`, `priority`
//! 0-4, `assignee`, `dependencies: [{issue_id, depends_on_id, type}]`) in and out.
//! Status: open, in_progress, blocked, closed (= done). Priority 0 = urgent .. 3-4 = low.
//! A `blocks` dependency becomes `after`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::mail::Priority;
use crate::repo::Repo;

use super::ledger::{self, Change};
use super::Task;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Issue {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "open")]
    pub status: String,
    #[serde(default = "normal")]
    pub priority: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    #[serde(default)]
    pub dependencies: Vec<Dependency>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Dependency {
    pub issue_id: String,
    pub depends_on_id: String,
    #[serde(rename = "type", default = "blocks")]
    pub kind: String,
}

fn open() -> String {
    "open".into()
}
fn normal() -> u8 {
    2
}
fn blocks() -> String {
    "blocks".into()
}

fn state_of(status: &str) -> Result<&'static str> {
    Ok(match status {
        "open" => "open",
        "in_progress" => "in_progress",
        "blocked" => "blocked",
        "closed" | "done" => "done",
        other => {
            return Err(Error::usage(format!("unknown Beads status '{other}'"))
                .with_hint("Beads statuses: open, in_progress, blocked, closed"))
        }
    })
}

fn status_of(state: &str) -> &'static str {
    match state {
        "in_progress" | "claimed" => "in_progress",
        "blocked" => "blocked",
        "done" | "failed" => "closed",
        _ => "open",
    }
}

fn priority_of(p: u8) -> Priority {
    match p {
        0 => Priority::Urgent,
        1 => Priority::High,
        2 => Priority::Normal,
        _ => Priority::Low,
    }
}

fn beads_priority(p: Priority) -> u8 {
    match p {
        Priority::Urgent => 0,
        Priority::High => 1,
        Priority::Normal => 2,
        Priority::Low => 3,
    }
}

/// Import Beads issues as tasks by `me`; returns (Beads id, task id) pairs. Issues whose
/// title is already a task's are kept, not duplicated. Every line is checked first, and all
/// new tasks are one ledger commit: a bad line writes nothing.
pub fn import(repo: &Repo, me: &str, jsonl: &str) -> Result<Vec<(String, String)>> {
    let issues = parse(jsonl)?;
    let now = crate::clock::now_secs();
    let fresh: Vec<String> = issues
        .iter()
        .map(|(i, _)| super::new_id(me, &i.title))
        .collect();
    let mut pairs = Vec::new();
    let summary = format!("import {} Beads issues by {me}", issues.len());
    ledger::write_batch(repo, me, Some(&summary), |tasks| {
        let existing: HashMap<&str, &str> = tasks
            .iter()
            .map(|t| (t.title.as_str(), t.id.as_str()))
            .collect();
        let mut ids: HashMap<&str, String> = HashMap::new();
        pairs.clear();
        for ((issue, _), id) in issues.iter().zip(&fresh) {
            let id = existing
                .get(issue.title.as_str())
                .map_or(id.clone(), |e| e.to_string());
            ids.insert(issue.id.as_str(), id.clone());
            pairs.push((issue.id.clone(), id));
        }
        let mut changes = Vec::new();
        for (issue, state) in &issues {
            if existing.contains_key(issue.title.as_str()) {
                continue;
            }
            let after = issue
                .dependencies
                .iter()
                .filter(|d| d.kind == "blocks" && d.issue_id == issue.id)
                .filter_map(|d| ids.get(d.depends_on_id.as_str()).cloned())
                .collect();
            let task = Task {
                id: ids[issue.id.as_str()].clone(),
                title: issue.title.clone(),
                body: issue.description.clone(),
                domain: None,
                priority: priority_of(issue.priority),
                after,
                needs: Vec::new(),
                state: state.to_string(),
                assignee: issue.assignee.clone(),
                claim: None,
                creator: me.to_string(),
                created: now,
                updated: now,
                note: None,
            };
            changes.push(Change {
                subject: format!("import {} {} (beads {})", task.id, task.title, issue.id),
                task,
            });
        }
        Ok(changes)
    })?;
    Ok(pairs)
}

/// Every line of `jsonl` as an issue and its task state; the first bad line is an error
/// naming it (status, priority out of 0-4, title, assignee).
fn parse(jsonl: &str) -> Result<Vec<(Issue, &'static str)>> {
    let mut issues = Vec::new();
    for (n, line) in jsonl.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = |e: Error| {
            let error = Error::usage(format!("line {}: {}", n + 1, e.message));
            match e.hint {
                Some(h) => error.with_hint(h),
                None => error,
            }
        };
        let issue: Issue = serde_json::from_str(line)
            .map_err(|e| Error::usage(format!("line {}: not a Beads issue: {e}", n + 1)))?;
        let state = state_of(&issue.status).map_err(at)?;
        if issue.priority > 4 {
            return Err(at(Error::usage(format!(
                "priority {} is out of range",
                issue.priority
            ))
            .with_hint("Beads priorities run from 0 (urgent) to 4 (lowest)")));
        }
        let title = issue.title.trim();
        if title.is_empty() || title.len() > super::MAX_TITLE || title.contains('\n') {
            return Err(at(Error::usage(format!(
                "the title must be one line of 1..{} bytes",
                super::MAX_TITLE
            ))));
        }
        if let Some(a) = &issue.assignee {
            crate::agent::validate_name(a).map_err(at)?;
        }
        issues.push((issue, state));
    }
    Ok(issues)
}

/// Every task as a Beads `issues.jsonl` document.
pub fn export(repo: &Repo) -> Result<String> {
    let mut out = String::new();
    for t in ledger::all(repo)? {
        let issue = Issue {
            id: t.id.clone(),
            title: t.title.clone(),
            description: t.body.clone(),
            status: status_of(&t.state).to_string(),
            priority: beads_priority(t.priority),
            assignee: t.assignee.clone(),
            dependencies: t
                .after
                .iter()
                .map(|a| Dependency {
                    issue_id: t.id.clone(),
                    depends_on_id: a.clone(),
                    kind: "blocks".into(),
                })
                .collect(),
        };
        out.push_str(&serde_json::to_string(&issue).expect("issue serializes"));
        out.push('\n');
    }
    Ok(out)
}
