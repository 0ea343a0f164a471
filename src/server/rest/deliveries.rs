//! `/api/v1`: utility messages (`POST /send-utility`), the delivery log (`GET /deliveries`,
//! `/deliveries/{id}`), provider callbacks (`POST /deliveries/{id}/events`), retry and cancel,
//! and inbound messages (`POST /inbound`).

use super::comms::{ConversationResource, MessageResource};
use super::{object_body, path_id, ApiActor, ApiError, IdParam, Items};
use crate::domain::delivery::{
    Delivery, DeliveryDetail, DeliveryEvent, DeliveryEventInput, InboundInput, SendUtilityInput,
};
use crate::server::auth::guard::CorrelationId;
use crate::server::services::deliveries::{self, ListQuery};
use crate::server::services::deserialize_input;
use crate::server::services::inbound;
use crate::server::AppState;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(send_utility))
        .routes(routes!(list))
        .routes(routes!(read))
        .routes(routes!(event))
        .routes(routes!(retry))
        .routes(routes!(cancel))
        .routes(routes!(receive))
}

/// A message to a person, and what became of it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DeliveryResource {
    #[serde(flatten)]
    delivery: Delivery,
    /// The same as `id`.
    delivery_id: Uuid,
    /// What happened to it, in plain words (in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    explanation: Option<String>,
}

impl From<Delivery> for DeliveryResource {
    fn from(delivery: Delivery) -> Self {
        Self {
            delivery_id: delivery.id,
            delivery,
            explanation: None,
        }
    }
}

impl From<(Delivery, String)> for DeliveryResource {
    fn from((delivery, why): (Delivery, String)) -> Self {
        Self {
            explanation: Some(why),
            ..delivery.into()
        }
    }
}

/// A delivery with its history and what happened in plain words.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DeliveryDetailResource {
    #[serde(flatten)]
    delivery: Delivery,
    /// The same as `id`.
    delivery_id: Uuid,
    /// What happened to it, oldest first.
    events: Vec<DeliveryEvent>,
    /// What happened, in plain words.
    explanation: String,
    /// The prompt its words were asked for with, for a campaign variant with a prompt.
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt: Option<String>,
}

impl From<DeliveryDetail> for DeliveryDetailResource {
    fn from(d: DeliveryDetail) -> Self {
        Self {
            delivery_id: d.delivery.id,
            delivery: d.delivery,
            events: d.events,
            explanation: d.explanation,
            prompt: d.prompt,
        }
    }
}

/// An inbound message, threaded into its conversation.
#[derive(Serialize, utoipa::ToSchema)]
struct Received {
    conversation_id: Uuid,
    conversation: ConversationResource,
    message: MessageResource,
}

#[utoipa::path(post, path = "/send-utility", tag = "Deliveries", summary = "Queue a utility message to a person (202 with the delivery; the same Idempotency-Key never sends twice)",
    request_body = SendUtilityInput,
    responses((status = 202, description = "Queued", body = DeliveryResource)))]
async fn send_utility(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    correlation: Option<Extension<CorrelationId>>,
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<DeliveryResource>), ApiError> {
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
    Ok((StatusCode::ACCEPTED, Json(d.into())))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// Only this person's.
    person_id: Option<Uuid>,
    /// Only deliveries in this status.
    #[param(
        pattern = r"^\s*(all|pending|sending|sent|delivered|failed|suppressed|cancelled|awaiting_approval)?\s*$"
    )]
    status: Option<String>,
    /// `utility` or `engagement`.
    #[param(pattern = r"^\s*(all|utility|engagement)?\s*$")]
    kind: Option<String>,
    /// Only those on this channel.
    #[param(pattern = r"^\s*(all|email|sms|whatsapp|slack|webhook|portal)?\s*$")]
    channel: Option<String>,
    /// Only this reminder's.
    reminder_rule_id: Option<Uuid>,
    /// How many to skip.
    #[param(minimum = 0)]
    skip: Option<i64>,
    /// How many to return (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/deliveries", tag = "Deliveries", summary = "The delivery log, newest first, each with its explanation",
    params(ListParams),
    responses((status = 200, description = "A page of deliveries", body = Items<DeliveryResource>)))]
async fn list(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<Items<DeliveryResource>>, ApiError> {
    let Query(p) = params?;
    let q = ListQuery {
        person_id: p.person_id,
        status: p.status.as_deref(),
        kind: p.kind.as_deref(),
        channel: p.channel.as_deref(),
        reminder_rule_id: p.reminder_rule_id,
        skip: p.skip.unwrap_or(0),
        limit: p.limit.unwrap_or(50),
    };
    let items = deliveries::list(&state, &actor, q).await?;
    Ok(Items::of(items))
}

#[utoipa::path(get, path = "/deliveries/{id}", tag = "Deliveries", summary = "A delivery with its history and what happened in plain words",
    params(IdParam),
    responses((status = 200, description = "The delivery", body = DeliveryDetailResource)))]
async fn read(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<DeliveryDetailResource>, ApiError> {
    let id = path_id(&id, "delivery")?;
    Ok(Json(deliveries::get(&state, &actor, id).await?.into()))
}

#[utoipa::path(post, path = "/deliveries/{id}/events", tag = "Deliveries", summary = "A provider callback: delivered, failed (hard: true for a bounce), opened, clicked, replied, booked",
    params(IdParam),
    request_body = DeliveryEventInput,
    responses((status = 200, description = "The delivery after the event", body = DeliveryDetailResource)))]
async fn event(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<DeliveryDetailResource>, ApiError> {
    let id = path_id(&id, "delivery")?;
    let input: DeliveryEventInput = deserialize_input(object_body(body)?)?;
    Ok(Json(
        deliveries::provider_event(&state, &actor, id, &input)
            .await?
            .into(),
    ))
}

#[utoipa::path(post, path = "/deliveries/{id}/retry", tag = "Deliveries", summary = "Send a failed delivery again (same idempotency key)",
    params(IdParam),
    responses((status = 200, description = "The delivery, queued again", body = DeliveryDetailResource)))]
async fn retry(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<DeliveryDetailResource>, ApiError> {
    let id = path_id(&id, "delivery")?;
    Ok(Json(deliveries::retry(&state, &actor, id).await?.into()))
}

#[utoipa::path(post, path = "/deliveries/{id}/cancel", tag = "Deliveries", summary = "Cancel a delivery that has not gone yet",
    params(IdParam),
    responses((status = 200, description = "The delivery, cancelled", body = DeliveryDetailResource)))]
async fn cancel(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<DeliveryDetailResource>, ApiError> {
    let id = path_id(&id, "delivery")?;
    Ok(Json(deliveries::cancel(&state, &actor, id).await?.into()))
}

#[utoipa::path(post, path = "/inbound", tag = "Communication", summary = "An inbound message from a person, threaded into their conversation on that channel",
    request_body = InboundInput,
    responses((status = 201, description = "Received", body = Received)))]
async fn receive(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Received>), ApiError> {
    let input: InboundInput = deserialize_input(object_body(body)?)?;
    let (conversation, message) = inbound::receive(&state, &actor, &input).await?;
    Ok((
        StatusCode::CREATED,
        Json(Received {
            conversation_id: conversation.id,
            conversation: conversation.into(),
            message: message.into(),
        }),
    ))
}
