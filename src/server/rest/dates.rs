//! `/api/v1/date-categories`, `/api/v1/date-items` and a person's dates:
//! `/persons/{id}/date-items` and `/persons/{id}/upcoming?days_ahead=30`.

use super::{object_body, patch_body, path_id, with_id_alias, ApiActor, ApiError};
use crate::domain::dates::{
    CategoryInput, DateCategory, DateItemDetail, DateItemInput, UpcomingDate,
};
use crate::server::services::dates;
use crate::server::services::deserialize_input;
use crate::server::AppState;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/date-categories",
            get(list_categories).post(create_category),
        )
        .route(
            "/date-categories/{id}",
            get(read_category)
                .put(update_category)
                .delete(delete_category),
        )
        .route("/date-items", axum::routing::post(create_item))
        .route(
            "/date-items/{id}",
            get(read_item).put(update_item).delete(delete_item),
        )
        .route("/date-items/{id}/reminders", get(item_reminders))
        .route("/persons/{id}/date-items", get(person_items))
        .route("/persons/{id}/upcoming", get(person_upcoming))
}

fn category_json(c: &DateCategory) -> Value {
    let mut v = with_id_alias(c, "category_id");
    if let Some(o) = v.as_object_mut() {
        o.insert("category_name".into(), Value::String(c.name.clone()));
    }
    v
}

/// A date item with its rules, every id also under the prototype's names.
pub fn item_json(d: &DateItemDetail) -> Value {
    let mut v = with_id_alias(&d.item, "date_item_id");
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "reminder_rules".into(),
            Value::Array(
                d.reminder_rules
                    .iter()
                    .map(|r| with_id_alias(r, "reminder_rule_id"))
                    .collect(),
            ),
        );
    }
    v
}

async fn list_categories(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
) -> Result<Json<Value>, ApiError> {
    let list = dates::list_categories(&state, &actor).await?;
    Ok(super::items_json(&list, category_json, None))
}

async fn create_category(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let input: CategoryInput = deserialize_input(object_body(body)?)?;
    let c = dates::save_category(&state, &actor, None, &input).await?;
    Ok((StatusCode::CREATED, Json(category_json(&c))).into_response())
}

async fn read_category(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let c = dates::get_category(&state, &actor, path_id(&id, "category")?).await?;
    Ok(Json(category_json(&c)))
}

async fn update_category(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(&id, "category")?;
    let current = dates::get_category(&state, &actor, id).await?;
    let base = CategoryInput {
        name: Some(current.name),
        icon: Some(current.icon),
        color: Some(current.color),
    };
    let input: CategoryInput = crate::server::services::merge_patch(
        &base,
        patch_body(body)?,
        &[("category_name", "name")],
    )?;
    let c = dates::save_category(&state, &actor, Some(id), &input).await?;
    Ok(Json(category_json(&c)))
}

async fn delete_category(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    dates::delete_category(&state, &actor, path_id(&id, "category")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn create_item(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let input: DateItemInput = deserialize_input(object_body(body)?)?;
    let d = dates::save_item(&state, &actor, None, &input).await?;
    Ok((StatusCode::CREATED, Json(item_json(&d))).into_response())
}

async fn read_item(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let d = dates::get_item(&state, &actor, path_id(&id, "date item")?).await?;
    Ok(Json(item_json(&d)))
}

async fn update_item(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let d = dates::patch_item(
        &state,
        &actor,
        path_id(&id, "date item")?,
        patch_body(body)?,
    )
    .await?;
    Ok(Json(item_json(&d)))
}

async fn delete_item(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    dates::delete_item(&state, &actor, path_id(&id, "date item")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn item_reminders(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let d = dates::get_item(&state, &actor, path_id(&id, "date item")?).await?;
    let items: Vec<Value> = d
        .reminder_rules
        .iter()
        .map(|r| with_id_alias(r, "reminder_rule_id"))
        .collect();
    Ok(Json(serde_json::json!({ "items": items })))
}

#[derive(Deserialize)]
struct PersonItemsParams {
    category_id: Option<String>,
    #[serde(default)]
    upcoming_only: bool,
}

async fn person_items(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    params: Result<Query<PersonItemsParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(p) = params?;
    let category_id = super::query_id("category_id", p.category_id.as_deref())?;
    let list = dates::items_for_person(
        &state,
        &actor,
        path_id(&id, "person")?,
        category_id,
        p.upcoming_only,
    )
    .await?;
    Ok(super::items_json(&list, item_json, None))
}

#[derive(Deserialize)]
struct UpcomingParams {
    days_ahead: Option<i64>,
}

/// An upcoming date as the API shows it.
pub fn upcoming_json(u: &UpcomingDate) -> Value {
    serde_json::to_value(u).unwrap_or_default()
}

async fn person_upcoming(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    params: Result<Query<UpcomingParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(p) = params?;
    let list = dates::upcoming(
        &state,
        &actor,
        Some(path_id(&id, "person")?),
        p.days_ahead.unwrap_or(30),
        200,
    )
    .await?;
    Ok(super::items_json(&list, upcoming_json, None))
}
