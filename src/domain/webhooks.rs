//! Event webhooks: an organisation subscribes an endpoint of its own to what happens to its
//! messages — sent, delivered, failed, clicked, booked, unsubscribed. Each event is a JSON
//! document `{ "type": "delivery.sent", "timestamp": …, "data": { … } }` posted per the
//! Standard Webhooks scheme (`webhook-id`, `webhook-timestamp`, `webhook-signature`), signed
//! with the subscription's own secret, and carried by the outbox like any message (retries,
//! a record, a page of its own).

use super::delivery::Delivery;
use super::engagement::policy::parse_web_address;
use super::FieldErrors;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// What happened to a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    Sent,
    Delivered,
    Failed,
    Clicked,
    Booked,
    Unsubscribed,
}

text_enum!(EventType, "a delivery event", {
    Sent => "sent", Delivered => "delivered", Failed => "failed", Clicked => "clicked",
    Booked => "booked", Unsubscribed => "unsubscribed",
});

impl EventType {
    /// The event's `type` in the posted document: `delivery.sent`.
    pub fn type_name(self) -> String {
        format!("delivery.{}", self.as_str())
    }

    /// The event a response to a message (`clicked`, `booked`, `unsubscribed`) is, if any.
    pub fn of_response(response: &str) -> Option<Self> {
        match response {
            "clicked" => Some(EventType::Clicked),
            "booked" => Some(EventType::Booked),
            "unsubscribed" => Some(EventType::Unsubscribed),
            _ => None,
        }
    }
}

/// The OpenAPI schema of a subscription's events: at least one of the event names.
#[cfg(feature = "ssr")]
pub fn event_types_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(ObjectBuilder::new().schema_type(Type::String).pattern(Some(
            r"^\s*(sent|delivered|failed|clicked|booked|unsubscribed)\s*$",
        )))
        .min_items(Some(1))
        .description(Some(
            "sent, delivered, failed, clicked, booked or unsubscribed; every one when absent",
        ))
        .build()
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// An organisation's endpoint and the events it is told of. The secret is shown once, when
/// the subscription is made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub id: Uuid,
    pub org_id: Uuid,
    pub url: String,
    pub events: Vec<EventType>,
    pub description: String,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// A subscription as sent to the API or typed into the form; on a change, absent fields keep
/// their value.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionInput {
    #[serde(default)]
    #[cfg_attr(
        feature = "ssr",
        schema(
            required = true,
            nullable = false,
            pattern = r"^\s*https://[A-Za-z0-9.-]+\.[A-Za-z]{2,}(/\S*)?\s*$"
        )
    )]
    pub url: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(schema_with = event_types_schema))]
    pub events: Option<Vec<String>>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// The parts of a subscription its input sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscriptionSettings {
    pub url: String,
    pub events: Vec<EventType>,
    pub description: String,
    pub enabled: bool,
}

impl SubscriptionInput {
    /// Checks the input against `current` (none for a new subscription); every problem is
    /// named by its field.
    pub fn apply(
        &self,
        current: Option<&SubscriptionSettings>,
    ) -> Result<SubscriptionSettings, FieldErrors> {
        let mut errors = FieldErrors::new();
        let url = match (&self.url, current) {
            (Some(u), _) => errors
                .check("url", parse_web_address(u))
                .unwrap_or_default(),
            (None, Some(c)) => c.url.clone(),
            (None, None) => {
                errors.add("url", "the endpoint's URL is required");
                String::new()
            }
        };
        let events = match (&self.events, current) {
            (Some(list), _) => {
                let mut events = Vec::new();
                for (i, e) in list.iter().enumerate() {
                    match EventType::parse(e) {
                        Ok(t) if !events.contains(&t) => events.push(t),
                        Ok(_) => {}
                        Err(m) => errors.add(&format!("events[{i}]"), m),
                    }
                }
                if list.is_empty() {
                    errors.add(
                        "events",
                        "choose at least one event (sent, delivered, failed, clicked, booked, unsubscribed)",
                    );
                }
                events.sort();
                events
            }
            (None, Some(c)) => c.events.clone(),
            (None, None) => EventType::ALL.to_vec(),
        };
        let description = match (&self.description, current) {
            (Some(d), _) => d.trim().to_string(),
            (None, Some(c)) => c.description.clone(),
            (None, None) => String::new(),
        };
        if description.chars().count() > 200 {
            errors.add("description", "must be at most 200 characters");
        }
        let enabled = self
            .enabled
            .unwrap_or_else(|| current.is_none_or(|c| c.enabled));
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(SubscriptionSettings {
            url,
            events,
            description,
            enabled,
        })
    }
}

/// The document an event posts: what happened to which message, without its words (the
/// subscriber asks the API for more).
pub fn payload(d: &Delivery, event: EventType, at: DateTime<Utc>) -> serde_json::Value {
    serde_json::json!({
        "type": event.type_name(),
        "timestamp": at,
        "data": {
            "delivery_id": d.id,
            "person_id": d.person_id,
            "kind": d.kind.as_str(),
            "source": d.source.as_str(),
            "channel": d.channel.as_str(),
            "status": d.status.as_str(),
            "campaign_id": d.campaign_id,
            "variant": d.variant,
            "provider_message_id": d.provider_message_id,
            "error": d.last_error,
            "response": d.response,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_named_and_checked() {
        assert_eq!(EventType::Sent.type_name(), "delivery.sent");
        assert_eq!(EventType::of_response("booked"), Some(EventType::Booked));
        assert_eq!(EventType::of_response("replied"), None);
        let input = SubscriptionInput {
            url: Some("ftp://x".into()),
            events: Some(vec!["sent".into(), "opened".into()]),
            ..Default::default()
        };
        let err = input.apply(None).unwrap_err();
        assert!(
            err.get("url").is_some() && err.get("events[1]").is_some(),
            "{err:?}"
        );
        let ok = SubscriptionInput {
            url: Some("https://hooks.example.com/concierge".into()),
            events: Some(vec!["failed".into(), "sent".into(), "sent".into()]),
            ..Default::default()
        }
        .apply(None)
        .unwrap();
        assert_eq!(ok.events, vec![EventType::Sent, EventType::Failed]);
        assert!(ok.enabled);
        let all = SubscriptionInput {
            url: Some("https://hooks.example.com/all".into()),
            ..Default::default()
        }
        .apply(None)
        .unwrap();
        assert_eq!(all.events.len(), 6);
        let none = SubscriptionInput {
            events: Some(vec![]),
            ..Default::default()
        }
        .apply(Some(&ok))
        .unwrap_err();
        assert!(none.get("events").is_some());
    }
}
