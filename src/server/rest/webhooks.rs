//! `/api/v1/webhooks`: the organisation's event webhook subscriptions — an endpoint, the
//! delivery events it is told of (sent, delivered, failed, clicked, booked, unsubscribed), and
//! a signing secret shown once, when it is made.

use super::{object_body, path_id, ApiActor, ApiError};
use crate::domain::webhooks::{Subscription, SubscriptionInput};
use crate::server::services::deserialize_input;
use crate::server::services::webhooks::{self, NewSubscription};
use crate::server::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhooks", get(list).post(create))
        .route("/webhooks/{id}", get(read).put(update).delete(remove))
}

async fn list(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
) -> Result<Json<Value>, ApiError> {
    let items = webhooks::list(&state, &actor).await?;
    Ok(super::items_json(
        &items,
        |s| serde_json::to_value(s).unwrap_or_default(),
        None,
    ))
}

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

async fn read(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<Subscription>, ApiError> {
    Ok(Json(
        webhooks::get(&state, &actor, path_id(&id, "webhook")?).await?,
    ))
}

async fn update(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Subscription>, ApiError> {
    let input: SubscriptionInput = deserialize_input(object_body(body)?)?;
    Ok(Json(
        webhooks::update(&state, &actor, path_id(&id, "webhook")?, &input).await?,
    ))
}

async fn remove(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    webhooks::delete(&state, &actor, path_id(&id, "webhook")?).await?;
    Ok(StatusCode::NO_CONTENT)
}
