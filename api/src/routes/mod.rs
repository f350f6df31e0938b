pub mod admin_jobs;
pub mod admin_users;
pub mod assignments;
pub mod auth;
pub mod cart;
pub mod categories;
pub mod health;
pub mod jobs;
pub mod orders;
pub mod products;
pub mod profile;
pub mod tasks;
pub mod ws;
pub mod ws_jobs;
pub mod ws_tasks;

use poem_openapi::Tags;

#[derive(Tags)]
pub enum ApiTags {
    /// Registration, login, tokens and the caller's profile.
    Auth,
    /// Background jobs: poll their state or acknowledge their results.
    Jobs,
    /// The caller's tasks and their live stream.
    Tasks,
    /// Tasks assigned to users per date, within a daily limit.
    Assignments,
    /// The admin dashboard: every user, activation, admin rights and limits; jobs started by hand.
    Admin,
    /// Categories and products; reads for anyone signed in, writes for admins.
    Catalogue,
    /// The caller's cart, checkout and orders.
    Shop,
    /// Liveness and readiness probes.
    Health,
}
