//! Event webhooks, a follow-up of what happens to a message: each event (sent, delivered,
//! failed, clicked, booked, unsubscribed) that one of the organisation's subscriptions chose is
//! queued in the outbox as a delivery of its own — to the subscription's URL, one per
//! subscription, message and event (its idempotency key), signed when it is sent — in the same
//! unit of work as what caused it. So an event is told at least once, with the outbox's
//! retries, and shows in the Messages log like any message. Events about events are never
//! made.

use crate::domain::dates::Channel;
use crate::domain::delivery::{Delivery, DeliveryKind, DeliverySource};
use crate::domain::webhooks::{payload, EventType};
use crate::server::db::{deliveries, webhooks, Tx};
use crate::server::error::ServiceResult;
use crate::server::AppState;
use chrono::{DateTime, Utc};
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

/// Queues the events of `happened` (message, event) for the organisation's subscriptions that
/// chose them; how many were queued. Costs one statement when the organisation has none.
pub(crate) async fn tell(
    tx: &mut Tx,
    org_id: Uuid,
    happened: &[(Uuid, EventType)],
    max_attempts: i32,
    at: DateTime<Utc>,
) -> Result<usize, sqlx::Error> {
    if happened.is_empty() {
        return Ok(0);
    }
    let subscriptions = webhooks::active(tx, org_id).await?;
    let wanted: Vec<&(Uuid, EventType)> = happened
        .iter()
        .filter(|(_, e)| {
            subscriptions
                .iter()
                .any(|(_, _, events)| events.contains(e))
        })
        .collect();
    if wanted.is_empty() {
        return Ok(0);
    }
    let mut ids: Vec<Uuid> = wanted.iter().map(|(id, _)| *id).collect();
    ids.sort();
    ids.dedup();
    let about: HashMap<Uuid, Delivery> = webhooks::deliveries(tx, org_id, &ids)
        .await?
        .into_iter()
        .filter(|d| d.source != DeliverySource::Event)
        .map(|d| (d.id, d))
        .collect();
    let mut outbox = Vec::new();
    for (id, event) in wanted {
        let Some(d) = about.get(id) else {
            continue;
        };
        let body = payload(d, *event, at).to_string();
        for (subscription, url, events) in &subscriptions {
            if !events.contains(event) {
                continue;
            }
            outbox.push(Delivery {
                address: Some(url.clone()),
                subject: Some(event.type_name()),
                body: body.clone(),
                metadata: json!({
                    "subscription_id": subscription,
                    "event": event.type_name(),
                    "delivery_id": d.id,
                }),
                max_attempts,
                ..Delivery::queued(
                    org_id,
                    DeliveryKind::Utility,
                    DeliverySource::Event,
                    Channel::Webhook,
                    format!("event:{subscription}:{}:{}", d.id, event.as_str()),
                    at,
                )
            });
        }
    }
    let events = vec!["queued"; outbox.len()];
    Ok(deliveries::insert_many_in(tx, &outbox, &events)
        .await?
        .len())
}

/// [`tell`] in a unit of work of its own, for a response recorded on its own (a followed link,
/// an unsubscribe, activity that answers a message), and the dispatcher woken.
pub(crate) async fn tell_now(
    state: &AppState,
    org_id: Uuid,
    happened: &[(Uuid, EventType)],
) -> ServiceResult<()> {
    if happened.is_empty() {
        return Ok(());
    }
    let mut tx = state.db.begin().await?;
    let queued = tell(
        &mut tx,
        org_id,
        happened,
        state.config.delivery.max_attempts,
        state.clock.now(),
    )
    .await?;
    tx.commit().await?;
    if queued > 0 {
        state.wake.notify_one();
    }
    Ok(())
}
