//! Communication identities, conversations and messages. Staff notes are recorded; an outgoing
//! message is queued as a delivery through the conversation's channel and linked to it.

use super::{audit, live_person, page_bounds};
use crate::domain::comms::{
    preview, CommIdentity, Conversation, ConversationDraft, ConversationInput, ConversationStatus,
    IdentityDraft, IdentityInput, Message, MessageDraft, MessageInput,
};
use crate::server::auth::Actor;
use crate::server::db::comms::{self as repo, ConversationFilter};
use crate::server::error::{ServiceError, ServiceResult};
use crate::server::AppState;
use serde_json::json;
use uuid::Uuid;

pub async fn identities(
    state: &AppState,
    actor: &Actor,
    person_id: Uuid,
) -> ServiceResult<Vec<CommIdentity>> {
    super::persons::get(state, actor, person_id).await?;
    Ok(repo::identities_for(&state.db, actor.org_id(), person_id).await?)
}

pub async fn get_identity(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
) -> ServiceResult<CommIdentity> {
    let identity = repo::get_identity(&state.db, actor.org_id(), id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    super::persons::get(state, actor, identity.person_id).await?;
    Ok(identity)
}

/// Adds an identity to a person (`existing` is `None`) or replaces one's fields.
async fn save_identity(
    state: &AppState,
    actor: &Actor,
    person_id: Uuid,
    existing: Option<&CommIdentity>,
    input: &IdentityInput,
) -> ServiceResult<CommIdentity> {
    actor.require_write()?;
    let region = super::settings::organisation(state, actor).await?.region();
    let draft = IdentityDraft::parse(input, region.as_ref())?;
    let id = existing.map(|e| e.id).unwrap_or_else(Uuid::now_v7);
    if repo::find_identity(
        &state.db,
        actor.org_id(),
        person_id,
        &draft,
        existing.map(|e| e.id),
    )
    .await?
    .is_some()
    {
        return Err(ServiceError::conflict(
            "address",
            format!(
                "this person already has the {} address {}",
                draft.channel.label(),
                draft.address
            ),
        ));
    }
    let now = state.clock.now();
    let opted_out_at = match (draft.opted_out, existing.and_then(|e| e.opted_out_at)) {
        (true, Some(at)) => Some(at),
        (true, None) => Some(now),
        (false, _) => None,
    };
    repo::save_identity(
        &state.db,
        actor.org_id(),
        person_id,
        id,
        &draft,
        opted_out_at,
        now,
        existing.is_none(),
    )
    .await?;
    if let Some(disable) = input.disabled {
        if disable != existing.is_some_and(|e| e.disabled()) {
            let reason = disable.then(|| format!("disabled by {}", actor.label()));
            repo::set_identity_disabled(&state.db, actor.org_id(), id, reason.as_deref(), now)
                .await?;
        }
    }
    audit(
        &state.db,
        actor,
        if existing.is_some() { "update" } else { "create" },
        "identity",
        Some(id),
        json!({ "person_id": person_id, "channel": draft.channel.as_str(), "opted_out": draft.opted_out }),
        now,
    )
    .await;
    get_identity(state, actor, id).await
}

pub async fn add_identity(
    state: &AppState,
    actor: &Actor,
    person_id: Uuid,
    input: &IdentityInput,
) -> ServiceResult<CommIdentity> {
    super::persons::get(state, actor, person_id).await?;
    save_identity(state, actor, person_id, None, input).await
}

/// A partial update: present fields replace stored ones.
pub async fn patch_identity(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    patch: serde_json::Map<String, serde_json::Value>,
) -> ServiceResult<CommIdentity> {
    actor.require_write()?;
    let current = get_identity(state, actor, id).await?;
    let base = IdentityInput {
        channel: Some(current.channel.as_str().into()),
        address: Some(current.address.clone()),
        preferred: Some(current.preferred),
        verified: Some(current.verified),
        opted_out: Some(current.opted_out()),
        disabled: Some(current.disabled()),
    };
    let input: IdentityInput = super::merge_patch(&base, patch, &[("channel_type", "channel")])?;
    save_identity(state, actor, current.person_id, Some(&current), &input).await
}

pub async fn delete_identity(state: &AppState, actor: &Actor, id: Uuid) -> ServiceResult<()> {
    actor.require_write()?;
    let identity = get_identity(state, actor, id).await?;
    repo::delete_identity(&state.db, actor.org_id(), id).await?;
    audit(
        &state.db,
        actor,
        "delete",
        "identity",
        Some(id),
        json!({ "person_id": identity.person_id, "channel": identity.channel.as_str() }),
        state.clock.now(),
    )
    .await;
    Ok(())
}

const PREVIEW_CHARS: usize = 120;

fn with_preview(mut c: Conversation) -> Conversation {
    c.last_message_preview = c.last_message_preview.map(|b| preview(&b, PREVIEW_CHARS));
    c
}

pub async fn get_conversation(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
) -> ServiceResult<Conversation> {
    repo::get_conversation(&state.db, actor.org_id(), id)
        .await?
        .map(with_preview)
        .ok_or(ServiceError::NotFound)
}

pub struct ConversationQuery {
    pub person_id: Option<Uuid>,
    pub status: Option<String>,
    pub skip: i64,
    pub limit: i64,
}

/// Conversations, latest first, and how many match in all.
pub async fn list_conversations(
    state: &AppState,
    actor: &Actor,
    q: ConversationQuery,
) -> ServiceResult<(Vec<Conversation>, i64)> {
    page_bounds(q.skip, q.limit)?;
    let status = super::enum_filter("status", q.status.as_deref(), ConversationStatus::parse)?
        .map(ConversationStatus::as_str);
    let filter = ConversationFilter {
        person_id: q.person_id,
        status,
    };
    let (items, total) =
        repo::list_conversations(&state.db, actor.org_id(), &filter, q.skip, q.limit).await?;
    Ok((items.into_iter().map(with_preview).collect(), total))
}

/// Starts a conversation (no `id`) or changes one (subject, status, channel).
pub async fn save_conversation(
    state: &AppState,
    actor: &Actor,
    id: Option<Uuid>,
    input: &ConversationInput,
) -> ServiceResult<Conversation> {
    actor.require_write()?;
    let draft = ConversationDraft::parse(input)?;
    live_person(state, actor, draft.person_id, "person_id").await?;
    if let Some(id) = id {
        get_conversation(state, actor, id).await?;
    }
    let cid = id.unwrap_or_else(Uuid::now_v7);
    let now = state.clock.now();
    if !repo::save_conversation(&state.db, actor.org_id(), cid, &draft, now, id.is_none()).await? {
        return Err(ServiceError::NotFound);
    }
    audit(
        &state.db,
        actor,
        if id.is_some() { "update" } else { "create" },
        "conversation",
        Some(cid),
        json!({ "person_id": draft.person_id, "channel_type": draft.channel_type.as_str(),
                "status": draft.status.as_str() }),
        now,
    )
    .await;
    get_conversation(state, actor, cid).await
}

pub async fn patch_conversation(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    patch: serde_json::Map<String, serde_json::Value>,
) -> ServiceResult<Conversation> {
    actor.require_write()?;
    let c = get_conversation(state, actor, id).await?;
    let base = ConversationInput {
        person_id: Some(c.person_id.to_string()),
        channel_type: Some(c.channel_type.as_str().into()),
        subject: c.subject,
        status: Some(c.status.as_str().into()),
    };
    let input: ConversationInput =
        super::merge_patch(&base, patch, &[("channel", "channel_type")])?;
    save_conversation(state, actor, Some(id), &input).await
}

pub async fn messages(
    state: &AppState,
    actor: &Actor,
    conversation_id: Uuid,
    skip: i64,
    limit: i64,
) -> ServiceResult<Vec<Message>> {
    page_bounds(skip, limit)?;
    get_conversation(state, actor, conversation_id).await?;
    Ok(repo::messages(&state.db, actor.org_id(), conversation_id, skip, limit).await?)
}

/// Records a message or a staff note in a conversation.
pub async fn add_message(
    state: &AppState,
    actor: &Actor,
    conversation_id: Uuid,
    input: &MessageInput,
) -> ServiceResult<Message> {
    actor.require_write()?;
    let conversation = get_conversation(state, actor, conversation_id).await?;
    let draft = MessageDraft::parse(input)?;
    let (author, staff_id) = match (actor, &draft.author) {
        (_, Some(a)) => (a.clone(), None),
        (Actor::Staff(s), None) => (s.display_name.clone(), Some(s.staff_id)),
        (Actor::ApiKey { name, .. }, None) => match draft.direction {
            crate::domain::comms::Direction::In => (conversation.person_name.clone(), None),
            _ => (name.clone(), None),
        },
    };
    // A staff member's own message is theirs, whatever name it carries.
    let staff_id = staff_id.or(match actor {
        Actor::Staff(s) if draft.direction != crate::domain::comms::Direction::In => {
            Some(s.staff_id)
        }
        _ => None,
    });
    let id = Uuid::now_v7();
    let now = state.clock.now();
    let delivery_id =
        if draft.direction == crate::domain::comms::Direction::Out && input.send.unwrap_or(true) {
            send_reply(state, actor, &conversation, &draft.body, id).await?
        } else {
            None
        };
    repo::add_message(
        &state.db,
        actor.org_id(),
        conversation_id,
        id,
        &draft,
        &author,
        staff_id,
        delivery_id,
        now,
    )
    .await?;
    repo::get_message(&state.db, actor.org_id(), id)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// Sends a reply through the conversation's channel as a utility message (a staff reply is
/// never held back by marketing rules). A web-chat conversation has no outbound channel: the
/// reply is only recorded.
async fn send_reply(
    state: &AppState,
    actor: &Actor,
    conversation: &Conversation,
    body: &str,
    message_id: Uuid,
) -> ServiceResult<Option<Uuid>> {
    use crate::domain::comms::ConversationChannel;
    use crate::domain::dates::Channel;
    use crate::domain::delivery::{DeliveryKind, DeliverySource};
    let channel = match conversation.channel_type {
        ConversationChannel::Email => Channel::Email,
        ConversationChannel::Sms => Channel::Sms,
        ConversationChannel::Whatsapp => Channel::Whatsapp,
        ConversationChannel::Slack => Channel::Slack,
        ConversationChannel::Web => return Ok(None),
    };
    let person = live_person(state, actor, conversation.person_id, "conversation_id").await?;
    let subject = conversation.subject.as_deref().map(|s| {
        if s.to_ascii_lowercase().starts_with("re:") {
            s.to_string()
        } else {
            format!("Re: {s}")
        }
    });
    let (delivery, _) = super::deliveries::queue(
        state,
        super::deliveries::NewDelivery {
            org_id: actor.org_id(),
            person: Some(&person),
            staff_id: None,
            kind: DeliveryKind::Utility,
            source: DeliverySource::Manual,
            channel: Some(channel),
            address: None,
            subject,
            body: body.to_string(),
            metadata: json!({ "conversation_id": conversation.id, "message_id": message_id }),
            idempotency_key: format!("message:{message_id}"),
            correlation_id: None,
            reminder_rule_id: None,
            occurrence: None,
            conversation_id: Some(conversation.id),
            due_at: state.clock.now(),
        },
    )
    .await?;
    Ok(Some(delivery.id))
}
