//! A client's whole picture (`/persons/{id}/dashboard`, the profile page) and their unified
//! timeline (`/persons/{id}/activity`).

use super::comms::{self, ConversationQuery};
use super::{dates, persons, projects, vendors};
use crate::domain::comms::{preview, Direction};
use crate::domain::profile::{
    merge_timeline, Dashboard, DashboardStats, TimelineEntry, TimelineKind, Workspace,
};
use crate::domain::projects::ProjectStatus;
use crate::server::auth::Actor;
use crate::server::db;
use crate::server::db::vendors::RecommendationFilter;
use crate::server::error::{ServiceError, ServiceResult};
use crate::server::AppState;
use uuid::Uuid;

/// A client's whole picture, for `/persons/{id}/dashboard`.
pub async fn dashboard(
    state: &AppState,
    actor: &Actor,
    person_id: Uuid,
) -> ServiceResult<Dashboard> {
    let person = persons::get(state, actor, person_id).await?;
    let w = read_workspace(state, actor, person_id).await?;
    let upcoming = dates::upcoming(
        state,
        actor,
        Some(person_id),
        crate::domain::dates::UPCOMING_DAYS,
        200,
    )
    .await?;
    let stats = DashboardStats {
        total_conversations: w.total_conversations,
        total_upcoming_dates: upcoming.len() as i64,
        total_active_projects: w.active_projects.len() as i64,
        total_recommendations: w.total_recommendations,
    };
    Ok(Dashboard {
        person,
        recent_conversations: w.recent_conversations,
        upcoming_dates: upcoming.into_iter().take(10).collect(),
        active_projects: w.active_projects,
        recent_recommendations: w.recent_recommendations,
        identities: w.identities,
        stats,
    })
}

/// What the profile page shows besides the client's details and dates.
pub async fn workspace(
    state: &AppState,
    actor: &Actor,
    person_id: Uuid,
) -> ServiceResult<Workspace> {
    persons::get(state, actor, person_id).await?;
    read_workspace(state, actor, person_id).await
}

/// [`workspace`] of a person known to be the organisation's.
async fn read_workspace(
    state: &AppState,
    actor: &Actor,
    person_id: Uuid,
) -> ServiceResult<Workspace> {
    let (recent_conversations, total_conversations) = comms::list_conversations(
        state,
        actor,
        ConversationQuery {
            person_id: Some(person_id),
            status: None,
            skip: 0,
            limit: 5,
        },
    )
    .await?;
    let active_projects = projects::list(
        state,
        actor,
        projects::ListQuery {
            person_id: Some(person_id),
            status: None,
            active_only: true,
            skip: 0,
            limit: 200,
        },
    )
    .await?;
    let (recent_recommendations, total_recommendations) = vendors::list_recommendations(
        state,
        actor,
        RecommendationFilter {
            person_id: Some(person_id),
            ..Default::default()
        },
        0,
        5,
    )
    .await?;
    let identities = db::comms::identities_for(&state.db, actor.org_id(), person_id).await?;
    Ok(Workspace {
        recent_conversations,
        total_conversations,
        active_projects,
        recent_recommendations,
        total_recommendations,
        identities,
    })
}

/// Everything that happened with a person, newest first: events the app reported, messages and
/// notes, projects started and finished, dates added, recommendations made.
pub async fn timeline(
    state: &AppState,
    actor: &Actor,
    person_id: Uuid,
    limit: i64,
) -> ServiceResult<Vec<TimelineEntry>> {
    if !(1..=500).contains(&limit) {
        return Err(ServiceError::invalid("limit", "must be between 1 and 500"));
    }
    let org = actor.org_id();
    persons::get(state, actor, person_id).await?;
    let mut entries = Vec::new();

    for e in db::activity::for_person(&state.db, org, person_id, limit).await? {
        entries.push(TimelineEntry {
            id: e.id,
            kind: TimelineKind::Event,
            title: e.name.replace('_', " "),
            name: e.name,
            detail: None,
            occurred_at: e.occurred_at,
            link: None,
            properties: Some(e.properties),
        });
    }

    for m in db::comms::recent_messages_for_person(&state.db, org, person_id, limit).await? {
        let (kind, name, title) = match m.direction {
            Direction::In => (
                TimelineKind::Message,
                "message_received",
                format!("Message from {}", m.author),
            ),
            Direction::Out => (
                TimelineKind::Message,
                "message_sent",
                format!("Message by {}", m.author),
            ),
            Direction::Note => (
                TimelineKind::Note,
                "note_added",
                format!("Note by {}", m.author),
            ),
        };
        entries.push(TimelineEntry {
            id: m.id,
            kind,
            name: name.into(),
            title,
            detail: Some(preview(&m.body, 200)),
            occurred_at: m.created_at,
            link: Some(format!("/conversations/{}", m.conversation_id)),
            properties: None,
        });
    }

    let all_projects = db::projects::list_projects(
        &state.db,
        org,
        &db::projects::ProjectFilter {
            person_id: Some(person_id),
            ..Default::default()
        },
        0,
        limit,
    )
    .await?;
    for p in all_projects {
        let link = Some(format!("/projects/{}", p.id));
        if p.status == ProjectStatus::Completed {
            entries.push(TimelineEntry {
                id: p.id,
                kind: TimelineKind::Project,
                name: "project_completed".into(),
                title: format!("Project completed: {}", p.title),
                detail: None,
                occurred_at: p.updated_at,
                link: link.clone(),
                properties: None,
            });
        }
        entries.push(TimelineEntry {
            id: p.id,
            kind: TimelineKind::Project,
            name: "project_created".into(),
            title: format!("Project started: {}", p.title),
            detail: p.description.as_deref().map(|d| preview(d, 200)),
            occurred_at: p.created_at,
            link,
            properties: None,
        });
    }

    for d in db::dates::added_for_person(&state.db, org, person_id, limit).await? {
        entries.push(TimelineEntry {
            id: d.id,
            kind: TimelineKind::Date,
            name: "date_added".into(),
            title: format!("Date added: {}", d.title),
            detail: Some(d.date_value.format("%-d %B %Y").to_string()),
            occurred_at: d.created_at,
            link: Some(format!("/dates/{}/edit", d.id)),
            properties: None,
        });
    }

    let (recommendations, _) = db::vendors::list_recommendations(
        &state.db,
        org,
        &RecommendationFilter {
            person_id: Some(person_id),
            ..Default::default()
        },
        0,
        limit,
    )
    .await?;
    for r in recommendations {
        entries.push(TimelineEntry {
            id: r.id,
            kind: TimelineKind::Recommendation,
            name: "recommendation_made".into(),
            title: format!("Recommended {}", r.venue_name),
            detail: r.notes.as_deref().map(|n| preview(n, 200)),
            occurred_at: r.created_at,
            link: Some(format!("/vendors/{}", r.vendor_id)),
            properties: None,
        });
    }

    for (id, event, detail, at, delivery_id, subject) in
        db::deliveries::engagement_events(&state.db, org, person_id, limit).await?
    {
        let about = subject
            .map(|s| format!("“{s}”"))
            .unwrap_or_else(|| "an engagement message".into());
        let (name, title) = match event.as_str() {
            "sent" => ("engagement_sent".to_string(), format!("Sent {about}")),
            "clicked" => (event.clone(), format!("Followed the link in {about}")),
            "booked" => (event.clone(), format!("Booked after {about}")),
            "responded" => (event.clone(), format!("Active again after {about}")),
            "replied" => (event.clone(), format!("Replied to {about}")),
            "unsubscribed" => (event.clone(), format!("Unsubscribed through {about}")),
            other => (other.to_string(), format!("{other}: {about}")),
        };
        entries.push(TimelineEntry {
            id,
            kind: TimelineKind::Engagement,
            name,
            title,
            detail,
            occurred_at: at,
            link: Some(format!("/messages/{delivery_id}")),
            properties: None,
        });
    }

    Ok(merge_timeline(entries, limit as usize))
}
