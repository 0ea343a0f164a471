//! What happens when a client follows a link from a message: a deep link (recorded, then on
//! to the booking, pre-filled) or unsubscribe (consent withdrawn at once).

use super::policy_of;
use crate::domain::delivery::Delivery;
use crate::domain::Person;
use crate::server::db::{deliveries, engagement as repo, orgs, persons};
use crate::server::error::ServiceResult;
use crate::server::links::Purpose;
use crate::server::AppState;
use serde_json::json;
use uuid::Uuid;

/// Where a deep link leads.
#[derive(Clone, Debug, PartialEq)]
pub enum Followed {
    /// To the booking, pre-filled; the click is recorded.
    Redirect(String),
    /// The link worked, but the organisation has no booking address: a thank-you page.
    Thanks { org_name: String },
    /// Too old: a friendly page with a way on (the booking, not pre-filled).
    Expired {
        org_name: String,
        booking_url: Option<String>,
    },
    /// Not a link of ours (tampered, or made up).
    NotFound,
}

/// The booking address with the pre-fill: the service of the last booking and the message the
/// click came from.
fn prefilled(base: &str, service: Option<&str>, delivery_id: Uuid) -> String {
    match url::Url::parse(base) {
        Ok(mut u) => {
            {
                let mut q = u.query_pairs_mut();
                if let Some(s) = service.filter(|s| !s.is_empty()) {
                    q.append_pair("service", s);
                }
                q.append_pair("ref", &delivery_id.to_string());
            }
            u.to_string()
        }
        Err(_) => base.to_string(),
    }
}

/// `GET /l/{token}`: records the click on the message and on the person's timeline, and says
/// where to go.
pub async fn follow(state: &AppState, token: &str) -> ServiceResult<Followed> {
    let links = state.links().await?;
    let Some(opened) = links.open(Purpose::Link, token) else {
        return Ok(Followed::NotFound);
    };
    let Some(d) = deliveries::by_signed_id(&state.db, opened.delivery_id).await? else {
        return Ok(Followed::NotFound);
    };
    let org_name = orgs::by_id(&state.db, d.org_id)
        .await?
        .map(|o| o.name)
        .unwrap_or_default();
    let policy = policy_of(state, d.org_id).await?;
    let now = state.clock.now();
    if opened.expired(now) {
        return Ok(Followed::Expired {
            org_name,
            booking_url: policy.booking_url,
        });
    }
    deliveries::respond(
        &state.db,
        d.org_id,
        d.id,
        "clicked",
        "the deep link was followed",
        now,
    )
    .await?;
    crate::server::services::deliveries::events::tell_now(
        state,
        d.org_id,
        &[(d.id, crate::domain::webhooks::EventType::Clicked)],
    )
    .await?;
    if let Some(person) = d.person_id {
        repo::answered(&state.db, d.org_id, person).await?;
    }
    let service = d.metadata.get("service").and_then(|s| s.as_str());
    Ok(match policy.booking_url {
        Some(base) => Followed::Redirect(prefilled(&base, service, d.id)),
        None => Followed::Thanks { org_name },
    })
}

/// What the unsubscribe page shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Unsubscribe {
    pub org_name: String,
    /// The address the message went to, partly hidden.
    pub address: Option<String>,
    /// Whether marketing consent is already withdrawn.
    pub done: bool,
}

/// "a••••@example.com", "+44•••••••89".
fn masked(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}••••@{domain}")
        }
        None => {
            let chars: Vec<char> = address.chars().collect();
            if chars.len() <= 5 {
                "•••".into()
            } else {
                let head: String = chars[..3].iter().collect();
                let tail: String = chars[chars.len() - 2..].iter().collect();
                format!("{head}•••••{tail}")
            }
        }
    }
}

async fn unsubscribe_target(
    state: &AppState,
    token: &str,
) -> ServiceResult<Option<(Delivery, Person, String)>> {
    let links = state.links().await?;
    let Some(opened) = links.open(Purpose::Unsubscribe, token) else {
        return Ok(None);
    };
    let Some(d) = deliveries::by_signed_id(&state.db, opened.delivery_id).await? else {
        return Ok(None);
    };
    let Some(person_id) = d.person_id else {
        return Ok(None);
    };
    let Some(person) = persons::get(&state.db, d.org_id, person_id).await? else {
        return Ok(None);
    };
    let org_name = orgs::by_id(&state.db, d.org_id)
        .await?
        .map(|o| o.name)
        .unwrap_or_default();
    Ok(Some((d, person, org_name)))
}

/// `GET /u/{token}`: what the confirmation page shows (`None`: not a link of ours).
pub async fn unsubscribe_page(state: &AppState, token: &str) -> ServiceResult<Option<Unsubscribe>> {
    Ok(unsubscribe_target(state, token)
        .await?
        .map(|(d, person, org_name)| Unsubscribe {
            org_name,
            address: d.address.as_deref().map(masked),
            done: !person.marketing_consent,
        }))
}

/// `POST /u/{token}` (RFC 8058 one-click): withdraws marketing consent at once, stamped with
/// the time and source, in the audit log and on the person's timeline. Doing it twice is
/// harmless.
pub async fn unsubscribe(state: &AppState, token: &str) -> ServiceResult<Option<Unsubscribe>> {
    let Some((d, person, org_name)) = unsubscribe_target(state, token).await? else {
        return Ok(None);
    };
    let now = state.clock.now();
    if person.marketing_consent {
        persons::withdraw_consent(&state.db, d.org_id, person.id, "unsubscribe link", now).await?;
        repo::reconsider(&state.db, d.org_id, person.id).await?;
        let entry = crate::server::db::audit::Entry {
            org_id: d.org_id,
            actor: "person:unsubscribe link",
            action: "withdraw_consent",
            entity: "person",
            entity_id: Some(person.id),
            detail: json!({ "delivery_id": d.id, "channel": d.channel.as_str(), "source": "unsubscribe link" }),
            at: now,
        };
        if let Err(err) = crate::server::db::audit::record(&state.db, entry).await {
            tracing::error!(error = %err, "could not write the audit log");
        }
    }
    deliveries::respond(
        &state.db,
        d.org_id,
        d.id,
        "unsubscribed",
        "marketing consent withdrawn through the unsubscribe link",
        now,
    )
    .await?;
    crate::server::services::deliveries::events::tell_now(
        state,
        d.org_id,
        &[(d.id, crate::domain::webhooks::EventType::Unsubscribed)],
    )
    .await?;
    Ok(Some(Unsubscribe {
        org_name,
        address: d.address.as_deref().map(masked),
        done: true,
    }))
}
