//! What is held about a person, and for how long: everything about one person gathered for
//! them (right of access), erasing it when they are deleted (right to erasure, see
//! [`crate::server::services::persons::delete`]), and retention, which forgets what is older
//! than the installation keeps (housekeeping).

use super::audit;
use crate::domain::activity::ActivityEvent;
use crate::domain::comms::{CommIdentity, Conversation, Message};
use crate::domain::dates::{DateItem, ReminderRule};
use crate::domain::delivery::{Delivery, DeliveryFilter};
use crate::domain::projects::Project;
use crate::domain::vendors::Recommendation;
use crate::domain::Person;
use crate::server::auth::Actor;
use crate::server::db::privacy::{self as repo, Retained, RETENTION_BATCH};
use crate::server::db::{activity, comms, dates, deliveries, projects, vendors};
use crate::server::error::ServiceResult;
use crate::server::AppState;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

/// No limit: an export holds everything.
const ALL: i64 = i64::MAX;

/// Everything held about one person, as `GET /persons/{id}/export` gives it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PersonExport {
    /// When this was gathered.
    pub exported_at: DateTime<Utc>,
    /// Their record, with the segment and churn risk the engagement run gave them.
    pub person: Person,
    /// Their addresses on each channel, with consent and health.
    pub identities: Vec<CommIdentity>,
    /// Their important dates.
    pub dates: Vec<DateItem>,
    /// The reminders of those dates.
    pub reminder_rules: Vec<ReminderRule>,
    /// Projects done for them.
    pub projects: Vec<Project>,
    /// Conversations with them, latest first.
    pub conversations: Vec<Conversation>,
    /// The messages and notes of those conversations, newest first.
    pub messages: Vec<Message>,
    /// Every message sent (or meant) for them, newest first.
    pub deliveries: Vec<Delivery>,
    /// What they did, newest first.
    pub activity: Vec<ActivityEvent>,
    /// Vendors recommended to them.
    pub recommendations: Vec<Recommendation>,
}

/// Everything held about the person `id` of the caller's organisation. Audited.
pub async fn export(state: &AppState, actor: &Actor, id: Uuid) -> ServiceResult<PersonExport> {
    let person = super::persons::get(state, actor, id).await?;
    let db = &state.db;
    let org = actor.org_id();
    let by_person = DeliveryFilter {
        person_id: Some(id),
        ..Default::default()
    };
    let conversations = comms::ConversationFilter {
        person_id: Some(id),
        status: None,
    };
    let project_filter = projects::ProjectFilter {
        person_id: Some(id),
        status: None,
        active_only: false,
    };
    let recommendation_filter = vendors::RecommendationFilter {
        person_id: Some(id),
        ..Default::default()
    };
    let export = PersonExport {
        exported_at: state.clock.now(),
        identities: comms::identities_of(db, org, &[id]).await?,
        dates: dates::items_for_person(db, org, id, None).await?,
        reminder_rules: dates::rules_for_person(db, org, id).await?,
        projects: projects::list_projects(db, org, &project_filter, 0, ALL).await?,
        conversations: comms::list_conversations(db, org, &conversations, 0, ALL)
            .await?
            .0,
        messages: comms::recent_messages_for_person(db, org, id, ALL).await?,
        deliveries: deliveries::list(db, org, &by_person, 0, ALL).await?,
        activity: activity::for_person(db, org, id, ALL).await?,
        recommendations: vendors::list_recommendations(db, org, &recommendation_filter, 0, ALL)
            .await?
            .0,
        person,
    };
    audit(
        db,
        actor,
        "export",
        "person",
        Some(id),
        json!({}),
        export.exported_at,
    )
    .await;
    Ok(export)
}

/// Forgets what is older than the installation's retention, a batch at a time and at most
/// this many batches of each kind per round (the next round goes on where this one stopped).
const MAX_BATCHES: usize = 100;

/// Applies the retention settings once (housekeeping): returns how many records of each kind
/// were forgotten.
pub async fn apply_retention(state: &AppState) -> ServiceResult<Vec<(&'static str, u64)>> {
    let now = state.clock.now();
    let r = state.config.retention;
    let kinds: [(&Retained, u32); 4] = [
        (&repo::MESSAGE_BODIES, r.message_bodies_days),
        (&repo::DELIVERY_EVENTS, r.delivery_events_days),
        (&repo::AUDIT_ENTRIES, r.audit_days),
        (&repo::FINISHED_RUNS, r.runs_days),
    ];
    let mut forgotten = Vec::new();
    for (what, days) in kinds {
        if days == 0 {
            continue;
        }
        let before = now - chrono::Duration::days(days.into());
        let mut n = 0;
        for _ in 0..MAX_BATCHES {
            let batch = repo::forget_before(&state.db, what, before).await?;
            n += batch;
            if batch < RETENTION_BATCH as u64 {
                break;
            }
        }
        forgotten.push((what.name, n));
    }
    Ok(forgotten)
}
