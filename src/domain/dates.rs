//! Important dates: their categories, the dates themselves with how they repeat, and the
//! reminder rules hung on them. Raw input from a form or the API is parsed here, once.

use super::person::{bounded, present};
use super::recurrence::Recurrence;
use super::timing::{lead_time_instant, parse_time_of_day};
use super::FieldErrors;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The categories every new organisation starts with: name, icon, colour.
pub const DEFAULT_CATEGORIES: [(&str, &str, &str); 6] = [
    ("Birthday", "🎂", "#e4572e"),
    ("Anniversary", "💑", "#c03c8c"),
    ("Club Renewal", "🎾", "#2e86ab"),
    ("Property Maintenance", "🏠", "#6a994e"),
    ("School Event", "🎓", "#f2a541"),
    ("Travel", "✈️", "#5c6bc0"),
];

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct DateCategory {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub icon: String,
    pub color: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryInput {
    #[serde(default, alias = "category_name")]
    #[cfg_attr(
        feature = "ssr",
        schema(
            required = true,
            nullable = false,
            min_length = 1,
            pattern = r"\S",
            max_length = 60
        )
    )]
    pub name: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 16))]
    pub icon: Option<String>,
    #[serde(default)]
    #[cfg_attr(
        feature = "ssr",
        schema(pattern = r"^\s*(#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6}))?\s*$")
    )]
    pub color: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CategoryDraft {
    pub name: String,
    pub icon: String,
    pub color: String,
}

fn required<'a>(
    field: &str,
    value: &'a Option<String>,
    errors: &mut FieldErrors,
) -> Option<&'a str> {
    let v = present(value);
    if v.is_none() {
        errors.add(field, "is required");
    }
    v
}

/// Reads `#rgb` or `#rrggbb`, lower-cased.
pub fn parse_color(input: &str) -> Result<String, String> {
    let s = input.trim();
    let hex = s.strip_prefix('#').unwrap_or(s);
    if (hex.len() == 3 || hex.len() == 6) && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(format!("#{}", hex.to_ascii_lowercase()))
    } else {
        Err(format!("'{s}' is not a colour like #e4572e"))
    }
}

impl CategoryDraft {
    pub fn parse(input: &CategoryInput) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = required("name", &input.name, &mut errors)
            .and_then(|n| bounded("name", Some(n), 60, &mut errors));
        let icon =
            bounded("icon", present(&input.icon), 16, &mut errors).unwrap_or_else(|| "📅".into());
        let color = present(&input.color)
            .map(|c| errors.check("color", parse_color(c)))
            .unwrap_or_else(|| Some("#5c6bc0".into()));
        match (name, color) {
            (Some(name), Some(color)) if errors.is_empty() => Ok(Self { name, icon, color }),
            _ => Err(errors),
        }
    }
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// A date that matters to a person.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct DateItem {
    pub id: Uuid,
    pub org_id: Uuid,
    pub person_id: Uuid,
    pub category_id: Option<Uuid>,
    pub title: String,
    pub date_value: NaiveDate,
    /// The repeat rule in RRULE form (`FREQ=YEARLY`), or none for a one-off date.
    pub recurrence_rule: Option<String>,
    /// The first occurrence on or after today in the person's time zone; none once a one-off
    /// date (or a finished rule) has passed.
    pub next_occurrence: Option<NaiveDate>,
    pub notes: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl DateItem {
    pub fn recurrence(&self) -> Recurrence {
        Recurrence::parse(self.recurrence_rule.as_deref().unwrap_or_default()).unwrap_or_default()
    }

    /// The next occurrence as of `today` on the person's clock (see [`Recurrence::next_as_of`]).
    pub fn next_as_of(&self, today: NaiveDate) -> Option<NaiveDate> {
        self.recurrence()
            .next_as_of(self.date_value, self.next_occurrence, today)
    }

    /// The calendar's key for the days this date falls on, so that a day's dates are found
    /// through an index: `YYYY-MM-DD` for a date that does not repeat, `*-MM-DD` for one that
    /// repeats every year on its day, none for any other rule (those few are expanded one by
    /// one). See [`calendar_keys`].
    pub fn occurs_on(&self) -> Option<String> {
        match self.recurrence() {
            Recurrence::None => Some(self.date_value.format("%Y-%m-%d").to_string()),
            Recurrence::Rule(r)
                if r.freq == crate::domain::recurrence::Freq::Yearly
                    && r.interval == 1
                    && r.by_month.is_empty()
                    && r.by_month_day.is_empty()
                    && r.count.is_none()
                    && r.until.is_none() =>
            {
                Some(self.date_value.format("*-%m-%d").to_string())
            }
            Recurrence::Rule(_) => None,
        }
    }
}

/// The [`DateItem::occurs_on`] keys of the dates that may fall on `day`: those of that day,
/// the yearly ones of its month and day, and on the last day of February and the first of
/// March in a year without a 29 February, the yearly ones of the 29th (the caller checks each
/// against its rule).
pub fn calendar_keys(day: NaiveDate) -> Vec<String> {
    use chrono::Datelike;
    let mut keys = vec![
        day.format("%Y-%m-%d").to_string(),
        day.format("*-%m-%d").to_string(),
    ];
    let leap = NaiveDate::from_ymd_opt(day.year(), 2, 29).is_some();
    if !leap && matches!((day.month(), day.day()), (2, 28) | (3, 1)) {
        keys.push("*-02-29".to_string());
    }
    keys.sort();
    keys
}

/// How far ahead a date counts as coming up, in days on the person's clock: a year, leap
/// day included (the profile's count, `/persons/{id}/dashboard`, the upcoming-dates API's
/// longest look ahead).
pub const UPCOMING_DAYS: i64 = 366;

/// One line of a client's dates on their profile: only what the line shows, so that a client
/// with a hundred dates does not carry each whole item and its rules into the page (the
/// profile's hydration data was 120 KB of them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DateLine {
    pub id: Uuid,
    pub title: String,
    /// The next occurrence on the person's clock, or none once a one-off date has passed.
    pub next_occurrence: Option<NaiveDate>,
    /// Days until it, when that is within the year ahead.
    pub days_until: Option<i64>,
    /// How it repeats, for people ("Every year").
    pub repeats: String,
    /// Its reminders that are not cancelled.
    pub active_reminders: usize,
}

impl DateLine {
    /// Whether it comes up within [`UPCOMING_DAYS`].
    pub fn is_upcoming(&self) -> bool {
        self.days_until.is_some()
    }
}

/// A date item with its reminder rules, as the API and the form show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DateItemDetail {
    #[serde(flatten)]
    pub item: DateItem,
    pub reminder_rules: Vec<ReminderRule>,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DateItemInput {
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(required = true, nullable = false, format = Uuid))]
    pub person_id: Option<String>,
    #[serde(default)]
    #[cfg_attr(
        feature = "ssr",
        schema(
            pattern = r"^\s*([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})?\s*$"
        )
    )]
    pub category_id: Option<String>,
    #[serde(default)]
    #[cfg_attr(
        feature = "ssr",
        schema(
            required = true,
            nullable = false,
            min_length = 1,
            pattern = r"\S",
            max_length = 200
        )
    )]
    pub title: Option<String>,
    #[serde(default, alias = "date")]
    #[cfg_attr(feature = "ssr", schema(required = true, nullable = false, format = Date))]
    pub date_value: Option<String>,
    #[serde(default, alias = "recurrence")]
    pub recurrence_rule: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    /// With a date item: its reminder rules, replacing any it had.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_items = 20))]
    pub reminder_rules: Option<Vec<ReminderRuleInput>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DateItemDraft {
    pub person_id: Uuid,
    pub category_id: Option<Uuid>,
    pub title: String,
    pub date_value: NaiveDate,
    pub recurrence: Recurrence,
    pub notes: Option<String>,
    pub reminder_rules: Option<Vec<ReminderRuleDraft>>,
}

/// Reads an id; the message names what kind of id was expected.
pub fn parse_uuid(field: &str, value: &str) -> Result<Uuid, String> {
    Uuid::parse_str(value.trim())
        .map_err(|_| format!("'{value}' is not an id ({field} must be a UUID)"))
}

pub fn parse_date(input: &str) -> Result<NaiveDate, String> {
    let s = input.trim();
    let date = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| format!("'{s}' is not a date in the form YYYY-MM-DD"))?;
    use chrono::Datelike;
    if !(1900..=2200).contains(&date.year()) {
        return Err("must be between the years 1900 and 2200".into());
    }
    Ok(date)
}

impl DateItemDraft {
    /// Checks every field, the reminder rules included (their errors are named
    /// `reminder_rules[0].lead_time_days` and so on).
    pub fn parse(input: &DateItemInput) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let person_id = required("person_id", &input.person_id, &mut errors)
            .and_then(|p| errors.check("person_id", parse_uuid("person_id", p)));
        let category_id = present(&input.category_id)
            .and_then(|c| errors.check("category_id", parse_uuid("category_id", c)));
        let title = required("title", &input.title, &mut errors)
            .and_then(|t| bounded("title", Some(t), 200, &mut errors));
        let date_value = required("date_value", &input.date_value, &mut errors)
            .and_then(|d| errors.check("date_value", parse_date(d)));
        let recurrence = errors.check(
            "recurrence_rule",
            Recurrence::parse(input.recurrence_rule.as_deref().unwrap_or_default()),
        );
        if let (Some(r), Some(d)) = (&recurrence, date_value) {
            errors.check("recurrence_rule", r.validate_for(d));
        }
        let notes = bounded("notes", present(&input.notes), 5_000, &mut errors);
        let reminder_rules = input.reminder_rules.as_ref().map(|rules| {
            if rules.len() > 20 {
                errors.add("reminder_rules", "at most 20 reminder rules per date");
            }
            rules
                .iter()
                .enumerate()
                .filter_map(|(i, r)| match ReminderRuleDraft::parse(r) {
                    Ok(d) => Some(d),
                    Err(e) => {
                        for fe in e.0 {
                            errors.add(&format!("reminder_rules[{i}].{}", fe.field), fe.message);
                        }
                        None
                    }
                })
                .collect::<Vec<_>>()
        });
        match (person_id, title, date_value, recurrence) {
            (Some(person_id), Some(title), Some(date_value), Some(recurrence))
                if errors.is_empty() =>
            {
                Ok(Self {
                    person_id,
                    category_id,
                    title,
                    date_value,
                    recurrence,
                    notes,
                    reminder_rules,
                })
            }
            _ => Err(errors),
        }
    }
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// How a reminder's moment is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReminderType {
    /// N days before the date's next occurrence, at a local time of day.
    LeadTime,
    /// At an explicit instant.
    Scheduled,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// Who a reminder is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// The person the date belongs to.
    Client,
    /// The staff member assigned to that person.
    Staff,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// A channel a message can go out on; `portal` is an in-portal notification to staff.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
    Whatsapp,
    Slack,
    Webhook,
    Portal,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// Where a reminder stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReminderStatus {
    /// Waiting for its moment (or overdue, if that moment has passed).
    Pending,
    /// Sent, with no later occurrence to wait for.
    Sent,
    /// The last attempt failed; a person may retry it.
    Failed,
    /// Stopped by staff.
    Cancelled,
}

text_enum!(ReminderType, "a reminder type", { LeadTime => "lead_time", Scheduled => "scheduled" });
text_enum!(Audience, "an audience", { Client => "client", Staff => "staff" });
text_enum!(Channel, "a channel", {
    Email => "email", Sms => "sms", Whatsapp => "whatsapp", Slack => "slack",
    Webhook => "webhook", Portal => "portal",
});
text_enum!(ReminderStatus, "a reminder status", {
    Pending => "pending", Sent => "sent", Failed => "failed", Cancelled => "cancelled",
});

impl ReminderStatus {
    /// What a reminder becomes when a delivery it carried went out: one that had failed (and
    /// was retried) is no longer failed: a one-off is sent, a repeating one waits for its next
    /// occurrence. Any other status stands (the scheduler already moved it on when it queued).
    pub fn after_sent(self, kind: ReminderType) -> Self {
        match (self, kind) {
            (ReminderStatus::Failed, ReminderType::Scheduled) => ReminderStatus::Sent,
            (ReminderStatus::Failed, ReminderType::LeadTime) => ReminderStatus::Pending,
            (status, _) => status,
        }
    }

    /// What a reminder becomes when a delivery it carried failed for good: failed, unless
    /// staff have cancelled it meanwhile.
    pub fn after_failed(self) -> Self {
        match self {
            ReminderStatus::Cancelled => ReminderStatus::Cancelled,
            _ => ReminderStatus::Failed,
        }
    }
}

impl Channel {
    pub fn label(self) -> &'static str {
        match self {
            Channel::Email => "E-mail",
            Channel::Sms => "SMS",
            Channel::Whatsapp => "WhatsApp",
            Channel::Slack => "Slack",
            Channel::Webhook => "Webhook",
            Channel::Portal => "Portal",
        }
    }
}

/// The default time of day for lead-time reminders, in the person's time zone.
pub fn default_time_of_day() -> NaiveTime {
    NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default()
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// A reminder rule as stored, with the moment of its next reminder.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ReminderRule {
    pub id: Uuid,
    pub org_id: Uuid,
    pub person_id: Uuid,
    pub date_item_id: Option<Uuid>,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub reminder_type: ReminderType,
    pub lead_time_days: Option<i32>,
    /// `HH:MM` on the recipient's clock, for lead-time rules.
    pub time_of_day: Option<String>,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub channel_type: Channel,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub audience: Audience,
    pub message: Option<String>,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub status: ReminderStatus,
    /// The occurrence of the date the next reminder is for (lead-time rules).
    pub occurrence_date: Option<NaiveDate>,
    /// The last occurrence a reminder went out for, so a rescheduled rule never repeats it.
    pub last_sent_occurrence: Option<NaiveDate>,
    /// When the next reminder is due; none when nothing is left to send.
    pub scheduled_datetime: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub position: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReminderRuleInput {
    /// Kept when a date item is edited with its rules, so each rule keeps its identity.
    #[serde(default, alias = "reminder_rule_id")]
    #[cfg_attr(
        feature = "ssr",
        schema(
            pattern = r"^\s*([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})?\s*$"
        )
    )]
    pub id: Option<String>,
    /// For a standalone reminder: the person, when no date item is given.
    #[serde(default)]
    #[cfg_attr(
        feature = "ssr",
        schema(
            pattern = r"^\s*([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})?\s*$"
        )
    )]
    pub person_id: Option<String>,
    #[serde(default)]
    #[cfg_attr(
        feature = "ssr",
        schema(
            pattern = r"^\s*([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})?\s*$"
        )
    )]
    pub date_item_id: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(pattern = r"^\s*(lead_time|scheduled)?\s*$"))]
    pub reminder_type: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(minimum = 0, maximum = 365))]
    pub lead_time_days: Option<i64>,
    #[serde(default, alias = "local_time")]
    #[cfg_attr(
        feature = "ssr",
        schema(pattern = r"^\s*([01]?[0-9]|2[0-3]):[0-5][0-9]\s*$")
    )]
    pub time_of_day: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(format = DateTime))]
    pub scheduled_datetime: Option<String>,
    #[serde(default, alias = "channel")]
    #[cfg_attr(
        feature = "ssr",
        schema(pattern = r"^\s*(email|sms|whatsapp|slack|webhook|portal)?\s*$")
    )]
    pub channel_type: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(pattern = r"^\s*(client|staff)?\s*$"))]
    pub audience: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

/// When a reminder fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timing {
    LeadTime { days: u32, at: NaiveTime },
    Scheduled(DateTime<Utc>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ReminderRuleDraft {
    pub id: Option<Uuid>,
    pub timing: Timing,
    pub channel: Channel,
    pub audience: Audience,
    pub message: Option<String>,
}

pub const MAX_LEAD_DAYS: i64 = 366;

impl ReminderRuleDraft {
    /// Checks a rule's own fields; the date item or person it belongs to is checked by the
    /// caller.
    pub fn parse(input: &ReminderRuleInput) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let id = present(&input.id).and_then(|i| errors.check("id", parse_uuid("id", i)));
        let kind = match present(&input.reminder_type) {
            Some(t) => errors.check("reminder_type", ReminderType::parse(t)),
            None if input.scheduled_datetime.is_some() && input.lead_time_days.is_none() => {
                Some(ReminderType::Scheduled)
            }
            None => Some(ReminderType::LeadTime),
        };
        let timing = match kind {
            Some(ReminderType::LeadTime) => {
                let days = match input.lead_time_days {
                    None => {
                        errors.add("lead_time_days", "is required for a lead-time reminder");
                        None
                    }
                    Some(d) if !(0..=MAX_LEAD_DAYS).contains(&d) => {
                        errors.add("lead_time_days", format!("must be between 0 and {MAX_LEAD_DAYS}"));
                        None
                    }
                    Some(d) => Some(d as u32),
                };
                let at = match present(&input.time_of_day) {
                    None => Some(default_time_of_day()),
                    Some(t) => errors.check("time_of_day", parse_time_of_day(t)),
                };
                days.zip(at).map(|(days, at)| Timing::LeadTime { days, at })
            }
            Some(ReminderType::Scheduled) => match present(&input.scheduled_datetime) {
                None => {
                    errors.add("scheduled_datetime", "is required for a scheduled reminder");
                    None
                }
                Some(s) => errors
                    .check(
                        "scheduled_datetime",
                        DateTime::parse_from_rfc3339(s)
                            .map(|t| t.with_timezone(&Utc))
                            .map_err(|_| format!("'{s}' is not an RFC 3339 instant like 2027-03-01T09:00:00-05:00")),
                    )
                    .map(Timing::Scheduled),
            },
            None => None,
        };
        let audience = match present(&input.audience) {
            None => Some(Audience::Client),
            Some(a) => errors.check("audience", Audience::parse(a)),
        };
        let channel = match present(&input.channel_type) {
            None => audience.map(|a| match a {
                Audience::Client => Channel::Email,
                Audience::Staff => Channel::Portal,
            }),
            Some(c) => errors.check("channel_type", Channel::parse(c)),
        };
        if audience == Some(Audience::Client) && channel == Some(Channel::Portal) {
            errors.add(
                "channel_type",
                "portal notifications are for staff; choose another channel for the client",
            );
        }
        let message = bounded("message", present(&input.message), 2_000, &mut errors);
        match (timing, channel, audience) {
            (Some(timing), Some(channel), Some(audience)) if errors.is_empty() => Ok(Self {
                id,
                timing,
                channel,
                audience,
                message,
            }),
            _ => Err(errors),
        }
    }
}

/// The next reminder of a rule: for which occurrence, and when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NextReminder {
    pub occurrence: Option<NaiveDate>,
    pub due_at: DateTime<Utc>,
}

/// Where a lead-time rule's next reminder falls: the first occurrence of the date on or after
/// `from` (the recipient's today, or the day after the occurrence already reminded about).
pub fn next_lead_time_reminder(
    recurrence: &Recurrence,
    date_value: NaiveDate,
    from: NaiveDate,
    days: u32,
    at: NaiveTime,
    tz: chrono_tz::Tz,
) -> Option<NextReminder> {
    let occurrence = recurrence.next_occurrence(date_value, from)?;
    let due_at = lead_time_instant(occurrence, days, at, tz)?;
    Some(NextReminder {
        occurrence: Some(occurrence),
        due_at,
    })
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// A coming occurrence of a date, as the dashboard, home page and calendar show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct UpcomingDate {
    pub date_item_id: Uuid,
    pub person_id: Uuid,
    pub person_name: String,
    pub title: String,
    pub date_value: NaiveDate,
    pub recurrence_rule: Option<String>,
    pub next_occurrence: NaiveDate,
    pub category_id: Option<Uuid>,
    pub category_name: Option<String>,
    pub category_icon: Option<String>,
    pub category_color: Option<String>,
    /// Days from today on the person's own clock.
    #[cfg_attr(feature = "ssr", sqlx(default))]
    pub days_until: i64,
    pub reminder_count: i64,
    #[serde(skip)]
    #[cfg_attr(feature = "ssr", sqlx(default))]
    pub timezone: String,
}

/// Whole days from `today` to `date` (negative when it has passed).
pub fn days_until(today: NaiveDate, date: NaiveDate) -> i64 {
    (date - today).num_days()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_outcome_moves_its_reminder() {
        use ReminderStatus::*;
        assert_eq!(Failed.after_sent(ReminderType::Scheduled), Sent);
        assert_eq!(Failed.after_sent(ReminderType::LeadTime), Pending);
        assert_eq!(Pending.after_sent(ReminderType::Scheduled), Pending);
        assert_eq!(Cancelled.after_sent(ReminderType::LeadTime), Cancelled);
        assert_eq!(Pending.after_failed(), Failed);
        assert_eq!(Sent.after_failed(), Failed);
        assert_eq!(Cancelled.after_failed(), Cancelled);
    }

    fn rule_input(json: serde_json::Value) -> ReminderRuleInput {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn reminder_rules_parse_with_defaults() {
        let r = ReminderRuleDraft::parse(&rule_input(serde_json::json!({
            "reminder_type": "lead_time", "lead_time_days": 14
        })))
        .unwrap();
        assert_eq!(
            r.timing,
            Timing::LeadTime {
                days: 14,
                at: default_time_of_day()
            }
        );
        assert_eq!((r.channel, r.audience), (Channel::Email, Audience::Client));
        let r = ReminderRuleDraft::parse(&rule_input(serde_json::json!({
            "lead_time_days": 21, "audience": "staff", "time_of_day": "08:30"
        })))
        .unwrap();
        assert_eq!(r.channel, Channel::Portal);
        let r = ReminderRuleDraft::parse(&rule_input(serde_json::json!({
            "scheduled_datetime": "2027-03-01T09:00:00-05:00", "channel_type": "slack"
        })))
        .unwrap();
        assert_eq!(
            r.timing,
            Timing::Scheduled("2027-03-01T14:00:00Z".parse().unwrap())
        );
    }

    #[test]
    fn reminder_rule_errors_name_their_field() {
        let bad = [
            (
                serde_json::json!({"reminder_type": "lead_time"}),
                "lead_time_days",
            ),
            (serde_json::json!({"lead_time_days": 400}), "lead_time_days"),
            (
                serde_json::json!({"lead_time_days": 1, "time_of_day": "9am"}),
                "time_of_day",
            ),
            (
                serde_json::json!({"reminder_type": "scheduled"}),
                "scheduled_datetime",
            ),
            (
                serde_json::json!({"scheduled_datetime": "tomorrow"}),
                "scheduled_datetime",
            ),
            (
                serde_json::json!({"lead_time_days": 1, "channel_type": "pigeon"}),
                "channel_type",
            ),
            (
                serde_json::json!({"lead_time_days": 1, "channel_type": "portal"}),
                "channel_type",
            ),
            (
                serde_json::json!({"lead_time_days": 1, "audience": "everyone"}),
                "audience",
            ),
            (
                serde_json::json!({"reminder_type": "sometime"}),
                "reminder_type",
            ),
        ];
        for (json, field) in bad {
            let errors = ReminderRuleDraft::parse(&rule_input(json.clone())).unwrap_err();
            assert!(
                errors.get(field).is_some(),
                "{json} should fail on {field}: {errors}"
            );
        }
    }

    #[test]
    fn date_items_name_nested_rule_fields() {
        let input: DateItemInput = serde_json::from_value(serde_json::json!({
            "person_id": Uuid::nil().to_string(),
            "title": "Birthday",
            "date_value": "1985-02-30",
            "recurrence_rule": "FREQ=FORTNIGHTLY",
            "reminder_rules": [{"lead_time_days": 14}, {"lead_time_days": -1}]
        }))
        .unwrap();
        let errors = DateItemDraft::parse(&input).unwrap_err();
        assert!(errors.get("date_value").is_some(), "{errors}");
        assert!(errors.get("recurrence_rule").is_some(), "{errors}");
        assert!(
            errors.get("reminder_rules[1].lead_time_days").is_some(),
            "{errors}"
        );
        assert!(
            errors.get("reminder_rules[0].lead_time_days").is_none(),
            "{errors}"
        );
    }

    #[test]
    fn categories_and_colours() {
        assert_eq!(parse_color("#ABC"), Ok("#abc".into()));
        assert!(parse_color("red").is_err());
        let errors = CategoryDraft::parse(&CategoryInput::default()).unwrap_err();
        assert!(errors.get("name").is_some());
    }
}
