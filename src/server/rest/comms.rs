//! `/api/v1/persons/{id}/identities`, `/identities/{id}`, `/conversations` and their messages.

use super::{object_body, patch_body, path_id, resource, ApiActor, ApiError, IdParam, Items};
use crate::domain::comms::{
    CommIdentity, Conversation, ConversationInput, IdentityInput, Message, MessageInput,
};
use crate::server::services::comms::{self, ConversationQuery};
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
        .routes(routes!(list_identities, add_identity))
        .routes(routes!(read_identity, update_identity, delete_identity))
        .routes(routes!(list_conversations, create_conversation))
        .routes(routes!(read_conversation, update_conversation))
        .routes(routes!(list_messages, add_message))
}

/// A communication identity: a person's address on one channel.
#[derive(Serialize, utoipa::ToSchema)]
pub struct IdentityResource {
    #[serde(flatten)]
    identity: CommIdentity,
    /// The same as `id`.
    identity_id: Uuid,
    /// Whether the person has opted out on this address.
    opted_out: bool,
}

impl From<CommIdentity> for IdentityResource {
    fn from(identity: CommIdentity) -> Self {
        Self {
            identity_id: identity.id,
            opted_out: identity.opted_out(),
            identity,
        }
    }
}

resource!(
    /// A conversation with a person on one channel.
    ConversationResource(Conversation) { conversation_id }
);
resource!(
    /// A message of a conversation, or a staff note.
    MessageResource(Message) { message_id }
);

#[utoipa::path(get, path = "/persons/{id}/identities", tag = "Communication", summary = "The person's communication identities",
    params(IdParam),
    responses((status = 200, description = "Their identities", body = Items<IdentityResource>)))]
async fn list_identities(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<Items<IdentityResource>>, ApiError> {
    let items = comms::identities(&state, &actor, path_id(&id, "person")?).await?;
    Ok(Items::of(items))
}

#[utoipa::path(post, path = "/persons/{id}/identities", tag = "Communication", summary = "Add a communication identity",
    params(IdParam),
    request_body = IdentityInput,
    responses((status = 201, description = "Created", body = IdentityResource)))]
async fn add_identity(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<IdentityResource>), ApiError> {
    let person = path_id(&id, "person")?;
    let input: IdentityInput = deserialize_input(object_body(body)?)?;
    let i = comms::add_identity(&state, &actor, person, &input).await?;
    Ok((StatusCode::CREATED, Json(i.into())))
}

#[utoipa::path(get, path = "/identities/{id}", tag = "Communication", summary = "Read a communication identity",
    params(IdParam),
    responses((status = 200, description = "The identity", body = IdentityResource)))]
async fn read_identity(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<IdentityResource>, ApiError> {
    let i = comms::get_identity(&state, &actor, path_id(&id, "identity")?).await?;
    Ok(Json(i.into()))
}

#[utoipa::path(put, path = "/identities/{id}", tag = "Communication", summary = "Change a communication identity (preferred, verified, opted_out …; fields present replace)",
    params(IdParam),
    request_body = IdentityInput,
    responses((status = 200, description = "The identity as changed", body = IdentityResource)))]
async fn update_identity(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<IdentityResource>, ApiError> {
    let i =
        comms::patch_identity(&state, &actor, path_id(&id, "identity")?, patch_body(body)?).await?;
    Ok(Json(i.into()))
}

#[utoipa::path(delete, path = "/identities/{id}", tag = "Communication", summary = "Remove a communication identity",
    params(IdParam),
    responses((status = 204, description = "Removed")))]
async fn delete_identity(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    comms::delete_identity(&state, &actor, path_id(&id, "identity")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ConversationParams {
    /// Only this person's.
    person_id: Option<Uuid>,
    /// `active` or `archived` (`all` or empty for both).
    #[param(pattern = r"^\s*(all|active|archived)?\s*$")]
    status: Option<String>,
    /// How many to skip.
    #[param(minimum = 0)]
    skip: Option<i64>,
    /// How many to return (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/conversations", tag = "Communication", summary = "List conversations, latest first",
    params(ConversationParams),
    responses((status = 200, description = "A page of conversations", body = Items<ConversationResource>)))]
async fn list_conversations(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    params: Result<Query<ConversationParams>, QueryRejection>,
) -> Result<Json<Items<ConversationResource>>, ApiError> {
    let Query(p) = params?;
    let q = ConversationQuery {
        person_id: p.person_id,
        status: p.status,
        skip: p.skip.unwrap_or(0),
        limit: p.limit.unwrap_or(50),
    };
    let (items, total) = comms::list_conversations(&state, &actor, q).await?;
    Ok(Items::paged(items, Some(total)))
}

#[utoipa::path(post, path = "/conversations", tag = "Communication", summary = "Start a conversation",
    request_body = ConversationInput,
    responses((status = 201, description = "Created", body = ConversationResource)))]
async fn create_conversation(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<ConversationResource>), ApiError> {
    let input: ConversationInput = deserialize_input(object_body(body)?)?;
    let c = comms::save_conversation(&state, &actor, None, &input).await?;
    Ok((StatusCode::CREATED, Json(c.into())))
}

#[utoipa::path(get, path = "/conversations/{id}", tag = "Communication", summary = "Read a conversation",
    params(IdParam),
    responses((status = 200, description = "The conversation", body = ConversationResource)))]
async fn read_conversation(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<ConversationResource>, ApiError> {
    let c = comms::get_conversation(&state, &actor, path_id(&id, "conversation")?).await?;
    Ok(Json(c.into()))
}

#[utoipa::path(put, path = "/conversations/{id}", tag = "Communication", summary = "Change a conversation (subject, status; fields present replace)",
    params(IdParam),
    request_body = ConversationInput,
    responses((status = 200, description = "The conversation as changed", body = ConversationResource)))]
async fn update_conversation(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<ConversationResource>, ApiError> {
    let id = path_id(&id, "conversation")?;
    let c = comms::patch_conversation(&state, &actor, id, patch_body(body)?).await?;
    Ok(Json(c.into()))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct PageParams {
    /// How many to skip.
    #[param(minimum = 0)]
    skip: Option<i64>,
    /// How many to return (default 100).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/conversations/{id}/messages", tag = "Communication", summary = "The conversation's messages, oldest first",
    params(IdParam, PageParams),
    responses((status = 200, description = "Its messages", body = Items<MessageResource>)))]
async fn list_messages(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    params: Result<Query<PageParams>, QueryRejection>,
) -> Result<Json<Items<MessageResource>>, ApiError> {
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
    Ok(Items::of(items))
}

#[utoipa::path(post, path = "/conversations/{id}/messages", tag = "Communication", summary = "Add a message or a staff note",
    params(IdParam),
    request_body = MessageInput,
    responses((status = 201, description = "Created", body = MessageResource)))]
async fn add_message(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<MessageResource>), ApiError> {
    let id = path_id(&id, "conversation")?;
    let input: MessageInput = deserialize_input(object_body(body)?)?;
    let m = comms::add_message(&state, &actor, id, &input).await?;
    Ok((StatusCode::CREATED, Json(m.into())))
}
