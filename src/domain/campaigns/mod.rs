//! Campaigns: who hears what, on which channel, in which A/B arm. A campaign has a status
//! (`draft → active ⇄ paused → completed`), audience criteria, variants with weights (each a
//! template, optionally an AI prompt), a holdout that hears nothing (so lift can be measured),
//! a schedule and a send window on each recipient's clock. The rules here are pure: parsing an
//! admin's input into a [`CampaignSettings`], which status may follow which, and the
//! deterministic assignment of a person to an arm.

pub mod stats;

use super::engagement::decide::{closed_until, quiet_until};
use super::engagement::safety::SafetyReport;
use super::engagement::{EngagementPolicy, NudgeChannel, Segment};
use super::person::present;
use super::timing::parse_time_of_day;
use super::FieldErrors;
use chrono::{DateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// Where a campaign stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    /// Being written; nothing is sent.
    #[default]
    Draft,
    /// Its audience is reached by each engagement run within its schedule.
    Active,
    /// Nothing new is queued; what was queued still goes.
    Paused,
    /// Its schedule is over and every message of it was delivered or failed for good.
    Completed,
}

text_enum!(CampaignStatus, "a campaign status", {
    Draft => "draft", Active => "active", Paused => "paused", Completed => "completed",
});

impl CampaignStatus {
    /// Whether staff may move a campaign from this status to `to`. Completion is the
    /// system's to declare (when every message has settled), never a person's.
    pub fn staff_may_become(self, to: CampaignStatus) -> bool {
        use CampaignStatus::*;
        matches!(
            (self, to),
            (Draft, Active) | (Active, Paused) | (Paused, Active)
        )
    }

    /// Whether people have been (or are being) assigned to its arms: the arms are fixed then.
    pub fn has_started(self) -> bool {
        !matches!(self, CampaignStatus::Draft)
    }

    pub fn label(self) -> &'static str {
        match self {
            CampaignStatus::Draft => "Draft",
            CampaignStatus::Active => "Active",
            CampaignStatus::Paused => "Paused",
            CampaignStatus::Completed => "Completed",
        }
    }
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// Who a campaign is for. Every criterion given must hold; an empty list or `None` does not
/// narrow. The organisation's consent, caps and quiet hours apply on top, as in every run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudienceCriteria {
    /// In any of these segments.
    #[serde(default)]
    pub segments: Vec<Segment>,
    /// Carrying any of these tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Churn risk at least this (0 to 1).
    #[serde(default)]
    pub churn_risk_min: Option<f64>,
    /// Churn risk at most this (0 to 1).
    #[serde(default)]
    pub churn_risk_max: Option<f64>,
    /// Inactive at least this many whole days.
    #[serde(default)]
    pub min_days_inactive: Option<i32>,
    /// Only people whose usual interval between bookings has passed.
    #[serde(default)]
    pub due_to_rebook: bool,
    /// Only the clients of this staff member.
    #[serde(default)]
    pub assigned_staff_id: Option<Uuid>,
    /// Only people with an address the campaign's channel can use (consented, not opted out,
    /// not disabled). Off, they are counted as skipped ("no channel") instead.
    #[serde(default = "yes")]
    pub has_usable_channel: bool,
}

fn yes() -> bool {
    true
}

impl Default for AudienceCriteria {
    fn default() -> Self {
        Self {
            segments: Vec::new(),
            tags: Vec::new(),
            churn_risk_min: None,
            churn_risk_max: None,
            min_days_inactive: None,
            due_to_rebook: false,
            assigned_staff_id: None,
            has_usable_channel: true,
        }
    }
}

impl AudienceCriteria {
    /// The criteria in plain words: "dormant or at risk; tagged vip; churn risk 0.5–1".
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.segments.is_empty() {
            let names: Vec<&str> = self.segments.iter().map(|s| s.label()).collect();
            parts.push(names.join(" or "));
        }
        if !self.tags.is_empty() {
            parts.push(format!("tagged {}", self.tags.join(" or ")));
        }
        match (self.churn_risk_min, self.churn_risk_max) {
            (None, None) => {}
            (min, max) => parts.push(format!(
                "churn risk {}–{}",
                min.unwrap_or(0.0),
                max.unwrap_or(1.0)
            )),
        }
        if let Some(days) = self.min_days_inactive {
            parts.push(format!("inactive {days}+ days"));
        }
        if self.due_to_rebook {
            parts.push("due to rebook".into());
        }
        if self.assigned_staff_id.is_some() {
            parts.push("of one staff member".into());
        }
        if parts.is_empty() {
            "everyone".into()
        } else {
            parts.join("; ")
        }
    }
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// One arm of an A/B test: its words (templates with `{{ variables }}`), optionally a prompt
/// for the model to write them from, and its share of the audience.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variant {
    /// `A`, `B` …: what deliveries and results name it by.
    pub key: String,
    pub name: String,
    /// Its share, relative to the other variants' weights (the holdout is taken first).
    pub weight: u32,
    pub subject: String,
    pub body: String,
    /// When set (and the organisation has a model), the model writes the text from this;
    /// the templates above are the fall-back.
    #[serde(default)]
    pub prompt: Option<String>,
    /// The prompt's version: each saved change to it makes a new one, and a delivery names
    /// the version that wrote it. Set by the system when the campaign is saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_version: Option<u32>,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// A variant as typed into the form or sent to the API.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantInput {
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub weight: Option<u32>,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub prompt: Option<String>,
    /// Read-only (the system numbers a prompt's versions); accepted so that what a `GET`
    /// answered can be sent back as it is.
    #[serde(default, skip_serializing)]
    pub prompt_version: Option<u32>,
}

impl From<&Variant> for VariantInput {
    fn from(v: &Variant) -> Self {
        Self {
            key: Some(v.key.clone()),
            name: Some(v.name.clone()),
            weight: Some(v.weight),
            subject: Some(v.subject.clone()),
            body: Some(v.body.clone()),
            prompt: v.prompt.clone(),
            prompt_version: None,
        }
    }
}

/// Serialises an optional time of day as `HH:MM`.
mod opt_hhmm {
    use chrono::NaiveTime;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<NaiveTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&t.format("%H:%M").to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveTime>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|t| super::parse_time_of_day(&t).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// A campaign as stored: its settings (everything an admin edits), where it stands, and when.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    pub id: Uuid,
    pub org_id: Uuid,
    pub status: CampaignStatus,
    #[serde(flatten)]
    pub settings: CampaignSettings,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub activated_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// The latest engagement run that sent for it.
    #[serde(default)]
    pub last_run_at: Option<DateTime<Utc>>,
}

impl Campaign {
    /// Its editable fields, as the form and `PUT` take them.
    pub fn input(&self) -> CampaignInput {
        let s = &self.settings;
        CampaignInput {
            name: Some(s.name.clone()),
            channel: Some(s.channel.as_str().to_string()),
            audience: Some(s.audience.clone()),
            variants: Some(s.variants.iter().map(VariantInput::from).collect()),
            holdout_percent: Some(s.holdout_percent),
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            repeat_days: s.repeat_days,
            send_window_start: s.send_window_start.map(|t| t.format("%H:%M").to_string()),
            send_window_end: s.send_window_end.map(|t| t.format("%H:%M").to_string()),
            conversion_days: Some(s.conversion_days),
        }
    }

    /// The arm `person` is in: deterministic, so the same person always lands in the same
    /// arm of this campaign. See [`assign`].
    pub fn arm_of(&self, person: Uuid) -> Arm {
        assign(
            self.id,
            person,
            self.settings.holdout_percent,
            &self.settings.variants,
        )
    }

    /// "one-off" or "every 30 days".
    pub fn schedule_label(&self) -> String {
        match self.settings.repeat_days {
            None => "one-off".into(),
            Some(1) => "every day".into(),
            Some(n) => format!("every {n} days"),
        }
    }

    /// Whether a run at `now` sends for it: within its schedule, unless it is a one-off
    /// without an end that a run has already sent (its sending is over; `complete_if_settled`
    /// says the same in SQL).
    pub fn sends_at(&self, now: DateTime<Utc>) -> bool {
        let sent_once = self.settings.repeat_days.is_none()
            && self.settings.ends_at.is_none()
            && self.last_run_at.is_some();
        self.in_schedule(now) && !sent_once
    }

    /// Whether `now` is within its schedule.
    pub fn in_schedule(&self, now: DateTime<Utc>) -> bool {
        let s = &self.settings;
        s.starts_at.is_none_or(|t| t <= now) && s.ends_at.is_none_or(|e| now < e)
    }
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// A campaign as typed into the form or sent to the API; on `PUT`, absent fields are kept.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignInput {
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
    pub name: Option<String>,
    /// `preferred` (each person's preferred usable address), `email`, `sms`, `whatsapp` or
    /// `webhook`.
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub audience: Option<AudienceCriteria>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(min_items = 1, max_items = 10))]
    pub variants: Option<Vec<VariantInput>>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(minimum = 0, maximum = 90))]
    pub holdout_percent: Option<i32>,
    #[serde(default)]
    pub starts_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub ends_at: Option<DateTime<Utc>>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(minimum = 1, maximum = 365))]
    pub repeat_days: Option<i32>,
    /// `HH:MM` on the recipient's clock.
    #[serde(default)]
    pub send_window_start: Option<String>,
    #[serde(default)]
    pub send_window_end: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(minimum = 1, maximum = 90))]
    pub conversion_days: Option<i32>,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// A campaign's settings, once parsed: every one valid.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CampaignSettings {
    pub name: String,
    pub channel: NudgeChannel,
    pub audience: AudienceCriteria,
    pub variants: Vec<Variant>,
    /// Percent of the audience (0–90) that hears nothing, to measure lift against.
    pub holdout_percent: i32,
    /// Nothing is queued before this instant (none: from activation).
    pub starts_at: Option<DateTime<Utc>>,
    /// Nothing is queued after this instant (none: a one-off ends with its first run that
    /// reached everyone; a recurring one runs until paused).
    pub ends_at: Option<DateTime<Utc>>,
    /// One-off (`None`): each person hears from it once. Recurring: a person may hear again
    /// after this many days.
    pub repeat_days: Option<i32>,
    /// The hours of the recipient's day in which its messages may arrive (both or neither,
    /// `HH:MM`); the organisation's quiet hours apply as well.
    #[serde(with = "opt_hhmm")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, pattern = r"^[0-2][0-9]:[0-5][0-9]$"))]
    pub send_window_start: Option<NaiveTime>,
    #[serde(with = "opt_hhmm")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>, pattern = r"^[0-2][0-9]:[0-5][0-9]$"))]
    pub send_window_end: Option<NaiveTime>,
    /// Activity or a booking within this many days of being assigned counts as a conversion.
    pub conversion_days: i32,
}

impl CampaignSettings {
    /// The first instant at or after `at` when one of its messages may arrive on the clock
    /// `tz`: inside its send window and outside the organisation's quiet hours. `None` when
    /// the two never meet (a window wholly inside the quiet hours).
    pub fn next_open(
        &self,
        policy: &EngagementPolicy,
        tz: chrono_tz::Tz,
        at: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let mut t = at;
        // Each step moves to the end of one closed stretch; a few suffice for two windows.
        for _ in 0..4 {
            let mut moved = false;
            if let Some(open) = quiet_until(policy, tz, t) {
                t = open;
                moved = true;
            }
            if let (Some(start), Some(end)) = (self.send_window_start, self.send_window_end) {
                // Outside the window is closed: from its end to its start.
                if let Some(open) = closed_until(end, start, tz, t) {
                    t = open;
                    moved = true;
                }
            }
            if !moved {
                return Some(t);
            }
        }
        None
    }

    /// Which round of the campaign `at` falls in: 0 for a one-off; for a recurring one, the
    /// number of whole repeats since the epoch (a person hears once per round).
    pub fn round(&self, at: DateTime<Utc>) -> i64 {
        match self.repeat_days {
            Some(days) if days > 0 => at.timestamp().div_euclid(days as i64 * 86_400),
            _ => 0,
        }
    }

    /// Whether a person last reached at `last` is due again at `now`.
    pub fn due_again(&self, last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
        match (last, self.repeat_days) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(last), Some(days)) => now - last >= chrono::Duration::days(days as i64),
        }
    }
}

pub const MAX_VARIANTS: usize = 10;
pub const MAX_HOLDOUT: i32 = 90;
pub const MAX_WEIGHT: u32 = 1_000;
pub const MAX_TEXT: usize = 5_000;
pub const DEFAULT_CONVERSION_DAYS: i32 = 7;

impl CampaignSettings {
    pub fn parse(input: &CampaignInput) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = match present(&input.name) {
            None => {
                errors.add("name", "a campaign needs a name");
                String::new()
            }
            Some(n) if n.chars().count() > 200 => {
                errors.add("name", "must be at most 200 characters");
                String::new()
            }
            Some(n) => n.to_string(),
        };
        let channel = match present(&input.channel) {
            None => NudgeChannel::Preferred,
            Some(c) => errors
                .check("channel", NudgeChannel::parse(c))
                .unwrap_or_default(),
        };
        let audience = input.audience.clone().unwrap_or_default();
        check_audience(&audience, &mut errors);
        let variants = parse_variants(input.variants.as_deref().unwrap_or(&[]), &mut errors);
        let holdout_percent = input.holdout_percent.unwrap_or(0);
        if !(0..=MAX_HOLDOUT).contains(&holdout_percent) {
            errors.add(
                "holdout_percent",
                format!("must be a whole percent from 0 to {MAX_HOLDOUT}"),
            );
        }
        if let (Some(start), Some(end)) = (input.starts_at, input.ends_at) {
            if end <= start {
                errors.add("ends_at", "must be after the start");
            }
        }
        if let Some(days) = input.repeat_days {
            if !(1..=365).contains(&days) {
                errors.add(
                    "repeat_days",
                    "must be from 1 to 365 days (leave it out for a one-off)",
                );
            }
        }
        let window = |field: &str, raw: &Option<String>, errors: &mut FieldErrors| {
            present(raw).and_then(|t| errors.check(field, parse_time_of_day(t)))
        };
        let send_window_start = window("send_window_start", &input.send_window_start, &mut errors);
        let send_window_end = window("send_window_end", &input.send_window_end, &mut errors);
        match (send_window_start, send_window_end) {
            (Some(s), Some(e)) if s == e => {
                errors.add("send_window_end", "must differ from the window's start")
            }
            (Some(_), None) if errors.get("send_window_end").is_none() => errors.add(
                "send_window_end",
                "give both ends of the send window, or neither",
            ),
            (None, Some(_)) if errors.get("send_window_start").is_none() => errors.add(
                "send_window_start",
                "give both ends of the send window, or neither",
            ),
            _ => {}
        }
        let conversion_days = input.conversion_days.unwrap_or(DEFAULT_CONVERSION_DAYS);
        if !(1..=90).contains(&conversion_days) {
            errors.add("conversion_days", "must be from 1 to 90 days");
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            name,
            channel,
            audience,
            variants,
            holdout_percent,
            starts_at: input.starts_at,
            ends_at: input.ends_at,
            repeat_days: input.repeat_days,
            send_window_start,
            send_window_end,
            conversion_days,
        })
    }

    /// What changing a started campaign's arms would break: once people are assigned, the
    /// variants' keys and weights and the holdout stay as they are (their words may change).
    pub fn changes_arms_of(&self, current: &Campaign) -> Option<(&'static str, String)> {
        if self.holdout_percent != current.settings.holdout_percent {
            return Some((
                "holdout_percent",
                "cannot change once the campaign has started: people are already assigned".into(),
            ));
        }
        let arms = |v: &[Variant]| -> Vec<(String, u32)> {
            v.iter().map(|v| (v.key.clone(), v.weight)).collect()
        };
        if arms(&self.variants) != arms(&current.settings.variants) {
            return Some((
                "variants",
                "the variants' keys and weights cannot change once the campaign has started \
                 (their words can): people are already assigned"
                    .into(),
            ));
        }
        None
    }
}

fn check_audience(a: &AudienceCriteria, errors: &mut FieldErrors) {
    for (field, value) in [
        ("audience.churn_risk_min", a.churn_risk_min),
        ("audience.churn_risk_max", a.churn_risk_max),
    ] {
        if value.is_some_and(|v| !(0.0..=1.0).contains(&v)) {
            errors.add(field, "must be between 0 and 1");
        }
    }
    if let (Some(min), Some(max)) = (a.churn_risk_min, a.churn_risk_max) {
        if min > max {
            errors.add("audience.churn_risk_max", "must not be below the minimum");
        }
    }
    if a.min_days_inactive
        .is_some_and(|d| !(0..=3650).contains(&d))
    {
        errors.add("audience.min_days_inactive", "must be from 0 to 3650 days");
    }
    if a.tags.iter().any(|t| t.trim().is_empty() || t.len() > 100) {
        errors.add("audience.tags", "each tag must be 1 to 100 characters");
    }
}

fn parse_variants(inputs: &[VariantInput], errors: &mut FieldErrors) -> Vec<Variant> {
    if inputs.is_empty() {
        errors.add("variants", "a campaign needs at least one variant");
        return Vec::new();
    }
    if inputs.len() > MAX_VARIANTS {
        errors.add(
            "variants",
            format!("at most {MAX_VARIANTS} variants, not {}", inputs.len()),
        );
        return Vec::new();
    }
    let mut out: Vec<Variant> = Vec::with_capacity(inputs.len());
    for (i, v) in inputs.iter().enumerate() {
        let field = |name: &str| format!("variants[{i}].{name}");
        let default_key = ((b'A' + i as u8) as char).to_string();
        let key = present(&v.key).unwrap_or(&default_key).to_string();
        if key.len() > 20 || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            errors.add(
                &field("key"),
                "a key is 1 to 20 letters, digits or underscores",
            );
        } else if key.eq_ignore_ascii_case("holdout") {
            errors.add(
                &field("key"),
                "'holdout' names the group that hears nothing",
            );
        } else if out.iter().any(|o| o.key.eq_ignore_ascii_case(&key)) {
            errors.add(&field("key"), format!("'{key}' is used by another variant"));
        }
        let weight = v.weight.unwrap_or(1);
        if !(1..=MAX_WEIGHT).contains(&weight) {
            errors.add(&field("weight"), format!("must be from 1 to {MAX_WEIGHT}"));
        }
        let body = present(&v.body).unwrap_or("").to_string();
        if body.is_empty() {
            errors.add(
                &field("body"),
                "each variant needs a body (with a prompt, the body is the fall-back)",
            );
        }
        let subject = present(&v.subject).unwrap_or("").to_string();
        let prompt = present(&v.prompt).map(str::to_string);
        for (name, text) in [("body", &body), ("subject", &subject)] {
            if text.chars().count() > MAX_TEXT {
                errors.add(
                    &field(name),
                    format!("must be at most {MAX_TEXT} characters"),
                );
            }
        }
        if prompt
            .as_ref()
            .is_some_and(|p| p.chars().count() > MAX_TEXT)
        {
            errors.add(
                &field("prompt"),
                format!("must be at most {MAX_TEXT} characters"),
            );
        }
        out.push(Variant {
            name: present(&v.name).unwrap_or(&key).to_string(),
            key,
            weight,
            subject,
            body,
            prompt,
            prompt_version: None,
        });
    }
    out
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// A campaign's audience as it stands now, before (or while) it sends: who meets the
/// criteria, which arm each lands in, and what the policy (consent, caps, quiet hours — the
/// same decision as the engagement run's) would do about those in a variant's arm.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AudiencePreview {
    /// People who meet the criteria and are in the audience.
    pub size: i64,
    /// People who meet the other criteria but have no address the channel can use (left out
    /// when the criteria ask for a usable channel; otherwise counted under `skipped`).
    pub without_channel: i64,
    /// How many land in each arm: each variant's key, and `holdout`.
    pub arms: std::collections::BTreeMap<String, i64>,
    /// In a variant's arm, and would be sent now …
    pub would_send: i64,
    /// … or held until quiet hours (or the send window) end on their clock …
    pub would_hold: i64,
    /// … or skipped, by reason (`no_consent`, `opted_out`, `no_channel`, `frequency_cap`,
    /// `quiet_hours`, `engagement_off`).
    pub skipped: std::collections::BTreeMap<String, i64>,
}

impl AudiencePreview {
    pub fn skipped_total(&self) -> i64 {
        self.skipped.values().sum()
    }
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// One variant as a chosen client would receive it now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VariantPreview {
    pub key: String,
    pub name: String,
    pub subject: String,
    pub body: String,
    /// Characters in the body, and the most the channel carries.
    pub length: usize,
    pub max_length: usize,
    /// Who wrote it, for a variant with a prompt: the model, or the template and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written_by: Option<String>,
    /// The safety filter's verdict on these words (a failing text is never sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safety: Option<SafetyReport>,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// A campaign's variants rendered for one client, with their arm and what the policy would
/// do about a message to them now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CampaignPreview {
    pub person_id: Uuid,
    pub person_name: String,
    /// The arm they are (or would be) in: a variant's key, or `holdout`.
    pub arm: String,
    /// "sent now", "held until 09:00 on their clock …", "skipped — no marketing consent".
    pub decision: String,
    /// The channel it would go on, when one can reach them.
    pub channel: Option<String>,
    pub variants: Vec<VariantPreview>,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// What one engagement run did for one campaign.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CampaignRunCounts {
    pub name: String,
    /// People in its audience this run decided about (the holdout included).
    pub reached: i64,
    /// Recorded in the holdout: nothing sent.
    pub holdout: i64,
    pub queued: i64,
    /// Queued to go when the quiet hours end or the send window opens on their clock.
    pub held: i64,
    /// Written by the model, waiting in the approval queue.
    #[serde(default)]
    pub awaiting_approval: i64,
    /// Not sent, by reason (the run's own keys, `send_window` when the window never meets the
    /// hours outside quiet hours, and `safety` when the text failed the safety filter; such a
    /// message is recorded as suppressed, with the filter's checks).
    pub skipped: std::collections::BTreeMap<String, i64>,
}

/// The arm of a campaign a person is in.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arm {
    /// The variant with this key.
    Variant(String),
    /// Hears nothing; counted, to measure lift against.
    Holdout,
}

/// The key results and deliveries name the holdout by.
pub const HOLDOUT: &str = "holdout";

impl Arm {
    /// The arm a stored key names.
    pub fn from_key(key: &str) -> Self {
        if key == HOLDOUT {
            Arm::Holdout
        } else {
            Arm::Variant(key.to_string())
        }
    }

    pub fn key(&self) -> &str {
        match self {
            Arm::Variant(key) => key,
            Arm::Holdout => HOLDOUT,
        }
    }
}

/// A person's arm of a campaign: a hash of the campaign and the person picks a point in
/// 0–9,999; the first `holdout_percent` hundredths are the holdout, the rest is shared among
/// the variants by weight. The same campaign and person always give the same arm, and over
/// many people the shares come close to the weights.
pub fn assign(campaign: Uuid, person: Uuid, holdout_percent: i32, variants: &[Variant]) -> Arm {
    let h = mix(campaign, person);
    let point = (h % 10_000) as i32;
    if point < holdout_percent * 100 || variants.is_empty() {
        return Arm::Holdout;
    }
    let total: u64 = variants.iter().map(|v| v.weight as u64).sum::<u64>().max(1);
    // Independent bits of the same hash for the split among variants.
    let mut pick = (h >> 20) % total;
    for v in variants {
        if pick < v.weight as u64 {
            return Arm::Variant(v.key.clone());
        }
        pick -= v.weight as u64;
    }
    Arm::Variant(variants[variants.len() - 1].key.clone())
}

/// FNV-1a over both ids, then SplitMix64's finaliser: stable across builds and platforms
/// (unlike `std`'s hasher), and well spread.
fn mix(a: Uuid, b: Uuid) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in a.as_bytes().iter().chain(b.as_bytes()) {
        h ^= *byte as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn variants(weights: &[u32]) -> Vec<Variant> {
        weights
            .iter()
            .enumerate()
            .map(|(i, w)| Variant {
                key: ((b'A' + i as u8) as char).to_string(),
                name: String::new(),
                weight: *w,
                subject: String::new(),
                body: "Hi".into(),
                prompt: None,
                prompt_version: None,
            })
            .collect()
    }

    #[test]
    fn assignment_is_deterministic_and_close_to_the_weights() {
        let campaign = Uuid::from_u128(7);
        let vs = variants(&[1, 3]);
        let mut counts: HashMap<String, i32> = HashMap::new();
        let n = 20_000;
        for i in 0..n {
            let person = Uuid::from_u128(0x1234_0000 + i as u128 * 7919);
            let arm = assign(campaign, person, 10, &vs);
            assert_eq!(
                arm,
                assign(campaign, person, 10, &vs),
                "the same arm every time"
            );
            *counts.entry(arm.key().to_string()).or_default() += 1;
        }
        let share = |k: &str| counts.get(k).copied().unwrap_or(0) as f64 / n as f64;
        assert!((share(HOLDOUT) - 0.10).abs() < 0.01, "{counts:?}");
        assert!((share("A") - 0.225).abs() < 0.015, "{counts:?}");
        assert!((share("B") - 0.675).abs() < 0.015, "{counts:?}");
    }

    #[test]
    fn another_campaign_shuffles_people_anew() {
        let vs = variants(&[1, 1]);
        let differ = (0..1000)
            .filter(|i| {
                let p = Uuid::from_u128(*i);
                assign(Uuid::from_u128(1), p, 0, &vs) != assign(Uuid::from_u128(2), p, 0, &vs)
            })
            .count();
        assert!((400..600).contains(&differ), "{differ}");
    }

    #[test]
    fn no_holdout_and_all_holdout() {
        let vs = variants(&[1]);
        for i in 0..500 {
            let p = Uuid::from_u128(i);
            assert_eq!(assign(Uuid::nil(), p, 0, &vs), Arm::Variant("A".into()));
            assert_eq!(assign(Uuid::nil(), p, 100, &vs), Arm::Holdout);
        }
    }

    fn input(json: serde_json::Value) -> CampaignInput {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_campaign_parses_with_defaults() {
        let d = CampaignSettings::parse(&input(serde_json::json!({
            "name": " Spring ", "variants": [{"body": "Hi {{ preferred_name }}"}, {"body": "Hello", "weight": 3}]
        })))
        .unwrap();
        assert_eq!(d.name, "Spring");
        assert_eq!(d.channel, NudgeChannel::Preferred);
        assert_eq!(d.variants[0].key, "A");
        assert_eq!(d.variants[1].key, "B");
        assert_eq!(d.variants[1].weight, 3);
        assert_eq!(d.holdout_percent, 0);
        assert_eq!(d.conversion_days, DEFAULT_CONVERSION_DAYS);
        assert!(d.audience.has_usable_channel);
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases = [
            (serde_json::json!({"variants": [{"body": "x"}]}), "name"),
            (serde_json::json!({"name": "x"}), "variants"),
            (
                serde_json::json!({"name": "x", "variants": [{}]}),
                "variants[0].body",
            ),
            (
                serde_json::json!({"name": "x", "variants": [{"body": "x", "key": "A"}, {"body": "y", "key": "a"}]}),
                "variants[1].key",
            ),
            (
                serde_json::json!({"name": "x", "variants": [{"body": "x", "weight": 0}]}),
                "variants[0].weight",
            ),
            (
                serde_json::json!({"name": "x", "variants": [{"body": "x"}], "holdout_percent": 95}),
                "holdout_percent",
            ),
            (
                serde_json::json!({"name": "x", "variants": [{"body": "x"}], "channel": "pigeon"}),
                "channel",
            ),
            (
                serde_json::json!({"name": "x", "variants": [{"body": "x"}], "audience": {"churn_risk_min": 2}}),
                "audience.churn_risk_min",
            ),
            (
                serde_json::json!({"name": "x", "variants": [{"body": "x"}], "send_window_start": "09:00"}),
                "send_window_end",
            ),
            (
                serde_json::json!({"name": "x", "variants": [{"body": "x"}], "starts_at": "2026-01-02T00:00:00Z", "ends_at": "2026-01-01T00:00:00Z"}),
                "ends_at",
            ),
            (
                serde_json::json!({"name": "x", "variants": [{"body": "x"}], "repeat_days": 0}),
                "repeat_days",
            ),
        ];
        for (json, field) in cases {
            let errors = CampaignSettings::parse(&input(json.clone())).unwrap_err();
            assert!(errors.get(field).is_some(), "{json}: {errors}");
        }
    }

    fn settings(window: Option<(&str, &str)>) -> CampaignSettings {
        let mut json = serde_json::json!({ "name": "x", "variants": [{ "body": "x" }] });
        if let Some((s, e)) = window {
            json["send_window_start"] = s.into();
            json["send_window_end"] = e.into();
        }
        CampaignSettings::parse(&input(json)).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_send_window_and_quiet_hours_both_hold() {
        let policy = EngagementPolicy::default(); // quiet 21:00–09:00
        let london = chrono_tz::Europe::London;
        // No window: only the quiet hours.
        let s = settings(None);
        assert_eq!(
            s.next_open(&policy, london, utc("2026-06-10T11:00:00Z")),
            Some(utc("2026-06-10T11:00:00Z"))
        );
        assert_eq!(
            s.next_open(&policy, london, utc("2026-06-10T21:30:00Z")),
            Some(utc("2026-06-11T08:00:00Z")) // 09:00 BST
        );
        // A window of 14:00–16:00 on their clock.
        let s = settings(Some(("14:00", "16:00")));
        assert_eq!(
            s.next_open(&policy, london, utc("2026-06-10T11:00:00Z")),
            Some(utc("2026-06-10T13:00:00Z"))
        );
        assert_eq!(
            s.next_open(&policy, london, utc("2026-06-10T14:00:00Z")),
            Some(utc("2026-06-10T14:00:00Z"))
        );
        assert_eq!(
            s.next_open(&policy, london, utc("2026-06-10T15:30:00Z")),
            Some(utc("2026-06-11T13:00:00Z"))
        );
        // A window of 20:00–23:00: only its first hour is outside the quiet hours.
        let s = settings(Some(("20:00", "23:00")));
        assert_eq!(
            s.next_open(&policy, london, utc("2026-06-10T20:30:00Z")),
            Some(utc("2026-06-11T19:00:00Z"))
        );
        // Wholly inside the quiet hours: never.
        let s = settings(Some(("22:00", "23:00")));
        assert_eq!(
            s.next_open(&policy, london, utc("2026-06-10T11:00:00Z")),
            None
        );
    }

    #[test]
    fn rounds_and_who_is_due_again() {
        let once = settings(None);
        let now = utc("2026-06-10T11:00:00Z");
        assert_eq!(once.round(now), 0);
        assert!(once.due_again(None, now));
        assert!(!once.due_again(Some(now), now + chrono::Duration::days(400)));
        let mut every = settings(None);
        every.repeat_days = Some(7);
        assert!(!every.due_again(Some(now), now + chrono::Duration::days(6)));
        assert!(every.due_again(Some(now), now + chrono::Duration::days(7)));
        assert_eq!(
            every.round(now) + 1,
            every.round(now + chrono::Duration::days(7))
        );
    }

    #[test]
    fn staff_move_campaigns_along_the_allowed_paths() {
        use CampaignStatus::*;
        assert!(Draft.staff_may_become(Active));
        assert!(Active.staff_may_become(Paused));
        assert!(Paused.staff_may_become(Active));
        assert!(!Active.staff_may_become(Completed));
        assert!(!Completed.staff_may_become(Active));
        assert!(!Paused.staff_may_become(Draft));
    }
}
