//! Presence (`refs/comm-node/presence/<agent>`, a JSON blob): when an agent was last seen,
//! the state it declared, and what it read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Largest presence blob the gate accepts.
pub const MAX_BYTES: u64 = 4096;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Presence {
    pub name: String,
    /// Unix seconds.
    pub last_seen: i64,
    /// What the agent says it is doing: busy, idle, blocked or done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// When the state was set (unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<i64>,
    /// Estimated tokens of mail shown to the agent (inbox, show, thread) per UTC day
    /// (`YYYY-MM-DD`), the last [`READ_DAYS`] days.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub read: BTreeMap<String, u64>,
    /// Estimated tokens of every other output the agent's commands printed (help, prime,
    /// task lists, status, notices on stderr...) per UTC day, the last
    /// [`READ_DAYS`] days. `read` plus `output` is what the agent read of git comm.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub output: BTreeMap<String, u64>,
    /// The UTC day the agent was last told it passed its token budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_told: Option<String>,
}

impl Presence {
    /// Whether `self` says nothing `pushed` does not, but a later time and larger counters:
    /// what an overseer would not miss for a while (sync pushes such a change only once the
    /// pushed value grows old; see `crate::presence::can_wait`).
    pub fn only_fresher_than(&self, pushed: &Presence) -> bool {
        self.name == pushed.name
            && self.state == pushed.state
            && self.task == pushed.task
            && self.note == pushed.note
            && self.since == pushed.since
            && self.budget_told == pushed.budget_told
            && self.last_seen >= pushed.last_seen
    }

    /// How recent this presence is: its last-seen time, then everything it counted (an
    /// agent's own writes only add to it within a second), so two writes of one second are
    /// still ordered.
    pub fn freshness(&self) -> (i64, u64) {
        let counted = self.read.values().chain(self.output.values()).sum();
        (self.last_seen, counted)
    }
}

/// How many days of read counters a presence keeps.
pub const READ_DAYS: usize = 31;

/// The states an agent may declare.
pub const STATES: [&str; 4] = ["busy", "idle", "blocked", "done"];
/// Longest note or task text.
const MAX_TEXT: usize = 500;

impl Presence {
    /// What makes a stored presence invalid for `agent`, if anything.
    pub fn problem(&self, agent: &str) -> Option<String> {
        if self.name != agent {
            return Some(format!(
                "presence of '{}' stored as that of '{agent}'",
                self.name
            ));
        }
        if let Some(state) = &self.state {
            if !STATES.contains(&state.as_str()) {
                return Some(format!("unknown state '{state}'"));
            }
        }
        let long = |t: &Option<String>| {
            t.as_ref()
                .is_some_and(|t| t.len() > MAX_TEXT || t.contains('\n'))
        };
        let day = |d: &str| d.len() == 10 && d.bytes().all(|b| b.is_ascii_digit() || b == b'-');
        let bad_days = |m: &BTreeMap<String, u64>| m.len() > READ_DAYS || !m.keys().all(|d| day(d));
        if bad_days(&self.read) || bad_days(&self.output) {
            return Some(format!(
                "read counters: at most {READ_DAYS} days keyed YYYY-MM-DD"
            ));
        }
        (long(&self.note) || long(&self.task))
            .then(|| format!("task or note longer than {MAX_TEXT} bytes or multi-line"))
    }
}

/// Decode a presence blob.
pub fn decode(bytes: &[u8]) -> Option<Presence> {
    serde_json::from_slice(bytes).ok()
}
