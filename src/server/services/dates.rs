//! Important dates: categories, date items with their reminder rules, upcoming dates, and
//! keeping every `next_occurrence` and reminder moment right as time passes.

use super::{audit, audit_in};
use crate::domain::dates::{
    days_until, next_lead_time_reminder, CategoryDraft, CategoryInput, DateCategory, DateItem,
    DateItemDetail, DateItemDraft, DateItemInput, DateLine, ReminderRule, ReminderRuleDraft,
    ReminderStatus, ReminderType, Timing, UpcomingDate, UPCOMING_DAYS,
};
use crate::domain::recurrence::Recurrence;
use crate::domain::timing::local_today;
use crate::domain::{FieldErrors, Person, Timezone};
use crate::server::auth::Actor;
use crate::server::db::{self, dates, persons, Tx};
use crate::server::error::{ServiceError, ServiceResult};
use crate::server::AppState;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde_json::json;
use uuid::Uuid;

// ----- categories -------------------------------------------------------------------------

pub async fn list_categories(state: &AppState, actor: &Actor) -> ServiceResult<Vec<DateCategory>> {
    Ok(dates::list_categories(&state.db, actor.org_id()).await?)
}

pub async fn get_category(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
) -> ServiceResult<DateCategory> {
    dates::get_category(&state.db, actor.org_id(), id)
        .await?
        .ok_or(ServiceError::NotFound)
}

fn name_taken(draft: &CategoryDraft) -> ServiceError {
    ServiceError::conflict(
        "name",
        format!("a category named '{}' already exists", draft.name),
    )
}

/// Creates a category (no `id`) or replaces one's fields. Categories are settings: admins only.
pub async fn save_category(
    state: &AppState,
    actor: &Actor,
    id: Option<Uuid>,
    input: &CategoryInput,
) -> ServiceResult<DateCategory> {
    actor.require_write()?;
    let draft = CategoryDraft::parse(input)?;
    let now = state.clock.now();
    let (id, result, action) = match id {
        None => {
            let id = Uuid::now_v7();
            let r = dates::insert_category(&state.db, actor.org_id(), id, &draft, now).await;
            (id, r.map(|()| true), "create")
        }
        Some(id) => (
            id,
            dates::update_category(&state.db, actor.org_id(), id, &draft, now).await,
            "update",
        ),
    };
    match result {
        Ok(true) => {}
        Ok(false) => return Err(ServiceError::NotFound),
        Err(e) if db::is_unique_violation(&e, "name") => return Err(name_taken(&draft)),
        Err(e) => return Err(e.into()),
    }
    audit(
        &state.db,
        actor,
        action,
        "date_category",
        Some(id),
        json!({ "name": draft.name }),
        now,
    )
    .await;
    get_category(state, actor, id).await
}

/// Deletes a category nobody uses; one in use is a conflict.
pub async fn delete_category(state: &AppState, actor: &Actor, id: Uuid) -> ServiceResult<()> {
    actor.require_write()?;
    let category = get_category(state, actor, id).await?;
    let used = dates::category_usage(&state.db, actor.org_id(), id).await?;
    if used > 0 {
        return Err(ServiceError::Conflict {
            field: None,
            message: format!(
                "'{}' is used by {used} date{}; move them to another category first",
                category.name,
                if used == 1 { "" } else { "s" }
            ),
        });
    }
    if !dates::delete_category(&state.db, actor.org_id(), id).await? {
        return Err(ServiceError::NotFound);
    }
    audit(
        &state.db,
        actor,
        "delete",
        "date_category",
        Some(id),
        json!({ "name": category.name }),
        state.clock.now(),
    )
    .await;
    Ok(())
}

// ----- date items ---------------------------------------------------------------------------

fn person_tz(person: &Person) -> Tz {
    Timezone::parse(&person.timezone)
        .map(|t| t.tz())
        .unwrap_or(chrono_tz::UTC)
}

/// Sets a rule's next reminder from the date it hangs on, the person's clock and the rule's
/// history: never an occurrence already reminded about, never one that has passed.
pub fn schedule(rule: &mut ReminderRule, item: Option<&DateItem>, tz: Tz, now: DateTime<Utc>) {
    if rule.status == ReminderStatus::Cancelled || rule.reminder_type == ReminderType::Scheduled {
        return;
    }
    let (Some(item), Some(days)) = (item, rule.lead_time_days) else {
        rule.occurrence_date = None;
        rule.scheduled_datetime = None;
        return;
    };
    let at = rule
        .time_of_day
        .as_deref()
        .and_then(|t| crate::domain::timing::parse_time_of_day(t).ok())
        .unwrap_or_else(crate::domain::dates::default_time_of_day);
    let mut from = local_today(now, tz);
    if let Some(last) = rule.last_sent_occurrence {
        from = from.max(last + Duration::days(1));
    }
    let next = next_lead_time_reminder(
        &item.recurrence(),
        item.date_value,
        from,
        days.max(0) as u32,
        at,
        tz,
    );
    rule.occurrence_date = next.and_then(|n| n.occurrence);
    rule.scheduled_datetime = next.map(|n| n.due_at);
}

/// Turns a parsed rule into a stored one, keeping the identity and history of `existing`.
pub fn rule_from_draft(
    draft: &ReminderRuleDraft,
    existing: Option<&ReminderRule>,
    org_id: Uuid,
    person_id: Uuid,
    date_item_id: Option<Uuid>,
    position: i32,
    now: DateTime<Utc>,
) -> ReminderRule {
    let (reminder_type, lead_time_days, time_of_day, scheduled) = match draft.timing {
        Timing::LeadTime { days, at } => (
            ReminderType::LeadTime,
            Some(days as i32),
            Some(at.format("%H:%M").to_string()),
            None,
        ),
        Timing::Scheduled(at) => (ReminderType::Scheduled, None, None, Some(at)),
    };
    let timing_changed = existing.is_none_or(|e| {
        e.reminder_type != reminder_type
            || e.lead_time_days != lead_time_days
            || e.time_of_day != time_of_day
            || (reminder_type == ReminderType::Scheduled && e.scheduled_datetime != scheduled)
    });
    // A sent scheduled reminder whose moment is unchanged stays sent; anything else that is
    // not cancelled is planned afresh.
    let status = match existing {
        Some(e) if e.status == ReminderStatus::Cancelled => ReminderStatus::Cancelled,
        Some(e) if e.status == ReminderStatus::Sent && !timing_changed => ReminderStatus::Sent,
        Some(e) if e.status == ReminderStatus::Failed && !timing_changed => ReminderStatus::Failed,
        _ => ReminderStatus::Pending,
    };
    ReminderRule {
        id: existing.map(|e| e.id).unwrap_or_else(Uuid::now_v7),
        org_id,
        person_id,
        date_item_id,
        reminder_type,
        lead_time_days,
        time_of_day,
        channel_type: draft.channel,
        audience: draft.audience,
        message: draft.message.clone(),
        status,
        occurrence_date: None,
        last_sent_occurrence: existing.and_then(|e| e.last_sent_occurrence),
        scheduled_datetime: scheduled,
        sent_at: existing.and_then(|e| e.sent_at),
        last_error: existing.and_then(|e| e.last_error.clone()),
        position,
        created_at: existing.map(|e| e.created_at).unwrap_or(now),
        updated_at: now,
    }
}

async fn check_category(state: &AppState, actor: &Actor, id: Option<Uuid>) -> ServiceResult<()> {
    if let Some(id) = id {
        if dates::get_category(&state.db, actor.org_id(), id)
            .await?
            .is_none()
        {
            return Err(ServiceError::missing(
                "category_id",
                "there is no such category in this organisation",
            ));
        }
    }
    Ok(())
}

/// Creates a date item with its reminder rules (no `id`), or replaces one's fields and, when
/// `reminder_rules` is given, its rules (rules carrying an `id` keep their identity and history).
pub async fn save_item(
    state: &AppState,
    actor: &Actor,
    id: Option<Uuid>,
    input: &DateItemInput,
) -> ServiceResult<DateItemDetail> {
    actor.require_write()?;
    let draft = DateItemDraft::parse(input)?;
    let person = super::live_person(state, actor, draft.person_id, "person_id").await?;
    check_category(state, actor, draft.category_id).await?;
    let existing = match id {
        Some(id) => Some(get_item(state, actor, id).await?),
        None => None,
    };
    let now = state.clock.now();
    let tz = person_tz(&person);
    let recurrence = draft.recurrence.clone();
    let item = DateItem {
        id: id.unwrap_or_else(Uuid::now_v7),
        org_id: actor.org_id(),
        person_id: person.id,
        category_id: draft.category_id,
        title: draft.title.clone(),
        date_value: draft.date_value,
        recurrence_rule: recurrence.to_rule_string(),
        next_occurrence: recurrence.next_occurrence(draft.date_value, local_today(now, tz)),
        notes: draft.notes.clone(),
        created_at: existing.as_ref().map(|e| e.item.created_at).unwrap_or(now),
        updated_at: now,
    };
    let old_rules = existing
        .as_ref()
        .map(|e| e.reminder_rules.clone())
        .unwrap_or_default();
    let rules: Vec<ReminderRule> = match &draft.reminder_rules {
        // No rules given on an edit: keep the ones there are, rescheduled.
        None => old_rules.clone(),
        Some(drafts) => {
            let mut errors = FieldErrors::new();
            let rules = drafts
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    let old = d.id.and_then(|rid| old_rules.iter().find(|r| r.id == rid));
                    if d.id.is_some() && old.is_none() {
                        errors.add(
                            &format!("reminder_rules[{i}].id"),
                            "is not a rule of this date",
                        );
                    }
                    rule_from_draft(
                        d,
                        old,
                        item.org_id,
                        item.person_id,
                        Some(item.id),
                        i as i32,
                        now,
                    )
                })
                .collect();
            if !errors.is_empty() {
                return Err(errors.into());
            }
            rules
        }
    };
    let rules: Vec<ReminderRule> = rules
        .into_iter()
        .map(|mut r| {
            r.person_id = item.person_id;
            schedule(&mut r, Some(&item), tz, now);
            r
        })
        .collect();
    // The date, its rules and the audit entry land together.
    let mut tx = state.db.begin().await?;
    if !dates::save_item(&mut tx, &item, Some(&rules), existing.is_none()).await? {
        return Err(ServiceError::NotFound);
    }
    let action = if existing.is_some() {
        "update"
    } else {
        "create"
    };
    let detail =
        json!({ "title": item.title, "person_id": item.person_id, "reminder_rules": rules.len() });
    audit_in(
        &mut tx,
        actor,
        action,
        "date_item",
        Some(item.id),
        detail,
        now,
    )
    .await?;
    tx.commit().await?;
    get_item(state, actor, item.id).await
}

/// A date item with its rules; a `next_occurrence` that has passed on the person's clock is
/// shown as the following one (housekeeping writes it).
pub async fn get_item(state: &AppState, actor: &Actor, id: Uuid) -> ServiceResult<DateItemDetail> {
    let mut item = dates::get_item(&state.db, actor.org_id(), id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if let Some(person) = persons::get(&state.db, actor.org_id(), item.person_id).await? {
        let today = local_today(state.clock.now(), person_tz(&person));
        item.next_occurrence = item.next_as_of(today);
    }
    let reminder_rules = dates::rules_for_item(&state.db, actor.org_id(), id).await?;
    Ok(DateItemDetail {
        item,
        reminder_rules,
    })
}

/// Applies a partial update: present fields replace stored ones, `null` clears.
pub async fn patch_item(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    patch: serde_json::Map<String, serde_json::Value>,
) -> ServiceResult<DateItemDetail> {
    actor.require_write()?;
    let current = get_item(state, actor, id).await?;
    let base = DateItemInput {
        person_id: Some(current.item.person_id.to_string()),
        category_id: current.item.category_id.map(|c| c.to_string()),
        title: Some(current.item.title.clone()),
        date_value: Some(current.item.date_value.to_string()),
        recurrence_rule: current.item.recurrence_rule.clone(),
        notes: current.item.notes.clone(),
        reminder_rules: None,
    };
    let input: DateItemInput = super::merge_patch(
        &base,
        patch,
        &[("date", "date_value"), ("recurrence", "recurrence_rule")],
    )?;
    save_item(state, actor, Some(id), &input).await
}

pub async fn delete_item(state: &AppState, actor: &Actor, id: Uuid) -> ServiceResult<()> {
    actor.require_write()?;
    let item = get_item(state, actor, id).await?;
    let mut tx = state.db.begin().await?;
    if !dates::delete_item(&mut tx, actor.org_id(), id).await? {
        return Err(ServiceError::NotFound);
    }
    let detail = json!({ "title": item.item.title });
    let now = state.clock.now();
    audit_in(&mut tx, actor, "delete", "date_item", Some(id), detail, now).await?;
    tx.commit().await?;
    Ok(())
}

/// A person's dates with their rules (two queries whatever the number of dates); with
/// `upcoming_only`, only those with a further occurrence.
pub async fn items_for_person(
    state: &AppState,
    actor: &Actor,
    person_id: Uuid,
    category_id: Option<Uuid>,
    upcoming_only: bool,
) -> ServiceResult<Vec<DateItemDetail>> {
    super::persons::get(state, actor, person_id).await?;
    let items = dates::items_for_person(&state.db, actor.org_id(), person_id, category_id).await?;
    let mut rules: std::collections::HashMap<Uuid, Vec<ReminderRule>> = Default::default();
    for rule in dates::rules_for_person(&state.db, actor.org_id(), person_id).await? {
        if let Some(item) = rule.date_item_id {
            rules.entry(item).or_default().push(rule);
        }
    }
    Ok(items
        .into_iter()
        .filter(|i| !upcoming_only || i.next_occurrence.is_some())
        .map(|item| DateItemDetail {
            reminder_rules: rules.remove(&item.id).unwrap_or_default(),
            item,
        })
        .collect())
}

/// A client's dates as their profile lists them: each with its next occurrence and how far off
/// it is on the client's clock (worked out here when housekeeping has not yet rolled a passed
/// one forward), how it repeats, and its reminders that are not cancelled. Three statements,
/// however many dates.
pub async fn lines_for_person(
    state: &AppState,
    actor: &Actor,
    person_id: Uuid,
) -> ServiceResult<Vec<DateLine>> {
    let person = super::persons::get(state, actor, person_id).await?;
    let today = local_today(state.clock.now(), person_tz(&person));
    let items = dates::items_for_person(&state.db, actor.org_id(), person_id, None).await?;
    let active: std::collections::HashMap<Uuid, i64> =
        dates::live_reminder_counts(&state.db, actor.org_id(), person_id)
            .await?
            .into_iter()
            .collect();
    Ok(items
        .into_iter()
        .map(|item| {
            let recurrence = item.recurrence();
            let next = recurrence.next_as_of(item.date_value, item.next_occurrence, today);
            DateLine {
                id: item.id,
                days_until: next
                    .map(|n| days_until(today, n))
                    .filter(|d| (0..=UPCOMING_DAYS).contains(d)),
                next_occurrence: next,
                repeats: recurrence.describe(),
                active_reminders: active.get(&item.id).map_or(0, |&n| n as usize),
                title: item.title,
            }
        })
        .collect())
}

/// Moves every `next_occurrence` that has passed on its person's clock to the following one,
/// a batch of a thousand at a time, each batch written in one statement. The worker's
/// housekeeping does this; pages never do (they read a stale occurrence as the next one in
/// memory, see [`upcoming`]).
pub async fn roll_forward(state: &AppState, org_id: Uuid) -> ServiceResult<u64> {
    const BATCH: i64 = 1_000;
    let now = state.clock.now();
    // No clock on Earth is more than a day behind UTC, so anything before UTC's yesterday...
    // is stale for sure; items of the last day are checked against their person's clock.
    let horizon = now.date_naive() + Duration::days(1);
    let mut rolled = 0;
    let mut after = None;
    loop {
        let batch = dates::items_to_roll(&state.db, org_id, horizon, after, BATCH).await?;
        let changes: Vec<(Uuid, Option<NaiveDate>)> = batch
            .iter()
            .filter_map(|(item, tz)| {
                let tz = Timezone::parse(tz)
                    .map(|t| t.tz())
                    .unwrap_or(chrono_tz::UTC);
                rolled_on(item, local_today(now, tz))
            })
            .collect();
        dates::set_next_occurrences(&state.db, org_id, &changes).await?;
        rolled += changes.len() as u64;
        match batch.last() {
            Some((last, _)) if batch.len() as i64 == BATCH => {
                after = last.next_occurrence.map(|n| (n, last.id));
            }
            _ => return Ok(rolled),
        }
    }
}

/// The item and its next occurrence as of `today` on its person's clock, when that is not
/// the one stored.
fn rolled_on(item: &DateItem, today: NaiveDate) -> Option<(Uuid, Option<NaiveDate>)> {
    let next = item.next_as_of(today);
    (next != item.next_occurrence).then_some((item.id, next))
}

/// [`roll_forward`] for every organisation, for housekeeping.
pub async fn roll_forward_all(state: &AppState) -> ServiceResult<u64> {
    let mut total = 0;
    for org_id in crate::server::db::orgs::ids(&state.db).await? {
        total += roll_forward(state, org_id).await?;
    }
    Ok(total)
}

/// Dates coming up in the next `days_ahead` days (on each person's clock), soonest first.
pub async fn upcoming(
    state: &AppState,
    actor: &Actor,
    person_id: Option<Uuid>,
    days_ahead: i64,
    limit: i64,
) -> ServiceResult<Vec<UpcomingDate>> {
    if !(0..=UPCOMING_DAYS).contains(&days_ahead) {
        return Err(ServiceError::invalid(
            "days_ahead",
            format!("must be between 0 and {UPCOMING_DAYS}"),
        ));
    }
    if let Some(p) = person_id {
        super::persons::get(state, actor, p).await?;
    }
    let now = state.clock.now();
    // A day of slack either side covers every time zone; each row is then checked exactly.
    let from = now.date_naive() - Duration::days(1);
    let to = now.date_naive() + Duration::days(days_ahead + 1);
    let rows = dates::upcoming(
        &state.db,
        actor.org_id(),
        person_id,
        from,
        to,
        limit * 2 + 50,
    )
    .await?;
    let mut out: Vec<UpcomingDate> = rows
        .into_iter()
        .filter_map(|mut row| {
            let tz = Timezone::parse(&row.timezone)
                .map(|t| t.tz())
                .unwrap_or(chrono_tz::UTC);
            let today = local_today(now, tz);
            // Not rolled forward yet when it has passed (housekeeping does that).
            row.next_occurrence =
                Recurrence::parse(row.recurrence_rule.as_deref().unwrap_or_default())
                    .unwrap_or_default()
                    .next_as_of(row.date_value, Some(row.next_occurrence), today)?;
            let days = days_until(today, row.next_occurrence);
            row.days_until = days;
            (0..=days_ahead).contains(&days).then_some(row)
        })
        .collect();
    out.sort_by(|a, b| {
        a.days_until
            .cmp(&b.days_until)
            .then(a.person_name.cmp(&b.person_name))
    });
    out.truncate(limit.max(0) as usize);
    Ok(out)
}

/// Re-plans a person's reminders, after something they depend on (the time zone) changed, as
/// part of the unit of work that changed it.
pub async fn reschedule_person(
    tx: &mut Tx,
    now: DateTime<Utc>,
    org_id: Uuid,
    person: &Person,
) -> ServiceResult<()> {
    let tz = person_tz(person);
    let rules = dates::rules_for_person(&mut *tx, org_id, person.id).await?;
    let mut items: Vec<DateItem> = Vec::new();
    for mut rule in rules {
        let item = match rule.date_item_id {
            Some(item_id) => match items.iter().find(|i| i.id == item_id) {
                Some(i) => Some(i.clone()),
                None => {
                    let i = dates::get_item(&mut *tx, org_id, item_id).await?;
                    items.extend(i.clone());
                    i
                }
            },
            None => None,
        };
        let before = (rule.occurrence_date, rule.scheduled_datetime);
        schedule(&mut rule, item.as_ref(), tz, now);
        if before != (rule.occurrence_date, rule.scheduled_datetime) {
            rule.updated_at = now;
            dates::save_rule(&mut *tx, &rule, false).await?;
        }
    }
    let today = local_today(now, tz);
    let changes: Vec<(Uuid, Option<NaiveDate>)> =
        items.iter().filter_map(|i| rolled_on(i, today)).collect();
    dates::set_next_occurrences(tx, org_id, &changes).await?;
    Ok(())
}
