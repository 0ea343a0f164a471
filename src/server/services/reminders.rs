//! Reminders: the rules with their next moment, listed by status, created on their own
//! (scheduled, or hung on a date), changed, cancelled, retried, and their history.

use super::dates::{get_item, rule_from_draft, schedule};
use super::{audit, audit_in};
use crate::domain::dates::{
    parse_uuid, ReminderRule, ReminderRuleDraft, ReminderRuleInput, ReminderStatus, Timing,
};
use crate::domain::{FieldErrors, Timezone};
use crate::server::auth::Actor;
use crate::server::db::{dates, persons};
use crate::server::error::{ServiceError, ServiceResult};
use crate::server::AppState;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

pub async fn get(state: &AppState, actor: &Actor, id: Uuid) -> ServiceResult<ReminderRule> {
    dates::get_rule(&state.db, actor.org_id(), id)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// `all`, `pending`, `sent`, `failed` or `cancelled`.
pub fn parse_status_filter(input: Option<&str>) -> ServiceResult<Option<&'static str>> {
    Ok(
        super::enum_filter("status_filter", input, ReminderStatus::parse)?
            .map(ReminderStatus::as_str),
    )
}

pub struct ListQuery {
    pub person_id: Option<Uuid>,
    pub date_item_id: Option<Uuid>,
    pub status: Option<&'static str>,
    pub due_by: Option<DateTime<Utc>>,
    pub due_from: Option<DateTime<Utc>>,
    pub skip: i64,
    pub limit: i64,
}

pub async fn list(
    state: &AppState,
    actor: &Actor,
    q: ListQuery,
) -> ServiceResult<Vec<ReminderRule>> {
    super::page_bounds(q.skip, q.limit)?;
    let filter = dates::RuleFilter {
        person_id: q.person_id,
        date_item_id: q.date_item_id,
        status: q.status,
        due_by: q.due_by,
        due_from: q.due_from,
    };
    Ok(dates::list_rules(&state.db, actor.org_id(), &filter, q.skip, q.limit).await?)
}

/// Where a rule hangs: its person and, for lead-time rules, its date.
async fn anchor(
    state: &AppState,
    actor: &Actor,
    input: &ReminderRuleInput,
    draft: &ReminderRuleDraft,
) -> ServiceResult<(
    crate::domain::Person,
    Option<crate::domain::dates::DateItem>,
)> {
    let mut errors = FieldErrors::new();
    let item_id = input
        .date_item_id
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| errors.check("date_item_id", parse_uuid("date_item_id", s)));
    let person_id = input
        .person_id
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| errors.check("person_id", parse_uuid("person_id", s)));
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let item = match item_id {
        Some(id) => Some(
            get_item(state, actor, id)
                .await
                .map_err(|e| match e {
                    ServiceError::NotFound => ServiceError::missing(
                        "date_item_id",
                        "there is no such date in this organisation",
                    ),
                    other => other,
                })?
                .item,
        ),
        None => None,
    };
    if item.is_none() && matches!(draft.timing, Timing::LeadTime { .. }) {
        return Err(ServiceError::invalid(
            "date_item_id",
            "a lead-time reminder needs the date it counts down to",
        ));
    }
    let person_id = match (&item, person_id) {
        (Some(i), Some(p)) if i.person_id != p => {
            return Err(ServiceError::invalid(
                "person_id",
                "is not the person the date belongs to",
            ))
        }
        (Some(i), _) => i.person_id,
        (None, Some(p)) => p,
        (None, None) => return Err(ServiceError::invalid("person_id", "is required")),
    };
    let person = persons::get(&state.db, actor.org_id(), person_id)
        .await?
        .ok_or_else(|| {
            ServiceError::missing("person_id", "there is no such person in this organisation")
        })?;
    Ok((person, item))
}

/// Creates a reminder on its own: scheduled at an instant, or lead-time on a date.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    input: &ReminderRuleInput,
) -> ServiceResult<ReminderRule> {
    save(state, actor, None, input).await
}

async fn save(
    state: &AppState,
    actor: &Actor,
    existing: Option<ReminderRule>,
    input: &ReminderRuleInput,
) -> ServiceResult<ReminderRule> {
    actor.require_write()?;
    let mut draft = ReminderRuleDraft::parse(input)?;
    draft.id = existing.as_ref().map(|e| e.id);
    let (person, item) = anchor(state, actor, input, &draft).await?;
    let now = state.clock.now();
    let position = existing.as_ref().map(|e| e.position).unwrap_or(0);
    let mut rule = rule_from_draft(
        &draft,
        existing.as_ref(),
        actor.org_id(),
        person.id,
        item.as_ref().map(|i| i.id),
        position,
        now,
    );
    let tz = Timezone::parse(&person.timezone)
        .map(|t| t.tz())
        .unwrap_or(chrono_tz::UTC);
    schedule(&mut rule, item.as_ref(), tz, now);
    let mut tx = state.db.begin().await?;
    if !dates::save_rule(&mut tx, &rule, existing.is_none()).await? {
        return Err(ServiceError::NotFound);
    }
    let action = if existing.is_some() {
        "update"
    } else {
        "create"
    };
    let detail = json!({ "person_id": rule.person_id, "reminder_type": rule.reminder_type.as_str(), "channel_type": rule.channel_type.as_str() });
    audit_in(
        &mut tx,
        actor,
        action,
        "reminder",
        Some(rule.id),
        detail,
        now,
    )
    .await?;
    tx.commit().await?;
    get(state, actor, rule.id).await
}

/// Changes a reminder; present fields replace stored ones. A sent one-off reminder is history
/// and cannot be changed.
pub async fn patch(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    patch: serde_json::Map<String, serde_json::Value>,
) -> ServiceResult<ReminderRule> {
    actor.require_write()?;
    let current = get(state, actor, id).await?;
    if current.status == ReminderStatus::Sent {
        return Err(ServiceError::Conflict {
            field: None,
            message: "this reminder has been sent and can no longer be changed".into(),
        });
    }
    let base = ReminderRuleInput {
        id: None,
        person_id: Some(current.person_id.to_string()),
        date_item_id: current.date_item_id.map(|d| d.to_string()),
        reminder_type: Some(current.reminder_type.as_str().into()),
        lead_time_days: current.lead_time_days.map(i64::from),
        time_of_day: current.time_of_day.clone(),
        scheduled_datetime: match current.reminder_type {
            crate::domain::dates::ReminderType::Scheduled => {
                current.scheduled_datetime.map(|t| t.to_rfc3339())
            }
            crate::domain::dates::ReminderType::LeadTime => None,
        },
        channel_type: Some(current.channel_type.as_str().into()),
        audience: Some(current.audience.as_str().into()),
        message: current.message.clone(),
    };
    let input: ReminderRuleInput = super::merge_patch(
        &base,
        patch,
        &[("channel", "channel_type"), ("local_time", "time_of_day")],
    )?;
    save(state, actor, Some(current), &input).await
}

pub async fn delete(state: &AppState, actor: &Actor, id: Uuid) -> ServiceResult<()> {
    actor.require_write()?;
    get(state, actor, id).await?;
    if !dates::delete_rule(&state.db, actor.org_id(), id).await? {
        return Err(ServiceError::NotFound);
    }
    audit(
        &state.db,
        actor,
        "delete",
        "reminder",
        Some(id),
        json!({}),
        state.clock.now(),
    )
    .await;
    Ok(())
}

async fn set_status(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    allowed: &[ReminderStatus],
    to: ReminderStatus,
    action: &str,
) -> ServiceResult<ReminderRule> {
    actor.require_write()?;
    let mut rule = get(state, actor, id).await?;
    if !allowed.contains(&rule.status) {
        return Err(ServiceError::Conflict {
            field: None,
            message: format!("a {} reminder cannot be {action}", rule.status.as_str()),
        });
    }
    let now = state.clock.now();
    rule.status = to;
    rule.updated_at = now;
    if to == ReminderStatus::Pending {
        rule.last_error = None;
        let person = persons::get(&state.db, actor.org_id(), rule.person_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let item = match rule.date_item_id {
            Some(i) => dates::get_item(&state.db, actor.org_id(), i).await?,
            None => None,
        };
        let tz = Timezone::parse(&person.timezone)
            .map(|t| t.tz())
            .unwrap_or(chrono_tz::UTC);
        schedule(&mut rule, item.as_ref(), tz, now);
    }
    let mut tx = state.db.begin().await?;
    dates::save_rule(&mut tx, &rule, false).await?;
    let detail = json!({ "status": to.as_str() });
    audit_in(&mut tx, actor, action, "reminder", Some(id), detail, now).await?;
    tx.commit().await?;
    get(state, actor, id).await
}

/// Puts a failed reminder back in the queue: the delivery that failed is sent again (with its
/// idempotency key), and the rule waits for its next occurrence as before.
pub async fn retry(state: &AppState, actor: &Actor, id: Uuid) -> ServiceResult<ReminderRule> {
    set_status(
        state,
        actor,
        id,
        &[ReminderStatus::Failed],
        ReminderStatus::Pending,
        "retried",
    )
    .await?;
    if let Some(d) =
        crate::server::db::deliveries::last_failed_for_rule(&state.db, actor.org_id(), id).await?
    {
        super::deliveries::retry(state, actor, d.id).await?;
    }
    get(state, actor, id).await
}

/// Stops a reminder from being sent.
pub async fn cancel(state: &AppState, actor: &Actor, id: Uuid) -> ServiceResult<ReminderRule> {
    set_status(
        state,
        actor,
        id,
        &[ReminderStatus::Pending, ReminderStatus::Failed],
        ReminderStatus::Cancelled,
        "cancelled",
    )
    .await
}

/// One thing that happened to a reminder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    pub at: DateTime<Utc>,
    pub action: String,
    pub actor: String,
    pub detail: serde_json::Value,
}

/// What happened to a reminder, oldest first: its changes from the audit log and what became of
/// each delivery it produced.
pub async fn history(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
) -> ServiceResult<Vec<HistoryEntry>> {
    get(state, actor, id).await?;
    let entries =
        crate::server::db::audit::for_entity(&state.db, actor.org_id(), "reminder", id).await?;
    let mut out: Vec<HistoryEntry> = entries
        .into_iter()
        .map(|e| HistoryEntry {
            at: e.created_at,
            action: e.action,
            actor: e.actor,
            detail: e.detail,
        })
        .collect();
    let filter = crate::domain::delivery::DeliveryFilter {
        reminder_rule_id: Some(id),
        ..Default::default()
    };
    let sent =
        crate::server::db::deliveries::list(&state.db, actor.org_id(), &filter, 0, 200).await?;
    for d in sent {
        for e in crate::server::db::deliveries::events(&state.db, actor.org_id(), d.id).await? {
            out.push(HistoryEntry {
                at: e.at,
                action: format!("delivery {}", e.event),
                actor: "worker".into(),
                detail: json!({
                    "delivery_id": d.id,
                    "channel": d.channel.as_str(),
                    "occurrence": d.occurrence,
                    "status": e.status,
                    "attempt": e.attempt,
                    "detail": e.detail,
                }),
            });
        }
    }
    out.sort_by_key(|e| e.at);
    Ok(out)
}

/// Each reminder with its person's name and time zone and its date's title, for lists (two
/// statements however many reminders).
pub async fn with_context(
    state: &AppState,
    actor: &Actor,
    rules: Vec<ReminderRule>,
) -> ServiceResult<Vec<(ReminderRule, (String, String), Option<String>)>> {
    let distinct = |ids: Vec<Uuid>| -> Vec<Uuid> {
        let set: std::collections::BTreeSet<Uuid> = ids.into_iter().collect();
        set.into_iter().collect()
    };
    let person_ids = distinct(rules.iter().map(|r| r.person_id).collect());
    let item_ids = distinct(rules.iter().filter_map(|r| r.date_item_id).collect());
    let names: std::collections::HashMap<Uuid, (String, String)> =
        persons::by_ids(&state.db, actor.org_id(), &person_ids)
            .await?
            .into_iter()
            .map(|p| (p.id, (p.full_name, p.timezone)))
            .collect();
    let titles: std::collections::HashMap<Uuid, String> =
        dates::item_titles(&state.db, actor.org_id(), &item_ids)
            .await?
            .into_iter()
            .collect();
    Ok(rules
        .into_iter()
        .map(|rule| {
            let name = names.get(&rule.person_id).cloned().unwrap_or_default();
            let title = rule.date_item_id.and_then(|i| titles.get(&i).cloned());
            (rule, name, title)
        })
        .collect())
}
