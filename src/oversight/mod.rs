//! Oversight: what the people running a swarm look at and act with. The board (`watch`),
//! the event history and its HTML report, per-agent statistics and token budgets, and
//! retiring an agent. Everything is read from the refs the other modules write; nothing
//! here adds state of its own beyond the retired mark on a card.

pub mod board;
pub mod events;
pub mod report;
pub mod retire;
pub mod standing;
pub mod stats;
