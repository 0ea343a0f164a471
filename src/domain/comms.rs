//! How the team reaches a person: their communication identities (an address on a channel),
//! and the conversations held with them, each a thread of messages and staff notes.

use super::dates::{parse_uuid, Channel};
use super::person::{bounded, present};
use super::{EmailAddress, FieldErrors, PhoneNumber, Region};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// A person's address on one channel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct CommIdentity {
    pub id: Uuid,
    pub org_id: Uuid,
    pub person_id: Uuid,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub channel: Channel,
    pub address: String,
    /// The address to use first; at most one per person.
    pub preferred: bool,
    pub verified: bool,
    /// Set when the person asked not to be contacted here (or the address stopped working).
    pub opted_out_at: Option<DateTime<Utc>>,
    /// Hard failures (bounces, unknown numbers) since the last successful send.
    #[serde(default)]
    pub hard_failures: i32,
    /// Set when the address kept failing hard; nothing is sent to it until staff re-enable it.
    #[serde(default)]
    pub disabled_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl CommIdentity {
    pub fn opted_out(&self) -> bool {
        self.opted_out_at.is_some()
    }

    pub fn disabled(&self) -> bool {
        self.disabled_at.is_some()
    }
}

/// Whether an address with `hard_failures` hard failures in a row is to be disabled, at the
/// installation's `threshold`; and why, naming the `last` failure.
pub fn disable_after_hard_failures(
    hard_failures: i32,
    threshold: i32,
    last: &str,
) -> Option<String> {
    (hard_failures >= threshold)
        .then(|| format!("disabled after {threshold} hard failures; the last: {last}"))
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityInput {
    #[serde(default, alias = "channel_type")]
    #[cfg_attr(
        feature = "ssr",
        schema(
            required = true,
            nullable = false,
            pattern = r"^\s*(email|sms|whatsapp|slack|webhook)\s*$"
        )
    )]
    pub channel: Option<String>,
    #[serde(default)]
    #[cfg_attr(
        feature = "ssr",
        schema(required = true, nullable = false, min_length = 1, pattern = r"\S")
    )]
    pub address: Option<String>,
    #[serde(default)]
    pub preferred: Option<bool>,
    #[serde(default)]
    pub verified: Option<bool>,
    #[serde(default)]
    pub opted_out: Option<bool>,
    /// `false` enables an address the delivery engine disabled after hard failures; `true`
    /// disables it by hand.
    #[serde(default)]
    pub disabled: Option<bool>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct IdentityDraft {
    pub channel: Channel,
    pub address: String,
    pub preferred: bool,
    pub verified: bool,
    pub opted_out: bool,
}

/// Checks an address for its channel: e-mail addresses and phone numbers are normalised (a
/// national number read as `region`'s, when given).
pub fn parse_address(
    channel: Channel,
    input: &str,
    region: Option<&Region>,
) -> Result<String, String> {
    match channel {
        Channel::Email => EmailAddress::parse(input).map(String::from),
        Channel::Sms | Channel::Whatsapp => PhoneNumber::parse_in(input, region).map(String::from),
        Channel::Slack | Channel::Webhook => {
            let s = input.trim();
            if s.is_empty() {
                Err("is required".into())
            } else if s.chars().count() > 500 {
                Err("must be at most 500 characters".into())
            } else if s.chars().any(char::is_whitespace) {
                Err(format!("'{s}' must not contain spaces"))
            } else {
                Ok(s.to_string())
            }
        }
        Channel::Portal => Err("the portal is not an address a person can have".into()),
    }
}

impl IdentityDraft {
    /// Checks the input; a national phone number is read as `region`'s, when given.
    pub fn parse(input: &IdentityInput, region: Option<&Region>) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let channel = match present(&input.channel) {
            None => {
                errors.add(
                    "channel",
                    "is required (email, sms, whatsapp, slack or webhook)",
                );
                None
            }
            Some(c) => match Channel::parse(c) {
                Ok(Channel::Portal) => {
                    errors.add("channel", "must be email, sms, whatsapp, slack or webhook");
                    None
                }
                other => errors.check("channel", other),
            },
        };
        let address = match (channel, present(&input.address)) {
            (_, None) => {
                errors.add("address", "is required");
                None
            }
            (Some(c), Some(a)) => errors.check("address", parse_address(c, a, region)),
            (None, Some(_)) => None,
        };
        match (channel, address) {
            (Some(channel), Some(address)) if errors.is_empty() => Ok(Self {
                channel,
                address,
                preferred: input.preferred.unwrap_or(false),
                verified: input.verified.unwrap_or(false),
                opted_out: input.opted_out.unwrap_or(false),
            }),
            _ => Err(errors),
        }
    }
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// Where a conversation happens. `web` is the client-facing app's own chat.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationChannel {
    Email,
    Sms,
    Whatsapp,
    Slack,
    Web,
}

text_enum!(ConversationChannel, "a conversation channel", {
    Email => "email", Sms => "sms", Whatsapp => "whatsapp", Slack => "slack", Web => "web",
});

impl ConversationChannel {
    pub fn label(self) -> &'static str {
        match self {
            Self::Email => "E-mail",
            Self::Sms => "SMS",
            Self::Whatsapp => "WhatsApp",
            Self::Slack => "Slack",
            Self::Web => "Web chat",
        }
    }
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    #[default]
    Active,
    Archived,
}

text_enum!(ConversationStatus, "a conversation status", {
    Active => "active", Archived => "archived",
});

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Conversation {
    pub id: Uuid,
    pub org_id: Uuid,
    pub person_id: Uuid,
    pub person_name: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub channel_type: ConversationChannel,
    pub subject: Option<String>,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub status: ConversationStatus,
    pub last_message_at: Option<DateTime<Utc>>,
    /// The start of the latest message, for lists.
    pub last_message_preview: Option<String>,
    pub message_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConversationInput {
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(required = true, nullable = false, format = Uuid))]
    pub person_id: Option<String>,
    #[serde(default, alias = "channel")]
    #[cfg_attr(
        feature = "ssr",
        schema(
            required = true,
            nullable = false,
            pattern = r"^\s*(email|sms|whatsapp|slack|web)\s*$"
        )
    )]
    pub channel_type: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(pattern = r"^\s*(active|archived)?\s*$"))]
    pub status: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ConversationDraft {
    pub person_id: Uuid,
    pub channel_type: ConversationChannel,
    pub subject: Option<String>,
    pub status: ConversationStatus,
}

impl ConversationDraft {
    pub fn parse(input: &ConversationInput) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let person_id = match present(&input.person_id) {
            None => {
                errors.add("person_id", "is required");
                None
            }
            Some(p) => errors.check("person_id", parse_uuid("person_id", p)),
        };
        let channel_type = match present(&input.channel_type) {
            None => {
                errors.add(
                    "channel_type",
                    "is required (email, sms, whatsapp, slack or web)",
                );
                None
            }
            Some(c) => errors.check("channel_type", ConversationChannel::parse(c)),
        };
        let subject = bounded("subject", present(&input.subject), 300, &mut errors);
        let status = match present(&input.status) {
            None => Some(ConversationStatus::Active),
            Some(s) => errors.check("status", ConversationStatus::parse(s)),
        };
        match (person_id, channel_type, status) {
            (Some(person_id), Some(channel_type), Some(status)) if errors.is_empty() => Ok(Self {
                person_id,
                channel_type,
                subject,
                status,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// Which way a message went; a `note` is for the team only and never leaves the portal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    In,
    Out,
    Note,
}

text_enum!(Direction, "a message direction", { In => "in", Out => "out", Note => "note" });

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Message {
    pub id: Uuid,
    pub org_id: Uuid,
    pub conversation_id: Uuid,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub direction: Direction,
    /// Who wrote it: a staff member's name, the person's, or an integration's.
    pub author: String,
    pub author_staff_id: Option<Uuid>,
    pub body: String,
    /// The delivery that carries an outgoing message, once sending exists.
    pub delivery_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageInput {
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(pattern = r"^\s*(in|out|note)?\s*$"))]
    pub direction: Option<String>,
    #[serde(default, alias = "content")]
    #[cfg_attr(
        feature = "ssr",
        schema(required = true, nullable = false, min_length = 1, pattern = r"\S")
    )]
    pub body: Option<String>,
    /// Who wrote it, when it was not the caller (an inbound message's sender).
    #[serde(default)]
    pub author: Option<String>,
    /// For an outgoing message: send it through the conversation's channel (the default), or
    /// only record it (`false`, for a message that already went out another way).
    #[serde(default)]
    pub send: Option<bool>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MessageDraft {
    pub direction: Direction,
    pub body: String,
    pub author: Option<String>,
}

pub const MAX_MESSAGE: usize = 20_000;

impl MessageDraft {
    pub fn parse(input: &MessageInput) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let direction = match present(&input.direction) {
            None => Some(Direction::Note),
            Some(d) => errors.check("direction", Direction::parse(d)),
        };
        let body = match input.body.as_deref().map(str::trim) {
            None | Some("") => {
                errors.add("body", "is required");
                None
            }
            Some(b) => bounded("body", Some(b), MAX_MESSAGE, &mut errors),
        };
        let author = bounded("author", present(&input.author), 200, &mut errors);
        match (direction, body) {
            (Some(direction), Some(body)) if errors.is_empty() => Ok(Self {
                direction,
                body,
                author,
            }),
            _ => Err(errors),
        }
    }
}

/// The first line of a message, cut to `max` characters with an ellipsis.
pub fn preview(body: &str, max: usize) -> String {
    let line = body
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    if line.chars().count() <= max {
        line.to_string()
    } else {
        let cut: String = line.chars().take(max.saturating_sub(1)).collect();
        format!("{}…", cut.trim_end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_disabled_at_the_threshold() {
        assert_eq!(disable_after_hard_failures(2, 3, "bounced"), None);
        assert_eq!(
            disable_after_hard_failures(3, 3, "bounced").as_deref(),
            Some("disabled after 3 hard failures; the last: bounced")
        );
        assert!(disable_after_hard_failures(4, 3, "bounced").is_some());
    }

    #[test]
    fn addresses_are_checked_for_their_channel() {
        assert_eq!(
            parse_address(Channel::Email, " Ada@Example.COM ", None).unwrap(),
            "Ada@example.com"
        );
        assert_eq!(
            parse_address(Channel::Whatsapp, "+44 20 7946 0018", None).unwrap(),
            "+442079460018"
        );
        assert!(parse_address(Channel::Sms, "020 7946 0018", None).is_err());
        assert!(parse_address(Channel::Slack, "two words", None).is_err());
        assert!(parse_address(Channel::Portal, "x", None).is_err());
    }

    #[test]
    fn identity_errors_name_fields() {
        let errors = IdentityDraft::parse(
            &IdentityInput {
                channel: Some("pigeon".into()),
                ..Default::default()
            },
            None,
        )
        .unwrap_err();
        assert!(errors.get("channel").is_some());
        assert!(errors.get("address").is_some());
        let errors = IdentityDraft::parse(
            &IdentityInput {
                channel: Some("email".into()),
                address: Some("nope".into()),
                ..Default::default()
            },
            None,
        )
        .unwrap_err();
        assert!(errors.get("address").unwrap().contains("nope"));
    }

    #[test]
    fn messages_default_to_notes_and_need_a_body() {
        let d = MessageDraft::parse(&MessageInput {
            body: Some(" Call back Tuesday ".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(d.direction, Direction::Note);
        assert_eq!(d.body, "Call back Tuesday");
        let errors = MessageDraft::parse(&MessageInput {
            direction: Some("sideways".into()),
            body: Some("  ".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(errors.get("direction").is_some() && errors.get("body").is_some());
    }

    #[test]
    fn previews_take_the_first_line() {
        assert_eq!(preview("\n  Hello there\nsecond", 80), "Hello there");
        assert_eq!(preview("abcdefghij", 5), "abcd…");
    }
}
