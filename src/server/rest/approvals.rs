//! `/api/v1/approvals`: the approval queue — AI-written messages awaiting a person's approval,
//! oldest first; approve or reject many at once; new words for one (screened again).

use super::deliveries::{DeliveryDetailResource, DeliveryResource};
use super::{object_body, path_id, ApiActor, ApiError, IdParam, Items};
use crate::server::services::approvals::{self, Reviewed};
use crate::server::services::deserialize_input;
use crate::server::AppState;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(list))
        .routes(routes!(approve))
        .routes(routes!(reject))
        .routes(routes!(edit))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// How many to skip.
    #[param(minimum = 0)]
    skip: Option<i64>,
    /// How many to return (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/approvals", tag = "Campaigns", summary = "AI-written messages awaiting approval, oldest first",
    params(ListParams),
    responses((status = 200, description = "A page of messages", body = Items<DeliveryResource>)))]
async fn list(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<Items<DeliveryResource>>, ApiError> {
    let Query(p) = params?;
    let (items, total) =
        approvals::list(&state, &actor, p.skip.unwrap_or(0), p.limit.unwrap_or(50)).await?;
    Ok(Items::paged(items, Some(total)))
}

/// Messages to approve or reject.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Decision {
    /// The messages (deliveries) awaiting approval.
    #[schema(min_items = 1, max_items = 500)]
    ids: Vec<Uuid>,
    /// Why, when rejecting.
    #[serde(default)]
    reason: Option<String>,
}

#[utoipa::path(post, path = "/approvals/approve", tag = "Campaigns", summary = "Approve messages awaiting approval (`ids`): each goes at the time it was meant for",
    request_body = Decision,
    responses((status = 200, description = "What was decided and what was left", body = Reviewed)))]
async fn approve(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Reviewed>, ApiError> {
    let d: Decision = deserialize_input(object_body(body)?)?;
    Ok(Json(approvals::approve(&state, &actor, &d.ids).await?))
}

#[utoipa::path(post, path = "/approvals/reject", tag = "Campaigns", summary = "Reject messages awaiting approval (`ids`, an optional `reason`): none is sent",
    request_body = Decision,
    responses((status = 200, description = "What was decided and what was left", body = Reviewed)))]
async fn reject(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Reviewed>, ApiError> {
    let d: Decision = deserialize_input(object_body(body)?)?;
    Ok(Json(
        approvals::reject(&state, &actor, &d.ids, d.reason.as_deref().unwrap_or("")).await?,
    ))
}

/// New words for a message awaiting approval.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Edit {
    #[serde(default)]
    subject: Option<String>,
    body: String,
}

#[utoipa::path(put, path = "/approvals/{id}", tag = "Campaigns", summary = "New words for a message awaiting approval (`subject`, `body`); the safety filter runs again",
    params(IdParam),
    request_body = Edit,
    responses((status = 200, description = "The message with its new words", body = DeliveryDetailResource)))]
async fn edit(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<DeliveryDetailResource>, ApiError> {
    let id = path_id(&id, "message")?;
    let e: Edit = deserialize_input(object_body(body)?)?;
    let d = approvals::edit(&state, &actor, id, e.subject.as_deref(), &e.body).await?;
    Ok(Json(d.into()))
}
