//! Beads interop: `issues.jsonl` lines (`id`, `title`, `description`, `status`, `priority`
//! 0-4, `assignee`, `dependencies: [{issue_id, depends_on_id, type}]`) in and out.
//! Status: open, in_progress, blocked, closed (= done). Priority 0 = urgent .. 3-4 = low.
//! A `blocks` dependency becomes `after`.

use std::collections::BTreeMap;

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
/// title is already a task's are kept, not duplicated.
pub fn import(repo: &Repo, me: &str, jsonl: &str) -> Result<Vec<(String, String)>> {
    let mut issues = Vec::new();
    for (n, line) in jsonl
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let issue: Issue = serde_json::from_str(line)
            .map_err(|e| Error::usage(format!("line {}: not a Beads issue: {e}", n + 1)))?;
        issues.push(issue);
    }
    let now = crate::clock::now_secs();
    ledger::write(repo, me, |tasks| {
        let mut ids: BTreeMap<String, String> = BTreeMap::new();
        for issue in &issues {
            let id = match tasks.iter().find(|t| t.title == issue.title) {
                Some(t) => t.id.clone(),
                None => super::new_id(me, &issue.title),
            };
            ids.insert(issue.id.clone(), id);
        }
        let mut changes = Vec::new();
        for issue in &issues {
            if tasks.iter().any(|t| t.title == issue.title) {
                continue;
            }
            let after = issue
                .dependencies
                .iter()
                .filter(|d| d.kind == "blocks" && d.issue_id == issue.id)
                .filter_map(|d| ids.get(&d.depends_on_id).cloned())
                .collect();
            let task = Task {
                id: ids[&issue.id].clone(),
                title: issue.title.clone(),
                body: issue.description.clone(),
                domain: None,
                priority: priority_of(issue.priority),
                after,
                needs: Vec::new(),
                state: state_of(&issue.status)?.to_string(),
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
    let tasks = ledger::all(repo)?;
    Ok(issues
        .iter()
        .filter_map(|i| {
            tasks
                .iter()
                .find(|t| t.title == i.title)
                .map(|t| (i.id.clone(), t.id.clone()))
        })
        .collect())
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
