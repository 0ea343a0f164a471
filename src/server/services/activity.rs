//! Ingesting activity events (one or a batch): each moves the person's activity roll-up and
//! answers the engagement messages it follows within the conversion window.

use crate::domain::activity::{ActivityDraft, ActivityEvent, ActivityInput, PersonRef};
use crate::domain::FieldErrors;
use crate::server::auth::Actor;
use crate::server::db::{self, persons};
use crate::server::error::{ServiceError, ServiceResult};
use crate::server::AppState;
use uuid::Uuid;

/// The most events one batch may carry.
pub const MAX_BATCH: usize = 1_000;

/// Records events; every one is checked first, and none is written if any is wrong (errors
/// name `events[3].person_id` and so on when `batch`).
pub async fn ingest(
    state: &AppState,
    actor: &Actor,
    inputs: &[ActivityInput],
    default_name: Option<&str>,
    batch: bool,
) -> ServiceResult<Vec<ActivityEvent>> {
    actor.require_write()?;
    if inputs.len() > MAX_BATCH {
        return Err(ServiceError::invalid(
            "events",
            format!("at most {MAX_BATCH} events at a time"),
        ));
    }
    let now = state.clock.now();
    let mut errors = FieldErrors::new();
    // People the events name who are not found: a 404, unless an event is also invalid.
    let mut missing = FieldErrors::new();
    let prefix = |i: usize, field: &str| {
        if batch {
            format!("events[{i}].{field}")
        } else {
            field.to_string()
        }
    };
    let mut events = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        let draft = match ActivityDraft::parse(input, default_name, now) {
            Ok(d) => d,
            Err(e) => {
                for fe in e.0 {
                    errors.add(&prefix(i, &fe.field), fe.message);
                }
                continue;
            }
        };
        let person = match &draft.person {
            PersonRef::Id(id) => persons::get(&state.db, actor.org_id(), *id).await?,
            PersonRef::ExternalId(ext) => {
                persons::by_external_id(&state.db, actor.org_id(), ext).await?
            }
        };
        let Some(person) = person else {
            let (field, what) = match &draft.person {
                PersonRef::Id(_) => (
                    "person_id",
                    "there is no such person in this organisation".to_string(),
                ),
                PersonRef::ExternalId(ext) => {
                    ("external_id", format!("no person has external id '{ext}'"))
                }
            };
            missing.add(&prefix(i, field), what);
            continue;
        };
        events.push(ActivityEvent {
            id: Uuid::now_v7(),
            org_id: actor.org_id(),
            person_id: person.id,
            name: draft.name,
            properties: draft.properties,
            occurred_at: draft.occurred_at,
            created_at: now,
        });
    }
    if !errors.is_empty() {
        errors.0.extend(missing.0);
        return Err(errors.into());
    }
    if !missing.is_empty() {
        return Err(ServiceError::Missing(missing));
    }
    // Activity answers the engagement messages sent within the conversion window before it.
    let policy = super::engagement::policy(state, actor).await?;
    let window = chrono::Duration::hours(policy.conversion_hours as i64);
    let ingested = db::engagement::ingest(&state.db, &events, window).await?;
    // A booking that answers a message is an event its organisation may be told of.
    let booked: Vec<(uuid::Uuid, crate::domain::webhooks::EventType)> = ingested
        .answered
        .iter()
        .filter_map(|(id, r)| crate::domain::webhooks::EventType::of_response(r).map(|e| (*id, e)))
        .collect();
    super::deliveries::events::tell_now(state, actor.org_id(), &booked).await?;
    Ok(events)
}
