//! The calendar of every client's dates, a month at a time in the portal, and as each staff
//! member's private iCalendar feed.

use super::audit;
use crate::domain::calendar::{render_ics, CalendarEntry};
use crate::domain::dates::{calendar_keys, ReminderRule, UpcomingDate};
use crate::domain::timing::local_instant;
use crate::domain::Recurrence;
use crate::server::auth::{token, Actor};
use crate::server::db;
use crate::server::error::{ServiceError, ServiceResult};
use crate::server::AppState;
use chrono::{Duration, NaiveDate, NaiveTime};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
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

/// A reminder on a day of the calendar, with its person's name and time zone and its date's
/// title.
pub type DayReminder = (NaiveDate, ReminderRule, (String, String), Option<String>);

/// Some days of the calendar: their dates and reminders, a bounded number per day.
#[derive(Clone, Debug, Default)]
pub struct Days {
    pub entries: Vec<CalendarEntry>,
    pub reminders: Vec<DayReminder>,
    /// The days that have more dates or reminders than were taken.
    pub more: BTreeSet<NaiveDate>,
}

/// How long a month read on SQLite is reused when nothing of this process changed it: what
/// another process wrote (a command-line import) shows within this.
const MONTH_TTL: std::time::Duration = std::time::Duration::from_secs(10);
/// How many months are kept (each about 100 KB).
const MONTHS_KEPT: usize = 64;

/// Months of the calendar as last read on SQLite, by organisation, first day and clock. The
/// whole team looks at the same month, and on SQLite one view costs about 25 ms of reads (a
/// day at a time through 62 keys and 31 windows), more than 50 people reading it once a second
/// leave room for on two cores. A month is reused while no connection of this process has
/// written a row of the tables it is read from (`db::calendar_writes`) and for at most
/// [`MONTH_TTL`]. PostgreSQL reads each month afresh (15 ms; several processes may write).
#[derive(Default)]
pub struct MonthCache {
    entries: std::sync::Mutex<std::collections::HashMap<MonthKey, (u64, std::time::Instant, Days)>>,
}

/// A month: the organisation, its first day, the clock it is read on.
type MonthKey = (Uuid, NaiveDate, String);

impl MonthCache {
    fn get(&self, key: &MonthKey, writes: u64) -> Option<Days> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(w, at, _)| *w == writes && at.elapsed() < MONTH_TTL)
            .map(|(_, _, days)| days.clone())
    }

    fn put(&self, key: MonthKey, writes: u64, days: Days) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MONTHS_KEPT && !entries.contains_key(&key) {
            let oldest = entries
                .iter()
                .min_by_key(|(_, (_, at, _))| *at)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                entries.remove(&oldest);
            }
        }
        entries.insert(key, (writes, std::time::Instant::now(), days));
    }
}

/// A month of the calendar (`days`, its days in order): [`days`] with no skip, reused on
/// SQLite as [`MonthCache`] says.
pub async fn month(
    state: &AppState,
    actor: &Actor,
    tz: chrono_tz::Tz,
    days: &[NaiveDate],
    dates_per_day: usize,
    reminders_per_day: usize,
) -> ServiceResult<Days> {
    let Some(&first) = days.first() else {
        return Ok(Days::default());
    };
    if !matches!(state.db, db::Db::Sqlite(_)) {
        return self::days(state, actor, tz, days, 0, dates_per_day, reminders_per_day).await;
    }
    let key = (actor.org_id(), first, tz.name().to_string());
    // Read before the month, so that a write while it is read makes the entry stale.
    let writes = db::calendar_writes();
    if let Some(found) = state.calendar_months.get(&key, writes) {
        return Ok(found);
    }
    let found = self::days(state, actor, tz, days, 0, dates_per_day, reminders_per_day).await?;
    state.calendar_months.put(key, writes, found.clone());
    Ok(found)
}

/// The dates and reminders of `days` (on the organisation's clock, `tz`): for each day, after
/// skipping `skip` of each, at most `dates_per_day` dates (by person, then title) and
/// `reminders_per_day` reminders (soonest first). A fixed number of statements however large
/// the organisation: one for the dates found by their calendar key, one for the few that repeat
/// by another rule, one for the reminders and two for their names.
pub async fn days(
    state: &AppState,
    actor: &Actor,
    tz: chrono_tz::Tz,
    days: &[NaiveDate],
    skip: usize,
    dates_per_day: usize,
    reminders_per_day: usize,
) -> ServiceResult<Days> {
    let org = actor.org_id();
    let (Some(&from), Some(&to)) = (days.iter().min(), days.iter().max()) else {
        return Ok(Days::default());
    };
    let mut out = Days::default();
    // Dates.
    let keyed: Vec<(NaiveDate, Vec<String>)> =
        days.iter().map(|d| (*d, calendar_keys(*d))).collect();
    let mut found = db::dates::keyed_on_days(
        &state.db,
        org,
        &keyed,
        skip as i64,
        dates_per_day as i64 + 1,
    )
    .await?;
    let mut fetched: BTreeMap<NaiveDate, usize> = BTreeMap::new();
    for (day, _) in &found {
        *fetched.entry(*day).or_default() += 1;
    }
    if skip == 0 {
        // The few dates with another rule (monthly, weekly, …) are shown on every page's
        // first screen: expanded here.
        for item in db::dates::repeating_unkeyed(&state.db, org).await? {
            let rule = recurrence_of(&item);
            for date in rule.occurrences_between(item.date_value, from, to, 400) {
                if days.contains(&date) {
                    found.push((date, item.clone()));
                }
            }
        }
    }
    let mut by_day: BTreeMap<NaiveDate, Vec<CalendarEntry>> = BTreeMap::new();
    for (day, item) in found {
        // A key says "may fall on": the rule says whether it does (a date that starts later,
        // or 29 February in a year without one).
        if recurrence_of(&item)
            .occurrences_between(item.date_value, day, day, 1)
            .is_empty()
        {
            continue;
        }
        by_day.entry(day).or_default().push(entry(day, item));
    }
    for (day, mut entries) in by_day {
        entries.sort_by(|a, b| {
            a.person_name
                .cmp(&b.person_name)
                .then_with(|| a.title.cmp(&b.title))
        });
        if entries.len() > dates_per_day || fetched.get(&day).is_some_and(|n| *n > dates_per_day) {
            out.more.insert(day);
        }
        entries.truncate(dates_per_day);
        out.entries.extend(entries);
    }
    // Reminders, on the day they go out on the organisation's clock.
    let windows: Vec<_> = days
        .iter()
        .map(|d| {
            (
                *d,
                local_instant(*d, NaiveTime::MIN, tz),
                local_instant(*d + Duration::days(1), NaiveTime::MIN, tz),
            )
        })
        .collect();
    let rules = db::dates::rules_in_windows(
        &state.db,
        org,
        &windows,
        skip as i64,
        reminders_per_day as i64 + 1,
    )
    .await?;
    let mut per_day: BTreeMap<NaiveDate, usize> = BTreeMap::new();
    let mut kept = Vec::new();
    let mut days_of = Vec::new();
    for (day, rule) in rules {
        let n = per_day.entry(day).or_default();
        *n += 1;
        if *n > reminders_per_day {
            out.more.insert(day);
        } else {
            days_of.push(day);
            kept.push(rule);
        }
    }
    let named = super::reminders::with_context(state, actor, kept).await?;
    out.reminders = days_of
        .into_iter()
        .zip(named)
        .map(|(day, (rule, who, title))| (day, rule, who, title))
        .collect();
    Ok(out)
}

fn recurrence_of(item: &UpcomingDate) -> Recurrence {
    Recurrence::parse(item.recurrence_rule.as_deref().unwrap_or_default()).unwrap_or_default()
}

fn entry(date: NaiveDate, item: UpcomingDate) -> CalendarEntry {
    CalendarEntry {
        date,
        date_item_id: item.date_item_id,
        person_id: item.person_id,
        person_name: item.person_name,
        title: item.title,
        category_name: item.category_name,
        category_icon: item.category_icon,
        reminder_count: item.reminder_count,
    }
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
