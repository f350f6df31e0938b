//! Dispatch's use cases: what each area of the API does, in terms of its own rules, free of
//! HTTP. The HTTP adapter (`dispatch-api`) parses requests into the inputs these take and
//! maps their answers and errors to responses; the worker shares the same rules.
//!
//! Each area is a small service type holding only the dependencies it uses, and returns an
//! error enum of its own whose variants say what went wrong in the area's terms; what no
//! caller can fix (an outage, a fault) is a `Failure` inside it.

pub mod accounts;
pub mod admin_users;
pub mod assignments;
pub mod batching;
pub mod caller;
pub mod catalogue;
pub mod correlation;
pub mod daily_mail;
mod failure;
pub mod jobs;
pub mod listing;
pub mod operations;
pub mod readiness;
pub mod reads;
pub mod services;
pub mod shopping;
pub mod tasks;
pub mod writes;

pub use caller::Caller;
pub use failure::Failure;
pub use services::Services;
