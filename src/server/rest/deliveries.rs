//! `/api/v1`: utility messages (`POST /send-utility`), the delivery log (`GET /deliveries`,
//! `/deliveries/{id}`), provider callbacks (`POST /deliveries/{id}/events`), retry and cancel,
//! and inbound messages (`POST /inbound`).

use super::{object_body, path_id, query_id, with_id_alias, ApiActor, ApiError};
use crate::domain::delivery::{
    Delivery, DeliveryDetail, DeliveryEventInput, InboundInput, SendUtilityInput,
};
use crate::server::auth::guard::CorrelationId;
use crate::server::services::deliveries::{self, ListQuery};
use crate::server::services::deserialize_input;
use crate::server::services::inbound;
use crate::server::AppState;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::Value;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/send-utility", post(send_utility))
        .route("/deliveries", get(list))
        .route("/deliveries/{id}", get(read))
        .route("/deliveries/{id}/events", post(event))
        .route("/deliveries/{id}/retry", post(retry))
        .route("/deliveries/{id}/cancel", post(cancel))
        .route("/inbound", post(receive))
}

fn json(d: &Delivery) -> Value {
    with_id_alias(d, "delivery_id")
}

fn detail_json(d: &DeliveryDetail) -> Value {
    with_id_alias(d, "delivery_id")
}

async fn send_utility(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    correlation: Option<Extension<CorrelationId>>,
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let input: SendUtilityInput = deserialize_input(object_body(body)?)?;
    let key = headers
        .get("idempotency-key")
        .map(|v| {
            v.to_str()
                .map_err(|_| ApiError::invalid("Idempotency-Key", "must be plain text"))
        })
        .transpose()?;
    let d = deliveries::send_utility(
        &state,
        &actor,
        &input,
        key,
        correlation.as_ref().map(|Extension(c)| c.0.as_str()),
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(json(&d))).into_response())
}

#[derive(Deserialize)]
struct ListParams {
    person_id: Option<String>,
    status: Option<String>,
    kind: Option<String>,
    channel: Option<String>,
    reminder_rule_id: Option<String>,
    skip: Option<i64>,
    limit: Option<i64>,
}

async fn list(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(p) = params?;
    let q = ListQuery {
        person_id: query_id("person_id", p.person_id.as_deref())?,
        status: p.status.as_deref(),
        kind: p.kind.as_deref(),
        channel: p.channel.as_deref(),
        reminder_rule_id: query_id("reminder_rule_id", p.reminder_rule_id.as_deref())?,
        skip: p.skip.unwrap_or(0),
        limit: p.limit.unwrap_or(50),
    };
    let items = deliveries::list(&state, &actor, q).await?;
    Ok(super::items_json(&items, explained, None))
}

/// A delivery in a list, with what happened to it in words.
pub(super) fn explained((d, why): &(Delivery, String)) -> Value {
    let mut v = json(d);
    if let Some(o) = v.as_object_mut() {
        o.insert("explanation".into(), Value::String(why.clone()));
    }
    v
}

async fn read(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(&id, "delivery")?;
    Ok(Json(detail_json(
        &deliveries::get(&state, &actor, id).await?,
    )))
}

async fn event(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(&id, "delivery")?;
    let input: DeliveryEventInput = deserialize_input(object_body(body)?)?;
    Ok(Json(detail_json(
        &deliveries::provider_event(&state, &actor, id, &input).await?,
    )))
}

async fn retry(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(&id, "delivery")?;
    Ok(Json(detail_json(
        &deliveries::retry(&state, &actor, id).await?,
    )))
}

async fn cancel(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(&id, "delivery")?;
    Ok(Json(detail_json(
        &deliveries::cancel(&state, &actor, id).await?,
    )))
}

async fn receive(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let input: InboundInput = deserialize_input(object_body(body)?)?;
    let (conversation, message) = inbound::receive(&state, &actor, &input).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({
            "conversation_id": conversation.id,
            "conversation": with_id_alias(&conversation, "conversation_id"),
            "message": with_id_alias(&message, "message_id"),
        })),
    )
        .into_response())
}
