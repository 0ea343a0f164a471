//! Problem details (RFC 9457) for every API error. Internal causes are logged with the
//! correlation id and never shown to the caller.

use crate::domain::FieldError;
use crate::server::error::ServiceError;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error, as problem details (RFC 9457).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// The HTTP status's reason.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong, in words.
    pub detail: String,
    /// The field that is wrong, on 409 and 422.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every field that is wrong, on 422.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

#[derive(Debug)]
pub struct ApiError(pub Box<Problem>);

impl ApiError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        let title = status.canonical_reason().unwrap_or("Error").to_string();
        let slug = title.to_lowercase().replace(' ', "-");
        Self(Box::new(Problem {
            kind: format!("https://concierge.dev/problems/{slug}"),
            title,
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
            errors: Vec::new(),
            retry_after: None,
        }))
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, detail)
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    pub fn invalid(field: &str, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{field}: {detail}"),
        );
        e.0.field = Some(field.to_string());
        e.0.errors = vec![FieldError {
            field: field.to_string(),
            message: detail,
        }];
        e
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::Invalid(errors) => {
                let mut e = Self::new(StatusCode::UNPROCESSABLE_ENTITY, errors.to_string());
                e.0.field = errors.0.first().map(|f| f.field.clone());
                e.0.errors = errors.0;
                e
            }
            ServiceError::NotFound => Self::not_found("no such record in this organisation"),
            ServiceError::Missing(errors) => {
                let mut e = Self::not_found(errors.to_string());
                e.0.field = errors.0.first().map(|f| f.field.clone());
                e.0.errors = errors.0;
                e
            }
            ServiceError::Conflict { field, message } => {
                let mut e = Self::new(StatusCode::CONFLICT, message);
                e.0.field = field;
                e
            }
            ServiceError::Unauthorized => Self::unauthorized("authentication required"),
            ServiceError::Forbidden(message) => Self::new(StatusCode::FORBIDDEN, message),
            ServiceError::TooManyRequests { retry_after } => {
                let mut e = Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("try again in {retry_after} seconds"),
                );
                e.0.retry_after = Some(retry_after);
                e
            }
            ServiceError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "the database is unavailable");
                let mut e = Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the database cannot be reached just now; try again shortly",
                );
                e.0.retry_after = Some(crate::server::error::UNAVAILABLE_RETRY_SECONDS);
                e
            }
            ServiceError::Internal(cause) => {
                tracing::error!(error = ?cause, "internal error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "something went wrong on our side; it has been logged",
                )
            }
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send the body as Content-Type: application/json",
            ),
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the body is larger than the {} KiB allowed",
                    super::BODY_LIMIT / 1024
                ),
            ),
            other => {
                Self::bad_request(format!("the body is not valid JSON: {}", other.body_text()))
            }
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        let text = rejection.body_text();
        let field = text
            .split("field `")
            .nth(1)
            .or_else(|| text.split(": ").nth(1))
            .and_then(|rest| rest.split(['`', ':', ' ']).next())
            .filter(|f| !f.is_empty())
            .unwrap_or("query")
            .to_string();
        Self::invalid(&field, text)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry_after = self.0.retry_after;
        let body = serde_json::to_vec(&self.0).unwrap_or_default();
        let mut res = (status, body).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        res
    }
}
