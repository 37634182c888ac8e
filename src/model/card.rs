//! The agent card (`refs/comm-node/agents/<name>`, `card.json`): who an agent is.

use serde::{Deserialize, Serialize};

use super::name::validate_name;

/// The one file of a card commit's tree.
pub const CARD_FILE: &str = "card.json";

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Card {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Unix seconds.
    pub joined: i64,
    /// Unix seconds.
    pub last_seen: i64,
    /// Set by `git comm retire`; cleared when the agent joins again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired: Option<Retired>,
}

/// Why and when an agent was retired, and by whom.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Retired {
    /// Unix seconds.
    pub at: i64,
    pub by: String,
    pub reason: String,
}

/// Longest role, program or model text on a card.
const MAX_CARD_TEXT: usize = 256;

impl Card {
    /// What makes this stored card invalid as the card of `agent`, if anything.
    pub fn problem(&self, agent: &str) -> Option<String> {
        if self.name != agent {
            return Some(format!(
                "card of '{}' stored as the card of '{agent}'",
                self.name
            ));
        }
        if let Some(domain) = &self.domain {
            if validate_name(domain).is_err() {
                return Some(format!("domain '{domain}' is not a valid name"));
            }
        }
        let texts = [&self.role, &self.program, &self.model];
        if texts.iter().any(|t| {
            t.as_ref()
                .is_some_and(|t| t.len() > MAX_CARD_TEXT || t.contains('\n'))
        }) {
            return Some(format!(
                "role, program or model longer than {MAX_CARD_TEXT} bytes or multi-line"
            ));
        }
        if let Some(r) = &self.retired {
            if r.reason.len() > MAX_CARD_TEXT
                || r.reason.contains('\n')
                || validate_name(&r.by).is_err()
            {
                return Some(
                    "retirement reason multi-line or too long, or retired by an invalid name"
                        .to_string(),
                );
            }
        }
        if self.joined < 0 || self.last_seen < 0 {
            return Some("negative timestamps".to_string());
        }
        None
    }
}
