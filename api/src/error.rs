//! The API layer's one error type, converted to problem details in one place; what each
//! area's errors mean in HTTP terms is decided in `from_domain`, and nowhere else.

mod from_domain;

use std::time::Duration;

use dispatch_core::Failure;
use dispatch_shared::db::DbError;
use dispatch_shared::domain::ValidationErrors;
use poem::http::{header, HeaderValue, StatusCode};
use poem::{IntoResponse, Response};
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::{types::Type, ApiResponse};

use crate::problem::{Problem, CONTENT_TYPE};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid input: {0}")]
    Validation(ValidationErrors),
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("conflict ({slug}): {detail}")]
    Conflict { slug: &'static str, detail: String, errors: Option<ValidationErrors> },
    #[error("the Idempotency-Key is in use by a request still being handled")]
    IdempotencyKeyInUse,
    #[error("the Idempotency-Key was used with another body")]
    IdempotencyKeyReused,
    #[error("payload too large: {0}")]
    PayloadTooLarge(String),
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    #[error("too many requests")]
    TooManyRequests { retry_after: Duration },
    #[error("dependency unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
}

impl ApiError {
    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(e.into())
    }

    pub fn field(field: &str, message: impl Into<String>) -> Self {
        ApiError::Validation(ValidationErrors::single(field, message))
    }

    pub fn problem(&self) -> Problem {
        match self {
            ApiError::Validation(errors) => {
                Problem::new(StatusCode::BAD_REQUEST, "validation-error", "Invalid input.")
                    .with_detail(errors.to_string())
                    .with_errors(errors.clone().into_map())
            }
            ApiError::MalformedJson(detail) => {
                Problem::new(StatusCode::BAD_REQUEST, "malformed-json", "Malformed JSON.")
                    .with_detail(detail.clone())
            }
            ApiError::BadRequest(detail) => {
                Problem::new(StatusCode::BAD_REQUEST, "bad-request", "Bad request.")
                    .with_detail(detail.clone())
            }
            ApiError::Unauthorized(detail) => Problem::new(
                StatusCode::UNAUTHORIZED,
                "not-authenticated",
                "Authentication required.",
            )
            .with_detail(detail.clone()),
            ApiError::Forbidden(detail) => {
                Problem::new(StatusCode::FORBIDDEN, "forbidden", "Not allowed.")
                    .with_detail(detail.clone())
            }
            ApiError::NotFound => Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found.")
                .with_detail("No such resource."),
            ApiError::Conflict { slug, detail, errors } => {
                let p = Problem::new(StatusCode::CONFLICT, slug, "Conflict.")
                    .with_detail(detail.clone());
                match errors {
                    Some(e) => p.with_errors(e.clone().into_map()),
                    None => p,
                }
            }
            ApiError::IdempotencyKeyInUse => Problem::new(
                StatusCode::CONFLICT,
                "idempotency-key-in-use",
                "Idempotency key in use.",
            )
            .with_detail(
                "A request with this Idempotency-Key is still being handled; repeat it once \
                 that one has been answered.",
            ),
            ApiError::IdempotencyKeyReused => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "Idempotency key reused.",
            )
            .with_detail(
                "This Idempotency-Key was used with a different request body; use a new key \
                 for a new request.",
            ),
            ApiError::PayloadTooLarge(detail) => Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Request body too large.",
            )
            .with_detail(detail.clone()),
            ApiError::UnsupportedMediaType(detail) => Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type.",
            )
            .with_detail(detail.clone()),
            ApiError::TooManyRequests { retry_after } => Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-requests",
                "Too many attempts.",
            )
            .with_detail(format!("Try again in {} seconds.", retry_after.as_secs().max(1))),
            ApiError::Unavailable(_) => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "service-unavailable",
                "Service temporarily unavailable.",
            )
            .with_detail("A backing service is unavailable; try again shortly."),
            ApiError::Internal(_) => Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal-error",
                "Internal server error.",
            )
            .with_detail("The error was logged."),
        }
    }
}

impl From<Failure> for ApiError {
    fn from(e: Failure) -> Self {
        match e {
            Failure::Unavailable(cause) => ApiError::Unavailable(cause),
            Failure::Internal(cause) => ApiError::Internal(cause),
        }
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        Failure::from(e).into()
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        Failure::from(e).into()
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(e: ValidationErrors) -> Self {
        ApiError::Validation(e)
    }
}

pub const RETRY_AFTER_SECS: u64 = 5;

impl poem::error::ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        self.problem().status_code()
    }

    fn as_response(&self) -> Response {
        match self {
            // The cause goes to the log with its chain; the client gets a generic problem.
            ApiError::Internal(cause) => tracing::error!(error = ?cause, "request failed"),
            ApiError::Unavailable(cause) => tracing::warn!(%cause, "dependency unavailable"),
            _ => {}
        }
        let mut response = self.problem().into_response();
        let retry_after = match self {
            ApiError::Unavailable(_) => Some(RETRY_AFTER_SECS),
            ApiError::TooManyRequests { retry_after } => Some(retry_after.as_secs().max(1)),
            _ => None,
        };
        if matches!(self, ApiError::Unauthorized(_)) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = retry_after {
            if let Ok(value) = secs.to_string().parse() {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

impl ApiResponse for ApiError {
    fn meta() -> MetaResponses {
        let problem = |status: u16, description: &'static str| MetaResponse {
            description,
            status: Some(status),
            status_range: None,
            content: vec![MetaMediaType {
                content_type: CONTENT_TYPE,
                schema: Problem::schema_ref(),
            }],
            headers: vec![],
        };
        MetaResponses {
            responses: vec![
                problem(400, "Malformed JSON or invalid fields (see `errors`)."),
                problem(401, "Missing, invalid or expired credentials."),
                problem(403, "Not allowed."),
                problem(404, "No such resource (or not yours)."),
                problem(409, "Conflict with the current state."),
                problem(413, "Body too large."),
                problem(415, "The body is not JSON."),
                problem(429, "Too many attempts; see Retry-After."),
                problem(503, "MySQL or Redis unavailable; see Retry-After."),
            ],
        }
    }

    fn register(registry: &mut Registry) {
        Problem::register(registry);
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
