//! Leases: the model (what a lease is, overlap and conflict rules) lives in
//! [`crate::model::lease`]; this module adds the ledger ref that stores them.

mod cache;
pub mod ledger;

pub use crate::model::lease::*;
pub use ledger::{live_leases, Event};
