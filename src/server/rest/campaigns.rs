//! `/api/v1/campaigns`: list and create campaigns, read and change one (a `status` in the body
//! activates, pauses or resumes it), its audience as it stands, and its results (JSON, or the
//! per-arm table as CSV).

use super::{object_body, patch_body, path_id, query_id, ApiActor, ApiError};
use crate::domain::campaigns::stats::CampaignStats;
use crate::domain::campaigns::{AudiencePreview, Campaign, CampaignInput, CampaignPreview};
use crate::server::services::campaigns;
use crate::server::services::deserialize_input;
use crate::server::AppState;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/campaigns", get(list).post(create))
        .route("/campaigns/{id}", get(read).put(update))
        .route("/campaigns/{id}/audience", get(audience))
        .route("/campaigns/{id}/preview", get(preview))
        .route("/campaigns/{id}/stats", get(stats))
        .route("/campaigns/{id}/stats.csv", get(stats_csv))
}

#[derive(Deserialize)]
struct ListParams {
    status: Option<String>,
    skip: Option<i64>,
    limit: Option<i64>,
}

/// A page of campaigns and how many there are in all.
#[derive(Serialize)]
struct CampaignPage {
    items: Vec<Campaign>,
    total: i64,
}

async fn list(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<CampaignPage>, ApiError> {
    let Query(p) = params?;
    let (items, total) = campaigns::list(
        &state,
        &actor,
        p.status.as_deref(),
        p.skip.unwrap_or(0),
        p.limit.unwrap_or(50),
    )
    .await?;
    Ok(Json(CampaignPage { items, total }))
}

async fn create(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Campaign>), ApiError> {
    let input: CampaignInput = deserialize_input(object_body(body)?)?;
    let c = campaigns::create(&state, &actor, &input).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

async fn read(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<Campaign>, ApiError> {
    Ok(Json(
        campaigns::get(&state, &actor, path_id(&id, "campaign")?).await?,
    ))
}

async fn update(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Campaign>, ApiError> {
    let id = path_id(&id, "campaign")?;
    Ok(Json(
        campaigns::update(&state, &actor, id, patch_body(body)?).await?,
    ))
}

async fn audience(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<AudiencePreview>, ApiError> {
    let id = path_id(&id, "campaign")?;
    Ok(Json(campaigns::audience(&state, &actor, id).await?))
}

async fn stats(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<CampaignStats>, ApiError> {
    let id = path_id(&id, "campaign")?;
    Ok(Json(campaigns::stats(&state, &actor, id).await?))
}

async fn stats_csv(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = path_id(&id, "campaign")?;
    Ok(crate::server::http::csv_attachment(
        &format!("campaign-{id}-results.csv"),
        campaigns::stats_csv(&state, &actor, id).await?,
    ))
}

#[derive(Deserialize)]
struct PreviewParams {
    person_id: Option<String>,
}

async fn preview(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    params: Result<Query<PreviewParams>, QueryRejection>,
) -> Result<Json<CampaignPreview>, ApiError> {
    let id = path_id(&id, "campaign")?;
    let Query(p) = params?;
    let person = query_id("person_id", p.person_id.as_deref())?
        .ok_or_else(|| ApiError::invalid("person_id", "choose the client to preview for"))?;
    Ok(Json(campaigns::preview(&state, &actor, id, person).await?))
}
