//! The approval queue for the portal: the messages awaiting approval, approving or rejecting
//! the ones ticked, and new words for one (the navigation's count is `messages::nav_counts`).

use super::FormOutcome;
use crate::domain::delivery::Delivery;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr::{actor, fail, form_result, parse_id};

/// A page of the queue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApprovalPage {
    pub items: Vec<ApprovalRow>,
    pub total: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRow {
    pub delivery: Delivery,
    pub explanation: String,
}

pub const APPROVALS_PAGE: i64 = 50;

#[server(prefix = "/srv", endpoint = "approvals/list_approvals")]
pub async fn list_approvals(#[server(default)] page: i64) -> Result<ApprovalPage, ServerFnError> {
    let (state, actor) = actor()?;
    let (rows, total) = crate::server::services::approvals::list(
        &state,
        &actor,
        page.max(0) * APPROVALS_PAGE,
        APPROVALS_PAGE,
    )
    .await
    .map_err(fail)?;
    Ok(ApprovalPage {
        items: rows
            .into_iter()
            .map(|(delivery, explanation)| ApprovalRow {
                delivery,
                explanation,
            })
            .collect(),
        total,
    })
}

/// Approves or rejects the ticked messages (`ids[0]`, `ids[1]` … in the form). `decision` is
/// `approve` or `reject`; a rejection may give a reason. Answers how many were decided.
#[server(prefix = "/srv", endpoint = "approvals/review")]
pub async fn review(
    #[server(default)] ids: Vec<String>,
    #[server(default)] decision: String,
    #[server(default)] reason: String,
) -> Result<usize, ServerFnError> {
    use crate::server::services::approvals;
    let (state, actor) = actor()?;
    let ids = ids
        .iter()
        .map(|id| parse_id(id))
        .collect::<Result<Vec<_>, _>>()?;
    let reviewed = match decision.as_str() {
        "approve" => approvals::approve(&state, &actor, &ids).await,
        "reject" => approvals::reject(&state, &actor, &ids, &reason).await,
        other => Err(crate::server::error::ServiceError::invalid(
            "decision",
            format!("'{other}' is not approve or reject"),
        )),
    }
    .map_err(fail)?;
    Ok(reviewed.decided.len())
}

/// New words for one message awaiting approval; the safety filter runs on them again.
#[server(prefix = "/srv", endpoint = "approvals/edit_approval")]
pub async fn edit_approval(
    id: String,
    #[server(default)] subject: String,
    #[server(default)] body: String,
) -> Result<FormOutcome, ServerFnError> {
    let (state, actor) = actor()?;
    let id = parse_id(&id)?;
    let result =
        crate::server::services::approvals::edit(&state, &actor, id, Some(subject.as_str()), &body)
            .await
            .map(|d| d.delivery.id.to_string());
    form_result(result)
}
