//! The vendor catalogue and recommendations to people and projects.

use super::{audit, live_person, page_bounds};
use crate::domain::person::split_tags;
use crate::domain::vendors::{
    Recommendation, RecommendationDraft, RecommendationInput, RecommendationStatus, Vendor,
    VendorDraft, VendorInput, VendorKind,
};
use crate::server::auth::Actor;
use crate::server::db::vendors::{self as repo, RecommendationFilter, VendorFilter};
use crate::server::error::{ServiceError, ServiceResult};
use crate::server::AppState;
use serde_json::json;
use uuid::Uuid;

pub async fn get_vendor(state: &AppState, actor: &Actor, id: Uuid) -> ServiceResult<Vendor> {
    repo::get_vendor(&state.db, actor.org_id(), id)
        .await?
        .ok_or(ServiceError::NotFound)
}

#[derive(Clone, Debug, Default)]
pub struct VendorQuery {
    pub q: Option<String>,
    pub kind: Option<String>,
    pub tag: Option<String>,
    pub skip: i64,
    pub limit: i64,
}

pub async fn list_vendors(
    state: &AppState,
    actor: &Actor,
    q: VendorQuery,
) -> ServiceResult<(Vec<Vendor>, i64)> {
    page_bounds(q.skip, q.limit)?;
    let kind =
        super::enum_filter("kind", q.kind.as_deref(), VendorKind::parse)?.map(VendorKind::as_str);
    let filter = VendorFilter {
        words: q
            .q
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .take(8)
            .map(str::to_lowercase)
            .collect(),
        kind,
        tag: q
            .tag
            .as_deref()
            .and_then(|t| split_tags(t).into_iter().next()),
    };
    Ok(repo::list_vendors(&state.db, actor.org_id(), &filter, q.skip, q.limit).await?)
}

/// Adds a vendor (no `id`) or replaces one's fields.
pub async fn save_vendor(
    state: &AppState,
    actor: &Actor,
    id: Option<Uuid>,
    input: &VendorInput,
) -> ServiceResult<Vendor> {
    actor.require_write()?;
    let draft = VendorDraft::parse(input)?;
    let vid = id.unwrap_or_else(Uuid::now_v7);
    let now = state.clock.now();
    if !repo::save_vendor(&state.db, actor.org_id(), vid, &draft, now, id.is_none()).await? {
        return Err(ServiceError::NotFound);
    }
    audit(
        &state.db,
        actor,
        if id.is_some() { "update" } else { "create" },
        "vendor",
        Some(vid),
        json!({ "name": draft.name, "kind": draft.kind.as_str() }),
        now,
    )
    .await;
    get_vendor(state, actor, vid).await
}

pub async fn patch_vendor(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    patch: serde_json::Map<String, serde_json::Value>,
) -> ServiceResult<Vendor> {
    actor.require_write()?;
    let base = get_vendor(state, actor, id).await?.to_input();
    let input: VendorInput = super::merge_patch(&base, patch, &[("category", "kind")])?;
    save_vendor(state, actor, Some(id), &input).await
}

pub async fn delete_vendor(state: &AppState, actor: &Actor, id: Uuid) -> ServiceResult<()> {
    actor.require_write()?;
    let vendor = get_vendor(state, actor, id).await?;
    let now = state.clock.now();
    if !repo::delete_vendor(&state.db, actor.org_id(), id, now).await? {
        return Err(ServiceError::NotFound);
    }
    audit(
        &state.db,
        actor,
        "delete",
        "vendor",
        Some(id),
        json!({ "name": vendor.name }),
        now,
    )
    .await;
    Ok(())
}

pub async fn get_recommendation(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
) -> ServiceResult<Recommendation> {
    repo::get_recommendation(&state.db, actor.org_id(), id)
        .await?
        .ok_or(ServiceError::NotFound)
}

pub async fn list_recommendations(
    state: &AppState,
    actor: &Actor,
    filter: RecommendationFilter,
    skip: i64,
    limit: i64,
) -> ServiceResult<(Vec<Recommendation>, i64)> {
    page_bounds(skip, limit)?;
    Ok(repo::list_recommendations(&state.db, actor.org_id(), &filter, skip, limit).await?)
}

/// Checks what a recommendation points at: a vendor in the catalogue, a live person, a
/// project in sight; each named as the field that is wrong.
async fn check_targets(
    state: &AppState,
    actor: &Actor,
    draft: &RecommendationDraft,
    previous_vendor: Option<Uuid>,
) -> ServiceResult<()> {
    // A vendor since removed from the catalogue may stay on a recommendation made before.
    if previous_vendor != Some(draft.vendor_id) {
        repo::get_vendor(&state.db, actor.org_id(), draft.vendor_id)
            .await?
            .ok_or_else(|| {
                ServiceError::missing("vendor_id", "there is no such vendor in the catalogue")
            })?;
    }
    if let Some(p) = draft.person_id {
        live_person(state, actor, p, "person_id").await?;
    }
    if let Some(p) = draft.project_id {
        crate::server::db::projects::get_project(&state.db, actor.org_id(), p)
            .await?
            .ok_or_else(|| {
                ServiceError::missing(
                    "project_id",
                    "there is no such project in this organisation",
                )
            })?;
    }
    Ok(())
}

pub async fn recommend(
    state: &AppState,
    actor: &Actor,
    input: &RecommendationInput,
) -> ServiceResult<Recommendation> {
    actor.require_write()?;
    let draft = RecommendationDraft::parse(input)?;
    check_targets(state, actor, &draft, None).await?;
    let id = Uuid::now_v7();
    let now = state.clock.now();
    let by = match actor {
        Actor::Staff(s) => s.display_name.clone(),
        Actor::ApiKey { name, .. } => name.clone(),
    };
    repo::insert_recommendation(&state.db, actor.org_id(), id, &draft, &by, now).await?;
    audit(
        &state.db,
        actor,
        "create",
        "recommendation",
        Some(id),
        json!({ "vendor_id": draft.vendor_id, "person_id": draft.person_id, "project_id": draft.project_id }),
        now,
    )
    .await;
    get_recommendation(state, actor, id).await
}

pub async fn patch_recommendation(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    patch: serde_json::Map<String, serde_json::Value>,
) -> ServiceResult<Recommendation> {
    actor.require_write()?;
    let r = get_recommendation(state, actor, id).await?;
    let base = RecommendationInput {
        vendor_id: Some(r.vendor_id.to_string()),
        person_id: r.person_id.map(|x| x.to_string()),
        project_id: r.project_id.map(|x| x.to_string()),
        notes: r.notes.clone(),
        status: Some(r.status.as_str().into()),
    };
    let input: RecommendationInput = super::merge_patch(&base, patch, &[])?;
    let draft = RecommendationDraft::parse(&input)?;
    check_targets(state, actor, &draft, Some(r.vendor_id)).await?;
    let now = state.clock.now();
    if !repo::update_recommendation(&state.db, actor.org_id(), id, &draft, now).await? {
        return Err(ServiceError::NotFound);
    }
    audit(
        &state.db,
        actor,
        "update",
        "recommendation",
        Some(id),
        json!({ "status": draft.status.as_str() }),
        now,
    )
    .await;
    get_recommendation(state, actor, id).await
}

/// Marks a recommendation accepted or declined (the portal's buttons).
pub async fn set_recommendation_status(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    status: RecommendationStatus,
) -> ServiceResult<Recommendation> {
    let mut patch = serde_json::Map::new();
    patch.insert("status".into(), json!(status.as_str()));
    patch_recommendation(state, actor, id, patch).await
}

pub async fn delete_recommendation(state: &AppState, actor: &Actor, id: Uuid) -> ServiceResult<()> {
    actor.require_write()?;
    get_recommendation(state, actor, id).await?;
    repo::delete_recommendation(&state.db, actor.org_id(), id).await?;
    audit(
        &state.db,
        actor,
        "delete",
        "recommendation",
        Some(id),
        json!({}),
        state.clock.now(),
    )
    .await;
    Ok(())
}
