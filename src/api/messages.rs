//! The Messages log, a delivery's detail, staff notifications, and the channel settings, for
//! the portal.

use super::FormOutcome;
use crate::domain::channels::ChannelView;
use crate::domain::delivery::{Delivery, DeliveryDetail, Notification};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[cfg(feature = "ssr")]
use super::ssr::{actor, fail, parse_id};

/// One line of the Messages log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageRow {
    pub delivery: Delivery,
    pub explanation: String,
    pub person_name: Option<String>,
}

pub const MESSAGES_PAGE: i64 = 50;

#[server(prefix = "/srv", endpoint = "messages/list_messages")]
pub async fn list_messages(
    #[server(default)] status: String,
    #[server(default)] kind: String,
    #[server(default)] channel: String,
    #[server(default)] person_id: String,
    #[server(default)] reminder_id: String,
    #[server(default)] page: i64,
    #[server(default)] limit: i64,
) -> Result<Vec<MessageRow>, ServerFnError> {
    use crate::server::services::deliveries;
    let (state, actor) = actor()?;
    let page = page.max(1);
    // A page of the log, or (with `limit`) its first few for a summary.
    let limit = if limit > 0 {
        limit.min(MESSAGES_PAGE)
    } else {
        MESSAGES_PAGE
    };
    let q = deliveries::ListQuery {
        person_id: super::ssr::optional_id(&person_id)?,
        status: Some(status.as_str()),
        kind: Some(kind.as_str()),
        channel: Some(channel.as_str()),
        reminder_rule_id: super::ssr::optional_id(&reminder_id)?,
        skip: (page - 1) * limit,
        limit,
    };
    let rows = deliveries::list(&state, &actor, q).await.map_err(fail)?;
    // Everyone's name in one statement.
    let names = crate::server::db::persons::names(
        &state.db,
        actor.org_id(),
        rows.iter().filter_map(|(d, _)| d.person_id),
    )
    .await
    .map_err(|e| fail(e.into()))?;
    Ok(rows
        .into_iter()
        .map(|(delivery, explanation)| MessageRow {
            person_name: delivery.person_id.and_then(|p| names.get(&p).cloned()),
            delivery,
            explanation,
        })
        .collect())
}

#[server(prefix = "/srv", endpoint = "messages/get_message")]
pub async fn get_message(id: String) -> Result<DeliveryDetail, ServerFnError> {
    let (state, actor) = actor()?;
    crate::server::services::deliveries::get(&state, &actor, parse_id(&id)?)
        .await
        .map_err(fail)
}

/// `retry` or `cancel` a delivery.
#[server(prefix = "/srv", endpoint = "messages/change_message")]
pub async fn change_message(id: String, action: String) -> Result<(), ServerFnError> {
    use crate::server::services::deliveries;
    let (state, actor) = actor()?;
    let id = parse_id(&id)?;
    match action.as_str() {
        "retry" => deliveries::retry(&state, &actor, id).await,
        "cancel" => deliveries::cancel(&state, &actor, id).await,
        _ => return Err(ServerFnError::new("Unknown action.")),
    }
    .map(|_| ())
    .map_err(fail)
}

#[server(prefix = "/srv", endpoint = "messages/my_notifications")]
pub async fn my_notifications(
    #[server(default)] unread_only: bool,
) -> Result<Vec<Notification>, ServerFnError> {
    let (state, actor) = actor()?;
    let crate::server::auth::Actor::Staff(user) = &actor else {
        return Ok(Vec::new());
    };
    crate::server::db::channels::notifications(
        &state.db,
        user.org_id,
        user.staff_id,
        unread_only,
        100,
    )
    .await
    .map_err(|e| fail(e.into()))
}

/// What the navigation counts: the signed-in staff member's unread notifications, and the
/// messages awaiting approval.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NavBadges {
    pub unread: i64,
    pub awaiting_approval: i64,
}

#[server(prefix = "/srv", endpoint = "messages/nav_counts")]
pub async fn nav_counts() -> Result<NavBadges, ServerFnError> {
    let (state, actor) = actor()?;
    let crate::server::auth::Actor::Staff(user) = &actor else {
        return Ok(NavBadges::default());
    };
    let (unread, awaiting_approval) =
        crate::server::db::channels::nav_counts(&state.db, user.org_id, user.staff_id)
            .await
            .map_err(|e| fail(e.into()))?;
    Ok(NavBadges {
        unread,
        awaiting_approval,
    })
}

/// Marks one notification read, or all of them when `id` is empty.
#[server(prefix = "/srv", endpoint = "messages/mark_read")]
pub async fn mark_read(#[server(default)] id: String) -> Result<(), ServerFnError> {
    let (state, actor) = actor()?;
    let crate::server::auth::Actor::Staff(user) = &actor else {
        return Ok(());
    };
    let id = super::ssr::optional_id(&id)?;
    crate::server::db::channels::mark_read(
        &state.db,
        user.org_id,
        user.staff_id,
        id,
        state.clock.now(),
    )
    .await
    .map(|_| ())
    .map_err(|e| fail(e.into()))
}

#[server(prefix = "/srv", endpoint = "messages/list_channels")]
pub async fn list_channels() -> Result<Vec<ChannelView>, ServerFnError> {
    let (state, actor) = actor()?;
    crate::server::services::channels::list(&state, &actor)
        .await
        .map_err(fail)
}

/// Saves a channel's settings (`settings[key]` fields; blank secrets keep the stored ones).
#[server(prefix = "/srv", endpoint = "messages/save_channel")]
pub async fn save_channel(
    channel: String,
    #[server(default)] enabled: Option<String>,
    #[server(default)] settings: BTreeMap<String, String>,
) -> Result<FormOutcome, ServerFnError> {
    let (state, actor) = actor()?;
    let result = crate::server::services::channels::set(
        &state,
        &actor,
        &channel,
        &settings,
        Some(enabled.is_some()),
    )
    .await
    .map(|v| v.channel);
    super::ssr::form_result(result)
}

/// Sends a test message through a channel now; answers with what became of it.
#[server(prefix = "/srv", endpoint = "messages/test_channel")]
pub async fn test_channel(
    channel: String,
    #[server(default)] to: String,
) -> Result<String, ServerFnError> {
    let (state, actor) = actor()?;
    let detail = crate::server::services::channels::test(&state, &actor, &channel, Some(&to))
        .await
        .map_err(fail)?;
    Ok(format!("Test message {}.", detail.explanation))
}
