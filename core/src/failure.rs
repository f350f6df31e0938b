//! What no caller can fix: a backing service that did not answer, or a fault in Dispatch.
//! Every area's error carries one of these beside its own, domain-level variants.

use dispatch_shared::db::DbError;

#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// MySQL or Redis is down or timed out; the same request may succeed shortly.
    #[error("dependency unavailable: {0}")]
    Unavailable(String),
    /// A fault of Dispatch itself; the cause is for the log, not for the client.
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
}

impl Failure {
    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        Failure::Internal(e.into())
    }
}

impl From<DbError> for Failure {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Unavailable(cause) => Failure::Unavailable(cause),
            DbError::Query(q) => q.into(),
            other => Failure::internal(other),
        }
    }
}

impl From<diesel::result::Error> for Failure {
    fn from(e: diesel::result::Error) -> Self {
        if dispatch_shared::db::liveness::is_connection_failure(&e) {
            Failure::Unavailable(e.to_string())
        } else {
            Failure::internal(e)
        }
    }
}

impl From<diesel_async::pooled_connection::bb8::RunError> for Failure {
    fn from(e: diesel_async::pooled_connection::bb8::RunError) -> Self {
        Failure::Unavailable(e.to_string())
    }
}

impl From<redis::RedisError> for Failure {
    fn from(e: redis::RedisError) -> Self {
        Failure::Unavailable(e.to_string())
    }
}

/// Lets `?` turn a store's error straight into an area's error, through `Failure`.
#[macro_export]
macro_rules! failures_convert_into {
    ($($area:ty),+ $(,)?) => {$(
        impl From<dispatch_shared::db::DbError> for $area {
            fn from(e: dispatch_shared::db::DbError) -> Self {
                Self::Failure(e.into())
            }
        }
        impl From<diesel::result::Error> for $area {
            fn from(e: diesel::result::Error) -> Self {
                Self::Failure(e.into())
            }
        }
        impl From<diesel_async::pooled_connection::bb8::RunError> for $area {
            fn from(e: diesel_async::pooled_connection::bb8::RunError) -> Self {
                Self::Failure(e.into())
            }
        }
        impl From<redis::RedisError> for $area {
            fn from(e: redis::RedisError) -> Self {
                Self::Failure(e.into())
            }
        }
    )+};
}
