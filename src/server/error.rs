//! The service layer's error: what went wrong in terms a caller can act on. REST turns it into
//! problem+json, server functions into a message for the page.

use crate::domain::FieldErrors;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("invalid input: {0}")]
    Invalid(FieldErrors),
    #[error("not found")]
    NotFound,
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
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for ServiceError {
    fn from(err: sqlx::Error) -> Self {
        Self::Internal(err.into())
    }
}

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

    pub fn conflict(field: &str, message: impl Into<String>) -> Self {
        Self::Conflict {
            field: Some(field.to_string()),
            message: message.into(),
        }
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;
