//! The versioned JSON API under `/api/v1`: bearer-key authentication, problem+json errors
//! (RFC 9457), and one router per resource.

mod persons;
pub mod problem;

use crate::server::auth::Actor;
use crate::server::services::api_keys;
use crate::server::AppState;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::Router;
pub use problem::ApiError;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(persons::router())
        .fallback(|req: Request| async move {
            ApiError::not_found(format!(
                "there is no API route {} {}",
                req.method(),
                req.uri().path()
            ))
        })
}

/// The organisation's API key, from `Authorization: Bearer <key>`.
pub struct ApiActor(pub Actor);

impl FromRequestParts<AppState> for ApiActor {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                ApiError::unauthorized("send an API key as Authorization: Bearer <key>")
            })?;
        let key = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                ApiError::unauthorized("the Authorization header must be Bearer <key>")
            })?;
        api_keys::authenticate(state, key)
            .await
            .map(ApiActor)
            .map_err(|e| match e {
                crate::server::error::ServiceError::Unauthorized => {
                    ApiError::unauthorized("the API key is unknown or revoked")
                }
                other => other.into(),
            })
    }
}
