//! Important dates and reminders for the portal: a client's dates, the date form with its
//! reminder rules, upcoming dates, and the reminders list.

// The date form posts its reminder rules as numbered fields, one argument each.
#![allow(clippy::too_many_arguments)]

use super::FormOutcome;
use crate::domain::dates::{DateCategory, DateItemDetail, DateLine, ReminderRule, UpcomingDate};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// How many reminder rules the date form offers.
pub const FORM_RULES: usize = 3;

#[cfg(feature = "ssr")]
use super::ssr::parse_id;

#[server(prefix = "/srv", endpoint = "dates/list_categories")]
pub async fn list_categories() -> Result<Vec<DateCategory>, ServerFnError> {
    let (state, actor) = super::ssr::actor()?;
    crate::server::services::dates::list_categories(&state, &actor)
        .await
        .map_err(super::ssr::fail)
}

/// A client's dates as their profile lists them.
#[server(prefix = "/srv", endpoint = "dates/client_date_lines")]
pub async fn client_date_lines(person_id: String) -> Result<Vec<DateLine>, ServerFnError> {
    let (state, actor) = super::ssr::actor()?;
    crate::server::services::dates::lines_for_person(&state, &actor, parse_id(&person_id)?)
        .await
        .map_err(super::ssr::fail)
}

#[server(prefix = "/srv", endpoint = "dates/get_date")]
pub async fn get_date(id: String) -> Result<DateItemDetail, ServerFnError> {
    let (state, actor) = super::ssr::actor()?;
    crate::server::services::dates::get_item(&state, &actor, parse_id(&id)?)
        .await
        .map_err(super::ssr::fail)
}

/// The soonest dates in the next `days` days across every client (or one, with `person_id`).
#[server(prefix = "/srv", endpoint = "dates/upcoming_dates")]
pub async fn upcoming_dates(
    #[server(default)] person_id: Option<String>,
    days: i64,
    #[server(default)] limit: i64,
) -> Result<Vec<UpcomingDate>, ServerFnError> {
    let (state, actor) = super::ssr::actor()?;
    let person = super::ssr::optional_id(person_id.as_deref().unwrap_or_default())?;
    // The soonest `limit` (1–100, 100 when not given).
    let limit = if limit > 0 { limit.min(100) } else { 100 };
    crate::server::services::dates::upcoming(&state, &actor, person, days, limit)
        .await
        .map_err(super::ssr::fail)
}

/// Creates (no `id`) or replaces a date item with its reminder rules. Each rule row of the
/// form is `rN_days`, `rN_time`, `rN_audience`, `rN_channel`, `rN_message`, and `rN_id` when it
/// is an existing rule; a row with no lead time is left out.
#[server(prefix = "/srv", endpoint = "dates/save_date")]
pub async fn save_date(
    #[server(default)] id: Option<String>,
    #[server(default)] person_id: String,
    #[server(default)] category_id: String,
    #[server(default)] title: String,
    #[server(default)] date_value: String,
    #[server(default)] recurrence_rule: String,
    #[server(default)] notes: String,
    #[server(default)] r0_id: String,
    #[server(default)] r0_days: String,
    #[server(default)] r0_time: String,
    #[server(default)] r0_audience: String,
    #[server(default)] r0_channel: String,
    #[server(default)] r0_message: String,
    #[server(default)] r1_id: String,
    #[server(default)] r1_days: String,
    #[server(default)] r1_time: String,
    #[server(default)] r1_audience: String,
    #[server(default)] r1_channel: String,
    #[server(default)] r1_message: String,
    #[server(default)] r2_id: String,
    #[server(default)] r2_days: String,
    #[server(default)] r2_time: String,
    #[server(default)] r2_audience: String,
    #[server(default)] r2_channel: String,
    #[server(default)] r2_message: String,
) -> Result<FormOutcome, ServerFnError> {
    use crate::domain::dates::{DateItemInput, ReminderRuleInput};
    use crate::domain::FieldErrors;
    use crate::server::error::ServiceError;

    let (state, actor) = super::ssr::actor()?;
    let rows = [
        (r0_id, r0_days, r0_time, r0_audience, r0_channel, r0_message),
        (r1_id, r1_days, r1_time, r1_audience, r1_channel, r1_message),
        (r2_id, r2_days, r2_time, r2_audience, r2_channel, r2_message),
    ];
    let mut errors = FieldErrors::new();
    let mut rules = Vec::new();
    // Form rows are numbered; errors of the service name list positions, so keep a map.
    let mut row_of_rule = Vec::new();
    for (row, (rid, days, time, audience, channel, message)) in rows.into_iter().enumerate() {
        if days.trim().is_empty() {
            continue;
        }
        let days = match days.trim().parse::<i64>() {
            Ok(d) => Some(d),
            Err(_) => {
                errors.add(&format!("r{row}_days"), "must be a whole number of days");
                continue;
            }
        };
        row_of_rule.push(row);
        rules.push(ReminderRuleInput {
            id: Some(rid),
            reminder_type: Some("lead_time".into()),
            lead_time_days: days,
            time_of_day: Some(time),
            audience: Some(audience),
            channel_type: Some(channel),
            message: Some(message),
            ..Default::default()
        });
    }
    if !errors.is_empty() {
        return Ok(FormOutcome::Invalid(errors));
    }
    let input = DateItemInput {
        person_id: Some(person_id.clone()),
        category_id: Some(category_id),
        title: Some(title),
        date_value: Some(date_value),
        recurrence_rule: Some(recurrence_rule),
        notes: Some(notes),
        reminder_rules: Some(rules),
    };
    let id = super::ssr::optional_id(id.as_deref().unwrap_or_default())?;
    let result = crate::server::services::dates::save_item(&state, &actor, id, &input).await;
    // `reminder_rules[1].time_of_day` becomes the form's `r2_time` (when row 1 was empty).
    let result = result.map_err(|e| match e {
        ServiceError::Invalid(errors) => ServiceError::Invalid(FieldErrors(
            errors
                .0
                .into_iter()
                .map(|mut fe| {
                    if let Some(rest) = fe.field.strip_prefix("reminder_rules[") {
                        if let Some((index, field)) = rest.split_once("].") {
                            let row = index
                                .parse::<usize>()
                                .ok()
                                .and_then(|i| row_of_rule.get(i).copied())
                                .unwrap_or(0);
                            let short = match field {
                                "lead_time_days" => "days",
                                "time_of_day" => "time",
                                "channel_type" => "channel",
                                other => other,
                            };
                            fe.field = format!("r{row}_{short}");
                        }
                    }
                    fe
                })
                .collect(),
        )),
        other => other,
    });
    let outcome = super::ssr::form_result(result.map(|d| d.item.id.to_string()))?;
    if let FormOutcome::Saved(_) = &outcome {
        leptos_axum::redirect(&format!("/clients/{person_id}"));
    }
    Ok(outcome)
}

#[server(prefix = "/srv", endpoint = "dates/delete_date")]
pub async fn delete_date(id: String, person_id: String) -> Result<(), ServerFnError> {
    let (state, actor) = super::ssr::actor()?;
    crate::server::services::dates::delete_item(&state, &actor, parse_id(&id)?)
        .await
        .map_err(super::ssr::fail)?;
    leptos_axum::redirect(&format!("/clients/{person_id}"));
    Ok(())
}

/// A reminder with what the list shows beside it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReminderRow {
    pub rule: ReminderRule,
    pub person_name: String,
    /// The person's time zone: reminders are shown on their clock.
    pub timezone: String,
    pub date_title: Option<String>,
}

/// How many reminders a page of the Reminders list shows.
pub const REMINDERS_PAGE: i64 = 50;

/// A page of reminders: `status` is all, pending, sent, failed or cancelled.
#[server(prefix = "/srv", endpoint = "dates/list_reminders")]
pub async fn list_reminders(
    #[server(default)] status: String,
    #[server(default)] page: i64,
    #[server(default)] due_today: bool,
) -> Result<Vec<ReminderRow>, ServerFnError> {
    use crate::server::services::reminders;
    let (state, actor) = super::ssr::actor()?;
    let status = reminders::parse_status_filter(Some(&status)).map_err(super::ssr::fail)?;
    let due_by = if due_today {
        // The end of today on the organisation's clock, for "due today and overdue".
        let tz = crate::server::services::settings::zone(&state, &actor)
            .await
            .map_err(super::ssr::fail)?;
        Some(crate::domain::timing::end_of_local_day(
            state.clock.now(),
            tz,
        ))
    } else {
        None
    };
    let page = page.max(1);
    let q = reminders::ListQuery {
        person_id: None,
        date_item_id: None,
        status,
        due_by,
        due_from: None,
        skip: (page - 1) * REMINDERS_PAGE,
        limit: REMINDERS_PAGE,
    };
    let rules = reminders::list(&state, &actor, q)
        .await
        .map_err(super::ssr::fail)?;
    reminders::with_context(&state, &actor, rules)
        .await
        .map(|rows| {
            rows.into_iter()
                .map(|(rule, (person_name, timezone), date_title)| ReminderRow {
                    rule,
                    person_name,
                    timezone,
                    date_title,
                })
                .collect()
        })
        .map_err(super::ssr::fail)
}

/// `action` is `cancel` or `retry`.
#[server(prefix = "/srv", endpoint = "dates/change_reminder")]
pub async fn change_reminder(id: String, action: String) -> Result<(), ServerFnError> {
    use crate::server::services::reminders;
    let (state, actor) = super::ssr::actor()?;
    let id = parse_id(&id)?;
    let result = match action.as_str() {
        "cancel" => reminders::cancel(&state, &actor, id).await,
        "retry" => reminders::retry(&state, &actor, id).await,
        _ => Err(crate::server::error::ServiceError::invalid(
            "action",
            "must be cancel or retry",
        )),
    };
    result.map(|_| ()).map_err(super::ssr::fail)
}
