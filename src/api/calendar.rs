//! The calendar month view and the signed-in staff member's private feed.

use crate::domain::calendar::CalendarEntry;
use chrono::NaiveDate;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr::{actor, fail};

/// A month of the calendar: its first day, today (on the organisation's clock), every date in it,
/// and every reminder (but cancelled ones) due in it on its person's clock.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MonthView {
    pub first: NaiveDate,
    pub today: NaiveDate,
    pub entries: Vec<CalendarEntry>,
    pub reminders: Vec<CalendarReminder>,
}

/// A reminder on the day it is due, in its person's time zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalendarReminder {
    pub date: NaiveDate,
    /// "09:00 EDT".
    pub time: String,
    pub row: super::dates::ReminderRow,
}

/// Every date occurring in one month (`YYYY-MM`, or empty for this month), across every client.
#[server(prefix = "/srv", endpoint = "calendar/calendar_month")]
pub async fn calendar_month(#[server(default)] month: String) -> Result<MonthView, ServerFnError> {
    use chrono::Datelike;
    let (state, actor) = actor()?;
    let tz = crate::server::services::settings::zone(&state, &actor)
        .await
        .map_err(fail)?;
    let today = crate::domain::timing::local_today(state.clock.now(), tz);
    let first = match month.trim() {
        "" => today.with_day(1).unwrap_or(today),
        m => NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").map_err(|_| {
            fail(crate::server::error::ServiceError::invalid(
                "month",
                format!("'{m}' is not a month in the form YYYY-MM"),
            ))
        })?,
    };
    let entries =
        crate::server::services::calendar::month(&state, &actor, first.year(), first.month())
            .await
            .map_err(fail)?;
    let reminders = month_reminders(&state, &actor, first).await?;
    Ok(MonthView {
        first,
        today,
        entries,
        reminders,
    })
}

#[cfg(feature = "ssr")]
async fn month_reminders(
    state: &crate::server::AppState,
    actor: &crate::server::auth::Actor,
    first: NaiveDate,
) -> Result<Vec<CalendarReminder>, ServerFnError> {
    use crate::domain::dates::ReminderStatus;
    use crate::server::services::reminders;
    use chrono::{Datelike, Duration};
    let last = first
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(first);
    // A day either side covers every time zone; each reminder is then placed on its own clock.
    let from = (first - Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc());
    let to = (last + Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc());
    let mut rules = Vec::new();
    for page in 0..10 {
        let q = reminders::ListQuery {
            person_id: None,
            date_item_id: None,
            status: None,
            due_by: to,
            due_from: from,
            skip: page * 200,
            limit: 200,
        };
        let batch = reminders::list(state, actor, q).await.map_err(fail)?;
        let done = batch.len() < 200;
        rules.extend(
            batch
                .into_iter()
                .filter(|r| r.status != ReminderStatus::Cancelled),
        );
        if done {
            break;
        }
    }
    let rows = reminders::with_context(state, actor, rules)
        .await
        .map_err(fail)?;
    Ok(rows
        .into_iter()
        .filter_map(|(rule, (person_name, timezone), date_title)| {
            let tz = crate::domain::Timezone::parse(&timezone)
                .map(|t| t.tz())
                .unwrap_or(chrono_tz::UTC);
            let local = rule.scheduled_datetime?.with_timezone(&tz);
            let date = local.date_naive();
            (date.year() == first.year() && date.month() == first.month()).then(|| {
                CalendarReminder {
                    date,
                    time: local.format("%H:%M %Z").to_string(),
                    row: super::dates::ReminderRow {
                        rule,
                        person_name,
                        timezone,
                        date_title,
                    },
                }
            })
        })
        .collect())
}

/// Makes a new private feed address (the old one stops working) and returns it, once.
#[server(prefix = "/srv", endpoint = "calendar/new_calendar_feed")]
pub async fn new_calendar_feed() -> Result<String, ServerFnError> {
    let (state, actor) = actor()?;
    crate::server::services::calendar::new_feed(&state, &actor)
        .await
        .map_err(fail)
}
