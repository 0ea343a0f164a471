//! Channel settings per organisation (admins only; secrets stored and never shown back), and
//! the test message that proves a channel works.

use super::audit;
use super::deliveries::{queue, send_now, NewDelivery};
use crate::domain::channels::{self as spec, ChannelView};
use crate::domain::dates::Channel;
use crate::domain::delivery::{DeliveryDetail, DeliveryKind, DeliverySource, DeliveryStatus};
use crate::server::auth::Actor;
use crate::server::db::{channels as repo, orgs};
use crate::server::error::{ServiceError, ServiceResult};
use crate::server::AppState;
use serde_json::json;
use std::collections::BTreeMap;
use uuid::Uuid;

fn view(name: &str, s: Option<&spec::ChannelSettings>) -> ChannelView {
    match s {
        None => ChannelView {
            channel: name.to_string(),
            ..Default::default()
        },
        Some(s) => ChannelView {
            channel: name.to_string(),
            configured: true,
            enabled: s.enabled,
            values: s.config.clone(),
            secrets_set: s.secrets.keys().cloned().collect(),
        },
    }
}

fn known(channel: &str) -> ServiceResult<&'static spec::ChannelSpec> {
    spec::spec(channel).ok_or_else(|| {
        let names: Vec<&str> = spec::CHANNELS.iter().map(|c| c.name).collect();
        ServiceError::invalid(
            "channel",
            format!("'{channel}' is not a channel ({})", names.join(", ")),
        )
    })
}

/// Every configurable channel with its settings (never its secrets).
pub async fn list(state: &AppState, actor: &Actor) -> ServiceResult<Vec<ChannelView>> {
    actor.require_admin()?;
    let stored = repo::settings(&state.db, &state.keys, actor.org_id()).await?;
    Ok(spec::CHANNELS
        .iter()
        .map(|c| view(c.name, stored.get(c.name)))
        .collect())
}

async fn apply(
    state: &AppState,
    org_id: Uuid,
    channel: &str,
    updates: &BTreeMap<String, String>,
    enabled: Option<bool>,
) -> ServiceResult<ChannelView> {
    let spec = known(channel)?;
    let stored = repo::settings(&state.db, &state.keys, org_id).await?;
    let current = stored
        .get(channel)
        .cloned()
        .unwrap_or(spec::ChannelSettings {
            enabled: true,
            ..Default::default()
        });
    let plain_allowed = state.channels.policy.allow_loopback;
    let next = spec::apply(spec, &current, updates, enabled, plain_allowed)?;
    repo::save(
        &state.db,
        &state.keys,
        org_id,
        channel,
        &next,
        state.clock.now(),
    )
    .await?;
    Ok(view(channel, Some(&next)))
}

/// Changes a channel's settings: blank secrets keep the stored ones.
pub async fn set(
    state: &AppState,
    actor: &Actor,
    channel: &str,
    updates: &BTreeMap<String, String>,
    enabled: Option<bool>,
) -> ServiceResult<ChannelView> {
    actor.require_admin()?;
    let v = apply(state, actor.org_id(), channel, updates, enabled).await?;
    // The audit log names what changed, never a secret's value.
    let keys: Vec<&String> = updates.keys().collect();
    audit(
        &state.db,
        actor,
        "configure",
        "channel",
        None,
        json!({ "channel": channel, "keys": keys, "enabled": v.enabled }),
        state.clock.now(),
    )
    .await;
    Ok(v)
}

/// `concierge channel set --org SLUG --channel NAME KEY=VALUE…`.
pub async fn set_for_org(
    state: &AppState,
    org_slug: &str,
    channel: &str,
    updates: &BTreeMap<String, String>,
    enabled: Option<bool>,
) -> ServiceResult<ChannelView> {
    let org = orgs::by_slug(&state.db, org_slug).await?.ok_or_else(|| {
        ServiceError::invalid("org", format!("there is no organisation '{org_slug}'"))
    })?;
    apply(state, org.id, channel, updates, enabled).await
}

/// Forgets a channel's settings: its messages go to the log again.
pub async fn remove(state: &AppState, actor: &Actor, channel: &str) -> ServiceResult<()> {
    actor.require_admin()?;
    known(channel)?;
    if !repo::remove(&state.db, actor.org_id(), channel).await? {
        return Err(ServiceError::NotFound);
    }
    audit(
        &state.db,
        actor,
        "remove",
        "channel",
        None,
        json!({ "channel": channel }),
        state.clock.now(),
    )
    .await;
    Ok(())
}

/// Sends a test message through the channel now, through the outbox like any other, and says
/// what became of it. `to` is the address (an admin's own e-mail by default).
pub async fn test(
    state: &AppState,
    actor: &Actor,
    channel: &str,
    to: Option<&str>,
) -> ServiceResult<DeliveryDetail> {
    actor.require_admin()?;
    known(channel)?;
    let ch = Channel::parse(channel).map_err(|m| ServiceError::invalid("channel", m))?;
    let to = to
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(String::from);
    let address = match (ch, to, actor) {
        (Channel::Webhook, _, _) => None,
        (_, Some(t), _) => Some(t),
        (Channel::Email, None, Actor::Staff(s)) => Some(s.email.clone()),
        _ => {
            return Err(ServiceError::invalid(
                "to",
                "is required: where should the test go?",
            ))
        }
    };
    let now = state.clock.now();
    let (delivery, _) = queue(
        state,
        NewDelivery {
            org_id: actor.org_id(),
            person: None,
            staff_id: None,
            kind: DeliveryKind::Utility,
            source: DeliverySource::Manual,
            channel: Some(ch),
            address,
            subject: Some("Concierge test message".into()),
            body: format!(
                "This is a test message from Concierge, sent by {} to check the {} channel.",
                actor.label(),
                ch.label()
            ),
            metadata: json!({ "test": true }),
            idempotency_key: format!("test:{}", Uuid::now_v7()),
            correlation_id: None,
            reminder_rule_id: None,
            occurrence: None,
            conversation_id: None,
            due_at: now,
        },
    )
    .await?;
    send_now(state, actor.org_id(), delivery.id).await?;
    // A worker may have taken it first: wait (as long as one attempt may take) for its outcome.
    let until = std::time::Instant::now() + state.config.delivery.send_timeout;
    loop {
        let detail = super::deliveries::get(state, actor, delivery.id).await?;
        if detail.delivery.status.is_final()
            || detail.delivery.attempts > 0 && detail.delivery.status == DeliveryStatus::Pending
            || std::time::Instant::now() >= until
        {
            return Ok(detail);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
