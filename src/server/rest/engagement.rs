//! `/api/v1/cron/run-engagement` (the run, or a dry run that changes nothing), the
//! engagement policy, past runs, a person's engagement explained, and the daily numbers.

use super::{path_id, ApiActor, ApiError};
use crate::domain::engagement::{
    EngagementPolicy, EngagementRun, EngagementStats, PersonEngagement, RunDecision, RunReport,
    RunSummary, RunTrigger,
};
use crate::server::services::engagement as service;
use crate::server::AppState;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cron/run-engagement", post(run))
        .route("/engagement/policy", get(policy))
        .route("/engagement/runs", get(runs))
        .route("/engagement/runs/{id}", get(run_detail))
        .route("/engagement/stats", get(stats))
        .route("/persons/{id}/engagement", get(person))
}

#[derive(Deserialize, Default)]
struct RunParams {
    dry_run: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RunBody {
    #[serde(default)]
    dry_run: Option<bool>,
}

/// A run as the API answers it: the summary's counts at the top, then the decisions.
#[derive(Serialize)]
struct RunBodyOut {
    id: Uuid,
    dry_run: bool,
    trigger: RunTrigger,
    started_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    #[serde(flatten)]
    summary: RunSummary,
    error: Option<String>,
    decisions: Vec<RunDecision>,
    /// Whether `decisions` stops short of every decision made.
    truncated: bool,
}

impl From<RunReport> for RunBodyOut {
    fn from(r: RunReport) -> Self {
        Self {
            id: r.run.id,
            dry_run: r.run.dry_run,
            trigger: r.run.trigger,
            started_at: r.run.started_at,
            finished_at: r.run.finished_at,
            summary: r.run.summary,
            error: r.run.error,
            decisions: r.decisions,
            truncated: r.truncated,
        }
    }
}

fn flag(field: &str, raw: &str) -> Result<bool, ApiError> {
    crate::domain::engagement::policy::parse_flag(raw).map_err(|m| ApiError::invalid(field, m))
}

/// `POST /cron/run-engagement[?dry_run=true]` (or `{"dry_run": true}`).
async fn run(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    params: Result<Query<RunParams>, QueryRejection>,
    body: Bytes,
) -> Result<Json<RunBodyOut>, ApiError> {
    let Query(p) = params?;
    let mut dry_run = match p.dry_run.as_deref().map(str::trim) {
        None | Some("") => false,
        Some(raw) => flag("dry_run", raw)?,
    };
    if !body.iter().all(u8::is_ascii_whitespace) {
        let value: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("the body is not JSON: {e}")))?;
        let b: RunBody = crate::server::services::deserialize_input(value)?;
        dry_run = dry_run || b.dry_run.unwrap_or(false);
    }
    let report = service::run_now(&state, &actor, RunTrigger::Api, dry_run).await?;
    Ok(Json(report.into()))
}

async fn policy(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
) -> Result<Json<EngagementPolicy>, ApiError> {
    Ok(Json(service::policy(&state, &actor).await?))
}

#[derive(Serialize)]
struct Runs {
    items: Vec<EngagementRun>,
}

#[derive(Deserialize, Default)]
struct LimitParams {
    limit: Option<i64>,
    days: Option<i64>,
}

async fn runs(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    params: Result<Query<LimitParams>, QueryRejection>,
) -> Result<Json<Runs>, ApiError> {
    let Query(p) = params?;
    let limit = p.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be between 1 and 100"));
    }
    Ok(Json(Runs {
        items: service::runs(&state, &actor, limit).await?,
    }))
}

async fn run_detail(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<RunBodyOut>, ApiError> {
    let id = path_id(&id, "engagement run")?;
    Ok(Json(service::run_detail(&state, &actor, id).await?.into()))
}

async fn stats(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    params: Result<Query<LimitParams>, QueryRejection>,
) -> Result<Json<EngagementStats>, ApiError> {
    let Query(p) = params?;
    let days = p.days.unwrap_or(14);
    if !(1..=90).contains(&days) {
        return Err(ApiError::invalid("days", "must be between 1 and 90"));
    }
    Ok(Json(service::stats(&state, &actor, days).await?))
}

async fn person(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<PersonEngagement>, ApiError> {
    let id = path_id(&id, "person")?;
    Ok(Json(service::person(&state, &actor, id).await?))
}
