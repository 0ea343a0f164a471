//! The calendar month view and the signed-in staff member's private feed.

use crate::domain::calendar::CalendarEntry;
use chrono::NaiveDate;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr::{actor, fail};

/// A month of the calendar: its first day, today (on the server's clock), and every date in it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MonthView {
    pub first: NaiveDate,
    pub today: NaiveDate,
    pub entries: Vec<CalendarEntry>,
}

/// Every date occurring in one month (`YYYY-MM`, or empty for this month), across every client.
#[server(prefix = "/srv", endpoint = "calendar/calendar_month")]
pub async fn calendar_month(#[server(default)] month: String) -> Result<MonthView, ServerFnError> {
    use chrono::Datelike;
    let (state, actor) = actor()?;
    let today = state.clock.now().date_naive();
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
    Ok(MonthView {
        first,
        today,
        entries,
    })
}

/// Makes a new private feed address (the old one stops working) and returns it, once.
#[server(prefix = "/srv", endpoint = "calendar/new_calendar_feed")]
pub async fn new_calendar_feed() -> Result<String, ServerFnError> {
    let (state, actor) = actor()?;
    crate::server::services::calendar::new_feed(&state, &actor)
        .await
        .map_err(fail)
}
