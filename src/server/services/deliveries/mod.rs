//! A delivery's life, in one place: queueing a message (choosing the address, or recording
//! why there is none), utility messages from the API, the Messages log, retry and cancel
//! here; attempting a claimed one, its outcome and everything that follows from it in
//! [`outcome`]. Nothing is sent except through a delivery queued here. The worker only runs
//! the loops that claim, attempt and record; the repositories only run statements.

pub(crate) mod events;
mod outcome;

pub use outcome::{attempt, deferred, provider_event, record, send_now, SETTINGS_RETRY};

use super::audit;
use crate::domain::dates::Channel;
use crate::domain::delivery::{
    explain, utility_text, Delivery, DeliveryDetail, DeliveryFilter, DeliveryKind, DeliverySource,
    DeliveryStatus, SendUtilityInput,
};
use crate::domain::route::{route, NoRoute, Route};
use crate::domain::Person;
use crate::server::auth::Actor;
use crate::server::db::{comms, deliveries as repo, persons};
use crate::server::error::{ServiceError, ServiceResult};
use crate::server::AppState;
use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

/// A message to queue.
pub struct NewDelivery<'a> {
    pub org_id: Uuid,
    pub person: Option<&'a Person>,
    pub staff_id: Option<Uuid>,
    pub kind: DeliveryKind,
    pub source: DeliverySource,
    /// The channel to use; `None` picks the person's preferred address.
    pub channel: Option<Channel>,
    /// An address chosen by the caller (a staff member's e-mail), instead of the person's.
    pub address: Option<String>,
    pub subject: Option<String>,
    pub body: String,
    pub metadata: serde_json::Value,
    pub idempotency_key: String,
    pub correlation_id: Option<String>,
    pub reminder_rule_id: Option<Uuid>,
    pub occurrence: Option<String>,
    pub conversation_id: Option<Uuid>,
    pub due_at: DateTime<Utc>,
}

/// What the webhook and the log say about the person a message is for.
pub fn person_summary(p: &Person) -> serde_json::Value {
    json!({
        "id": p.id,
        "name": p.full_name,
        "preferred_name": p.preferred_name,
        "external_id": p.external_id,
        "timezone": p.timezone,
    })
}

/// Queues a message. When no address can be found the delivery is still written, as
/// `suppressed` with the reason, so staff can see why nothing went. A second call with the
/// same idempotency key changes nothing and returns the first delivery (`false`).
pub async fn queue(state: &AppState, new: NewDelivery<'_>) -> ServiceResult<(Delivery, bool)> {
    let identities = match (new.person, &new.address) {
        (Some(p), None) => comms::identities_for(&state.db, new.org_id, p.id).await?,
        _ => Vec::new(),
    };
    let (delivery, event) = prepare(
        new,
        &identities,
        state.config.delivery.max_attempts,
        state.clock.now(),
    );
    if repo::insert(&state.db, &delivery, event).await? {
        if delivery.status == DeliveryStatus::Pending {
            state.wake.notify_one();
        }
        return Ok((delivery, true));
    }
    let existing = repo::by_key(&state.db, delivery.org_id, &delivery.idempotency_key)
        .await?
        .ok_or_else(|| anyhow::anyhow!("a delivery's idempotency key clashed but is not there"))?;
    Ok((existing, false))
}

/// The delivery a message becomes, with its first event (`queued`, or `suppressed` with the
/// reason when none of the person's `identities` can take it), written by the caller: one at
/// a time by [`queue`], a batch at once by the reminder scheduler.
pub fn prepare(
    new: NewDelivery<'_>,
    identities: &[crate::domain::comms::CommIdentity],
    max_attempts: i32,
    now: DateTime<Utc>,
) -> (Delivery, &'static str) {
    let mut metadata = match new.metadata {
        serde_json::Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    if let Some(p) = new.person {
        metadata
            .entry("person")
            .or_insert_with(|| person_summary(p));
    }
    let routed = match (new.person, &new.address) {
        (_, Some(address)) => Ok(Route {
            channel: new.channel.unwrap_or(Channel::Email),
            address: Some(address.clone()),
            identity_id: None,
        }),
        (Some(p), None) => route(p, identities, new.channel).map_err(|(c, why)| (c, why.code())),
        (None, None) => match new.channel {
            Some(c @ (Channel::Portal | Channel::Webhook)) => Ok(Route {
                channel: c,
                address: None,
                identity_id: None,
            }),
            other => Err((other.unwrap_or(Channel::Email), NoRoute::NoAddress.code())),
        },
    };
    let (channel, address, identity_id, status, reason) = match routed {
        Ok(r) => (
            r.channel,
            r.address,
            r.identity_id,
            DeliveryStatus::Pending,
            None,
        ),
        Err((c, why)) => (c, None, None, DeliveryStatus::Suppressed, Some(why)),
    };
    let delivery = Delivery {
        person_id: new.person.map(|p| p.id),
        staff_id: new.staff_id,
        identity_id,
        address,
        subject: new.subject,
        body: new.body,
        metadata: serde_json::Value::Object(metadata),
        status,
        suppression_reason: reason.map(String::from),
        max_attempts,
        next_attempt_at: (status == DeliveryStatus::Pending).then_some(new.due_at),
        correlation_id: new.correlation_id,
        reminder_rule_id: new.reminder_rule_id,
        occurrence: new.occurrence,
        conversation_id: new.conversation_id,
        ..Delivery::queued(
            new.org_id,
            new.kind,
            new.source,
            channel,
            new.idempotency_key,
            now,
        )
    };
    let event = if status == DeliveryStatus::Pending {
        "queued"
    } else {
        "suppressed"
    };
    (delivery, event)
}

async fn find_person(
    state: &AppState,
    actor: &Actor,
    person_id: Option<&str>,
    external_id: Option<&str>,
) -> ServiceResult<Person> {
    let person = match (
        person_id.map(str::trim).filter(|s| !s.is_empty()),
        external_id.map(str::trim).filter(|s| !s.is_empty()),
    ) {
        (Some(id), _) => {
            let id = crate::domain::dates::parse_uuid("person_id", id)
                .map_err(|m| ServiceError::invalid("person_id", m))?;
            persons::get(&state.db, actor.org_id(), id)
                .await?
                .ok_or_else(|| {
                    ServiceError::missing(
                        "person_id",
                        "there is no such person in this organisation",
                    )
                })?
        }
        (None, Some(ext)) => persons::by_external_id(&state.db, actor.org_id(), ext)
            .await?
            .ok_or_else(|| {
                ServiceError::missing("external_id", "no person has this external id")
            })?,
        (None, None) => {
            return Err(ServiceError::invalid(
                "person_id",
                "is required (or give external_id)",
            ))
        }
    };
    Ok(person)
}

/// `POST /send-utility`: a utility message to one person, queued at once. With an
/// idempotency key, a repeat returns the first delivery instead of sending again.
pub async fn send_utility(
    state: &AppState,
    actor: &Actor,
    input: &SendUtilityInput,
    idempotency_key: Option<&str>,
    correlation_id: Option<&str>,
) -> ServiceResult<Delivery> {
    actor.require_write()?;
    let key = match idempotency_key.map(str::trim).filter(|k| !k.is_empty()) {
        Some(k) if k.len() > 200 => {
            return Err(ServiceError::invalid(
                "Idempotency-Key",
                "must be at most 200 characters",
            ))
        }
        Some(k) => {
            let key = format!("api:{k}");
            if let Some(existing) = repo::by_key(&state.db, actor.org_id(), &key).await? {
                return Ok(existing);
            }
            key
        }
        None => format!("api:{}", Uuid::now_v7()),
    };
    let person = find_person(
        state,
        actor,
        input.person_id.as_deref(),
        input.external_id.as_deref(),
    )
    .await?;
    let channel = match input
        .channel
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        None => None,
        Some(c) => match Channel::parse(c) {
            Ok(Channel::Portal) => {
                return Err(ServiceError::invalid(
                    "channel",
                    "portal notes are for staff; choose email, sms, whatsapp, slack or webhook",
                ))
            }
            Ok(c) => Some(c),
            Err(m) => return Err(ServiceError::invalid("channel", m)),
        },
    };
    let data = match &input.data {
        None | Some(serde_json::Value::Null) => serde_json::Map::new(),
        Some(serde_json::Value::Object(m)) => m.clone(),
        Some(_) => return Err(ServiceError::invalid("data", "must be a JSON object")),
    };
    let message_type = input
        .message_type
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or("message")
        .to_ascii_lowercase();
    let body = input
        .body
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty());
    let (subject, body) = match body {
        Some(b) if b.chars().count() > 20_000 => {
            return Err(ServiceError::invalid(
                "body",
                "must be at most 20000 characters",
            ))
        }
        Some(b) => (input.subject.clone(), b.to_string()),
        None => {
            let (s, b) =
                utility_text(&message_type, &data, person.display_name()).map_err(|m| {
                    let field = if m.contains("data.") {
                        "data"
                    } else if m.contains("body") {
                        "body"
                    } else {
                        "type"
                    };
                    ServiceError::invalid(field, m)
                })?;
            (Some(input.subject.clone().unwrap_or(s)), b)
        }
    };
    let (delivery, created) = queue(
        state,
        NewDelivery {
            org_id: actor.org_id(),
            person: Some(&person),
            staff_id: None,
            kind: DeliveryKind::Utility,
            source: DeliverySource::Api,
            channel,
            address: None,
            subject,
            body,
            metadata: json!({ "type": message_type, "data": data }),
            idempotency_key: key,
            correlation_id: correlation_id.map(String::from),
            reminder_rule_id: None,
            occurrence: None,
            conversation_id: None,
            due_at: state.clock.now(),
        },
    )
    .await?;
    if created {
        audit(
            &state.db,
            actor,
            "send_utility",
            "delivery",
            Some(delivery.id),
            json!({ "person_id": person.id, "type": message_type, "channel": delivery.channel.as_str() }),
            delivery.created_at,
        )
        .await;
    }
    Ok(delivery)
}

pub async fn get(state: &AppState, actor: &Actor, id: Uuid) -> ServiceResult<DeliveryDetail> {
    let delivery = repo::get(&state.db, actor.org_id(), id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let events = repo::events(&state.db, actor.org_id(), id).await?;
    let explanation = explain(&delivery, state.clock.now());
    let prompt = match (
        delivery.campaign_id,
        &delivery.variant,
        delivery.prompt_version.as_deref().map(str::parse::<i32>),
    ) {
        (Some(campaign), Some(variant), Some(Ok(version))) => {
            crate::server::db::generation::prompt(
                &state.db,
                actor.org_id(),
                campaign,
                variant,
                version,
            )
            .await?
        }
        _ => None,
    };
    Ok(DeliveryDetail {
        delivery,
        events,
        explanation,
        prompt,
    })
}

/// Filters as they come from a query string.
#[derive(Clone, Debug, Default)]
pub struct ListQuery<'a> {
    pub person_id: Option<Uuid>,
    pub status: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub channel: Option<&'a str>,
    pub reminder_rule_id: Option<Uuid>,
    pub skip: i64,
    pub limit: i64,
}

/// Deliveries, newest first, each with its plain-words explanation.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    q: ListQuery<'_>,
) -> ServiceResult<Vec<(Delivery, String)>> {
    super::page_bounds(q.skip, q.limit)?;
    let filter = DeliveryFilter {
        person_id: q.person_id,
        status: super::enum_filter("status", q.status, DeliveryStatus::parse)?,
        kind: super::enum_filter("kind", q.kind, DeliveryKind::parse)?,
        channel: super::enum_filter("channel", q.channel, Channel::parse)?,
        reminder_rule_id: q.reminder_rule_id,
    };
    let now = state.clock.now();
    Ok(
        repo::list(&state.db, actor.org_id(), &filter, q.skip, q.limit)
            .await?
            .into_iter()
            .map(|d| {
                let why = explain(&d, now);
                (d, why)
            })
            .collect(),
    )
}

async fn move_to(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    from: &[DeliveryStatus],
    to: DeliveryStatus,
    action: &str,
) -> ServiceResult<DeliveryDetail> {
    actor.require_write()?;
    let current = get(state, actor, id).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let done = repo::transition(
        &mut tx,
        &repo::Transition {
            org_id: actor.org_id(),
            id,
            from,
            to,
            event: action,
            detail: Some(format!("by {}", actor.label())),
            at: now,
            reset_attempts: to == DeliveryStatus::Pending,
            response: None,
        },
    )
    .await?;
    tx.commit().await?;
    if !done {
        return Err(ServiceError::Conflict {
            field: None,
            message: format!(
                "a {} delivery cannot be {action}",
                current.delivery.status.as_str()
            ),
        });
    }
    if to == DeliveryStatus::Pending {
        state.wake.notify_one();
    }
    audit(
        &state.db,
        actor,
        action,
        "delivery",
        Some(id),
        json!({ "status": to.as_str() }),
        now,
    )
    .await;
    get(state, actor, id).await
}

/// Sends a failed delivery again (with a fresh set of attempts and the same idempotency key).
pub async fn retry(state: &AppState, actor: &Actor, id: Uuid) -> ServiceResult<DeliveryDetail> {
    move_to(
        state,
        actor,
        id,
        &[DeliveryStatus::Failed],
        DeliveryStatus::Pending,
        "retried",
    )
    .await
}

/// Stops a delivery that has not gone yet.
pub async fn cancel(state: &AppState, actor: &Actor, id: Uuid) -> ServiceResult<DeliveryDetail> {
    move_to(
        state,
        actor,
        id,
        &[DeliveryStatus::Pending],
        DeliveryStatus::Cancelled,
        "cancelled",
    )
    .await
}
