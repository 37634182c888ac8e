//! git-comm: coordinate many coding agents through git alone.
//!
//! State lives in refs under a namespace (default `refs/comm-node/`): mail, cursors,
//! agent cards, the lease ledger and artifacts. Hooks enforce leases and boundaries at
//! commit time; machines meet through an ordinary shared remote.

pub mod agent;
pub mod artifact;
pub mod boundary;
pub mod cli;
pub mod clock;
pub mod config;
pub mod display;
pub mod error;
pub mod failpoint;
pub mod halt;
pub mod hooks;
pub mod lease;
pub mod mail;
pub mod model;
pub mod oversight;
pub mod presence;
pub mod repo;
pub mod server;
pub mod setup;
pub mod sync;
pub mod task;

pub use error::{Error, Result};
