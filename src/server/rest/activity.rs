//! `/api/v1/activity/login`, `/activity/event` and `/activity/events` (batch).

use super::{object_body, resource, ApiActor, ApiError};
use crate::domain::activity::{ActivityEvent, ActivityInput};
use crate::server::services::{activity, deserialize_input};
use crate::server::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(login))
        .routes(routes!(event))
        .routes(routes!(events))
}

resource!(
    /// An activity event as recorded.
    EventResource(ActivityEvent) { event_id }
);

/// How many events of a batch were recorded.
#[derive(Serialize, utoipa::ToSchema)]
struct Accepted {
    accepted: usize,
}

async fn one(
    state: AppState,
    actor: crate::server::auth::Actor,
    body: Result<Json<Value>, JsonRejection>,
    name: Option<&str>,
) -> Result<(StatusCode, Json<EventResource>), ApiError> {
    let input: ActivityInput = deserialize_input(object_body(body)?)?;
    let events = activity::ingest(&state, &actor, &[input], name, false).await?;
    let event = events
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::invalid("name", "no event was recorded"))?;
    Ok((StatusCode::CREATED, Json(event.into())))
}

#[utoipa::path(post, path = "/activity/login", tag = "Activity", summary = "Report that a person signed in to the client app",
    request_body = ActivityInput,
    responses((status = 201, description = "Recorded", body = EventResource)))]
async fn login(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<EventResource>), ApiError> {
    one(state, actor, body, Some("login")).await
}

#[utoipa::path(post, path = "/activity/event", tag = "Activity", summary = "Report one activity event (person by person_id or external_id)",
    request_body = ActivityInput,
    responses((status = 201, description = "Recorded", body = EventResource)))]
async fn event(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<EventResource>), ApiError> {
    one(state, actor, body, None).await
}

/// A batch of events, recorded all or none.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Batch {
    #[schema(max_items = 1000)]
    events: Vec<ActivityInput>,
}

#[utoipa::path(post, path = "/activity/events", tag = "Activity", summary = "Report a batch of events, all or nothing",
    request_body = Batch,
    responses((status = 201, description = "Recorded", body = Accepted)))]
async fn events(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let value = object_body(body)?;
    let batch: Batch = deserialize_input(value)?;
    let written = activity::ingest(&state, &actor, &batch.events, None, true).await?;
    Ok((
        StatusCode::CREATED,
        Json(Accepted {
            accepted: written.len(),
        }),
    ))
}
