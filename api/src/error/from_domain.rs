//! What each area's errors mean to an HTTP client: status, problem type and message.

use dispatch_core::accounts::profile::ProfileError;
use dispatch_core::accounts::throttle::TooManyAttempts;
use dispatch_core::accounts::{AccountError, Taken};
use dispatch_core::admin_users::AdminUserError;
use dispatch_core::assignments::AssignmentError;
use dispatch_core::caller::NotAdmin;
use dispatch_core::catalogue::CatalogueError;
use dispatch_core::daily_mail::DailyMailError;
use dispatch_core::jobs::{JobError, JobFailure};
use dispatch_core::operations::OperationsError;
use dispatch_core::shopping::ShoppingError;
use dispatch_core::tasks::TaskError;
use dispatch_shared::domain::{ValidationErrors, MAX_ORDER_AMOUNT};

use super::ApiError;

/// A conflict whose message also stands against one field.
fn field_conflict(slug: &'static str, field: &str, message: String) -> ApiError {
    ApiError::Conflict {
        slug,
        detail: message.clone(),
        errors: Some(ValidationErrors::single(field, message)),
    }
}

fn conflict(slug: &'static str, detail: impl Into<String>) -> ApiError {
    ApiError::Conflict { slug, detail: detail.into(), errors: None }
}

impl From<NotAdmin> for ApiError {
    fn from(_: NotAdmin) -> Self {
        ApiError::Forbidden("Only admins may do this.".into())
    }
}

impl From<TooManyAttempts> for ApiError {
    fn from(e: TooManyAttempts) -> Self {
        ApiError::TooManyRequests { retry_after: e.retry_after }
    }
}

impl From<Taken> for ApiError {
    fn from(taken: Taken) -> Self {
        let mut errors = ValidationErrors::new();
        if taken.username {
            errors.add("username", "A user with that username already exists.");
        }
        if taken.email {
            errors.add("email", "A user with that email already exists.");
        }
        let slug = if taken.username { "username-taken" } else { "email-taken" };
        ApiError::Conflict { slug, detail: errors.to_string(), errors: Some(errors) }
    }
}

impl From<JobFailure> for ApiError {
    fn from(failure: JobFailure) -> Self {
        match failure {
            JobFailure::UsernameTaken(m) => field_conflict("username-taken", "username", m),
            JobFailure::EmailTaken(m) => field_conflict("email-taken", "email", m),
            JobFailure::ImageUnreadable(m) => ApiError::field("image", m),
            JobFailure::NotDone(m) => ApiError::Unavailable(m),
            other @ JobFailure::Other { .. } => ApiError::internal(anyhow::anyhow!("{other}")),
        }
    }
}

impl From<JobError> for ApiError {
    fn from(e: JobError) -> Self {
        match e {
            JobError::NotFound => ApiError::NotFound,
            JobError::Failed(failure) => failure.into(),
            JobError::Failure(f) => f.into(),
        }
    }
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::TooManyAttempts(e) => e.into(),
            AccountError::Taken(taken) => taken.into(),
            AccountError::BadCredentials => {
                ApiError::Unauthorized("No active account found with the given credentials.".into())
            }
            AccountError::Deactivated => ApiError::Forbidden("This account is deactivated.".into()),
            AccountError::Unauthenticated(why) => ApiError::Unauthorized(why.to_string()),
            AccountError::RefreshRefused => {
                ApiError::Unauthorized("The refresh token is invalid, expired or revoked.".into())
            }
            AccountError::TokenRefused => {
                ApiError::Unauthorized("Token is invalid or expired.".into())
            }
            AccountError::Invalid(errors) => ApiError::Validation(errors),
            AccountError::Registration(job) => job.into(),
            AccountError::Gone => ApiError::NotFound,
            AccountError::Failure(f) => f.into(),
        }
    }
}

impl From<ProfileError> for ApiError {
    fn from(e: ProfileError) -> Self {
        match e {
            ProfileError::Taken(taken) => taken.into(),
            ProfileError::TooManyAttempts(e) => e.into(),
            ProfileError::Invalid(errors) => ApiError::Validation(errors),
            ProfileError::Gone => ApiError::NotFound,
            ProfileError::Failure(f) => f.into(),
        }
    }
}

impl From<AdminUserError> for ApiError {
    fn from(e: AdminUserError) -> Self {
        match e {
            AdminUserError::NotAdmin(e) => e.into(),
            AdminUserError::NotFound => ApiError::NotFound,
            AdminUserError::Taken(taken) => taken.into(),
            AdminUserError::LastAdmin => conflict(
                "last-admin",
                "This would leave no active admin; make another user an admin first.",
            ),
            AdminUserError::Failure(f) => f.into(),
        }
    }
}

impl From<TaskError> for ApiError {
    fn from(e: TaskError) -> Self {
        match e {
            TaskError::NotFound => ApiError::NotFound,
            TaskError::Failure(f) => f.into(),
        }
    }
}

impl From<AssignmentError> for ApiError {
    fn from(e: AssignmentError) -> Self {
        match e {
            AssignmentError::NotFound => ApiError::NotFound,
            AssignmentError::AssigneeUnavailable => {
                ApiError::field("user_id", "No active user has this id.")
            }
            AssignmentError::AlreadyAssigned { date } => conflict(
                "already-assigned",
                format!("This task is already assigned to this user on {date}."),
            ),
            AssignmentError::DailyLimitReached { limit, date } => conflict(
                "daily-limit-reached",
                format!(
                    "The user already has {limit} task(s) assigned on {date}, their daily limit."
                ),
            ),
            AssignmentError::Failure(f) => f.into(),
        }
    }
}

impl From<CatalogueError> for ApiError {
    fn from(e: CatalogueError) -> Self {
        match e {
            CatalogueError::NotAdmin(e) => e.into(),
            CatalogueError::NotFound => ApiError::NotFound,
            CatalogueError::UnknownCategory => {
                ApiError::field("category_id", "No category with this id.")
            }
            CatalogueError::CategoryExists(name) => field_conflict(
                "category-exists",
                "name",
                format!("A category named \"{}\" already exists.", name.as_str()),
            ),
            CatalogueError::CategoryInUse => conflict(
                "category-in-use",
                "The category still has products; move or delete them first.",
            ),
            CatalogueError::ImageRefused(message) => ApiError::field("image", message),
            CatalogueError::Resize(job) => job.into(),
            CatalogueError::Failure(f) => f.into(),
        }
    }
}

impl From<ShoppingError> for ApiError {
    fn from(e: ShoppingError) -> Self {
        match e {
            ShoppingError::NotFound => ApiError::NotFound,
            ShoppingError::UnknownProduct => {
                ApiError::field("product_id", "No product with this id.")
            }
            ShoppingError::InsufficientStock { available } => field_conflict(
                "insufficient-stock",
                "quantity",
                format!("Only {available} in stock."),
            ),
            ShoppingError::LineTooLarge => ApiError::field(
                "quantity",
                format!(
                    "The line would cost more than an order can hold ({MAX_ORDER_AMOUNT}); \
                     order fewer."
                ),
            ),
            ShoppingError::EmptyCart => conflict("empty-cart", "The cart is empty."),
            ShoppingError::OrderTooLarge { total } => field_conflict(
                "order-total-too-large",
                "total",
                format!(
                    "The order would come to {total}, more than an order can hold \
                     ({MAX_ORDER_AMOUNT}); nothing was ordered. Remove or reduce lines."
                ),
            ),
            ShoppingError::ShortAtCheckout(shortages) => {
                let mut errors = ValidationErrors::new();
                let mut parts = Vec::new();
                for s in &shortages {
                    let message =
                        format!("{}: {} requested, {} in stock.", s.name, s.requested, s.available);
                    errors.add(&s.product_id.to_string(), message.clone());
                    parts.push(message);
                }
                ApiError::Conflict {
                    slug: "insufficient-stock",
                    detail: format!("Not enough stock; nothing was ordered. {}", parts.join(" ")),
                    errors: Some(errors),
                }
            }
            ShoppingError::Failure(f) => f.into(),
        }
    }
}

impl From<DailyMailError> for ApiError {
    fn from(e: DailyMailError) -> Self {
        match e {
            DailyMailError::NotAdmin(e) => e.into(),
            DailyMailError::Run(job) => job.into(),
            DailyMailError::Failure(f) => f.into(),
        }
    }
}

impl From<OperationsError> for ApiError {
    fn from(e: OperationsError) -> Self {
        match e {
            OperationsError::NotAdmin(e) => e.into(),
            OperationsError::NotFound => ApiError::NotFound,
            OperationsError::NotFailed => conflict(
                "job-not-failed",
                "Only a failed job can be retried; this one has not failed.",
            ),
            OperationsError::Failure(f) => f.into(),
        }
    }
}
