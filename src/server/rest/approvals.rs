//! `/api/v1/approvals`: the approval queue — AI-written messages awaiting a person's approval,
//! oldest first; approve or reject many at once; new words for one (screened again).

use super::{object_body, path_id, with_id_alias, ApiActor, ApiError};
use crate::server::services::approvals::{self, Reviewed};
use crate::server::services::deserialize_input;
use crate::server::AppState;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/approvals", get(list))
        .route("/approvals/approve", post(approve))
        .route("/approvals/reject", post(reject))
        .route("/approvals/{id}", put(edit))
}

#[derive(Deserialize)]
struct ListParams {
    skip: Option<i64>,
    limit: Option<i64>,
}

async fn list(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(p) = params?;
    let (items, total) =
        approvals::list(&state, &actor, p.skip.unwrap_or(0), p.limit.unwrap_or(50)).await?;
    Ok(super::items_json(
        &items,
        super::deliveries::explained,
        Some(total),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Decision {
    ids: Vec<Uuid>,
    #[serde(default)]
    reason: Option<String>,
}

async fn approve(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Reviewed>, ApiError> {
    let d: Decision = deserialize_input(object_body(body)?)?;
    Ok(Json(approvals::approve(&state, &actor, &d.ids).await?))
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Edit {
    #[serde(default)]
    subject: Option<String>,
    body: String,
}

async fn edit(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(&id, "message")?;
    let e: Edit = deserialize_input(object_body(body)?)?;
    let d = approvals::edit(&state, &actor, id, e.subject.as_deref(), &e.body).await?;
    Ok(Json(with_id_alias(&d, "delivery_id")))
}
