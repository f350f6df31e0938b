//! What the API and the worker share: configuration, the database, domain types, auth
//! primitives, job definitions and the event bus.

pub mod auth;
pub mod config;
pub mod db;
pub mod domain;
pub mod events;
pub mod idempotency;
pub mod jobs;
pub mod media;
pub mod memory;
pub mod models;
pub mod product_cache;
pub mod redis_conn;
pub mod repo;
pub mod telemetry;
