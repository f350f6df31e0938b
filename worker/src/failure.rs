/// How a handler's run ended when it did not succeed.
#[derive(Debug)]
pub enum JobFailure {
    /// Retrying cannot help (a username taken meanwhile): the job fails at once.
    Permanent { code: &'static str, message: String },
    /// A dependency was unavailable: the job is retried with backoff.
    Transient(String),
}

impl JobFailure {
    pub fn permanent(code: &'static str, message: impl Into<String>) -> Self {
        JobFailure::Permanent { code, message: message.into() }
    }

    pub fn transient(cause: impl std::fmt::Display) -> Self {
        JobFailure::Transient(cause.to_string())
    }
}

impl From<dispatch_core::Failure> for JobFailure {
    fn from(failure: dispatch_core::Failure) -> Self {
        JobFailure::transient(failure)
    }
}

impl From<diesel::result::Error> for JobFailure {
    fn from(e: diesel::result::Error) -> Self {
        JobFailure::transient(format!("database error: {e}"))
    }
}

impl From<dispatch_shared::db::DbError> for JobFailure {
    fn from(e: dispatch_shared::db::DbError) -> Self {
        JobFailure::transient(e)
    }
}

impl From<diesel_async::pooled_connection::bb8::RunError> for JobFailure {
    fn from(e: diesel_async::pooled_connection::bb8::RunError) -> Self {
        JobFailure::transient(format!("database unavailable: {e}"))
    }
}
