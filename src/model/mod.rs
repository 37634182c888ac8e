//! The model layer: every record git comm stores (agent card, lease and tombstone, task,
//! halt, presence, artifact tag metadata, message and its trailers), each with its schema,
//! limits and the transitions allowed and who may make them ([`authority`]).
//!
//! It reads and writes nothing: the storage gate (`crate::repo::gate`) calls it to judge a
//! value, and the commands call it to build one. Nothing here imports a layer above.

pub mod artifact;
pub mod authority;
pub mod card;
pub mod halt;
pub mod lease;
pub mod message;
pub mod name;
pub mod presence;
pub mod spec;
pub mod task;
