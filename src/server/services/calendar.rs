//! The calendar of every client's dates, a month at a time in the portal, and as each staff
//! member's private iCalendar feed.

use super::audit;
use crate::domain::calendar::{render_ics, CalendarEntry};
use crate::domain::Recurrence;
use crate::server::auth::{token, Actor};
use crate::server::db;
use crate::server::error::{ServiceError, ServiceResult};
use crate::server::AppState;
use chrono::{Duration, NaiveDate};
use serde_json::json;
use uuid::Uuid;

/// The longest window one request may expand.
const MAX_DAYS: i64 = 400;

/// Every occurrence of every date in `from..=to`, by day then person.
pub async fn occurrences(
    state: &AppState,
    org_id: Uuid,
    from: NaiveDate,
    to: NaiveDate,
    staff: Option<Uuid>,
) -> ServiceResult<Vec<CalendarEntry>> {
    if to < from || (to - from).num_days() > MAX_DAYS {
        return Err(ServiceError::invalid(
            "to",
            format!("must be on or after from, and at most {MAX_DAYS} days later"),
        ));
    }
    let items = db::dates::items_in_window(&state.db, org_id, from, to, staff).await?;
    let mut out = Vec::new();
    for item in items {
        let rule = Recurrence::parse(item.recurrence_rule.as_deref().unwrap_or_default())
            .unwrap_or_default();
        for date in rule.occurrences_between(item.date_value, from, to, 400) {
            out.push(CalendarEntry {
                date,
                date_item_id: item.date_item_id,
                person_id: item.person_id,
                person_name: item.person_name.clone(),
                title: item.title.clone(),
                category_name: item.category_name.clone(),
                category_icon: item.category_icon.clone(),
                reminder_count: item.reminder_count,
            });
        }
    }
    out.sort_by(|a, b| {
        a.date
            .cmp(&b.date)
            .then_with(|| a.person_name.cmp(&b.person_name))
            .then_with(|| a.title.cmp(&b.title))
    });
    Ok(out)
}

/// One month of the calendar for the portal.
pub async fn month(
    state: &AppState,
    actor: &Actor,
    year: i32,
    month: u32,
) -> ServiceResult<Vec<CalendarEntry>> {
    let first = NaiveDate::from_ymd_opt(year, month, 1)
        .ok_or_else(|| ServiceError::invalid("month", "is not a month of the calendar"))?;
    let last = first
        .checked_add_months(chrono::Months::new(1))
        .and_then(|d| d.pred_opt())
        .unwrap_or(first);
    occurrences(state, actor.org_id(), first, last, None).await
}

/// Makes a new private feed address for the signed-in staff member; the old one stops working.
/// The token is shown once: only its hash is kept.
pub async fn new_feed(state: &AppState, actor: &Actor) -> ServiceResult<String> {
    let Actor::Staff(user) = actor else {
        return Err(ServiceError::Forbidden(
            "calendar feeds belong to staff members".into(),
        ));
    };
    let secret = token::random_token();
    db::staff::set_calendar_token(
        &state.db,
        user.org_id,
        user.staff_id,
        Some(&token::sha256_hex(&secret)),
    )
    .await?;
    audit(
        &state.db,
        actor,
        "create",
        "calendar_feed",
        Some(user.staff_id),
        json!({}),
        state.clock.now(),
    )
    .await;
    Ok(format!("/calendar/{secret}.ics"))
}

/// The feed behind a token: the next year of dates of the clients the staff member looks
/// after (and of those nobody does). An unknown token is a 404, the same as no feed at all.
pub async fn feed(state: &AppState, secret: &str) -> ServiceResult<String> {
    let staff = db::staff::by_calendar_token(&state.db, &token::sha256_hex(secret))
        .await?
        .ok_or(ServiceError::NotFound)?;
    let now = state.clock.now();
    let from = now.date_naive() - Duration::days(1);
    let to = from + Duration::days(367);
    let entries = occurrences(state, staff.org_id, from, to, Some(staff.id)).await?;
    let portal = state
        .config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", state.config.addr));
    Ok(render_ics(
        &format!("Concierge — {}", staff.display_name),
        &entries,
        now,
        &portal,
    ))
}
