pub mod auth;
pub mod health;
pub mod jobs;
pub mod profile;
pub mod ws_jobs;

use poem_openapi::Tags;

#[derive(Tags)]
pub enum ApiTags {
    /// Registration, login, tokens and the caller's profile.
    Auth,
    /// Background jobs: poll their state or acknowledge their results.
    Jobs,
    /// Liveness and readiness probes.
    Health,
}
