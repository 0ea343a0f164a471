//! The `Idempotency-Key` layer of the API, for every POST, PUT, PATCH and DELETE (the rules
//! are in `services::idempotency`): a request with a key it answered before gets that answer
//! again, marked `Idempotent-Replayed: true`.

use super::{ApiError, BODY_LIMIT};
use crate::server::auth::Actor;
use crate::server::services::idempotency::{self, Begin};
use crate::server::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Duration;
use uuid::Uuid;

/// The largest answer kept for replay (API answers to writes are one record).
const KEEP_LIMIT: usize = 4 * 1024 * 1024;

/// How long a request waits for another with the same key to be answered before it is told
/// to come back (409).
const WAIT: Duration = Duration::from_secs(10);

pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match run(state, req, next).await {
        Ok(res) => res,
        Err(err) => err.into_response(),
    }
}

async fn run(state: AppState, req: Request, next: Next) -> Result<Response, ApiError> {
    // Only for an operation the API has: a method a route does not serve is its 405.
    let served = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().strip_prefix("/api/v1").unwrap_or(p.as_str()))
        .is_some_and(|path| super::openapi::serves(path, req.method()));
    let writes = served
        && matches!(
            *req.method(),
            Method::POST | Method::PUT | Method::PATCH | Method::DELETE
        );
    let Some(raw) = req.headers().get("idempotency-key").filter(|_| writes) else {
        return Ok(next.run(req).await);
    };
    let key = raw
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 255)
        .ok_or_else(|| {
            ApiError::invalid(
                "Idempotency-Key",
                "must be 1 to 255 characters of plain text",
            )
        })?
        .to_string();
    // Keys are the organisation's (the key was found in front): a request without a valid
    // API key is left to its handler to refuse.
    let Some(org_id) = req.extensions().get::<Actor>().map(Actor::org_id) else {
        return Ok(next.run(req).await);
    };
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, BODY_LIMIT).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the body is larger than the {} KiB allowed",
                BODY_LIMIT / 1024
            ),
        )
    })?;
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let fingerprint = idempotency::fingerprint(parts.method.as_str(), path, &bytes);
    let started = tokio::time::Instant::now();
    loop {
        match idempotency::begin(&state, org_id, &key, &fingerprint).await? {
            Begin::Proceed => break,
            Begin::Replay {
                status,
                content_type,
                body,
            } => return Ok(replay(status, content_type, body)),
            Begin::Mismatch => {
                return Err(ApiError::invalid(
                    "Idempotency-Key",
                    "was used for a different request; send a new key with a new request",
                ))
            }
            Begin::InProgress if started.elapsed() < WAIT => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Begin::InProgress => {
                let mut e = ApiError::new(
                    StatusCode::CONFLICT,
                    "a request with this Idempotency-Key is still being answered; try again shortly",
                );
                e.0.field = Some("Idempotency-Key".into());
                e.0.retry_after = Some(1);
                return Err(e);
            }
        }
    }
    let mut claim = Claim {
        state: Some(state.clone()),
        org_id,
        key: key.clone(),
    };
    let res = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if res.status().is_server_error() {
        // Not answered: the work may be tried again with the same key (the claim is given
        // back as it drops).
        return Ok(res);
    }
    let (res_parts, res_body) = res.into_parts();
    let body = axum::body::to_bytes(res_body, KEEP_LIMIT)
        .await
        .map_err(|e| ApiError::from(crate::server::error::ServiceError::Internal(e.into())))?;
    let content_type = res_parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let status = res_parts.status.as_u16();
    match idempotency::finish(&state, org_id, &key, status, content_type, &body).await {
        Ok(()) => claim.state = None,
        Err(err) => {
            tracing::warn!(error = %err, "could not keep an answer for its Idempotency-Key")
        }
    }
    Ok(Response::from_parts(res_parts, Body::from(body)))
}

fn replay(status: u16, content_type: Option<String>, body: Vec<u8>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut res = (status, body).into_response();
    if let Some(ct) = content_type.and_then(|c| HeaderValue::from_str(&c).ok()) {
        res.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    res.headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    res
}

/// A key taken and not yet answered: dropped so (the handler failed, or the request was given
/// up or timed out), it is given back, so that the request may be sent again.
struct Claim {
    state: Option<AppState>,
    org_id: Uuid,
    key: String,
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Some(state) = self.state.take() {
            let (org_id, key) = (self.org_id, std::mem::take(&mut self.key));
            tokio::spawn(async move {
                if let Err(err) = idempotency::give_back(&state, org_id, &key).await {
                    tracing::warn!(error = %err, "could not give back an Idempotency-Key");
                }
            });
        }
    }
}
