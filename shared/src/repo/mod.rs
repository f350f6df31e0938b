//! Queries, one module per table. Functions take a connection so callers choose transactions.

pub mod jobs;
pub mod refresh_tokens;
pub mod users;
