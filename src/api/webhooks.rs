//! Event webhook subscriptions for Settings → Channels (admins): the list, a new one (its
//! secret shown this once), switching one on or off, and removing it.

// A server function takes one argument per form field (here one per event's box).
#![allow(clippy::too_many_arguments)]

use crate::domain::webhooks::Subscription;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr::{actor, fail, parse_id};

/// What making a subscription answers: its secret, this once, or what was wrong.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum NewWebhook {
    Created { url: String, secret: String },
    Invalid(crate::domain::FieldErrors),
}

#[server(prefix = "/srv", endpoint = "webhooks/list_webhooks")]
pub async fn list_webhooks() -> Result<Vec<Subscription>, ServerFnError> {
    let (state, actor) = actor()?;
    crate::server::services::webhooks::list(&state, &actor)
        .await
        .map_err(fail)
}

/// A new subscription: its URL, a description, and the events ticked (`ev_sent` …; none
/// ticked is every event).
#[server(prefix = "/srv", endpoint = "webhooks/create_webhook")]
pub async fn create_webhook(
    #[server(default)] url: String,
    #[server(default)] description: String,
    #[server(default)] ev_sent: Option<String>,
    #[server(default)] ev_delivered: Option<String>,
    #[server(default)] ev_failed: Option<String>,
    #[server(default)] ev_clicked: Option<String>,
    #[server(default)] ev_booked: Option<String>,
    #[server(default)] ev_unsubscribed: Option<String>,
) -> Result<NewWebhook, ServerFnError> {
    use crate::domain::webhooks::SubscriptionInput;
    use crate::server::error::ServiceError;
    let (state, actor) = actor()?;
    let ticked: Vec<String> = [
        ("sent", ev_sent),
        ("delivered", ev_delivered),
        ("failed", ev_failed),
        ("clicked", ev_clicked),
        ("booked", ev_booked),
        ("unsubscribed", ev_unsubscribed),
    ]
    .into_iter()
    .filter(|(_, on)| on.is_some())
    .map(|(e, _)| e.to_string())
    .collect();
    let input = SubscriptionInput {
        url: Some(url),
        events: (!ticked.is_empty()).then_some(ticked),
        description: Some(description),
        enabled: Some(true),
    };
    match crate::server::services::webhooks::create(&state, &actor, &input).await {
        Ok(n) => Ok(NewWebhook::Created {
            url: n.subscription.url,
            secret: n.secret,
        }),
        Err(ServiceError::Invalid(errors)) => Ok(NewWebhook::Invalid(errors)),
        Err(e) => Err(fail(e)),
    }
}

/// Switches a subscription on (`enable`) or off (`disable`), or removes it (`remove`).
#[server(prefix = "/srv", endpoint = "webhooks/change_webhook")]
pub async fn change_webhook(id: String, action: String) -> Result<(), ServerFnError> {
    use crate::domain::webhooks::SubscriptionInput;
    use crate::server::services::webhooks;
    let (state, actor) = actor()?;
    let id = parse_id(&id)?;
    let switch = |on: bool| SubscriptionInput {
        enabled: Some(on),
        ..Default::default()
    };
    match action.as_str() {
        "enable" => webhooks::update(&state, &actor, id, &switch(true))
            .await
            .map(|_| ()),
        "disable" => webhooks::update(&state, &actor, id, &switch(false))
            .await
            .map(|_| ()),
        "remove" => webhooks::delete(&state, &actor, id).await,
        other => Err(crate::server::error::ServiceError::invalid(
            "action",
            format!("'{other}' is not enable, disable or remove"),
        )),
    }
    .map_err(fail)
}
