//! The halt (`refs/comm-node/halt`, `halt.json`): an emergency stop and who set it.

use serde::{Deserialize, Serialize};

pub const FILE: &str = "halt.json";
/// The author of halt commits made without an agent identity.
pub const OPERATOR: &str = "operator";
const MAX_REASON: usize = 500;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Halt {
    pub halted: bool,
    #[serde(default)]
    pub reason: String,
    pub by: String,
    /// Only agents of this domain are halted; all agents when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Unix seconds.
    pub since: i64,
}

impl Halt {
    /// Does this halt stop `agent` (whose domain is `domain`)?
    pub fn stops(&self, domain: Option<&str>) -> bool {
        self.halted && self.domain.as_deref().is_none_or(|d| Some(d) == domain)
    }

    /// What makes a stored halt invalid, if anything.
    pub fn problem(&self) -> Option<String> {
        if crate::model::name::validate_name(&self.by).is_err() {
            return Some(format!("'{}' is not a valid name", self.by));
        }
        if let Some(d) = &self.domain {
            if crate::model::name::validate_name(d).is_err() {
                return Some(format!("domain '{d}' is not a valid name"));
            }
        }
        (self.reason.len() > MAX_REASON || self.reason.contains('\n'))
            .then(|| format!("reason longer than {MAX_REASON} bytes or multi-line"))
    }
}

/// Check a stored `halt.json` (for the storage gate).
pub fn check_file(bytes: &[u8]) -> std::result::Result<(), String> {
    let halt: Halt = serde_json::from_slice(bytes).map_err(|e| format!("not a halt: {e}"))?;
    halt.problem().map_or(Ok(()), Err)
}
