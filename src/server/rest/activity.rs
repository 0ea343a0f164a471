//! `/api/v1/activity/login`, `/activity/event` and `/activity/events` (batch).

use super::{object_body, with_id_alias, ApiActor, ApiError};
use crate::domain::activity::{ActivityEvent, ActivityInput};
use crate::server::services::{activity, deserialize_input};
use crate::server::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/activity/login", post(login))
        .route("/activity/event", post(event))
        .route("/activity/events", post(events))
}

fn event_json(e: &ActivityEvent) -> Value {
    with_id_alias(e, "event_id")
}

async fn one(
    state: AppState,
    actor: crate::server::auth::Actor,
    body: Result<Json<Value>, JsonRejection>,
    name: Option<&str>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let input: ActivityInput = deserialize_input(object_body(body)?)?;
    let events = activity::ingest(&state, &actor, &[input], name, false).await?;
    let event = events.first().map(event_json).unwrap_or_default();
    Ok((StatusCode::CREATED, Json(event)))
}

async fn login(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    one(state, actor, body, Some("login")).await
}

async fn event(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    one(state, actor, body, None).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Batch {
    events: Vec<ActivityInput>,
}

async fn events(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let value = object_body(body)?;
    let batch: Batch = deserialize_input(value)?;
    let written = activity::ingest(&state, &actor, &batch.events, None, true).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "accepted": written.len() })),
    ))
}
