//! `/api/v1/campaigns`: list and create campaigns, read and change one (a `status` in the body
//! activates, pauses or resumes it), its audience as it stands, and its results (JSON, or the
//! per-arm table as CSV).

use super::{object_body, patch_body, path_id, ApiActor, ApiError, IdParam};
use crate::domain::campaigns::stats::CampaignStats;
use crate::domain::campaigns::{AudiencePreview, Campaign, CampaignInput, CampaignPreview};
use crate::server::services::campaigns;
use crate::server::services::deserialize_input;
use crate::server::AppState;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(list, create))
        .routes(routes!(read, update))
        .routes(routes!(audience))
        .routes(routes!(preview))
        .routes(routes!(stats))
        .routes(routes!(stats_csv))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// Only campaigns in this status (`draft`, `active`, `paused`, `completed`).
    #[param(pattern = r"^\s*(all|draft|active|paused|completed)?\s*$")]
    status: Option<String>,
    /// How many to skip.
    #[param(minimum = 0)]
    skip: Option<i64>,
    /// How many to return (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

/// A page of campaigns and how many there are in all.
#[derive(Serialize, utoipa::ToSchema)]
struct CampaignPage {
    items: Vec<Campaign>,
    total: i64,
}

#[utoipa::path(get, path = "/campaigns", tag = "Campaigns", summary = "List campaigns, newest first",
    params(ListParams),
    responses((status = 200, description = "A page of campaigns", body = CampaignPage)))]
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

#[utoipa::path(post, path = "/campaigns", tag = "Campaigns", summary = "Create a campaign (a draft): audience, channel, variants with weights, holdout, schedule, send window",
    request_body = CampaignInput,
    responses((status = 201, description = "Created", body = Campaign)))]
async fn create(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Campaign>), ApiError> {
    let input: CampaignInput = deserialize_input(object_body(body)?)?;
    let c = campaigns::create(&state, &actor, &input).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

#[utoipa::path(get, path = "/campaigns/{id}", tag = "Campaigns", summary = "Read a campaign",
    params(IdParam),
    responses((status = 200, description = "The campaign", body = Campaign)))]
async fn read(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<Campaign>, ApiError> {
    Ok(Json(
        campaigns::get(&state, &actor, path_id(&id, "campaign")?).await?,
    ))
}

#[utoipa::path(put, path = "/campaigns/{id}", tag = "Campaigns", summary = "Change a campaign (fields present replace; a status activates, pauses or resumes it)",
    params(IdParam),
    request_body = CampaignInput,
    responses((status = 200, description = "The campaign as changed", body = Campaign)))]
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

#[utoipa::path(get, path = "/campaigns/{id}/audience", tag = "Campaigns", summary = "The campaign's audience now: its size, each arm, and how many the policy would send, hold or skip (and why)",
    params(IdParam),
    responses((status = 200, description = "The audience", body = AudiencePreview)))]
async fn audience(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<AudiencePreview>, ApiError> {
    let id = path_id(&id, "campaign")?;
    Ok(Json(campaigns::audience(&state, &actor, id).await?))
}

#[utoipa::path(get, path = "/campaigns/{id}/stats", tag = "Campaigns", summary = "The campaign's results per variant and for the holdout, with 95 % intervals and lift, day by day",
    params(IdParam),
    responses((status = 200, description = "The results", body = CampaignStats)))]
async fn stats(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<CampaignStats>, ApiError> {
    let id = path_id(&id, "campaign")?;
    Ok(Json(campaigns::stats(&state, &actor, id).await?))
}

#[utoipa::path(get, path = "/campaigns/{id}/stats.csv", tag = "Campaigns", summary = "The campaign's results per arm as CSV",
    params(IdParam),
    responses((status = 200, description = "The results as CSV")))]
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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct PreviewParams {
    /// The client to preview for.
    #[param(required = true)]
    person_id: Option<Uuid>,
}

#[utoipa::path(get, path = "/campaigns/{id}/preview", tag = "Campaigns", summary = "Each variant rendered for a chosen client, with their arm and what the policy would do now",
    params(IdParam, PreviewParams),
    responses((status = 200, description = "The preview", body = CampaignPreview)))]
async fn preview(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    params: Result<Query<PreviewParams>, QueryRejection>,
) -> Result<Json<CampaignPreview>, ApiError> {
    let id = path_id(&id, "campaign")?;
    let Query(p) = params?;
    let person = p
        .person_id
        .ok_or_else(|| ApiError::invalid("person_id", "choose the client to preview for"))?;
    Ok(Json(campaigns::preview(&state, &actor, id, person).await?))
}
