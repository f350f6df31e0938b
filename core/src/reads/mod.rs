//! Reads by id that many requests share: batched statements, and the per-instance user cache.

pub mod batched;
pub mod users;
