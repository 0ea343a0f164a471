//! The reminder scheduler: every due reminder occurrence becomes exactly one delivery per
//! channel (its idempotency key is rule + occurrence + channel, unique in the outbox), then the
//! rule moves on to its next occurrence. Two workers doing this at once write one delivery: the
//! second insert meets the key and changes nothing, and the rule only moves if it still waits
//! for the occurrence that was queued.

use crate::domain::dates::{Audience, Channel, DateItem, ReminderRule, ReminderStatus};
use crate::domain::delivery::{DeliveryKind, DeliverySource};
use crate::domain::timing::local_today;
use crate::domain::{Person, Timezone};
use crate::server::db::{channels, dates, persons, staff};
use crate::server::error::ServiceResult;
use crate::server::services::dates::schedule;
use crate::server::services::deliveries::{queue, NewDelivery};
use crate::server::AppState;
use chrono::{DateTime, Utc};
use serde_json::json;

const BATCH: i64 = 200;

/// Queues every reminder due by now. Returns how many occurrences were turned into deliveries.
pub async fn run_once(state: &AppState) -> ServiceResult<u64> {
    let now = state.clock.now();
    let mut queued = 0;
    loop {
        let due = dates::due_rules(&state.db, now, BATCH).await?;
        let mut moved = 0;
        for rule in &due {
            match queue_rule(state, rule, now).await {
                Ok(true) => {
                    queued += 1;
                    moved += 1;
                }
                Ok(false) => {}
                Err(err) => {
                    tracing::warn!(rule = %rule.id, error = %err, "could not queue a reminder")
                }
            }
        }
        // Stop when the batch was the last, or when nothing in it could move (so a rule that
        // keeps failing cannot hold the loop).
        if (due.len() as i64) < BATCH || moved == 0 {
            break;
        }
    }
    if queued > 0 {
        state.metrics.reminders_queued(queued);
    }
    Ok(queued)
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

/// Turns one due rule into its deliveries and moves the rule on. `false` when another worker
/// (or an edit) got there first.
async fn queue_rule(
    state: &AppState,
    rule: &ReminderRule,
    now: DateTime<Utc>,
) -> ServiceResult<bool> {
    let Some(person) = persons::get(&state.db, rule.org_id, rule.person_id).await? else {
        return Ok(false);
    };
    let item = match rule.date_item_id {
        Some(id) => dates::get_item(&state.db, rule.org_id, id).await?,
        None => None,
    };
    let occurrence = match (rule.occurrence_date, rule.scheduled_datetime) {
        (Some(d), _) => d.to_string(),
        (None, Some(t)) => t.to_rfc3339(),
        (None, None) => return Ok(false),
    };
    let (subject, body) = text(rule, &person, item.as_ref(), now);
    let metadata = json!({
        "reminder_rule_id": rule.id,
        "date_item_id": rule.date_item_id,
        "occurrence": occurrence,
        "title": item.as_ref().map(|i| i.title.clone()),
        "audience": rule.audience.as_str(),
    });
    let due_at = rule.scheduled_datetime.unwrap_or(now);
    let mut sends: Vec<(Channel, Option<uuid::Uuid>, Option<String>)> = Vec::new();
    match rule.audience {
        Audience::Client => sends.push((rule.channel_type, None, None)),
        Audience::Staff => {
            let assigned = match person.assigned_staff_id {
                Some(id) => staff::get(&state.db, rule.org_id, id)
                    .await?
                    .filter(|s| s.active),
                None => None,
            };
            sends.push((Channel::Portal, assigned.as_ref().map(|s| s.id), None));
            // E-mail as well, when the organisation sends e-mail and someone is assigned.
            if let Some(s) = &assigned {
                let email_on = channels::settings(&state.db, rule.org_id)
                    .await?
                    .get("email")
                    .is_some_and(|c| c.enabled);
                if email_on || rule.channel_type == Channel::Email {
                    sends.push((Channel::Email, Some(s.id), Some(s.email.clone())));
                }
            }
        }
    }
    for (channel, staff_id, address) in sends {
        queue(
            state,
            NewDelivery {
                org_id: rule.org_id,
                person: Some(&person),
                staff_id,
                kind: DeliveryKind::Utility,
                source: DeliverySource::Reminder,
                channel: Some(channel),
                address,
                subject: Some(subject.clone()),
                body: body.clone(),
                metadata: metadata.clone(),
                idempotency_key: format!("reminder:{}:{occurrence}:{}", rule.id, channel.as_str()),
                correlation_id: None,
                reminder_rule_id: Some(rule.id),
                occurrence: Some(occurrence.clone()),
                conversation_id: None,
                due_at,
            },
        )
        .await?;
    }
    // Move on: a lead-time rule to its date's next occurrence, a one-off to done.
    let mut next = rule.clone();
    next.updated_at = now;
    match rule.occurrence_date {
        Some(d) => {
            next.last_sent_occurrence = Some(d);
            schedule(&mut next, item.as_ref(), tz_of(&person), now);
            if next.scheduled_datetime.is_none() {
                next.status = ReminderStatus::Sent;
                next.scheduled_datetime = rule.scheduled_datetime;
                next.occurrence_date = rule.occurrence_date;
            }
        }
        None => next.status = ReminderStatus::Sent,
    }
    Ok(dates::advance_rule(&state.db, &next, rule.scheduled_datetime).await?)
}
