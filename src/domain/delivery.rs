//! Deliveries: the outbox and the message log in one. Every outbound message is a delivery
//! with a status history; this module owns their vocabulary, the retry schedule, what a
//! provider callback or an inbound message may say, and how a delivery's fate is told to staff
//! in plain words.

use super::dates::Channel;
use super::person::present;
use super::FieldErrors;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryKind {
    /// Reminders a client asked for, appointment notices, staff replies: never held back by
    /// marketing caps or marketing consent.
    Utility,
    /// Marketing and re-engagement: consent and every cap apply.
    Engagement,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliverySource {
    Reminder,
    Campaign,
    Engagement,
    Manual,
    Api,
    /// An event told to the organisation's webhook subscription (not a message to a person).
    Event,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Sending,
    Sent,
    Delivered,
    Failed,
    Suppressed,
    Cancelled,
    /// AI-written, waiting for a staff member to approve, edit or reject it.
    AwaitingApproval,
}

text_enum!(DeliveryKind, "a delivery kind", { Utility => "utility", Engagement => "engagement" });
text_enum!(DeliverySource, "a delivery source", {
    Reminder => "reminder", Campaign => "campaign", Engagement => "engagement",
    Manual => "manual", Api => "api", Event => "event",
});
text_enum!(DeliveryStatus, "a delivery status", {
    Pending => "pending", Sending => "sending", Sent => "sent", Delivered => "delivered",
    Failed => "failed", Suppressed => "suppressed", Cancelled => "cancelled",
    AwaitingApproval => "awaiting_approval",
});

impl DeliveryKind {
    /// Lower goes first: a big campaign never delays an appointment reminder.
    pub fn priority(self) -> i32 {
        match self {
            DeliveryKind::Utility => 0,
            DeliveryKind::Engagement => 10,
        }
    }
}

impl DeliveryStatus {
    /// Whether nothing more will happen to it without a person (or a provider) acting.
    pub fn is_final(self) -> bool {
        !self.is_queued()
    }

    /// Whether it is still to go (queued, held, awaiting approval, or being sent): it counts
    /// against the caps as if it had gone, and its campaign is not complete while it waits.
    pub fn is_queued(self) -> bool {
        matches!(
            self,
            DeliveryStatus::Pending | DeliveryStatus::Sending | DeliveryStatus::AwaitingApproval
        )
    }

    /// [`Self::is_queued`] of a status as stored.
    pub fn is_queued_str(status: &str) -> bool {
        Self::parse(status).is_ok_and(Self::is_queued)
    }
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// One outbound message, as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Delivery {
    pub id: Uuid,
    pub org_id: Uuid,
    pub person_id: Option<Uuid>,
    /// The staff member it is addressed to, for reminders whose audience is staff.
    pub staff_id: Option<Uuid>,
    pub identity_id: Option<Uuid>,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub kind: DeliveryKind,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub source: DeliverySource,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub channel: Channel,
    pub address: Option<String>,
    pub subject: Option<String>,
    pub body: String,
    #[cfg_attr(feature = "ssr", sqlx(json))]
    pub metadata: serde_json::Value,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub status: DeliveryStatus,
    /// Why it was not sent: a code from [`suppression_words`].
    pub suppression_reason: Option<String>,
    pub priority: i32,
    pub attempts: i32,
    pub max_attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// What actually carried it: the channel's adapter, or `log` when the channel is not
    /// configured for the organisation.
    pub transport: Option<String>,
    pub provider_message_id: Option<String>,
    pub idempotency_key: String,
    pub correlation_id: Option<String>,
    pub reminder_rule_id: Option<Uuid>,
    /// The occurrence of the date (or the scheduled instant) a reminder delivery is for.
    pub occurrence: Option<String>,
    pub conversation_id: Option<Uuid>,
    pub campaign_id: Option<Uuid>,
    pub variant: Option<String>,
    pub template: Option<String>,
    pub prompt_version: Option<String>,
    pub model: Option<String>,
    #[cfg_attr(feature = "ssr", sqlx(json))]
    pub safety_checks: serde_json::Value,
    pub response: Option<String>,
    pub response_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Awaiting approval: when it expires unreviewed (and is not sent).
    #[serde(default)]
    pub approval_expires_at: Option<DateTime<Utc>>,
}

#[cfg(feature = "ssr")]
impl Delivery {
    /// A new pending delivery of `kind` from `source` on `channel`, created at `now`, with
    /// nothing yet attempted; callers fill in whom it is for and what it says with struct
    /// update syntax (`Delivery { body, ..Delivery::queued(..) }`).
    pub fn queued(
        org_id: Uuid,
        kind: DeliveryKind,
        source: DeliverySource,
        channel: Channel,
        idempotency_key: String,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            org_id,
            person_id: None,
            staff_id: None,
            identity_id: None,
            kind,
            source,
            channel,
            address: None,
            subject: None,
            body: String::new(),
            metadata: serde_json::Value::Object(Default::default()),
            status: DeliveryStatus::Pending,
            suppression_reason: None,
            priority: kind.priority(),
            attempts: 0,
            max_attempts: 1,
            next_attempt_at: Some(now),
            lease_owner: None,
            lease_expires_at: None,
            last_error: None,
            transport: None,
            provider_message_id: None,
            idempotency_key,
            correlation_id: None,
            reminder_rule_id: None,
            occurrence: None,
            conversation_id: None,
            campaign_id: None,
            variant: None,
            template: None,
            prompt_version: None,
            model: None,
            safety_checks: serde_json::Value::Object(Default::default()),
            response: None,
            response_at: None,
            sent_at: None,
            delivered_at: None,
            failed_at: None,
            created_at: now,
            updated_at: now,
            approval_expires_at: None,
        }
    }
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// One thing that happened to a delivery: queued, an attempt, its outcome, a callback.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct DeliveryEvent {
    pub id: Uuid,
    pub org_id: Uuid,
    pub delivery_id: Uuid,
    pub event: String,
    /// The delivery's status after the event.
    pub status: String,
    pub attempt: i32,
    pub detail: Option<String>,
    pub at: DateTime<Utc>,
}

/// A delivery with its history, for the detail view and `GET /deliveries/{id}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeliveryDetail {
    #[serde(flatten)]
    pub delivery: Delivery,
    pub events: Vec<DeliveryEvent>,
    /// What happened, in plain words.
    pub explanation: String,
    /// The prompt (at the version the delivery names) its words were asked for with, for a
    /// campaign variant with a prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
}

/// A note in a staff member's portal (a reminder whose audience is staff).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Notification {
    pub id: Uuid,
    pub staff_id: Uuid,
    pub delivery_id: Option<Uuid>,
    pub person_id: Option<Uuid>,
    pub title: String,
    pub body: String,
    pub read_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// How long to wait before attempt `attempt + 1`, after `attempt` attempts failed:
/// exponential from `base`, capped at `cap`, with "equal jitter" (half fixed, half random by
/// `jitter` in 0..1) so that a burst of failures does not retry in lockstep.
pub fn backoff(attempt: u32, base: Duration, cap: Duration, jitter: f64) -> Duration {
    let exp = attempt.saturating_sub(1).min(30);
    let full = base
        .num_milliseconds()
        .saturating_mul(1_i64 << exp)
        .min(cap.num_milliseconds())
        .max(0);
    let half = full / 2;
    let random = (half as f64 * jitter.clamp(0.0, 1.0)) as i64;
    Duration::milliseconds(half + random)
}

/// Plain words for a suppression code.
pub fn suppression_words(code: &str, channel: Channel) -> String {
    let channel = channel.label();
    match code {
        "opted_out" => format!("skipped — opted out of {channel}"),
        "no_address" => format!("skipped — no {channel} address for this person"),
        "identity_disabled" => {
            format!("skipped — the {channel} address was disabled after repeated hard failures")
        }
        "no_recipient" => "skipped — no staff member to tell".into(),
        "person_deleted" => "skipped — the person was deleted".into(),
        "channel_disabled" => format!("skipped — the {channel} channel is switched off"),
        "no_consent" => "skipped — no marketing consent".into(),
        "engagement_off" => "skipped — engagement is switched off".into(),
        "quiet_hours" => "skipped — quiet hours on their clock".into(),
        "unsubscribed" => "skipped — unsubscribed".into(),
        "safety" => "not sent — the text failed the safety filter".into(),
        "rejected" => "not sent — rejected in the approval queue".into(),
        "approval_expired" => "not sent — nobody approved it in time".into(),
        other => match other.split_once(':') {
            Some(("cap_day", n)) => format!("skipped — {n} per 24 h cap"),
            Some(("cap_week", n)) => format!("skipped — {n} per 7 days cap"),
            _ => format!("skipped — {other}"),
        },
    }
}

fn at_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// What happened to a delivery, in plain words, as staff read it in the Messages log.
pub fn explain(d: &Delivery, now: DateTime<Utc>) -> String {
    let error = d.last_error.as_deref().unwrap_or("no reason given");
    match d.status {
        DeliveryStatus::Pending => match (d.attempts, d.next_attempt_at) {
            (0, Some(t)) if t > now && d.metadata.get("held_until").is_some() => {
                let tz = d
                    .metadata
                    .pointer("/person/timezone")
                    .and_then(|z| z.as_str())
                    .and_then(|z| z.parse().ok())
                    .unwrap_or(chrono_tz::UTC);
                super::engagement::decide::held_words(t, tz)
            }
            (0, Some(t)) if t > now => format!("waiting — due at {}", at_time(t)),
            (0, _) => "queued — about to be sent".into(),
            (n, Some(t)) => format!(
                "retrying at {} — attempt {n} of {} failed: {error}",
                at_time(t),
                d.max_attempts
            ),
            (n, None) => format!(
                "retrying — attempt {n} of {} failed: {error}",
                d.max_attempts
            ),
        },
        DeliveryStatus::Sending => format!("being sent now (attempt {})", d.attempts),
        DeliveryStatus::Sent | DeliveryStatus::Delivered => {
            let verb = if d.status == DeliveryStatus::Sent {
                "sent"
            } else {
                "delivered"
            };
            match d.transport.as_deref() {
                Some("log") if d.channel != Channel::Portal => format!(
                    "{verb} to the log only — the {} channel is not configured",
                    d.channel.label()
                ),
                _ => verb.to_string(),
            }
        }
        DeliveryStatus::Failed => {
            if d.attempts >= d.max_attempts && d.max_attempts > 1 {
                format!("failed after {} attempts — {error}", d.attempts)
            } else {
                format!("failed — {error}")
            }
        }
        DeliveryStatus::Suppressed => suppression_words(
            d.suppression_reason.as_deref().unwrap_or("not sent"),
            d.channel,
        ),
        DeliveryStatus::Cancelled => match d.suppression_reason.as_deref() {
            Some(code) => {
                let words = suppression_words(code, d.channel);
                // "not sent — rejected …", "skipped — the person was deleted": the why.
                let why = words.split_once(" — ").map_or(words.as_str(), |(_, w)| w);
                format!("cancelled — {why}")
            }
            None => "cancelled — not sent".into(),
        },
        DeliveryStatus::AwaitingApproval => match d.approval_expires_at {
            Some(t) => format!(
                "awaiting approval — written by AI; expires unsent at {}",
                at_time(t)
            ),
            None => "awaiting approval — written by AI".into(),
        },
    }
}

// ----- what callers send --------------------------------------------------------------------

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// `POST /send-utility`: a utility message to one person, by `person_id` or `external_id`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendUtilityInput {
    #[serde(default, alias = "user_id")]
    #[cfg_attr(
        feature = "ssr",
        schema(
            pattern = r"^\s*([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})?\s*$"
        )
    )]
    pub person_id: Option<String>,
    #[serde(default)]
    pub external_id: Option<String>,
    /// `appointment_reminder`, `booking_confirmation`, `date_reminder`, or `message` (which
    /// needs a `body`).
    #[serde(default, rename = "type")]
    #[cfg_attr(
        feature = "ssr",
        schema(
            required = true,
            nullable = false,
            pattern = r"^\s*(appointment_reminder|booking_confirmation|date_reminder|message)\s*$"
        )
    )]
    pub message_type: Option<String>,
    #[serde(default)]
    pub data: Option<serde_json::Value>,
    /// The channel to use; by default the person's preferred address.
    #[serde(default)]
    #[cfg_attr(
        feature = "ssr",
        schema(pattern = r"^\s*(email|sms|whatsapp|slack|webhook)?\s*$")
    )]
    pub channel: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
}

/// The text of a utility message of a known type, from its data.
pub fn utility_text(
    message_type: &str,
    data: &serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Result<(String, String), String> {
    let field = |k: &str| {
        data.get(k).and_then(|v| match v {
            serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };
    let when = || {
        let parts: Vec<String> = ["date", "time"].iter().filter_map(|k| field(k)).collect();
        (!parts.is_empty()).then(|| parts.join(" at "))
    };
    let place = field("location")
        .map(|l| format!(" at {l}"))
        .unwrap_or_default();
    match message_type {
        "appointment_reminder" => {
            let when = when().ok_or("an appointment reminder needs data.time (or data.date)")?;
            let what = field("service").unwrap_or_else(|| "appointment".into());
            Ok((
                format!("Reminder: your {what}"),
                format!("Hi {name}, this is a reminder of your {what}{place} — {when}."),
            ))
        }
        "booking_confirmation" => {
            let when = when().ok_or("a booking confirmation needs data.time (or data.date)")?;
            let what = field("service").unwrap_or_else(|| "booking".into());
            Ok((
                format!("Confirmed: your {what}"),
                format!("Hi {name}, your {what}{place} is confirmed for {when}."),
            ))
        }
        "date_reminder" => {
            let title = field("title").ok_or("a date reminder needs data.title")?;
            let when = when().map(|w| format!(" on {w}")).unwrap_or_default();
            Ok((
                format!("Reminder: {title}"),
                format!("Hi {name}, a reminder: {title}{when}."),
            ))
        }
        "message" => Err("a plain message needs a body".into()),
        other => Err(format!(
            "'{other}' is not a utility message type (appointment_reminder, booking_confirmation, \
             date_reminder, message)"
        )),
    }
}

/// A provider's report about a delivery (`POST /deliveries/{id}/events`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderEvent {
    Delivered,
    Failed,
    Opened,
    Clicked,
    Replied,
    Booked,
}

text_enum!(ProviderEvent, "a delivery event", {
    Delivered => "delivered", Failed => "failed", Opened => "opened", Clicked => "clicked",
    Replied => "replied", Booked => "booked",
});

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryEventInput {
    #[serde(default, alias = "type")]
    #[cfg_attr(
        feature = "ssr",
        schema(
            required = true,
            nullable = false,
            pattern = r"^\s*(delivered|failed|opened|clicked|replied|booked)\s*$"
        )
    )]
    pub event: Option<String>,
    /// When it happened (RFC 3339); now by default.
    #[serde(default, alias = "timestamp")]
    #[cfg_attr(feature = "ssr", schema(format = DateTime))]
    pub at: Option<String>,
    /// For `failed`: the provider's reason.
    #[serde(default, alias = "reason")]
    #[cfg_attr(feature = "ssr", schema(max_length = 2000))]
    pub error: Option<String>,
    /// For `failed`: whether the address itself is bad (a hard bounce, an unknown number).
    #[serde(default)]
    pub hard: Option<bool>,
    #[serde(default)]
    pub provider_message_id: Option<String>,
}

/// A provider event, parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedEvent {
    pub event: ProviderEvent,
    pub at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    pub hard: bool,
    pub provider_message_id: Option<String>,
}

impl DeliveryEventInput {
    pub fn parse(&self) -> Result<ParsedEvent, FieldErrors> {
        let mut errors = FieldErrors::new();
        let event = match present(&self.event) {
            None => {
                errors.add("event", "is required");
                None
            }
            Some(e) => errors.check("event", ProviderEvent::parse(e)),
        };
        let at = present(&self.at).and_then(|s| {
            errors.check(
                "at",
                DateTime::parse_from_rfc3339(s)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| format!("'{s}' is not an RFC 3339 time")),
            )
        });
        let error = present(&self.error).map(String::from);
        if error.as_ref().is_some_and(|e| e.chars().count() > 2000) {
            errors.add("error", "must be at most 2000 characters");
        }
        match (errors.is_empty(), event) {
            (true, Some(event)) => Ok(ParsedEvent {
                event,
                at,
                error,
                hard: self.hard.unwrap_or(false),
                provider_message_id: present(&self.provider_message_id).map(String::from),
            }),
            _ => Err(errors),
        }
    }
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// `POST /inbound`: a message a person sent, to thread into their conversation. The person is
/// found by `person_id`, `external_id`, or the `from` address on the channel.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboundInput {
    #[serde(default)]
    #[cfg_attr(
        feature = "ssr",
        schema(
            pattern = r"^\s*([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})?\s*$"
        )
    )]
    pub person_id: Option<String>,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    #[cfg_attr(
        feature = "ssr",
        schema(
            required = true,
            nullable = false,
            pattern = r"^\s*(email|sms|whatsapp|slack|web)\s*$"
        )
    )]
    pub channel: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    #[cfg_attr(
        feature = "ssr",
        schema(required = true, nullable = false, min_length = 1, pattern = r"\S")
    )]
    pub body: Option<String>,
    #[serde(default)]
    pub provider_message_id: Option<String>,
    /// Which of the person's conversations it answers, when the provider knows.
    #[serde(default)]
    #[cfg_attr(
        feature = "ssr",
        schema(
            pattern = r"^\s*([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})?\s*$"
        )
    )]
    pub conversation_id: Option<String>,
    /// The delivery it replies to; a reply marks the delivery `replied`.
    #[serde(default)]
    #[cfg_attr(
        feature = "ssr",
        schema(
            pattern = r"^\s*([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})?\s*$"
        )
    )]
    pub in_reply_to: Option<String>,
}

/// Which deliveries a list shows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeliveryFilter {
    pub person_id: Option<Uuid>,
    pub status: Option<DeliveryStatus>,
    pub kind: Option<DeliveryKind>,
    pub channel: Option<Channel>,
    pub reminder_rule_id: Option<Uuid>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_base_and_stops_at_the_cap() {
        let base = Duration::seconds(30);
        let cap = Duration::hours(1);
        // No randomness: half the exponential delay.
        assert_eq!(backoff(1, base, cap, 0.0), Duration::seconds(15));
        assert_eq!(backoff(2, base, cap, 0.0), Duration::seconds(30));
        assert_eq!(backoff(3, base, cap, 0.0), Duration::seconds(60));
        // Full randomness: the whole of it.
        assert_eq!(backoff(1, base, cap, 1.0), Duration::seconds(30));
        assert_eq!(backoff(4, base, cap, 1.0), Duration::seconds(240));
        assert_eq!(backoff(20, base, cap, 1.0), Duration::hours(1));
        assert_eq!(backoff(200, base, cap, 0.5), Duration::minutes(45));
    }

    proptest::proptest! {
        #[test]
        fn backoff_stays_within_half_and_whole_of_the_exponential(attempt in 1u32..40, jitter in 0.0f64..1.0) {
            let base = Duration::seconds(10);
            let cap = Duration::minutes(30);
            let full = (10_000i64 << (attempt - 1).min(30)).min(1_800_000);
            let d = backoff(attempt, base, cap, jitter).num_milliseconds();
            proptest::prop_assert!(d >= full / 2 && d <= full, "{d} not within {}..={full}", full / 2);
        }
    }

    #[test]
    fn utility_texts_name_what_is_missing() {
        let data = serde_json::json!({ "time": "10am", "service": "spa treatment" });
        let data = data.as_object().cloned().unwrap_or_default();
        let (subject, body) = utility_text("appointment_reminder", &data, "Ada").unwrap();
        assert_eq!(subject, "Reminder: your spa treatment");
        assert_eq!(
            body,
            "Hi Ada, this is a reminder of your spa treatment — 10am."
        );
        let empty = serde_json::Map::new();
        assert!(utility_text("appointment_reminder", &empty, "Ada")
            .unwrap_err()
            .contains("data.time"));
        assert!(utility_text("party", &empty, "Ada")
            .unwrap_err()
            .contains("'party' is not"));
    }

    #[test]
    fn provider_events_parse_and_name_bad_fields() {
        let ok = DeliveryEventInput {
            event: Some("Delivered".into()),
            at: Some("2026-03-14T10:00:00Z".into()),
            ..Default::default()
        }
        .parse()
        .unwrap();
        assert_eq!(ok.event, ProviderEvent::Delivered);
        let bad = DeliveryEventInput {
            event: Some("exploded".into()),
            at: Some("yesterday".into()),
            ..Default::default()
        }
        .parse()
        .unwrap_err();
        assert!(bad.get("event").is_some() && bad.get("at").is_some());
    }
}
