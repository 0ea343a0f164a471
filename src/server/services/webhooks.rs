//! Event webhook subscriptions: an organisation's endpoints and the delivery events each is
//! told of (see `services::deliveries::events` for the telling). Admins (and API keys that may
//! write) manage them; a subscription's signing secret is made here and shown once.

use super::audit;
use crate::domain::webhooks::{Subscription, SubscriptionInput, SubscriptionSettings};
use crate::server::auth::Actor;
use crate::server::db::webhooks as repo;
use crate::server::error::{ServiceError, ServiceResult};
use crate::server::AppState;
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

/// A new subscription and its secret, shown this once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewSubscription {
    #[serde(flatten)]
    pub subscription: Subscription,
    /// `whsec_…`: the key its events are signed with (Standard Webhooks).
    pub secret: String,
}

pub async fn list(state: &AppState, actor: &Actor) -> ServiceResult<Vec<Subscription>> {
    actor.require_configure()?;
    Ok(repo::list(&state.db, actor.org_id()).await?)
}

pub async fn get(state: &AppState, actor: &Actor, id: Uuid) -> ServiceResult<Subscription> {
    actor.require_configure()?;
    repo::get(&state.db, actor.org_id(), id)
        .await?
        .ok_or(ServiceError::NotFound)
}

pub async fn create(
    state: &AppState,
    actor: &Actor,
    input: &SubscriptionInput,
) -> ServiceResult<NewSubscription> {
    actor.require_configure()?;
    let settings = input.apply(None)?;
    let now = state.clock.now();
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    let secret = format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    );
    let s = Subscription {
        id: Uuid::now_v7(),
        org_id: actor.org_id(),
        url: settings.url,
        events: settings.events,
        description: settings.description,
        enabled: settings.enabled,
        created_at: now,
        updated_at: now,
    };
    repo::save(&state.db, &state.keys, &s, Some(&secret)).await?;
    audit(
        &state.db,
        actor,
        "create",
        "webhook",
        Some(s.id),
        json!({ "url": s.url, "events": s.events }),
        now,
    )
    .await;
    Ok(NewSubscription {
        subscription: s,
        secret,
    })
}

/// Changes a subscription: the fields present replace its own (its secret stays).
pub async fn update(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    input: &SubscriptionInput,
) -> ServiceResult<Subscription> {
    let mut s = get(state, actor, id).await?;
    let current = SubscriptionSettings {
        url: s.url.clone(),
        events: s.events.clone(),
        description: s.description.clone(),
        enabled: s.enabled,
    };
    let next = input.apply(Some(&current))?;
    s.url = next.url;
    s.events = next.events;
    s.description = next.description;
    s.enabled = next.enabled;
    s.updated_at = state.clock.now();
    if !repo::save(&state.db, &state.keys, &s, None).await? {
        return Err(ServiceError::NotFound);
    }
    audit(
        &state.db,
        actor,
        "update",
        "webhook",
        Some(id),
        json!({ "url": s.url, "events": s.events, "enabled": s.enabled }),
        s.updated_at,
    )
    .await;
    Ok(s)
}

/// Removes a subscription; events already queued for it are not sent.
pub async fn delete(state: &AppState, actor: &Actor, id: Uuid) -> ServiceResult<()> {
    actor.require_configure()?;
    if !repo::delete(&state.db, actor.org_id(), id).await? {
        return Err(ServiceError::NotFound);
    }
    audit(
        &state.db,
        actor,
        "delete",
        "webhook",
        Some(id),
        json!({}),
        state.clock.now(),
    )
    .await;
    Ok(())
}
