//! Queries, one module per table. Functions take a connection so callers choose transactions.

pub mod admin_users;
pub mod assignments;
pub mod carts;
pub mod categories;
pub mod idempotency_keys;
pub mod job_operations;
pub mod jobs;
pub mod listing;
pub mod orders;
pub mod point_reads;
pub mod products;
pub mod refresh_tokens;
pub mod schedule_runs;
pub mod task_list_versions;
pub mod tasks;
pub mod users;
pub mod welcome_mail;
