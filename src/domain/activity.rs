//! Activity events: what a person did in the customer's own app (signed in, booked, viewed a
//! menu…), reported over the API. Each one moves the person's `last_active_at`.

use super::person::present;
use super::FieldErrors;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ActivityEvent {
    pub id: Uuid,
    pub org_id: Uuid,
    pub person_id: Uuid,
    /// `login`, `booking`, `viewed_menu`, or any other name.
    pub name: String,
    #[cfg_attr(feature = "ssr", sqlx(json))]
    pub properties: serde_json::Value,
    pub occurred_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// An event as reported: the person by `person_id` or by `external_id`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityInput {
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
    #[serde(default, alias = "event", alias = "event_name")]
    #[cfg_attr(feature = "ssr", schema(max_length = 100))]
    pub name: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub properties: Option<serde_json::Value>,
    #[serde(default, alias = "timestamp")]
    #[cfg_attr(feature = "ssr", schema(format = DateTime))]
    pub occurred_at: Option<String>,
}

/// Who an event is about, before the person is looked up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PersonRef {
    Id(Uuid),
    ExternalId(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ActivityDraft {
    pub person: PersonRef,
    pub name: String,
    pub properties: serde_json::Value,
    pub occurred_at: DateTime<Utc>,
}

/// How far ahead of the server's clock a reported time may be (clocks drift).
pub const MAX_FUTURE: Duration = Duration::minutes(5);

impl ActivityDraft {
    /// Checks an event; `name` fills in a missing name (the `/activity/login` route).
    pub fn parse(
        input: &ActivityInput,
        name: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let person = match (present(&input.person_id), present(&input.external_id)) {
            (Some(id), _) => errors
                .check(
                    "person_id",
                    Uuid::parse_str(id).map_err(|_| format!("'{id}' is not an id")),
                )
                .map(PersonRef::Id),
            (None, Some(ext)) => Some(PersonRef::ExternalId(ext.to_string())),
            (None, None) => {
                errors.add("person_id", "give person_id or external_id");
                None
            }
        };
        let name = match present(&input.name).or(name) {
            None => {
                errors.add("name", "is required (the event's name, such as booking)");
                None
            }
            Some(n) if n.chars().count() > 100 => {
                errors.add("name", "must be at most 100 characters");
                None
            }
            Some(n) => Some(n.to_string()),
        };
        let properties = match &input.properties {
            None | Some(serde_json::Value::Null) => serde_json::json!({}),
            Some(v @ serde_json::Value::Object(_)) => {
                if v.to_string().len() > 16_384 {
                    errors.add("properties", "must be at most 16 KiB of JSON");
                }
                v.clone()
            }
            Some(_) => {
                errors.add("properties", "must be a JSON object");
                serde_json::json!({})
            }
        };
        let occurred_at = match present(&input.occurred_at) {
            None => Some(now),
            Some(t) => errors
                .check(
                    "occurred_at",
                    DateTime::parse_from_rfc3339(t)
                        .map(|t| t.with_timezone(&Utc))
                        .map_err(|_| format!("'{t}' is not an RFC 3339 instant")),
                )
                .and_then(|t| {
                    if t > now + MAX_FUTURE {
                        errors.add("occurred_at", "is in the future");
                        None
                    } else {
                        Some(t)
                    }
                }),
        };
        match (person, name, occurred_at) {
            (Some(person), Some(name), Some(occurred_at)) if errors.is_empty() => Ok(Self {
                person,
                name,
                properties,
                occurred_at,
            }),
            _ => Err(errors),
        }
    }
}
