//! What becomes of a claimed delivery, and everything that follows from it: attempting it
//! through its channel (sent, retried with backoff and jitter, failed, bounced, deferred), a
//! provider's later report, and the follow-ups of an outcome, decided here and written in the
//! same unit of work as the outcome itself: the reminder it carried moves on, the address it
//! went to is healthy again or counts a hard failure (and is disabled at the threshold), an
//! engagement message counts as unanswered, and a campaign whose messages have all settled is
//! complete.

use super::{events, get};
use crate::domain::comms::disable_after_hard_failures;
use crate::domain::dates::{ReminderStatus, ReminderType};
use crate::domain::delivery::{
    backoff, Delivery, DeliveryDetail, DeliveryEventInput, DeliveryKind, DeliveryStatus,
    ProviderEvent,
};
use crate::domain::webhooks::EventType;
use crate::server::auth::Actor;
use crate::server::channels::{Failure, OrgTransports, SendError};
use crate::server::db::deliveries::{self as repo, Outcome};
use crate::server::db::{campaigns, comms, dates, engagement, Tx};
use crate::server::error::{ServiceError, ServiceResult};
use crate::server::AppState;
use chrono::{DateTime, Utc};
use rand::Rng;
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use uuid::Uuid;

/// Writes `outcomes` (each only while the lease it was claimed under is current) and what
/// follows from each that landed, all in one unit of work: either all of it is written, or
/// none (and the caller keeps the outcomes to write again). Returns how many landed. A few
/// statements per batch for the outcomes themselves, so a worker sending thousands a second
/// keeps up; writing the same outcomes twice changes nothing the second time.
pub async fn record(state: &AppState, outcomes: &[Outcome]) -> Result<usize, sqlx::Error> {
    let mut tx = state.db.begin().await?;
    let repo::Recorded {
        mut landed,
        mut late,
    } = repo::record(&mut tx, outcomes).await?;
    let count = landed.len() + late.len();
    // A send a provider reported on while it was under way follows up as the report says:
    // delivered, it was sent; failed, it failed (the report has counted a bounce and told the
    // organisation's webhooks already).
    let reported: Vec<Outcome> = outcomes
        .iter()
        .filter_map(|o| {
            let status = late.remove(&o.id)?;
            let mut o = o.clone();
            o.status = if status == DeliveryStatus::Delivered {
                DeliveryStatus::Sent
            } else {
                DeliveryStatus::Failed
            };
            o.hard = false;
            Some(o)
        })
        .collect();
    let told_already: HashSet<Uuid> = reported
        .iter()
        .filter(|o| o.status == DeliveryStatus::Failed)
        .map(|o| o.id)
        .collect();
    // One outcome per delivery that landed (a delivery given twice follows up once).
    let done: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| landed.remove(&o.id))
        .chain(&reported)
        .collect();
    let cfg = &state.config.delivery;
    let told = follow_up(
        &mut tx,
        cfg.disable_after,
        cfg.max_attempts,
        &done,
        &told_already,
    )
    .await?;
    tx.commit().await?;
    if told > 0 {
        state.wake.notify_one();
    }
    Ok(count)
}

/// What follows from outcomes that landed; how many webhook events were queued (none for
/// `told_already`).
async fn follow_up(
    tx: &mut Tx,
    disable_after: i32,
    max_attempts: i32,
    done: &[&Outcome],
    told_already: &HashSet<Uuid>,
) -> Result<usize, sqlx::Error> {
    let settled = |o: &Outcome| matches!(o.status, DeliveryStatus::Sent | DeliveryStatus::Failed);
    let carried: Vec<(Uuid, Uuid)> = done
        .iter()
        .filter(|o| settled(o))
        .filter_map(|o| o.reminder_rule_id.map(|rule| (o.org_id, rule)))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let rules: HashMap<Uuid, (ReminderStatus, ReminderType)> = if carried.is_empty() {
        HashMap::new()
    } else {
        dates::rule_states(tx, &carried)
            .await?
            .into_iter()
            .map(|(id, status, kind)| (id, (status, kind)))
            .collect()
    };
    for o in done {
        if let Some((rule, &(status, kind))) = o
            .reminder_rule_id
            .and_then(|rule| rules.get(&rule).map(|s| (rule, s)))
        {
            let next = match o.status {
                DeliveryStatus::Sent => Some((status.after_sent(kind), Some(o.at), None)),
                DeliveryStatus::Failed if status.after_failed() != ReminderStatus::Cancelled => {
                    Some((status.after_failed(), None, o.detail.as_deref()))
                }
                _ => None,
            };
            if let Some((to, sent_at, error)) = next {
                dates::set_rule_outcome(tx, o.org_id, rule, status, to, sent_at, error, o.at)
                    .await?;
            }
        }
        if let Some(identity) = o.identity_id {
            if o.hard {
                let last = o.detail.as_deref().unwrap_or("no reason given");
                hard_failure(tx, o.org_id, identity, disable_after, last, o.at).await?;
            } else if o.status == DeliveryStatus::Sent {
                comms::identity_reached(tx, o.org_id, identity).await?;
            }
        }
        if let (Some(person), DeliveryStatus::Sent) = (o.engagement_person, o.status) {
            engagement::nudged(tx, o.org_id, person, o.at).await?;
        }
    }
    // A campaign whose last message settled here is complete (if its sending is over). Two
    // workers settling a campaign's last two messages at once each still see the other's as
    // unsettled; the next engagement run completes it then.
    let settled_campaigns: HashSet<(Uuid, Uuid)> = done
        .iter()
        .filter(|o| !matches!(o.status, DeliveryStatus::Pending | DeliveryStatus::Sending))
        .filter_map(|o| o.campaign_id.map(|c| (o.org_id, c)))
        .collect();
    let mut told = 0;
    if let Some(at) = done.iter().map(|o| o.at).max() {
        for (org_id, campaign) in settled_campaigns {
            campaigns::complete_if_settled(tx, org_id, campaign, at).await?;
        }
        // The organisations' event webhooks: sent and failed.
        let mut happened: HashMap<Uuid, Vec<(Uuid, EventType)>> = HashMap::new();
        for o in done.iter().filter(|o| !told_already.contains(&o.id)) {
            let event = match o.status {
                DeliveryStatus::Sent => EventType::Sent,
                DeliveryStatus::Failed => EventType::Failed,
                _ => continue,
            };
            happened.entry(o.org_id).or_default().push((o.id, event));
        }
        for (org_id, happened) in happened {
            told += events::tell(tx, org_id, &happened, max_attempts, at).await?;
        }
    }
    Ok(told)
}

/// Counts a hard failure against an address, and disables it at `threshold` in a row.
async fn hard_failure(
    tx: &mut Tx,
    org_id: Uuid,
    identity: Uuid,
    threshold: i32,
    last: &str,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    if let Some((count, false)) = comms::count_hard_failure(tx, org_id, identity, at).await? {
        if let Some(reason) = disable_after_hard_failures(count, threshold, last) {
            comms::disable_identity(tx, org_id, identity, &reason, at).await?;
        }
    }
    Ok(())
}

/// A provider's report: delivered, failed (a hard one counts against the address), opened,
/// or a response (clicked, replied, booked).
pub async fn provider_event(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    input: &DeliveryEventInput,
) -> ServiceResult<DeliveryDetail> {
    actor.require_write()?;
    let event = input.parse()?;
    let current = get(state, actor, id).await?.delivery;
    let at = event.at.unwrap_or_else(|| state.clock.now());
    let org = actor.org_id();
    let detail = event.error.clone().or_else(|| {
        event
            .provider_message_id
            .as_ref()
            .map(|p| format!("provider id {p}"))
    });
    match event.event {
        ProviderEvent::Delivered | ProviderEvent::Failed => {
            let (to, from): (DeliveryStatus, &[DeliveryStatus]) =
                if event.event == ProviderEvent::Delivered {
                    (
                        DeliveryStatus::Delivered,
                        &[DeliveryStatus::Sending, DeliveryStatus::Sent],
                    )
                } else {
                    (
                        DeliveryStatus::Failed,
                        &[
                            DeliveryStatus::Sending,
                            DeliveryStatus::Sent,
                            DeliveryStatus::Delivered,
                        ],
                    )
                };
            if current.status == to {
                // Providers repeat themselves; the second report changes nothing.
                return get(state, actor, id).await;
            }
            let mut tx = state.db.begin().await?;
            let done = repo::transition(
                &mut tx,
                &repo::Transition {
                    org_id: org,
                    id,
                    from,
                    to,
                    event: event.event.as_str(),
                    detail: detail.clone(),
                    at,
                    reset_attempts: false,
                    response: None,
                },
            )
            .await?;
            if !done {
                return Err(ServiceError::Conflict {
                    field: Some("event".into()),
                    message: format!(
                        "a {} delivery cannot become {}",
                        current.status.as_str(),
                        to.as_str()
                    ),
                });
            }
            if let (true, Some(identity)) = (
                event.event == ProviderEvent::Failed && event.hard,
                current.identity_id,
            ) {
                hard_failure(
                    &mut tx,
                    org,
                    identity,
                    state.config.delivery.disable_after,
                    detail.as_deref().unwrap_or("a hard bounce"),
                    at,
                )
                .await?;
            }
            let told = events::tell(
                &mut tx,
                org,
                &[(
                    id,
                    if to == DeliveryStatus::Delivered {
                        EventType::Delivered
                    } else {
                        EventType::Failed
                    },
                )],
                state.config.delivery.max_attempts,
                at,
            )
            .await?;
            tx.commit().await?;
            if told > 0 {
                state.wake.notify_one();
            }
        }
        ProviderEvent::Opened => {
            repo::add_event(
                &state.db,
                org,
                id,
                "opened",
                current.status,
                detail.as_deref(),
                at,
                None,
            )
            .await?;
        }
        ProviderEvent::Clicked | ProviderEvent::Replied | ProviderEvent::Booked => {
            let response = event.event.as_str();
            repo::add_event(
                &state.db,
                org,
                id,
                response,
                current.status,
                detail.as_deref(),
                at,
                Some(response),
            )
            .await?;
            if let Some(e) = EventType::of_response(response) {
                events::tell_now(state, org, &[(id, e)]).await?;
            }
        }
    }
    get(state, actor, id).await
}

/// A delivery whose channel settings could not be read is tried again this much later.
pub const SETTINGS_RETRY: chrono::Duration = chrono::Duration::seconds(5);

/// Sends one claimed delivery and says what became of it.
pub async fn attempt(state: &AppState, transports: &OrgTransports, d: Delivery) -> Outcome {
    let transport = transports.for_delivery(&d);
    let limit = state.config.delivery.send_timeout + Duration::from_secs(5);
    let result = match tokio::time::timeout(limit, transport.send(&d)).await {
        Ok(r) => r,
        Err(_) => Err(SendError::transient(format!(
            "no answer within {} seconds",
            limit.as_secs()
        ))),
    };
    let now = state.clock.now();
    let cfg = &state.config.delivery;
    let mut outcome = Outcome::of(&d, now);
    outcome.transport = Some(transport.name().to_string());
    if d.kind == DeliveryKind::Engagement {
        outcome.engagement_person = d.person_id;
    }
    let label = match result {
        Ok(sent) => {
            outcome.provider_message_id = sent.provider_message_id;
            "sent"
        }
        Err(err) => {
            outcome.detail = Some(err.message);
            match err.failure {
                Failure::Transient { retry_after } if d.attempts < d.max_attempts => {
                    let jitter = rand::thread_rng().gen::<f64>();
                    let mut wait = backoff(
                        d.attempts.max(1) as u32,
                        cfg.backoff_base,
                        cfg.backoff_cap,
                        jitter,
                    );
                    if let Some(r) = retry_after.and_then(|r| chrono::Duration::from_std(r).ok()) {
                        wait = wait.max(r.min(cfg.backoff_cap));
                    }
                    outcome.status = DeliveryStatus::Pending;
                    outcome.event = "attempt_failed";
                    outcome.next_attempt_at = Some(now + wait);
                    "retry"
                }
                Failure::Transient { .. } | Failure::Permanent => {
                    outcome.status = DeliveryStatus::Failed;
                    outcome.event = "failed";
                    "failed"
                }
                Failure::Hard => {
                    outcome.status = DeliveryStatus::Failed;
                    outcome.event = "bounced";
                    outcome.hard = true;
                    "failed"
                }
            }
        }
    };
    state.metrics.attempt(d.channel.as_str(), label);
    outcome
}

/// Not sent, and not for the delivery's sake: it waits and is tried again shortly, its
/// attempt given back.
pub fn deferred(state: &AppState, d: &Delivery, why: String) -> Outcome {
    let now = state.clock.now();
    let mut o = Outcome::of(d, now);
    o.status = DeliveryStatus::Pending;
    o.event = "deferred";
    o.detail = Some(why);
    o.next_attempt_at = Some(now + SETTINGS_RETRY);
    o.uncount = true;
    o
}

/// Sends one pending delivery at once, in this request, unless a worker already took it.
pub async fn send_now(state: &AppState, org_id: Uuid, id: Uuid) -> ServiceResult<()> {
    let now = state.clock.now();
    let owner = format!("request:{}", Uuid::new_v4().simple());
    let Some(d) = repo::claim_one(
        &state.db,
        org_id,
        id,
        &owner,
        now,
        now + state.config.delivery.lease,
    )
    .await?
    else {
        return Ok(());
    };
    let settings = crate::server::db::channels::settings(&state.db, &state.keys, org_id).await?;
    let transports = state.channels.for_org(&state.db, &state.keys, &settings);
    let outcome = attempt(state, &transports, d).await;
    record(state, &[outcome]).await?;
    Ok(())
}
