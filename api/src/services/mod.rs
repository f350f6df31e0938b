//! What handlers call: the operations of each area, free of HTTP details.

pub mod accounts;
pub mod jobs;
pub mod profile;
pub mod sessions;
pub mod throttle;
pub mod user_cache;
