//! The reminder scheduler: every due reminder occurrence becomes exactly one delivery per
//! channel (its idempotency key is rule + occurrence + channel, unique in the outbox), then the
//! rule moves on to its next occurrence. Two workers doing this at once write one delivery: the
//! second insert meets the key and changes nothing, and the rule only moves if it still waits
//! for the occurrence that was queued.

use crate::domain::comms::CommIdentity;
use crate::domain::dates::{Audience, Channel, DateItem, ReminderRule, ReminderStatus};
use crate::domain::delivery::{DeliveryKind, DeliverySource, DeliveryStatus};
use crate::domain::timing::local_today;
use crate::domain::{Person, StaffMember, Timezone};
use crate::server::db::{channels, comms, dates, deliveries, persons, staff};
use crate::server::error::{ServiceError, ServiceResult};
use crate::server::services::dates::schedule;
use crate::server::services::deliveries::{prepare, NewDelivery};
use crate::server::AppState;
use chrono::{DateTime, Utc};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

const BATCH: i64 = 200;

/// Queues every reminder due by now. Returns how many occurrences were turned into deliveries.
///
/// A batch is read and written a fixed number of statements at a time, however many
/// reminders it holds: for each organisation in it, its people, their dates and addresses (and
/// its staff and e-mail setting when a reminder is for staff) are read at once, the deliveries
/// are written by one multi-row insert, and the rules are moved on in one transaction.
///
/// Batches are read in order of when they are due, each after the last: rules that cannot be
/// queued (a whole batch of them, even) are tried again next time and hold back none behind
/// them. Only the database going away stops a run.
pub async fn run_once(state: &AppState) -> ServiceResult<u64> {
    let now = state.clock.now();
    let mut queued = 0;
    let mut after = None;
    loop {
        let due = dates::due_rules(&state.db, now, after, BATCH).await?;
        after = due
            .last()
            .and_then(|r| r.scheduled_datetime.map(|at| (at, r.id)));
        let mut by_org: BTreeMap<Uuid, Vec<&ReminderRule>> = BTreeMap::new();
        for rule in &due {
            by_org.entry(rule.org_id).or_default().push(rule);
        }
        for (org_id, rules) in by_org {
            queued += queue_org(state, org_id, &rules, now).await?;
        }
        if (due.len() as i64) < BATCH || after.is_none() {
            break;
        }
    }
    if queued > 0 {
        state.metrics.reminders_queued(queued);
    }
    Ok(queued)
}

/// One organisation's rules of a batch, together; when that fails, each on its own, so a rule
/// that cannot be queued holds back no other. Fails only when the database is away.
async fn queue_org(
    state: &AppState,
    org_id: Uuid,
    rules: &[&ReminderRule],
    now: DateTime<Utc>,
) -> ServiceResult<u64> {
    let err = match queue_rules(state, org_id, rules, now).await {
        Ok(n) => return Ok(n),
        Err(err @ ServiceError::Unavailable(_)) => return Err(err),
        Err(err) => err,
    };
    if rules.len() == 1 {
        tracing::warn!(org = %org_id, rule = %rules[0].id, error = %err, "could not queue a reminder");
        return Ok(0);
    }
    tracing::warn!(org = %org_id, rules = rules.len(), error = %err, "could not queue reminders together; trying each on its own");
    let mut moved = 0;
    for rule in rules {
        match queue_rules(state, org_id, &[*rule], now).await {
            Ok(n) => moved += n,
            Err(err @ ServiceError::Unavailable(_)) => return Err(err),
            Err(err) => {
                tracing::warn!(org = %org_id, rule = %rule.id, error = %err, "could not queue a reminder")
            }
        }
    }
    Ok(moved)
}

/// What a batch of one organisation's reminders needs to be written, read at once.
#[derive(Default)]
struct Context {
    people: HashMap<Uuid, Person>,
    items: HashMap<Uuid, DateItem>,
    identities: HashMap<Uuid, Vec<CommIdentity>>,
    /// Active staff members, by id (read only when a reminder is for staff).
    staff: HashMap<Uuid, StaffMember>,
    email_on: bool,
}

impl Context {
    async fn read(state: &AppState, org_id: Uuid, rules: &[&ReminderRule]) -> ServiceResult<Self> {
        let db = &state.db;
        let mut person_ids: Vec<Uuid> = rules.iter().map(|r| r.person_id).collect();
        person_ids.sort();
        person_ids.dedup();
        let mut item_ids: Vec<Uuid> = rules.iter().filter_map(|r| r.date_item_id).collect();
        item_ids.sort();
        item_ids.dedup();
        let mut out = Self {
            people: persons::by_ids(db, org_id, &person_ids)
                .await?
                .into_iter()
                .map(|p| (p.id, p))
                .collect(),
            items: dates::items_by_ids(db, org_id, &item_ids)
                .await?
                .into_iter()
                .map(|i| (i.id, i))
                .collect(),
            ..Self::default()
        };
        let mut for_clients: Vec<Uuid> = rules
            .iter()
            .filter(|r| r.audience == Audience::Client)
            .map(|r| r.person_id)
            .collect();
        for_clients.sort();
        for_clients.dedup();
        if !for_clients.is_empty() {
            for i in comms::identities_of(db, org_id, &for_clients).await? {
                out.identities.entry(i.person_id).or_default().push(i);
            }
        }
        if rules.iter().any(|r| r.audience == Audience::Staff) {
            out.staff = staff::list(db, org_id)
                .await?
                .into_iter()
                .filter(|s| s.active)
                .map(|s| (s.id, s))
                .collect();
            out.email_on = channels::settings(db, &state.keys, org_id)
                .await?
                .get("email")
                .is_some_and(|c| c.enabled);
        }
        Ok(out)
    }
}

/// Turns one organisation's due rules into their deliveries and moves the rules on. Returns
/// how many moved (a rule another worker, or an edit, got to first does not).
async fn queue_rules(
    state: &AppState,
    org_id: Uuid,
    rules: &[&ReminderRule],
    now: DateTime<Utc>,
) -> ServiceResult<u64> {
    let cx = Context::read(state, org_id, rules).await?;
    let max_attempts = state.config.delivery.max_attempts;
    let mut written = Vec::new();
    let mut moves = Vec::new();
    for rule in rules {
        // A person deleted since the batch was read is left out, as are their reminders.
        let Some(person) = cx.people.get(&rule.person_id) else {
            continue;
        };
        let item = rule.date_item_id.and_then(|id| cx.items.get(&id));
        let occurrence = match (rule.occurrence_date, rule.scheduled_datetime) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.to_rfc3339(),
            (None, None) => continue,
        };
        let (subject, body) = text(rule, person, item, now);
        let metadata = json!({
            "reminder_rule_id": rule.id,
            "date_item_id": rule.date_item_id,
            "occurrence": occurrence,
            "title": item.map(|i| i.title.clone()),
            "audience": rule.audience.as_str(),
        });
        let due_at = rule.scheduled_datetime.unwrap_or(now);
        let mut sends: Vec<(Channel, Option<Uuid>, Option<String>)> = Vec::new();
        match rule.audience {
            Audience::Client => sends.push((rule.channel_type, None, None)),
            Audience::Staff => {
                let assigned = person.assigned_staff_id.and_then(|id| cx.staff.get(&id));
                sends.push((Channel::Portal, assigned.map(|s| s.id), None));
                // E-mail as well, when the organisation sends e-mail and someone is assigned.
                if let Some(s) = assigned {
                    if cx.email_on || rule.channel_type == Channel::Email {
                        sends.push((Channel::Email, Some(s.id), Some(s.email.clone())));
                    }
                }
            }
        }
        let identities = cx
            .identities
            .get(&person.id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (channel, staff_id, address) in sends {
            written.push(prepare(
                NewDelivery {
                    org_id,
                    person: Some(person),
                    staff_id,
                    kind: DeliveryKind::Utility,
                    source: DeliverySource::Reminder,
                    channel: Some(channel),
                    address,
                    subject: Some(subject.clone()),
                    body: body.clone(),
                    metadata: metadata.clone(),
                    idempotency_key: format!(
                        "reminder:{}:{occurrence}:{}",
                        rule.id,
                        channel.as_str()
                    ),
                    correlation_id: None,
                    reminder_rule_id: Some(rule.id),
                    occurrence: Some(occurrence.clone()),
                    conversation_id: None,
                    due_at,
                },
                identities,
                max_attempts,
                now,
            ));
        }
        moves.push((next(rule, item, person, now), rule.scheduled_datetime));
    }
    // Written before the rules move: a crash between the two queues the same occurrences
    // again, and their idempotency keys make that a no-op.
    let (rows, events): (Vec<_>, Vec<_>) = written.into_iter().unzip();
    let landed = deliveries::insert_many(&state.db, &rows, &events).await?;
    if rows
        .iter()
        .any(|d| d.status == DeliveryStatus::Pending && landed.contains(&d.id))
    {
        state.wake.notify_one();
    }
    Ok(dates::advance_rules(&state.db, &moves).await?)
}

/// The rule after the occurrence just queued: a lead-time rule at its date's next
/// occurrence, a one-off done.
fn next(
    rule: &ReminderRule,
    item: Option<&DateItem>,
    person: &Person,
    now: DateTime<Utc>,
) -> ReminderRule {
    let mut next = rule.clone();
    next.updated_at = now;
    match rule.occurrence_date {
        Some(d) => {
            next.last_sent_occurrence = Some(d);
            schedule(&mut next, item, tz_of(person), now);
            if next.scheduled_datetime.is_none() {
                next.status = ReminderStatus::Sent;
                next.scheduled_datetime = rule.scheduled_datetime;
                next.occurrence_date = rule.occurrence_date;
            }
        }
        None => next.status = ReminderStatus::Sent,
    }
    next
}

fn tz_of(person: &Person) -> chrono_tz::Tz {
    Timezone::parse(&person.timezone)
        .map(|t| t.tz())
        .unwrap_or(chrono_tz::UTC)
}

/// The words of a reminder: the rule's own message, or one made from the date.
fn text(
    rule: &ReminderRule,
    person: &Person,
    item: Option<&DateItem>,
    now: DateTime<Utc>,
) -> (String, String) {
    let title = item.map(|i| i.title.clone());
    let subject = match &title {
        Some(t) => format!("Reminder: {t}"),
        None => "Reminder".into(),
    };
    let when = rule.occurrence_date.map(|d| {
        let days = (d - local_today(now, tz_of(person))).num_days();
        let when = d.format("%A %-d %B %Y");
        match days {
            0 => format!("today, {when}"),
            1 => format!("tomorrow, {when}"),
            n if n > 1 => format!("on {when} (in {n} days)"),
            _ => format!("on {when}"),
        }
    });
    let default = match (rule.audience, &title, &when) {
        (Audience::Client, Some(t), Some(w)) => {
            format!("Hi {}, a reminder: {t} is {w}.", person.display_name())
        }
        (Audience::Staff, Some(t), Some(w)) => format!("{t} for {} is {w}.", person.full_name),
        (Audience::Client, _, _) => format!("Hi {}, this is your reminder.", person.display_name()),
        (Audience::Staff, _, _) => format!("A reminder about {}.", person.full_name),
    };
    let body = match rule
        .message
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
    {
        Some(m) if rule.audience == Audience::Staff => {
            format!("{m}\n\n{default}")
        }
        Some(m) => m.to_string(),
        None => default,
    };
    (subject, body)
}
