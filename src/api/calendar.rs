//! The calendar month view and the signed-in staff member's private feed.

use crate::domain::calendar::CalendarEntry;
use crate::domain::dates::{Audience, Channel, ReminderStatus};
use chrono::NaiveDate;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr::{actor, fail};

/// A month of the calendar: its first day, today (on the organisation's clock), the first few
/// dates and reminders (but cancelled ones) of each day, and the days that have more.
/// Reminders are on the day they go out on the organisation's clock.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MonthView {
    pub first: NaiveDate,
    pub today: NaiveDate,
    pub entries: Vec<CalendarEntry>,
    pub reminders: Vec<CalendarReminder>,
    /// Days with more than the month shows: each links to its day.
    pub more: Vec<NaiveDate>,
}

/// One day of the calendar, a page of its dates and of its reminders at a time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DayView {
    pub day: NaiveDate,
    pub today: NaiveDate,
    pub page: i64,
    pub entries: Vec<CalendarEntry>,
    pub reminders: Vec<CalendarReminder>,
    /// Whether a next page has more.
    pub more: bool,
}

/// A reminder on the day it is due, with its time on its person's clock: what the calendar
/// shows of it and no more (a month holds up to a hundred, and each travels twice, as HTML and
/// as the data the page hydrates from).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalendarReminder {
    pub date: NaiveDate,
    /// "09:00 EDT".
    pub time: String,
    pub person_id: uuid::Uuid,
    pub person_name: String,
    /// Its message, else its date's title.
    pub what: Option<String>,
    pub status: ReminderStatus,
    pub audience: Audience,
    pub channel: Channel,
}

/// How many dates and reminders a day of the month shows before "more".
pub const MONTH_DATES_PER_DAY: usize = 4;
pub const MONTH_REMINDERS_PER_DAY: usize = 3;
/// How many dates and reminders a page of a day shows.
pub const DAY_PAGE: usize = 50;

/// The years the calendar shows: a month far beyond them has no month after it to link to.
#[cfg(feature = "ssr")]
const SANE_YEARS: std::ops::RangeInclusive<i32> = 1000..=9999;

/// One month (`YYYY-MM`, or empty for this month), across every client.
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
        m => NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d")
            .ok()
            .filter(|d| SANE_YEARS.contains(&d.year()))
            .ok_or_else(|| {
                fail(crate::server::error::ServiceError::invalid(
                    "month",
                    format!("'{m}' is not a month in the form YYYY-MM between 1000 and 9999"),
                ))
            })?,
    };
    let days: Vec<NaiveDate> = first
        .iter_days()
        .take_while(|d| d.month() == first.month())
        .collect();
    let found = crate::server::services::calendar::month(
        &state,
        &actor,
        tz,
        &days,
        MONTH_DATES_PER_DAY,
        MONTH_REMINDERS_PER_DAY,
    )
    .await
    .map_err(fail)?;
    Ok(MonthView {
        first,
        today,
        entries: found.entries,
        reminders: on_their_clock(found.reminders),
        more: found.more.into_iter().collect(),
    })
}

/// One day (`YYYY-MM-DD`), page `page` (from 1) of its dates and reminders.
#[server(prefix = "/srv", endpoint = "calendar/calendar_day")]
pub async fn calendar_day(
    day: String,
    #[server(default)] page: i64,
) -> Result<DayView, ServerFnError> {
    let (state, actor) = actor()?;
    let tz = crate::server::services::settings::zone(&state, &actor)
        .await
        .map_err(fail)?;
    let today = crate::domain::timing::local_today(state.clock.now(), tz);
    let date = NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| SANE_YEARS.contains(&chrono::Datelike::year(d)))
        .ok_or_else(|| {
            fail(crate::server::error::ServiceError::invalid(
                "day",
                format!("'{day}' is not a day in the form YYYY-MM-DD between 1000 and 9999"),
            ))
        })?;
    let page = page.max(1);
    let found = crate::server::services::calendar::days(
        &state,
        &actor,
        tz,
        &[date],
        (page as usize - 1) * DAY_PAGE,
        DAY_PAGE,
        DAY_PAGE,
    )
    .await
    .map_err(fail)?;
    Ok(DayView {
        day: date,
        today,
        page,
        more: !found.more.is_empty(),
        entries: found.entries,
        reminders: on_their_clock(found.reminders),
    })
}

/// Each reminder with its time on its person's clock.
#[cfg(feature = "ssr")]
fn on_their_clock(
    found: Vec<crate::server::services::calendar::DayReminder>,
) -> Vec<CalendarReminder> {
    found
        .into_iter()
        .map(|(date, rule, (person_name, timezone), date_title)| {
            let tz = crate::domain::Timezone::parse(&timezone)
                .map(|t| t.tz())
                .unwrap_or(chrono_tz::UTC);
            let time = rule
                .scheduled_datetime
                .map(|t| t.with_timezone(&tz).format("%H:%M %Z").to_string())
                .unwrap_or_default();
            CalendarReminder {
                date,
                time,
                person_id: rule.person_id,
                person_name,
                what: rule.message.or(date_title),
                status: rule.status,
                audience: rule.audience,
                channel: rule.channel_type,
            }
        })
        .collect()
}

/// Makes a new private feed address (the old one stops working) and returns it, once.
#[server(prefix = "/srv", endpoint = "calendar/new_calendar_feed")]
pub async fn new_calendar_feed() -> Result<String, ServerFnError> {
    let (state, actor) = actor()?;
    crate::server::services::calendar::new_feed(&state, &actor)
        .await
        .map_err(fail)
}
