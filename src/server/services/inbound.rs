//! Inbound messages: what a person sent on a channel, threaded into their conversation there
//! (the latest one, reopened if archived, or a new one). A reply to a delivery marks that
//! delivery `replied`.

use super::{comms, deliveries};
use crate::domain::comms::{
    Conversation, ConversationChannel, ConversationInput, Message, MessageInput,
};
use crate::domain::delivery::{DeliveryEventInput, InboundInput};
use crate::domain::person::present;
use crate::server::auth::Actor;
use crate::server::db::{comms as repo, persons};
use crate::server::error::{ServiceError, ServiceResult};
use crate::server::AppState;
use uuid::Uuid;

fn uuid_field(field: &str, raw: &Option<String>) -> ServiceResult<Option<Uuid>> {
    match present(raw) {
        None => Ok(None),
        Some(s) => crate::domain::dates::parse_uuid(field, s)
            .map(Some)
            .map_err(|m| ServiceError::invalid(field, m)),
    }
}

pub async fn receive(
    state: &AppState,
    actor: &Actor,
    input: &InboundInput,
) -> ServiceResult<(Conversation, Message)> {
    actor.require_write()?;
    let channel = match present(&input.channel) {
        None => return Err(ServiceError::invalid("channel", "is required")),
        Some(c) => {
            ConversationChannel::parse(c).map_err(|m| ServiceError::invalid("channel", m))?
        }
    };
    if present(&input.body).is_none() {
        return Err(ServiceError::invalid("body", "is required"));
    }
    let org = actor.org_id();
    let person_id = match (
        uuid_field("person_id", &input.person_id)?,
        present(&input.external_id),
        present(&input.from),
    ) {
        (Some(id), _, _) => persons::get(&state.db, org, id)
            .await?
            .map(|p| p.id)
            .ok_or_else(|| {
                ServiceError::missing("person_id", "there is no such person in this organisation")
            })?,
        (None, Some(ext), _) => persons::by_external_id(&state.db, org, ext)
            .await?
            .map(|p| p.id)
            .ok_or_else(|| {
                ServiceError::missing("external_id", "no person has this external id")
            })?,
        (None, None, Some(from)) => repo::person_by_address(&state.db, org, channel.as_str(), from)
            .await?
            .ok_or_else(|| {
                ServiceError::invalid(
                    "from",
                    format!("no person has the {} address '{from}'", channel.label()),
                )
            })?,
        (None, None, None) => {
            return Err(ServiceError::invalid(
                "person_id",
                "is required (or give external_id, or the sender's address in from)",
            ))
        }
    };
    let conversation_id = match uuid_field("conversation_id", &input.conversation_id)? {
        Some(id) => {
            let c = comms::get_conversation(state, actor, id)
                .await
                .map_err(|e| match e {
                    ServiceError::NotFound => ServiceError::missing(
                        "conversation_id",
                        "there is no such conversation in this organisation",
                    ),
                    other => other,
                })?;
            if c.person_id != person_id {
                return Err(ServiceError::invalid(
                    "conversation_id",
                    "is another person's conversation",
                ));
            }
            id
        }
        None => match repo::latest_conversation(&state.db, org, person_id, channel.as_str()).await?
        {
            Some(id) => id,
            None => {
                comms::save_conversation(
                    state,
                    actor,
                    None,
                    &ConversationInput {
                        person_id: Some(person_id.to_string()),
                        channel_type: Some(channel.as_str().into()),
                        subject: input.subject.clone(),
                        status: None,
                    },
                )
                .await?
                .id
            }
        },
    };
    let message = comms::add_message(
        state,
        actor,
        conversation_id,
        &MessageInput {
            direction: Some("in".into()),
            body: input.body.clone(),
            author: None,
            send: None,
        },
    )
    .await?;
    if let Some(delivery_id) = uuid_field("in_reply_to", &input.in_reply_to)? {
        deliveries::provider_event(
            state,
            actor,
            delivery_id,
            &DeliveryEventInput {
                event: Some("replied".into()),
                provider_message_id: input.provider_message_id.clone(),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| match e {
            ServiceError::NotFound => ServiceError::missing(
                "in_reply_to",
                "there is no such delivery in this organisation",
            ),
            other => other,
        })?;
    }
    let conversation = comms::get_conversation(state, actor, conversation_id).await?;
    Ok((conversation, message))
}
