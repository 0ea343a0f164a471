//! Server functions, one module per area. Each checks the session and role, then calls a
//! service; the types they exchange are shared with the hydrated pages.

pub mod approvals;
pub mod auth;
pub mod calendar;
pub mod campaigns;
pub mod clients;
pub mod comms;
pub mod dates;
pub mod engagement;
pub mod messages;
pub mod projects;
pub mod settings;
pub mod staff;
pub mod vendors;
pub mod webhooks;

use crate::domain::FieldErrors;
use serde::{Deserialize, Serialize};

/// The answer to a form: saved (with the record's id) or the problems to show beside fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FormOutcome {
    Saved(String),
    Invalid(FieldErrors),
}

impl FormOutcome {
    pub fn errors(&self) -> FieldErrors {
        match self {
            FormOutcome::Invalid(errors) => errors.clone(),
            FormOutcome::Saved(_) => FieldErrors::default(),
        }
    }
}

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    //! What every server function needs: the app state, the actor, and error mapping.

    use super::FormOutcome;
    use crate::domain::SessionUser;
    use crate::server::auth::Actor;
    use crate::server::error::ServiceError;
    use crate::server::AppState;
    use axum::http::StatusCode;
    use leptos::prelude::{use_context, ServerFnError};
    use leptos_axum::ResponseOptions;

    pub fn state() -> Result<AppState, ServerFnError> {
        use_context::<AppState>().ok_or_else(|| ServerFnError::new("application state missing"))
    }

    fn set_status(status: StatusCode) {
        if let Some(res) = use_context::<ResponseOptions>() {
            res.set_status(status);
        }
    }

    pub fn session_user() -> Option<SessionUser> {
        use_context::<axum::http::request::Parts>()
            .and_then(|parts| crate::server::auth::guard::current_user(&parts))
    }

    /// The signed-in staff member as an actor, or a 401.
    pub fn actor() -> Result<(AppState, Actor), ServerFnError> {
        let state = state()?;
        match session_user() {
            Some(user) => Ok((state, Actor::Staff(user))),
            None => {
                set_status(StatusCode::UNAUTHORIZED);
                Err(ServerFnError::new(
                    "Your session has ended. Please sign in again.",
                ))
            }
        }
    }

    /// A record's id from the page; one that is not an id names nothing (404).
    pub fn parse_id(id: &str) -> Result<uuid::Uuid, ServerFnError> {
        uuid::Uuid::parse_str(id.trim()).map_err(|_| fail(ServiceError::NotFound))
    }

    /// An optional id from a form field (empty is none).
    pub fn optional_id(id: &str) -> Result<Option<uuid::Uuid>, ServerFnError> {
        match id.trim() {
            "" => Ok(None),
            other => parse_id(other).map(Some),
        }
    }

    /// Maps a service error to a message and status for the page.
    pub fn fail(err: ServiceError) -> ServerFnError {
        let (status, message) = match &err {
            ServiceError::Invalid(e) => (StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
            ServiceError::NotFound => (StatusCode::NOT_FOUND, "Not found.".to_string()),
            ServiceError::Missing(e) => (StatusCode::NOT_FOUND, e.to_string()),
            ServiceError::Conflict { message, .. } => (StatusCode::CONFLICT, message.clone()),
            ServiceError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "Please sign in again.".to_string(),
            ),
            ServiceError::Forbidden(m) => (StatusCode::FORBIDDEN, format!("Not allowed: {m}.")),
            ServiceError::TooManyRequests { retry_after } => (
                StatusCode::TOO_MANY_REQUESTS,
                format!("Too many attempts; try again in {retry_after} s."),
            ),
            ServiceError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "the database is unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The database cannot be reached just now; try again in a moment.".to_string(),
                )
            }
            ServiceError::Internal(cause) => {
                tracing::error!(error = ?cause, "server function failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong on our side; it has been logged.".to_string(),
                )
            }
        };
        set_status(status);
        ServerFnError::new(message)
    }

    /// Validation and conflicts on a field go back to the form; anything else is an error.
    pub fn form_result(result: Result<String, ServiceError>) -> Result<FormOutcome, ServerFnError> {
        match result {
            Ok(id) => Ok(FormOutcome::Saved(id)),
            Err(ServiceError::Invalid(errors) | ServiceError::Missing(errors)) => {
                Ok(FormOutcome::Invalid(errors))
            }
            Err(ServiceError::Conflict {
                field: Some(field),
                message,
            }) => Ok(FormOutcome::Invalid(crate::domain::FieldErrors::single(
                &field, message,
            ))),
            Err(other) => Err(fail(other)),
        }
    }
}
