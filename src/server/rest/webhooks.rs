//! `/api/v1/webhooks`: the organisation's event webhook subscriptions — an endpoint, the
//! delivery events it is told of (sent, delivered, failed, clicked, booked, unsubscribed), and
//! a signing secret shown once, when it is made.

use super::{object_body, path_id, ApiActor, ApiError, IdParam, Items};
use crate::domain::webhooks::{Subscription, SubscriptionInput};
use crate::server::services::deserialize_input;
use crate::server::services::webhooks::{self, NewSubscription};
use crate::server::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(list, create))
        .routes(routes!(read, update, remove))
}

#[utoipa::path(get, path = "/webhooks", tag = "Deliveries", summary = "The organisation's event webhook subscriptions",
    responses((status = 200, description = "Its subscriptions", body = Items<Subscription>)))]
async fn list(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
) -> Result<Json<Items<Subscription>>, ApiError> {
    let items = webhooks::list(&state, &actor).await?;
    Ok(Items::of(items))
}

#[utoipa::path(post, path = "/webhooks", tag = "Deliveries", summary = "Subscribe an endpoint (`url`) to delivery events (`events`: sent, delivered, failed, clicked, booked, unsubscribed; all when absent); the answer carries the signing secret, shown this once",
    request_body = SubscriptionInput,
    responses((status = 201, description = "Created, with its secret", body = NewSubscription)))]
async fn create(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<NewSubscription>), ApiError> {
    let input: SubscriptionInput = deserialize_input(object_body(body)?)?;
    Ok((
        StatusCode::CREATED,
        Json(webhooks::create(&state, &actor, &input).await?),
    ))
}

#[utoipa::path(get, path = "/webhooks/{id}", tag = "Deliveries", summary = "Read a subscription",
    params(IdParam),
    responses((status = 200, description = "The subscription", body = Subscription)))]
async fn read(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<Subscription>, ApiError> {
    Ok(Json(
        webhooks::get(&state, &actor, path_id(&id, "webhook")?).await?,
    ))
}

#[utoipa::path(put, path = "/webhooks/{id}", tag = "Deliveries", summary = "Change a subscription (url, events, description, enabled; fields present replace)",
    params(IdParam),
    request_body = SubscriptionInput,
    responses((status = 200, description = "The subscription as changed", body = Subscription)))]
async fn update(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Subscription>, ApiError> {
    let body = object_body(body)?;
    // A subscription always has its URL: absent keeps it, null cannot clear it.
    if body.get("url").is_some_and(Value::is_null) {
        return Err(crate::server::error::ServiceError::invalid(
            "url",
            "cannot be cleared (leave it out to keep it)",
        )
        .into());
    }
    let input: SubscriptionInput = deserialize_input(body)?;
    Ok(Json(
        webhooks::update(&state, &actor, path_id(&id, "webhook")?, &input).await?,
    ))
}

#[utoipa::path(delete, path = "/webhooks/{id}", tag = "Deliveries", summary = "Remove a subscription",
    params(IdParam),
    responses((status = 204, description = "Removed")))]
async fn remove(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    webhooks::delete(&state, &actor, path_id(&id, "webhook")?).await?;
    Ok(StatusCode::NO_CONTENT)
}
