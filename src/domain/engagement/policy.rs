//! An organisation's engagement policy: when a client counts as dormant or churned, how often
//! they may hear from us, the quiet hours on their own clock, where a nudge sends them, and
//! the words it says. Admins edit it in Settings → Engagement (or `PUT
//! /api/v1/engagement/policy`); absent fields keep their values.

use super::super::dates::Channel;
use super::super::person::present;
use super::super::timing::parse_time_of_day;
use super::super::FieldErrors;
use chrono::{DateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// What happens to an engagement message that would arrive in quiet hours.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuietAction {
    /// Held until the quiet hours end on the recipient's clock (and checked again then).
    #[default]
    Hold,
    /// Not sent at all this time.
    Skip,
}

text_enum!(QuietAction, "a quiet-hours action", { Hold => "hold", Skip => "skip" });

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// Which channel nudges go out on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NudgeChannel {
    /// The person's preferred usable address, whatever its channel.
    #[default]
    Preferred,
    Email,
    Sms,
    Whatsapp,
    /// The organisation's own app, through its webhook (a push notification, say).
    Webhook,
}

text_enum!(NudgeChannel, "a nudge channel", {
    Preferred => "preferred", Email => "email", Sms => "sms", Whatsapp => "whatsapp",
    Webhook => "webhook",
});

impl NudgeChannel {
    /// The delivery channel to ask for; `None` lets the person's preferred address decide.
    pub fn channel(self) -> Option<Channel> {
        match self {
            NudgeChannel::Preferred => None,
            NudgeChannel::Email => Some(Channel::Email),
            NudgeChannel::Sms => Some(Channel::Sms),
            NudgeChannel::Whatsapp => Some(Channel::Whatsapp),
            NudgeChannel::Webhook => Some(Channel::Webhook),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            NudgeChannel::Preferred => "their preferred channel",
            NudgeChannel::Email => "E-mail",
            NudgeChannel::Sms => "SMS",
            NudgeChannel::Whatsapp => "WhatsApp",
            NudgeChannel::Webhook => "the app (webhook)",
        }
    }
}

/// Serialises a time of day as `HH:MM`.
mod hhmm {
    use chrono::NaiveTime;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &NaiveTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.format("%H:%M").to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_time_of_day(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// The words of one kind of nudge: a subject (for e-mail) and a body, both templates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NudgeText {
    pub subject: String,
    pub body: String,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EngagementPolicy {
    /// Whether the engagement run sends anything at all.
    pub enabled: bool,
    /// Inactive this many days: dormant, and nudged.
    pub dormant_days: i32,
    /// Inactive this many days: churned, and left alone.
    pub churned_days: i32,
    /// A rebooking nudge goes this many days after the person's usual interval has passed.
    pub rebook_grace_days: i32,
    /// At most this many engagement messages per person in any 24 hours …
    pub cap_per_day: i32,
    /// … and in any 7 days, counted across every engagement source, queued and held included.
    pub cap_per_week: i32,
    /// When quiet hours begin on the person's clock, `HH:MM`.
    #[serde(with = "hhmm")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, pattern = r"^[0-2][0-9]:[0-5][0-9]$"))]
    pub quiet_start: NaiveTime,
    /// When they end, `HH:MM`.
    #[serde(with = "hhmm")]
    #[cfg_attr(feature = "ssr", schema(value_type = String, pattern = r"^[0-2][0-9]:[0-5][0-9]$"))]
    pub quiet_end: NaiveTime,
    pub quiet_action: QuietAction,
    pub channel: NudgeChannel,
    /// Where a deep link leads, with the booking pre-filled; none: links are left out.
    pub booking_url: Option<String>,
    /// Activity this many hours after an engagement message counts as its response.
    pub conversion_hours: i32,
    /// How long a deep link works.
    pub link_hours: i32,
    pub dormant: NudgeText,
    pub rebook: NudgeText,
    /// Words (or phrases) no engagement message may use; the safety filter refuses a text
    /// that does, in any case, as whole words.
    #[serde(default)]
    pub banned_words: Vec<String>,
    /// When an admin last changed it (`None`: the defaults, never saved).
    pub updated_at: Option<DateTime<Utc>>,
}

pub const DEFAULT_DORMANT_SUBJECT: &str = "We miss you, {{ preferred_name }}";
pub const DEFAULT_DORMANT_BODY: &str = "Hi {{ preferred_name }}, it has been {{ days_inactive }} days since we last heard from you. \
Is there anything we can arrange for you? {{ deep_link }}\n\nNo more of these: {{ unsubscribe_link }}";
pub const DEFAULT_REBOOK_SUBJECT: &str = "Time for your next {{ service }}?";
pub const DEFAULT_REBOOK_BODY: &str =
    "Hi {{ preferred_name }}, it is about time for your next {{ service }}. \
Book it in a moment: {{ deep_link }}\n\nNo more of these: {{ unsubscribe_link }}";

impl Default for EngagementPolicy {
    fn default() -> Self {
        Self {
            enabled: true,
            dormant_days: 7,
            churned_days: 90,
            rebook_grace_days: 2,
            cap_per_day: 1,
            cap_per_week: 3,
            quiet_start: NaiveTime::from_hms_opt(21, 0, 0).unwrap_or_default(),
            quiet_end: NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default(),
            quiet_action: QuietAction::Hold,
            channel: NudgeChannel::Preferred,
            booking_url: None,
            conversion_hours: 72,
            link_hours: 48,
            dormant: NudgeText {
                subject: DEFAULT_DORMANT_SUBJECT.into(),
                body: DEFAULT_DORMANT_BODY.into(),
            },
            rebook: NudgeText {
                subject: DEFAULT_REBOOK_SUBJECT.into(),
                body: DEFAULT_REBOOK_BODY.into(),
            },
            banned_words: Vec::new(),
            updated_at: None,
        }
    }
}

impl EngagementPolicy {
    /// "21:00–09:00".
    pub fn quiet_label(&self) -> String {
        format!(
            "{}–{}",
            self.quiet_start.format("%H:%M"),
            self.quiet_end.format("%H:%M")
        )
    }

    /// Whether there are quiet hours at all (start and end equal: none).
    pub fn has_quiet_hours(&self) -> bool {
        self.quiet_start != self.quiet_end
    }
}

/// The policy as typed into the form or sent to the API: every field text, absent fields kept.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyInput {
    #[serde(default)]
    pub enabled: Option<String>,
    #[serde(default)]
    pub dormant_days: Option<String>,
    #[serde(default)]
    pub churned_days: Option<String>,
    #[serde(default)]
    pub rebook_grace_days: Option<String>,
    #[serde(default)]
    pub cap_per_day: Option<String>,
    #[serde(default)]
    pub cap_per_week: Option<String>,
    #[serde(default)]
    pub quiet_start: Option<String>,
    #[serde(default)]
    pub quiet_end: Option<String>,
    #[serde(default)]
    pub quiet_action: Option<String>,
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub booking_url: Option<String>,
    #[serde(default)]
    pub conversion_hours: Option<String>,
    #[serde(default)]
    pub link_hours: Option<String>,
    #[serde(default)]
    pub dormant_subject: Option<String>,
    #[serde(default)]
    pub dormant_body: Option<String>,
    #[serde(default)]
    pub rebook_subject: Option<String>,
    #[serde(default)]
    pub rebook_body: Option<String>,
    /// Separated by commas or new lines.
    #[serde(default)]
    pub banned_words: Option<String>,
}

/// The variables a nudge template may use, with what they hold.
pub const TEMPLATE_VARIABLES: &[(&str, &str)] = &[
    (
        "preferred_name",
        "the name the person likes to be called by",
    ),
    ("full_name", "their full name"),
    ("days_inactive", "whole days since their last activity"),
    (
        "service",
        "the service of their last booking (\"your usual\" when unknown)",
    ),
    (
        "booking_interval_days",
        "their usual days between bookings (0 when unknown)",
    ),
    (
        "deep_link",
        "a signed link that opens the booking, pre-filled (empty without a booking address)",
    ),
    ("unsubscribe_link", "the one-click unsubscribe link"),
    ("organisation", "your organisation's name"),
    (
        "concierge",
        "the name of their concierge (or the organisation's)",
    ),
];

/// The longest template an admin may write.
pub const MAX_TEMPLATE: usize = 5_000;

fn whole(
    errors: &mut FieldErrors,
    field: &str,
    raw: &Option<String>,
    current: i32,
    range: std::ops::RangeInclusive<i32>,
) -> i32 {
    let Some(text) = raw.as_deref().map(str::trim) else {
        return current;
    };
    match text.parse::<i32>() {
        Ok(n) if range.contains(&n) => n,
        _ => {
            errors.add(
                field,
                format!(
                    "must be a whole number from {} to {}",
                    range.start(),
                    range.end()
                ),
            );
            current
        }
    }
}

/// Reads `true`/`false` (and the forms' `on`, `1`, `yes`, `off`, `0`, `no`).
pub fn parse_flag(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "on" | "1" | "yes" => Ok(true),
        "false" | "off" | "0" | "no" | "" => Ok(false),
        other => Err(format!("'{other}' is not true or false")),
    }
}

/// The most banned words a policy keeps.
pub const MAX_BANNED_WORDS: usize = 500;

/// Banned words from a list separated by commas or new lines: trimmed, lower-cased, each once.
pub fn parse_banned_words(text: &str) -> Result<Vec<String>, String> {
    let mut words: Vec<String> = Vec::new();
    for w in text.split([',', '\n']).map(|w| w.trim().to_lowercase()) {
        if w.is_empty() || words.contains(&w) {
            continue;
        }
        if w.chars().count() > 100 {
            return Err(format!("'{w}' is longer than 100 characters"));
        }
        words.push(w);
    }
    if words.len() > MAX_BANNED_WORDS {
        return Err(format!(
            "at most {MAX_BANNED_WORDS} words, not {}",
            words.len()
        ));
    }
    Ok(words)
}

/// Checks an absolute http(s) address (a booking page, a webhook endpoint).
pub fn parse_web_address(text: &str) -> Result<String, String> {
    let t = text.trim();
    let rest = t
        .strip_prefix("https://")
        .or_else(|| t.strip_prefix("http://"))
        .ok_or_else(|| format!("'{t}' must start with https:// (or http://)"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || t.chars().any(char::is_whitespace) || t.len() > 2_000 {
        return Err(format!("'{t}' is not a web address"));
    }
    Ok(t.to_string())
}

impl EngagementPolicy {
    /// Applies the fields present in `input` to `self`, checking each; every problem is named.
    /// Templates are checked for length here and for their variables by the template engine.
    pub fn apply(&self, input: &PolicyInput) -> Result<EngagementPolicy, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut next = self.clone();
        if let Some(flag) = &input.enabled {
            if let Some(v) = errors.check("enabled", parse_flag(flag)) {
                next.enabled = v;
            }
        }
        next.dormant_days = whole(
            &mut errors,
            "dormant_days",
            &input.dormant_days,
            self.dormant_days,
            1..=365,
        );
        next.churned_days = whole(
            &mut errors,
            "churned_days",
            &input.churned_days,
            self.churned_days,
            2..=3650,
        );
        if next.churned_days <= next.dormant_days && errors.get("churned_days").is_none() {
            errors.add(
                "churned_days",
                format!(
                    "must be more than the dormancy threshold ({} days)",
                    next.dormant_days
                ),
            );
        }
        next.rebook_grace_days = whole(
            &mut errors,
            "rebook_grace_days",
            &input.rebook_grace_days,
            self.rebook_grace_days,
            0..=365,
        );
        next.cap_per_day = whole(
            &mut errors,
            "cap_per_day",
            &input.cap_per_day,
            self.cap_per_day,
            0..=24,
        );
        next.cap_per_week = whole(
            &mut errors,
            "cap_per_week",
            &input.cap_per_week,
            self.cap_per_week,
            0..=100,
        );
        if next.cap_per_week < next.cap_per_day && errors.get("cap_per_week").is_none() {
            errors.add(
                "cap_per_week",
                format!("must be at least the daily cap ({})", next.cap_per_day),
            );
        }
        if let Some(t) = &input.quiet_start {
            if let Some(v) = errors.check("quiet_start", parse_time_of_day(t)) {
                next.quiet_start = v;
            }
        }
        if let Some(t) = &input.quiet_end {
            if let Some(v) = errors.check("quiet_end", parse_time_of_day(t)) {
                next.quiet_end = v;
            }
        }
        if let Some(a) = &input.quiet_action {
            if let Some(v) = errors.check("quiet_action", QuietAction::parse(a)) {
                next.quiet_action = v;
            }
        }
        if let Some(c) = &input.channel {
            if let Some(v) = errors.check("channel", NudgeChannel::parse(c)) {
                next.channel = v;
            }
        }
        if input.booking_url.is_some() {
            next.booking_url = match present(&input.booking_url) {
                None => None,
                Some(u) => errors.check("booking_url", parse_web_address(u)),
            };
        }
        if let Some(text) = &input.banned_words {
            if let Some(words) = errors.check("banned_words", parse_banned_words(text)) {
                next.banned_words = words;
            }
        }
        next.conversion_hours = whole(
            &mut errors,
            "conversion_hours",
            &input.conversion_hours,
            self.conversion_hours,
            1..=720,
        );
        next.link_hours = whole(
            &mut errors,
            "link_hours",
            &input.link_hours,
            self.link_hours,
            1..=720,
        );
        let texts = [
            (
                "dormant_subject",
                &input.dormant_subject,
                &mut next.dormant.subject,
                false,
            ),
            (
                "dormant_body",
                &input.dormant_body,
                &mut next.dormant.body,
                true,
            ),
            (
                "rebook_subject",
                &input.rebook_subject,
                &mut next.rebook.subject,
                false,
            ),
            (
                "rebook_body",
                &input.rebook_body,
                &mut next.rebook.body,
                true,
            ),
        ];
        for (field, raw, slot, is_body) in texts {
            let Some(raw) = raw else { continue };
            let text = raw.trim();
            if text.is_empty() && is_body {
                errors.add(field, "is required");
            } else if text.chars().count() > MAX_TEMPLATE {
                errors.add(field, format!("must be at most {MAX_TEMPLATE} characters"));
            } else {
                *slot = text.replace("\r\n", "\n");
            }
        }
        if errors.is_empty() {
            Ok(next)
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> PolicyInput {
        PolicyInput::default()
    }

    #[test]
    fn absent_fields_keep_their_values() {
        let p = EngagementPolicy::default();
        let next = p
            .apply(&PolicyInput {
                dormant_days: Some("10".into()),
                quiet_start: Some("22:30".into()),
                ..input()
            })
            .unwrap();
        assert_eq!(next.dormant_days, 10);
        assert_eq!(next.churned_days, 90);
        assert_eq!(next.quiet_start.format("%H:%M").to_string(), "22:30");
        assert_eq!(next.quiet_end.format("%H:%M").to_string(), "09:00");
    }

    #[test]
    fn every_bad_field_is_named() {
        let errors = EngagementPolicy::default()
            .apply(&PolicyInput {
                enabled: Some("perhaps".into()),
                dormant_days: Some("0".into()),
                cap_per_day: Some("x".into()),
                quiet_end: Some("25:00".into()),
                quiet_action: Some("shout".into()),
                channel: Some("pigeon".into()),
                booking_url: Some("ftp://example.com".into()),
                dormant_body: Some("  ".into()),
                ..input()
            })
            .unwrap_err();
        for field in [
            "enabled",
            "dormant_days",
            "cap_per_day",
            "quiet_end",
            "quiet_action",
            "channel",
            "booking_url",
            "dormant_body",
        ] {
            assert!(errors.get(field).is_some(), "{field} not named: {errors}");
        }
    }

    #[test]
    fn thresholds_and_caps_must_agree() {
        let errors = EngagementPolicy::default()
            .apply(&PolicyInput {
                dormant_days: Some("30".into()),
                churned_days: Some("30".into()),
                cap_per_day: Some("4".into()),
                cap_per_week: Some("3".into()),
                ..input()
            })
            .unwrap_err();
        assert!(errors.get("churned_days").unwrap().contains("30 days"));
        assert!(errors
            .get("cap_per_week")
            .unwrap()
            .contains("daily cap (4)"));
    }

    #[test]
    fn a_blank_booking_url_clears_it() {
        let p = EngagementPolicy {
            booking_url: Some("https://book.example.com".into()),
            ..Default::default()
        };
        let next = p
            .apply(&PolicyInput {
                booking_url: Some(" ".into()),
                ..input()
            })
            .unwrap();
        assert_eq!(next.booking_url, None);
    }
}
