//! `/api/v1/reminders`: list with `status_filter`, create, read, change, delete, history and
//! retry.

use super::{object_body, patch_body, path_id, with_id_alias, ApiActor, ApiError};
use crate::domain::dates::ReminderRuleInput;
use crate::server::services::deserialize_input;
use crate::server::services::reminders::{self, ListQuery};
use crate::server::AppState;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/reminders", get(list).post(create))
        .route("/reminders/{id}", get(read).put(update).delete(remove))
        .route("/reminders/{id}/history", get(history))
        .route("/reminders/{id}/retry", post(retry))
        .route("/reminders/{id}/cancel", post(cancel))
}

fn json(r: &crate::domain::dates::ReminderRule) -> Value {
    with_id_alias(r, "reminder_rule_id")
}

#[derive(Deserialize)]
struct ListParams {
    person_id: Option<String>,
    date_item_id: Option<String>,
    status_filter: Option<String>,
    skip: Option<i64>,
    limit: Option<i64>,
}

fn query_id(field: &str, raw: Option<&str>) -> Result<Option<uuid::Uuid>, ApiError> {
    match raw.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => uuid::Uuid::parse_str(s)
            .map(Some)
            .map_err(|_| ApiError::invalid(field, format!("'{s}' is not an id"))),
    }
}

async fn list(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(p) = params?;
    let q = ListQuery {
        person_id: query_id("person_id", p.person_id.as_deref())?,
        date_item_id: query_id("date_item_id", p.date_item_id.as_deref())?,
        status: reminders::parse_status_filter(p.status_filter.as_deref())?,
        due_by: None,
        due_from: None,
        skip: p.skip.unwrap_or(0),
        limit: p.limit.unwrap_or(50),
    };
    let items = reminders::list(&state, &actor, q).await?;
    Ok(super::items_json(&items, json, None))
}

async fn create(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let input: ReminderRuleInput = deserialize_input(object_body(body)?)?;
    let r = reminders::create(&state, &actor, &input).await?;
    Ok((StatusCode::CREATED, Json(json(&r))).into_response())
}

async fn read(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let r = reminders::get(&state, &actor, path_id(&id, "reminder")?).await?;
    Ok(Json(json(&r)))
}

async fn update(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let r = reminders::patch(&state, &actor, path_id(&id, "reminder")?, patch_body(body)?).await?;
    Ok(Json(json(&r)))
}

async fn remove(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    reminders::delete(&state, &actor, path_id(&id, "reminder")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn history(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let items = reminders::history(&state, &actor, path_id(&id, "reminder")?).await?;
    Ok(Json(serde_json::json!({ "items": items })))
}

async fn retry(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let r = reminders::retry(&state, &actor, path_id(&id, "reminder")?).await?;
    Ok(Json(json(&r)))
}

async fn cancel(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let r = reminders::cancel(&state, &actor, path_id(&id, "reminder")?).await?;
    Ok(Json(json(&r)))
}
