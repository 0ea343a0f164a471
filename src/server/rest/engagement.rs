//! `/api/v1/cron/run-engagement` (the run, or a dry run that changes nothing), the
//! engagement policy, past runs, a person's engagement explained, and the daily numbers.

use super::{path_id, ApiActor, ApiError, IdParam};
use crate::domain::engagement::{
    EngagementPolicy, EngagementRun, EngagementStats, PersonEngagement, RunDecision, RunReport,
    RunSummary, RunTrigger,
};
use crate::server::services::engagement as service;
use crate::server::AppState;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(run))
        .routes(routes!(policy))
        .routes(routes!(runs))
        .routes(routes!(run_detail))
        .routes(routes!(stats))
        .routes(routes!(person))
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct RunParams {
    /// `true` to decide and report without changing anything.
    #[param(pattern = r"^\s*(true|false|yes|no|on|off|1|0)?\s*$")]
    dry_run: Option<String>,
}

/// What to run (the body may also be left out).
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RunBody {
    /// `true` to decide and report without changing anything.
    #[serde(default)]
    dry_run: Option<bool>,
}

/// A run as the API answers it: the summary's counts at the top, then the decisions.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = EngagementRunReport)]
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
#[utoipa::path(post, path = "/cron/run-engagement", tag = "Engagement", summary = "Run engagement now: recompute segments and churn risk, then queue, hold or skip a nudge for every dormant or due person (dry_run: decide and report, change nothing)",
    params(RunParams),
    request_body(content = Option<RunBody>, description = "Optional; `dry_run` here or in the query"),
    responses((status = 200, description = "What the run found and did", body = RunBodyOut)))]
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
        // `null` is no body, as the document allows.
        if !value.is_null() {
            let b: RunBody = crate::server::services::deserialize_input(value)?;
            dry_run = dry_run || b.dry_run.unwrap_or(false);
        }
    }
    let report = service::run_now(&state, &actor, RunTrigger::Api, dry_run).await?;
    Ok(Json(report.into()))
}

#[utoipa::path(get, path = "/engagement/policy", tag = "Engagement", summary = "The engagement policy: thresholds, caps, quiet hours, channel, booking address, templates",
    responses((status = 200, description = "The policy", body = EngagementPolicy)))]
async fn policy(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
) -> Result<Json<EngagementPolicy>, ApiError> {
    Ok(Json(service::policy(&state, &actor).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = EngagementRuns)]
struct Runs {
    items: Vec<EngagementRun>,
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct LimitParams {
    /// How many runs (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct DaysParams {
    /// How many days back (default 14).
    #[param(minimum = 1, maximum = 90)]
    days: Option<i64>,
}

#[utoipa::path(get, path = "/engagement/runs", tag = "Engagement", summary = "The latest engagement runs with their summaries",
    params(LimitParams),
    responses((status = 200, description = "The runs, newest first", body = Runs)))]
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

#[utoipa::path(get, path = "/engagement/runs/{id}", tag = "Engagement", summary = "One run with its summary and the first decisions it made",
    params(IdParam),
    responses((status = 200, description = "The run", body = RunBodyOut)))]
async fn run_detail(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<RunBodyOut>, ApiError> {
    let id = path_id(&id, "engagement run")?;
    Ok(Json(service::run_detail(&state, &actor, id).await?.into()))
}

#[utoipa::path(get, path = "/engagement/stats", tag = "Engagement", summary = "Engagement messages sent, clicked and booked per day",
    params(DaysParams),
    responses((status = 200, description = "The numbers", body = EngagementStats)))]
async fn stats(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    params: Result<Query<DaysParams>, QueryRejection>,
) -> Result<Json<EngagementStats>, ApiError> {
    let Query(p) = params?;
    let days = p.days.unwrap_or(14);
    if !(1..=90).contains(&days) {
        return Err(ApiError::invalid("days", "must be between 1 and 90"));
    }
    Ok(Json(service::stats(&state, &actor, days).await?))
}

#[utoipa::path(get, path = "/persons/{id}/engagement", tag = "Engagement", summary = "The person's segment, churn risk and labels explained, their booking cadence and the latest decision about them",
    params(IdParam),
    responses((status = 200, description = "The person's engagement", body = PersonEngagement)))]
async fn person(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<PersonEngagement>, ApiError> {
    let id = path_id(&id, "person")?;
    Ok(Json(service::person(&state, &actor, id).await?))
}
