//! Conversations and a client's communication identities, for the portal.

use super::FormOutcome;
use crate::domain::comms::{Conversation, Message};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr::{actor, fail, form_result, optional_id, parse_id};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConversationView {
    pub conversation: Conversation,
    pub messages: Vec<Message>,
}

/// Conversations, latest first (`status`: active, archived or all), and how many in all.
#[server(prefix = "/srv", endpoint = "comms/list_conversations")]
pub async fn list_conversations(
    #[server(default)] status: String,
    #[server(default)] person_id: String,
    #[server(default)] page: i64,
) -> Result<(Vec<Conversation>, i64), ServerFnError> {
    use crate::server::services::comms::{self, ConversationQuery};
    let (state, actor) = actor()?;
    let q = ConversationQuery {
        person_id: optional_id(&person_id)?,
        status: Some(status),
        skip: (page.max(1) - 1) * 50,
        limit: 50,
    };
    comms::list_conversations(&state, &actor, q)
        .await
        .map_err(fail)
}

#[server(prefix = "/srv", endpoint = "comms/get_conversation")]
pub async fn get_conversation(id: String) -> Result<ConversationView, ServerFnError> {
    use crate::server::services::comms;
    let (state, actor) = actor()?;
    let id = parse_id(&id)?;
    let conversation = comms::get_conversation(&state, &actor, id)
        .await
        .map_err(fail)?;
    let messages = comms::messages(&state, &actor, id, 0, 200)
        .await
        .map_err(fail)?;
    Ok(ConversationView {
        conversation,
        messages,
    })
}

/// Starts a conversation with a client and opens it.
#[server(prefix = "/srv", endpoint = "comms/start_conversation")]
pub async fn start_conversation(
    #[server(default)] person_id: String,
    #[server(default)] channel_type: String,
    #[server(default)] subject: String,
) -> Result<FormOutcome, ServerFnError> {
    use crate::domain::comms::ConversationInput;
    let (state, actor) = actor()?;
    let input = ConversationInput {
        person_id: Some(person_id),
        channel_type: Some(channel_type),
        subject: Some(subject),
        status: None,
    };
    let result = crate::server::services::comms::save_conversation(&state, &actor, None, &input)
        .await
        .map(|c| c.id.to_string());
    let outcome = form_result(result)?;
    if let FormOutcome::Saved(id) = &outcome {
        leptos_axum::redirect(&format!("/conversations/{id}"));
    }
    Ok(outcome)
}

/// Adds a staff note or records a message in a conversation.
#[server(prefix = "/srv", endpoint = "comms/add_message")]
pub async fn add_message(
    conversation_id: String,
    #[server(default)] direction: String,
    #[server(default)] body: String,
) -> Result<FormOutcome, ServerFnError> {
    use crate::domain::comms::MessageInput;
    let (state, actor) = actor()?;
    // "record" is an outgoing message that already went out another way: kept, not sent.
    let (direction, send) = match direction.as_str() {
        "record" => ("out".to_string(), Some(false)),
        _ => (direction, None),
    };
    let input = MessageInput {
        direction: Some(direction),
        body: Some(body),
        author: None,
        send,
    };
    let result = crate::server::services::comms::add_message(
        &state,
        &actor,
        parse_id(&conversation_id)?,
        &input,
    )
    .await
    .map(|m| m.id.to_string());
    form_result(result)
}

/// Archives or reopens a conversation.
#[server(prefix = "/srv", endpoint = "comms/set_conversation_status")]
pub async fn set_conversation_status(id: String, status: String) -> Result<(), ServerFnError> {
    let (state, actor) = actor()?;
    let mut patch = serde_json::Map::new();
    patch.insert("status".into(), status.into());
    crate::server::services::comms::patch_conversation(&state, &actor, parse_id(&id)?, patch)
        .await
        .map(|_| ())
        .map_err(fail)
}

#[server(prefix = "/srv", endpoint = "comms/add_identity")]
pub async fn add_identity(
    person_id: String,
    #[server(default)] channel: String,
    #[server(default)] address: String,
    #[server(default)] preferred: Option<String>,
) -> Result<FormOutcome, ServerFnError> {
    use crate::domain::comms::IdentityInput;
    let (state, actor) = actor()?;
    let input = IdentityInput {
        channel: Some(channel),
        address: Some(address),
        preferred: Some(preferred.is_some()),
        ..Default::default()
    };
    let result =
        crate::server::services::comms::add_identity(&state, &actor, parse_id(&person_id)?, &input)
            .await
            .map(|i| i.id.to_string());
    form_result(result)
}

/// `opt_out`, `opt_in`, `prefer` or `delete` an identity.
#[server(prefix = "/srv", endpoint = "comms/change_identity")]
pub async fn change_identity(id: String, change: String) -> Result<(), ServerFnError> {
    use crate::server::services::comms;
    let (state, actor) = actor()?;
    let id = parse_id(&id)?;
    let mut patch = serde_json::Map::new();
    match change.as_str() {
        "delete" => {
            return comms::delete_identity(&state, &actor, id)
                .await
                .map_err(fail)
        }
        "opt_out" => patch.insert("opted_out".into(), true.into()),
        "opt_in" => patch.insert("opted_out".into(), false.into()),
        "prefer" => patch.insert("preferred".into(), true.into()),
        "enable" => patch.insert("disabled".into(), false.into()),
        other => {
            return Err(ServerFnError::new(format!(
                "'{other}' is not a change to an identity"
            )))
        }
    };
    comms::patch_identity(&state, &actor, id, patch)
        .await
        .map(|_| ())
        .map_err(fail)
}
