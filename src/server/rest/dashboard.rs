//! `/api/v1/persons/{id}/dashboard` (the profile page's data) and `/persons/{id}/activity`
//! (the unified timeline).

use super::persons::PersonResource;
use super::{items_json, path_id, ApiActor, ApiError};
use crate::domain::profile::TimelineEntry;
use crate::server::services::dashboard;
use crate::server::AppState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/persons/{id}/dashboard", get(read_dashboard))
        .route("/persons/{id}/activity", get(timeline))
}

async fn read_dashboard(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let d = dashboard::dashboard(&state, &actor, path_id(&id, "person")?).await?;
    let list = |values: Vec<Value>| Value::Array(values);
    Ok(Json(json!({
        "person": PersonResource::from(d.person),
        "recent_conversations": list(d.recent_conversations.iter().map(super::comms::conversation_json).collect()),
        "upcoming_dates": list(d.upcoming_dates.iter().map(super::dates::upcoming_json).collect()),
        "active_projects": list(d.active_projects.iter().map(super::projects::project_json).collect()),
        "recent_recommendations": list(d.recent_recommendations.iter().map(super::vendors::recommendation_json).collect()),
        "identities": d.identities,
        "stats": d.stats,
    })))
}

#[derive(Deserialize)]
struct TimelineParams {
    limit: Option<i64>,
}

fn entry_json(e: &TimelineEntry) -> Value {
    serde_json::to_value(e).unwrap_or_default()
}

async fn timeline(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    params: Result<Query<TimelineParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(p) = params?;
    let items = dashboard::timeline(
        &state,
        &actor,
        path_id(&id, "person")?,
        p.limit.unwrap_or(50),
    )
    .await?;
    Ok(items_json(&items, entry_json, None))
}
