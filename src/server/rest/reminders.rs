//! `/api/v1/reminders`: list with `status_filter`, create, read, change, delete, history and
//! retry.

use super::dates::ReminderRuleResource;
use super::{object_body, patch_body, path_id, ApiActor, ApiError, IdParam, Items};
use crate::domain::dates::ReminderRuleInput;
use crate::server::services::deserialize_input;
use crate::server::services::reminders::{self, HistoryEntry, ListQuery};
use crate::server::AppState;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(list, create))
        .routes(routes!(read, update, remove))
        .routes(routes!(history))
        .routes(routes!(retry))
        .routes(routes!(cancel))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// Only this person's.
    person_id: Option<Uuid>,
    /// Only this date's.
    date_item_id: Option<Uuid>,
    /// `pending`, `sent`, `failed` or `cancelled` (`all` or empty for every one).
    #[param(pattern = r"^\s*(all|pending|sent|failed|cancelled)?\s*$")]
    status_filter: Option<String>,
    /// How many to skip.
    #[param(minimum = 0)]
    skip: Option<i64>,
    /// How many to return (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/reminders", tag = "Reminders", summary = "List reminders",
    params(ListParams), responses((status = 200, description = "The reminders, soonest first", body = Items<ReminderRuleResource>)))]
async fn list(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<Items<ReminderRuleResource>>, ApiError> {
    let Query(p) = params?;
    let q = ListQuery {
        person_id: p.person_id,
        date_item_id: p.date_item_id,
        status: reminders::parse_status_filter(p.status_filter.as_deref())?,
        due_by: None,
        due_from: None,
        skip: p.skip.unwrap_or(0),
        limit: p.limit.unwrap_or(50),
    };
    let items = reminders::list(&state, &actor, q).await?;
    Ok(Items::of(items))
}

#[utoipa::path(post, path = "/reminders", tag = "Reminders", summary = "Create a reminder (scheduled, or lead time on a date)",
    request_body = ReminderRuleInput, responses((status = 201, description = "Created", body = ReminderRuleResource)))]
async fn create(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<ReminderRuleResource>), ApiError> {
    let input: ReminderRuleInput = deserialize_input(object_body(body)?)?;
    let r = reminders::create(&state, &actor, &input).await?;
    Ok((StatusCode::CREATED, Json(r.into())))
}

#[utoipa::path(get, path = "/reminders/{id}", tag = "Reminders", summary = "Read a reminder",
    params(IdParam), responses((status = 200, description = "The reminder", body = ReminderRuleResource)))]
async fn read(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<ReminderRuleResource>, ApiError> {
    let r = reminders::get(&state, &actor, path_id(&id, "reminder")?).await?;
    Ok(Json(r.into()))
}

#[utoipa::path(put, path = "/reminders/{id}", tag = "Reminders", summary = "Change a reminder (fields present replace)",
    params(IdParam), request_body = ReminderRuleInput,
    responses((status = 200, description = "The reminder as changed", body = ReminderRuleResource)))]
async fn update(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<ReminderRuleResource>, ApiError> {
    let r = reminders::patch(&state, &actor, path_id(&id, "reminder")?, patch_body(body)?).await?;
    Ok(Json(r.into()))
}

#[utoipa::path(delete, path = "/reminders/{id}", tag = "Reminders", summary = "Delete a reminder",
    params(IdParam), responses((status = 204, description = "Deleted")))]
async fn remove(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    reminders::delete(&state, &actor, path_id(&id, "reminder")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/reminders/{id}/history", tag = "Reminders", summary = "What happened to a reminder, oldest first",
    params(IdParam), responses((status = 200, description = "Its changes and deliveries", body = Items<HistoryEntry>)))]
async fn history(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<Items<HistoryEntry>>, ApiError> {
    let items = reminders::history(&state, &actor, path_id(&id, "reminder")?).await?;
    Ok(Items::of(items))
}

#[utoipa::path(post, path = "/reminders/{id}/retry", tag = "Reminders", summary = "Retry a failed reminder",
    params(IdParam), responses((status = 200, description = "The reminder, pending again", body = ReminderRuleResource)))]
async fn retry(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<ReminderRuleResource>, ApiError> {
    let r = reminders::retry(&state, &actor, path_id(&id, "reminder")?).await?;
    Ok(Json(r.into()))
}

#[utoipa::path(post, path = "/reminders/{id}/cancel", tag = "Reminders", summary = "Cancel a reminder",
    params(IdParam), responses((status = 200, description = "The reminder, cancelled", body = ReminderRuleResource)))]
async fn cancel(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<ReminderRuleResource>, ApiError> {
    let r = reminders::cancel(&state, &actor, path_id(&id, "reminder")?).await?;
    Ok(Json(r.into()))
}
