//! The approval queue. When the organisation requires it (Settings → Engagement → AI writing),
//! a message its model wrote waits as `awaiting_approval` instead of going: staff approve it
//! (it goes at the time it was meant for, or now), edit it (the safety filter runs again on
//! the new words, and a failing edit is refused) or reject it (never sent), one by one or in
//! bulk. One that waits past its expiry is suppressed by housekeeping, with that reason.
//! Every decision is an event on the message and an entry in the audit log.

use super::audit;
use super::engagement::{policy_of, screen, Mentioned};
use crate::domain::delivery::{Delivery, DeliveryDetail, DeliveryStatus};
use crate::domain::engagement::template::with_unsubscribe;
use crate::domain::FieldErrors;
use crate::server::auth::Actor;
use crate::server::db::approvals::{self as repo, Verdict};
use crate::server::db::{campaigns, deliveries, persons};
use crate::server::error::{ServiceError, ServiceResult};
use crate::server::AppState;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

/// The most messages one bulk decision takes.
pub const MAX_BULK: usize = 500;

/// What a bulk decision did: the messages it moved, and those it left (no longer awaiting
/// approval — decided by someone else, or expired — or not found).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Reviewed {
    pub decided: Vec<Uuid>,
    pub skipped: Vec<Uuid>,
}

/// A page of the messages awaiting approval, oldest first (each with what it is waiting for,
/// in words), and how many there are.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    skip: i64,
    limit: i64,
) -> ServiceResult<(Vec<(Delivery, String)>, i64)> {
    super::page_bounds(skip, limit)?;
    let (rows, total) = repo::list(&state.db, actor.org_id(), skip, limit).await?;
    let now = state.clock.now();
    let rows = rows
        .into_iter()
        .map(|d| {
            let why = crate::domain::delivery::explain(&d, now);
            (d, why)
        })
        .collect();
    Ok((rows, total))
}

fn check_ids(ids: &[Uuid]) -> ServiceResult<()> {
    if ids.is_empty() {
        return Err(ServiceError::invalid("ids", "choose at least one message"));
    }
    if ids.len() > MAX_BULK {
        return Err(ServiceError::invalid(
            "ids",
            format!("at most {MAX_BULK} messages at once, not {}", ids.len()),
        ));
    }
    Ok(())
}

/// Approves the messages: each goes at the time it was meant for (quiet hours and the send
/// window still hold), or now if that has passed.
pub async fn approve(state: &AppState, actor: &Actor, ids: &[Uuid]) -> ServiceResult<Reviewed> {
    decide(state, actor, ids, &Verdict::Approve).await
}

/// Rejects the messages: none of them is ever sent.
pub async fn reject(
    state: &AppState,
    actor: &Actor,
    ids: &[Uuid],
    reason: &str,
) -> ServiceResult<Reviewed> {
    let reason = reason.trim();
    if reason.chars().count() > 500 {
        return Err(ServiceError::invalid(
            "reason",
            "must be at most 500 characters",
        ));
    }
    let reason = if reason.is_empty() {
        format!("rejected by {}", actor.label())
    } else {
        format!("rejected by {}: {reason}", actor.label())
    };
    decide(state, actor, ids, &Verdict::Reject { reason: &reason }).await
}

async fn decide(
    state: &AppState,
    actor: &Actor,
    ids: &[Uuid],
    verdict: &Verdict<'_>,
) -> ServiceResult<Reviewed> {
    actor.require_write()?;
    check_ids(ids)?;
    let org_id = actor.org_id();
    let now = state.clock.now();
    let (action, detail) = match verdict {
        Verdict::Approve => ("approve", format!("approved by {}", actor.label())),
        Verdict::Reject { reason } => ("reject", reason.to_string()),
    };
    let mut campaign_of = std::collections::HashMap::new();
    for &id in ids {
        if let Some(d) = deliveries::get(&state.db, org_id, id).await? {
            campaign_of.insert(id, d.campaign_id);
        }
    }
    let mut out = Reviewed::default();
    let mut tx = state.db.begin().await?;
    for &id in ids {
        let campaign = campaign_of.get(&id).copied().flatten();
        if repo::decide(&mut tx, org_id, id, verdict, actor.staff_id(), &detail, now).await? {
            out.decided.push(id);
            // A rejected message may have been its campaign's last unsettled one.
            if let (Verdict::Reject { .. }, Some(c)) = (verdict, campaign) {
                campaigns::complete_if_settled(&mut tx, org_id, c, now).await?;
            }
        } else {
            out.skipped.push(id);
        }
    }
    tx.commit().await?;
    if matches!(verdict, Verdict::Approve) && !out.decided.is_empty() {
        state.wake.notify_one();
    }
    if !out.decided.is_empty() {
        audit(
            &state.db,
            actor,
            action,
            "approval",
            None,
            json!({ "deliveries": out.decided, "detail": detail }),
            now,
        )
        .await;
    }
    Ok(out)
}

/// New words for a message awaiting approval. The safety filter runs on them (with the
/// unsubscribe link kept); words that fail are refused, each failing check named, and the
/// message keeps its old words. It still awaits approval afterwards.
pub async fn edit(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    subject: Option<&str>,
    body: &str,
) -> ServiceResult<DeliveryDetail> {
    actor.require_write()?;
    let org_id = actor.org_id();
    let d = deliveries::get(&state.db, org_id, id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if d.status != DeliveryStatus::AwaitingApproval {
        return Err(ServiceError::Conflict {
            field: None,
            message: format!(
                "only a message awaiting approval can be edited; this one is {}",
                d.status.as_str()
            ),
        });
    }
    let mut errors = FieldErrors::new();
    let body = body.trim();
    if body.is_empty() {
        errors.add("body", "the message needs words");
    }
    let subject = subject.map(str::trim).filter(|s| !s.is_empty());
    if subject.is_some_and(|s| s.chars().count() > 300) {
        errors.add("subject", "must be at most 300 characters");
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let person = match d.person_id {
        Some(p) => persons::get(&state.db, org_id, p).await?,
        None => None,
    }
    .ok_or_else(|| ServiceError::Conflict {
        field: None,
        message: "the client of this message was deleted; reject it instead".into(),
    })?;
    let unsubscribe = d
        .metadata
        .get("unsubscribe_url")
        .and_then(|u| u.as_str())
        .unwrap_or_default();
    let body = with_unsubscribe(body.to_string(), unsubscribe);
    let policy = policy_of(state, org_id).await?;
    let report = screen(
        state,
        &policy,
        &person,
        d.channel,
        subject.unwrap_or_default(),
        &body,
        &mut Mentioned::default(),
    )
    .await?;
    if !report.passed {
        return Err(ServiceError::invalid(
            "body",
            format!(
                "the safety filter refuses these words: {}",
                report.failures()
            ),
        ));
    }
    let now = state.clock.now();
    let mut metadata = d.metadata.clone();
    metadata["edited"] = json!({ "by": actor.label(), "at": now });
    let mut tx = state.db.begin().await?;
    let done = repo::edit(
        &mut tx,
        org_id,
        id,
        subject.or(d.subject.as_deref()),
        &body,
        &serde_json::to_value(&report).unwrap_or_default(),
        &metadata,
        &format!("edited by {}", actor.label()),
        now,
    )
    .await?;
    tx.commit().await?;
    if !done {
        return Err(ServiceError::Conflict {
            field: None,
            message: "the message was decided meanwhile".into(),
        });
    }
    audit(
        &state.db,
        actor,
        "edit",
        "approval",
        Some(id),
        json!({ "body_chars": body.chars().count() }),
        now,
    )
    .await;
    super::deliveries::get(state, actor, id).await
}

/// Suppresses every message whose approval waited past its expiry (housekeeping), in chunks;
/// how many.
pub async fn expire_due(state: &AppState, now: DateTime<Utc>) -> ServiceResult<usize> {
    let mut expired = 0;
    loop {
        let due = repo::expired(&state.db, now, 200).await?;
        let mut tx = state.db.begin().await?;
        for &(org_id, id, campaign) in &due {
            if repo::expire(&mut tx, org_id, id, now).await? {
                expired += 1;
                // It may have been its campaign's last unsettled message.
                if let Some(c) = campaign {
                    campaigns::complete_if_settled(&mut tx, org_id, c, now).await?;
                }
            }
        }
        tx.commit().await?;
        if due.len() < 200 {
            break;
        }
    }
    Ok(expired)
}
