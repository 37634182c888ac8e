//! The message model and its commit codec live in [`crate::model::message`].

pub use crate::model::message::*;
