//! One file of the lease ledger's tree: `<id>.json` holds a live lease, `<id>.end` the
//! tombstone of one that ended. Files are fanned out by the id's first two hex digits.

use serde::{Deserialize, Serialize};

use super::Lease;

pub const JSON_SUFFIX: &str = ".json";
pub const END_SUFFIX: &str = ".end";

/// Why a lease ended, kept so that a merge with an older copy never revives it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Tombstone {
    pub id: String,
    pub holder: String,
    /// The lease's own expiry: once it (plus the tolerance) is past, the tombstone goes.
    pub expires: i64,
    pub ended: i64,
    /// release, expire, break, withdraw or drop.
    pub how: String,
}

/// The fan-out directory of a ledger file: the first two hex digits of its lease id.
pub fn fan_dir(name: &str) -> &str {
    name.get(..2).unwrap_or("00")
}

/// Is `bytes`, stored as `name` in a ledger tree, a valid entry? Used by the storage gate
/// for every ledger write and import. `now` and `skew` bound expiries from the future.
pub fn check_entry(
    name: &str,
    bytes: &[u8],
    now: i64,
    skew: i64,
) -> std::result::Result<(), String> {
    if let Some(id) = name.strip_suffix(JSON_SUFFIX) {
        let lease: Lease =
            serde_json::from_slice(bytes).map_err(|e| format!("not a lease: {e}"))?;
        if lease.id != id {
            return Err(format!("holds lease {} under another name", lease.id));
        }
        return lease.problem(now, skew).map_or(Ok(()), Err);
    }
    if let Some(id) = name.strip_suffix(END_SUFFIX) {
        let tomb: Tombstone =
            serde_json::from_slice(bytes).map_err(|e| format!("not a tombstone: {e}"))?;
        if tomb.id != id || !super::is_id(id) {
            return Err("tombstone id does not match its name".to_string());
        }
        if tomb.ended > now + skew {
            return Err(format!(
                "tombstone ended at {} is in the future (now {now}, skew {skew} s)",
                tomb.ended
            ));
        }
        return crate::model::name::validate_name(&tomb.holder).map_err(|e| e.message);
    }
    Err("neither a lease (.json) nor a tombstone (.end)".to_string())
}
