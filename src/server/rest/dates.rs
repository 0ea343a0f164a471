//! `/api/v1/date-categories`, `/api/v1/date-items` and a person's dates:
//! `/persons/{id}/date-items` and `/persons/{id}/upcoming?days_ahead=30`.

use super::{object_body, patch_body, path_id, resource, ApiActor, ApiError, IdParam, Items};
use crate::domain::dates::{
    CategoryInput, DateCategory, DateItemDetail, DateItemInput, ReminderRule, UpcomingDate,
};
use crate::server::services::dates;
use crate::server::services::deserialize_input;
use crate::server::AppState;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(list_categories, create_category))
        .routes(routes!(read_category, update_category, delete_category))
        .routes(routes!(create_item))
        .routes(routes!(read_item, update_item, delete_item))
        .routes(routes!(item_reminders))
        .routes(routes!(person_items))
        .routes(routes!(person_upcoming))
}

/// A date category; `category_id` and `category_name` repeat `id` and `name`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CategoryResource {
    #[serde(flatten)]
    category: DateCategory,
    /// The same as `id`.
    category_id: Uuid,
    /// The same as `name`.
    category_name: String,
}

impl From<DateCategory> for CategoryResource {
    fn from(category: DateCategory) -> Self {
        Self {
            category_id: category.id,
            category_name: category.name.clone(),
            category,
        }
    }
}

resource!(
    /// A reminder rule.
    ReminderRuleResource(ReminderRule) { reminder_rule_id }
);

/// An important date with its reminder rules.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DateItemResource {
    #[serde(flatten)]
    item: crate::domain::dates::DateItem,
    /// The same as `id`.
    date_item_id: Uuid,
    reminder_rules: Vec<ReminderRuleResource>,
}

impl From<DateItemDetail> for DateItemResource {
    fn from(d: DateItemDetail) -> Self {
        Self {
            date_item_id: d.item.id,
            item: d.item,
            reminder_rules: d.reminder_rules.into_iter().map(Into::into).collect(),
        }
    }
}

#[utoipa::path(get, path = "/date-categories", tag = "Dates", summary = "List date categories",
    responses((status = 200, description = "Every category", body = Items<CategoryResource>)))]
async fn list_categories(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
) -> Result<Json<Items<CategoryResource>>, ApiError> {
    let list = dates::list_categories(&state, &actor).await?;
    Ok(Items::of(list))
}

#[utoipa::path(post, path = "/date-categories", tag = "Dates", summary = "Create a date category",
    request_body = CategoryInput,
    responses((status = 201, description = "Created", body = CategoryResource)))]
async fn create_category(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<CategoryResource>), ApiError> {
    let input: CategoryInput = deserialize_input(object_body(body)?)?;
    let c = dates::save_category(&state, &actor, None, &input).await?;
    Ok((StatusCode::CREATED, Json(c.into())))
}

#[utoipa::path(get, path = "/date-categories/{id}", tag = "Dates", summary = "Read a date category",
    params(IdParam), responses((status = 200, description = "The category", body = CategoryResource)))]
async fn read_category(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<CategoryResource>, ApiError> {
    let c = dates::get_category(&state, &actor, path_id(&id, "category")?).await?;
    Ok(Json(c.into()))
}

#[utoipa::path(put, path = "/date-categories/{id}", tag = "Dates", summary = "Change a date category (fields present replace)",
    params(IdParam), request_body = CategoryInput,
    responses((status = 200, description = "The category as changed", body = CategoryResource)))]
async fn update_category(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<CategoryResource>, ApiError> {
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
    Ok(Json(c.into()))
}

#[utoipa::path(delete, path = "/date-categories/{id}", tag = "Dates", summary = "Delete a date category (409 while dates use it)",
    params(IdParam), responses((status = 204, description = "Deleted")))]
async fn delete_category(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    dates::delete_category(&state, &actor, path_id(&id, "category")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/date-items", tag = "Dates", summary = "Create an important date with its reminder_rules",
    request_body = DateItemInput,
    responses((status = 201, description = "Created", body = DateItemResource)))]
async fn create_item(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<DateItemResource>), ApiError> {
    let input: DateItemInput = deserialize_input(object_body(body)?)?;
    let d = dates::save_item(&state, &actor, None, &input).await?;
    Ok((StatusCode::CREATED, Json(d.into())))
}

#[utoipa::path(get, path = "/date-items/{id}", tag = "Dates", summary = "Read a date with its reminder rules",
    params(IdParam), responses((status = 200, description = "The date", body = DateItemResource)))]
async fn read_item(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<DateItemResource>, ApiError> {
    let d = dates::get_item(&state, &actor, path_id(&id, "date item")?).await?;
    Ok(Json(d.into()))
}

#[utoipa::path(put, path = "/date-items/{id}", tag = "Dates", summary = "Change a date and its rules (fields present replace)",
    params(IdParam), request_body = DateItemInput,
    responses((status = 200, description = "The date as changed", body = DateItemResource)))]
async fn update_item(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<DateItemResource>, ApiError> {
    let d = dates::patch_item(
        &state,
        &actor,
        path_id(&id, "date item")?,
        patch_body(body)?,
    )
    .await?;
    Ok(Json(d.into()))
}

#[utoipa::path(delete, path = "/date-items/{id}", tag = "Dates", summary = "Delete a date and its reminders",
    params(IdParam), responses((status = 204, description = "Deleted")))]
async fn delete_item(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    dates::delete_item(&state, &actor, path_id(&id, "date item")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/date-items/{id}/reminders", tag = "Dates", summary = "The date's reminder rules",
    params(IdParam), responses((status = 200, description = "Its rules, in order", body = Items<ReminderRuleResource>)))]
async fn item_reminders(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<Items<ReminderRuleResource>>, ApiError> {
    let d = dates::get_item(&state, &actor, path_id(&id, "date item")?).await?;
    Ok(Items::of(d.reminder_rules))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct PersonItemsParams {
    /// Only dates of this category.
    category_id: Option<Uuid>,
    /// `true` for the dates still to come.
    #[serde(default)]
    upcoming_only: bool,
}

#[utoipa::path(get, path = "/persons/{id}/date-items", tag = "Dates", summary = "The person's important dates with their reminder rules",
    params(IdParam, PersonItemsParams),
    responses((status = 200, description = "The person's dates", body = Items<DateItemResource>)))]
async fn person_items(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    params: Result<Query<PersonItemsParams>, QueryRejection>,
) -> Result<Json<Items<DateItemResource>>, ApiError> {
    let Query(p) = params?;
    let list = dates::items_for_person(
        &state,
        &actor,
        path_id(&id, "person")?,
        p.category_id,
        p.upcoming_only,
    )
    .await?;
    Ok(Items::of(list))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct UpcomingParams {
    /// How many days ahead to look (default 30).
    #[param(minimum = 0, maximum = 366)]
    days_ahead: Option<i64>,
}

#[utoipa::path(get, path = "/persons/{id}/upcoming", tag = "Dates", summary = "The person's dates in the next days_ahead days",
    params(IdParam, UpcomingParams),
    responses((status = 200, description = "The coming occurrences, soonest first", body = Items<UpcomingDate>)))]
async fn person_upcoming(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    params: Result<Query<UpcomingParams>, QueryRejection>,
) -> Result<Json<Items<UpcomingDate>>, ApiError> {
    let Query(p) = params?;
    let list = dates::upcoming(
        &state,
        &actor,
        Some(path_id(&id, "person")?),
        p.days_ahead.unwrap_or(30),
        200,
    )
    .await?;
    Ok(Items::of(list))
}
