//! A client's whole picture in one value: the profile page and `/persons/{id}/dashboard`
//! show the same thing, and the unified timeline of everything that happened with them.

use super::comms::{CommIdentity, Conversation};
use super::dates::UpcomingDate;
use super::projects::Project;
use super::vendors::Recommendation;
use super::Person;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    pub person: Person,
    pub recent_conversations: Vec<Conversation>,
    pub upcoming_dates: Vec<UpcomingDate>,
    pub active_projects: Vec<Project>,
    pub recent_recommendations: Vec<Recommendation>,
    pub identities: Vec<CommIdentity>,
    pub stats: DashboardStats,
}

/// What a client's profile page shows besides their details and dates (which it reads on
/// their own): recent conversations, active projects, recent recommendations and identities,
/// with the totals behind the first and third.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Workspace {
    pub recent_conversations: Vec<Conversation>,
    pub total_conversations: i64,
    pub active_projects: Vec<Project>,
    pub recent_recommendations: Vec<Recommendation>,
    pub total_recommendations: i64,
    pub identities: Vec<CommIdentity>,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardStats {
    pub total_conversations: i64,
    /// Dates with an occurrence in the coming year.
    pub total_upcoming_dates: i64,
    pub total_active_projects: i64,
    pub total_recommendations: i64,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// What kind of thing a timeline entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimelineKind {
    /// An activity event reported by the client-facing app.
    Event,
    Message,
    Note,
    Project,
    Date,
    Recommendation,
    /// An engagement message, and what the person did with it.
    Engagement,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// One line of a person's unified timeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// The id of the record the entry is about (event, message, project …).
    pub id: Uuid,
    #[serde(rename = "type")]
    pub kind: TimelineKind,
    /// A machine-readable name: the event's own name, or `message_received`, `note_added`,
    /// `project_created`, `project_completed`, `date_added`, `recommendation_made` …
    pub name: String,
    /// What a person reads.
    pub title: String,
    pub detail: Option<String>,
    pub occurred_at: DateTime<Utc>,
    /// The portal page that shows the record.
    pub link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<serde_json::Value>,
}

/// Merges entries newest first (ties: the later-created record first) and keeps `limit`.
pub fn merge_timeline(mut entries: Vec<TimelineEntry>, limit: usize) -> Vec<TimelineEntry> {
    entries.sort_by(|a, b| {
        b.occurred_at
            .cmp(&a.occurred_at)
            .then_with(|| b.id.cmp(&a.id))
    });
    entries.truncate(limit);
    entries
}
