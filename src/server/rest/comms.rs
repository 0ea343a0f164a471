//! `/api/v1/persons/{id}/identities`, `/identities/{id}`, `/conversations` and their messages.

use super::{
    items_json, object_body, patch_body, path_id, query_id, with_id_alias, ApiActor, ApiError,
};
use crate::domain::comms::{
    CommIdentity, Conversation, ConversationInput, IdentityInput, Message, MessageInput,
};
use crate::server::services::comms::{self, ConversationQuery};
use crate::server::services::deserialize_input;
use crate::server::AppState;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/persons/{id}/identities",
            get(list_identities).post(add_identity),
        )
        .route(
            "/identities/{id}",
            get(read_identity)
                .put(update_identity)
                .delete(delete_identity),
        )
        .route(
            "/conversations",
            get(list_conversations).post(create_conversation),
        )
        .route(
            "/conversations/{id}",
            get(read_conversation).put(update_conversation),
        )
        .route(
            "/conversations/{id}/messages",
            get(list_messages).post(add_message),
        )
}

fn identity_json(i: &CommIdentity) -> Value {
    let mut v = with_id_alias(i, "identity_id");
    v["opted_out"] = i.opted_out().into();
    v
}

pub fn conversation_json(c: &Conversation) -> Value {
    with_id_alias(c, "conversation_id")
}

fn message_json(m: &Message) -> Value {
    with_id_alias(m, "message_id")
}

async fn list_identities(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let items = comms::identities(&state, &actor, path_id(&id, "person")?).await?;
    Ok(items_json(&items, identity_json, None))
}

async fn add_identity(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let person = path_id(&id, "person")?;
    let input: IdentityInput = deserialize_input(object_body(body)?)?;
    let i = comms::add_identity(&state, &actor, person, &input).await?;
    Ok((StatusCode::CREATED, Json(identity_json(&i))))
}

async fn read_identity(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let i = comms::get_identity(&state, &actor, path_id(&id, "identity")?).await?;
    Ok(Json(identity_json(&i)))
}

async fn update_identity(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let i =
        comms::patch_identity(&state, &actor, path_id(&id, "identity")?, patch_body(body)?).await?;
    Ok(Json(identity_json(&i)))
}

async fn delete_identity(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    comms::delete_identity(&state, &actor, path_id(&id, "identity")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct ConversationParams {
    person_id: Option<String>,
    status: Option<String>,
    skip: Option<i64>,
    limit: Option<i64>,
}

async fn list_conversations(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    params: Result<Query<ConversationParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(p) = params?;
    let q = ConversationQuery {
        person_id: query_id("person_id", p.person_id.as_deref())?,
        status: p.status,
        skip: p.skip.unwrap_or(0),
        limit: p.limit.unwrap_or(50),
    };
    let (items, total) = comms::list_conversations(&state, &actor, q).await?;
    Ok(items_json(&items, conversation_json, Some(total)))
}

async fn create_conversation(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let input: ConversationInput = deserialize_input(object_body(body)?)?;
    let c = comms::save_conversation(&state, &actor, None, &input).await?;
    Ok((StatusCode::CREATED, Json(conversation_json(&c))))
}

async fn read_conversation(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let c = comms::get_conversation(&state, &actor, path_id(&id, "conversation")?).await?;
    Ok(Json(conversation_json(&c)))
}

async fn update_conversation(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(&id, "conversation")?;
    let c = comms::patch_conversation(&state, &actor, id, patch_body(body)?).await?;
    Ok(Json(conversation_json(&c)))
}

#[derive(Deserialize)]
struct PageParams {
    skip: Option<i64>,
    limit: Option<i64>,
}

async fn list_messages(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    params: Result<Query<PageParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(p) = params?;
    let id = path_id(&id, "conversation")?;
    let items = comms::messages(
        &state,
        &actor,
        id,
        p.skip.unwrap_or(0),
        p.limit.unwrap_or(100),
    )
    .await?;
    Ok(items_json(&items, message_json, None))
}

async fn add_message(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let id = path_id(&id, "conversation")?;
    let input: MessageInput = deserialize_input(object_body(body)?)?;
    let m = comms::add_message(&state, &actor, id, &input).await?;
    Ok((StatusCode::CREATED, Json(message_json(&m))))
}
