pub mod admin_jobs;
pub mod admin_operations;
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

use admin_jobs::AdminJobsApi;
use admin_operations::AdminOperationsApi;
use admin_users::AdminUsersApi;
use assignments::AssignmentsApi;
use auth::AuthApi;
use cart::CartApi;
use categories::CategoriesApi;
use health::HealthApi;
use jobs::JobsApi;
use orders::OrdersApi;
use products::ProductsApi;
use profile::ProfileApi;
use tasks::TasksApi;
use ws_jobs::JobStreamApi;
use ws_tasks::TaskStreamApi;

/// `Apis`, every documented operation in the order the spec lists them, and its value.
macro_rules! documented_apis {
    ($($api:ident),+ $(,)?) => {
        pub type Apis = ($($api,)+);

        pub fn all_apis() -> Apis {
            ($($api,)+)
        }
    };
}

documented_apis!(
    HealthApi,
    AuthApi,
    ProfileApi,
    JobsApi,
    JobStreamApi,
    TasksApi,
    TaskStreamApi,
    AssignmentsApi,
    AdminUsersApi,
    AdminJobsApi,
    AdminOperationsApi,
    CategoriesApi,
    ProductsApi,
    CartApi,
    OrdersApi,
);

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
