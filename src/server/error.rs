//! The service layer's error: what went wrong in terms a caller can act on. REST turns it into
//! problem+json, server functions into a message for the page.

use crate::domain::FieldErrors;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("invalid input: {0}")]
    Invalid(FieldErrors),
    #[error("not found")]
    NotFound,
    /// Records the input names (each by its field) do not exist in the organisation: the
    /// request is well formed, what it points at is not found.
    #[error("not found: {0}")]
    Missing(FieldErrors),
    #[error("{message}")]
    Conflict {
        field: Option<String>,
        message: String,
    },
    #[error("sign in first")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("too many attempts; try again in {retry_after} seconds")]
    TooManyRequests { retry_after: u64 },
    /// The database cannot be reached just now (its connection failed, or none could be had
    /// in time): worth trying again shortly, and not a fault of the request.
    #[error("the service is unavailable just now")]
    Unavailable(#[source] anyhow::Error),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for ServiceError {
    fn from(err: sqlx::Error) -> Self {
        if is_unreachable(&err) {
            Self::Unavailable(err.into())
        } else {
            Self::Internal(err.into())
        }
    }
}

/// Whether `err` says the database could not be reached, rather than that a statement failed.
/// A protocol error is counted as such: a connection that closes as it is being opened shows
/// as one ("unexpected response from SSLRequest").
pub fn is_unreachable(err: &sqlx::Error) -> bool {
    matches!(
        err,
        sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
    )
}

/// Seconds a caller is asked to wait before trying again while the database is away.
pub const UNAVAILABLE_RETRY_SECONDS: u64 = 5;

impl From<tower_sessions::session::Error> for ServiceError {
    fn from(err: tower_sessions::session::Error) -> Self {
        Self::Internal(err.into())
    }
}

impl From<FieldErrors> for ServiceError {
    fn from(errors: FieldErrors) -> Self {
        Self::Invalid(errors)
    }
}

impl ServiceError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid(FieldErrors::single(field, message))
    }

    /// The record named by `field` does not exist (in this organisation).
    pub fn missing(field: &str, message: impl Into<String>) -> Self {
        Self::Missing(FieldErrors::single(field, message))
    }

    pub fn conflict(field: &str, message: impl Into<String>) -> Self {
        Self::Conflict {
            field: Some(field.to_string()),
            message: message.into(),
        }
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;
