//! dispatch-worker as a library, so tests can run the real worker in-process.

pub mod acked_events;
pub mod context;
pub mod failure;
pub mod handlers;
pub mod health;
pub mod heartbeat;
pub mod imaging;
pub mod mail;
pub mod maintenance;
pub mod metrics_server;
pub mod patience;
pub mod runner;
pub mod schedule;
pub mod script_call;
pub mod single_commit;
pub mod wake;
pub mod workers;
