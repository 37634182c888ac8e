//! A task (`refs/comm-node/tasks`, one `ab/t-ab….json` per task): its schema, limits and
//! id; the ledger that stores them is `crate::task::ledger`.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::model::message::Priority;

pub const JSON: &str = ".json";

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
    /// A task `t-0000000a` made by `lead` at time 10, for unit tests.
    #[cfg(test)]
    pub fn sample(state: &str, assignee: Option<&str>, claim: Option<&str>) -> Task {
        Task {
            id: "t-0000000a".into(),
            title: "t".into(),
            body: String::new(),
            domain: None,
            priority: Priority::Normal,
            after: vec![],
            needs: vec![],
            state: state.into(),
            assignee: assignee.map(str::to_string),
            claim: claim.map(str::to_string),
            creator: "lead".into(),
            created: 10,
            updated: 10,
            note: None,
        }
    }

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
            if crate::model::name::validate_name(name).is_err() {
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
    format!("t-{}", crate::model::name::unique_hex(&[creator, title], 4))
}

/// `domain/name[@V]` -> (key, minimum version).
pub fn parse_need(text: &str) -> Result<(String, Option<u64>)> {
    let spec = crate::model::spec::Spec::parse(text)?;
    Ok((spec.key(), spec.version))
}

/// The lease resource a claim holds.
pub fn claim_key(id: &str) -> String {
    format!("task:{id}")
}

/// Where task `id` lives in the ledger tree: `ab/t-ab….json`.
pub fn path_of(id: &str) -> String {
    format!("{}/{id}{JSON}", fan_dir(id))
}

/// The fan-out directory of task `id`: the two hex characters after `t-`.
pub fn fan_dir(id: &str) -> &str {
    id.get(2..4).unwrap_or("00")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        let id = new_id("lead", "x");
        assert!(is_id(&id), "{id}");
        assert_ne!(id, new_id("lead", "x"));
        assert!(!is_id("t-XYZ"));
    }
}
