//! `/api/v1/persons/{id}/dashboard` (the profile page's data) and `/persons/{id}/activity`
//! (the unified timeline).

use super::comms::ConversationResource;
use super::persons::PersonResource;
use super::projects::ProjectResource;
use super::vendors::RecommendationResource;
use super::{path_id, ApiActor, ApiError, IdParam, Items};
use crate::domain::comms::CommIdentity;
use crate::domain::dates::UpcomingDate;
use crate::domain::profile::{Dashboard, DashboardStats, TimelineEntry};
use crate::server::services::dashboard;
use crate::server::AppState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(read_dashboard))
        .routes(routes!(timeline))
}

/// A person with what their profile shows around them.
#[derive(Serialize, utoipa::ToSchema)]
struct DashboardResource {
    person: PersonResource,
    recent_conversations: Vec<ConversationResource>,
    upcoming_dates: Vec<UpcomingDate>,
    active_projects: Vec<ProjectResource>,
    recent_recommendations: Vec<RecommendationResource>,
    identities: Vec<CommIdentity>,
    stats: DashboardStats,
}

impl From<Dashboard> for DashboardResource {
    fn from(d: Dashboard) -> Self {
        fn all<R, T: From<R>>(records: Vec<R>) -> Vec<T> {
            records.into_iter().map(T::from).collect()
        }
        Self {
            person: d.person.into(),
            recent_conversations: all(d.recent_conversations),
            upcoming_dates: d.upcoming_dates,
            active_projects: all(d.active_projects),
            recent_recommendations: all(d.recent_recommendations),
            identities: d.identities,
            stats: d.stats,
        }
    }
}

#[utoipa::path(get, path = "/persons/{id}/dashboard", tag = "People",
    summary = "The person with recent conversations, upcoming dates, active projects, recent recommendations and stats",
    params(IdParam),
    responses((status = 200, description = "The person's dashboard", body = DashboardResource)))]
async fn read_dashboard(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<DashboardResource>, ApiError> {
    let d = dashboard::dashboard(&state, &actor, path_id(&id, "person")?).await?;
    Ok(Json(d.into()))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct TimelineParams {
    /// How many entries (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/persons/{id}/activity", tag = "People",
    summary = "The person's unified timeline, newest first",
    params(IdParam, TimelineParams),
    responses((status = 200, description = "The timeline", body = Items<TimelineEntry>)))]
async fn timeline(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    params: Result<Query<TimelineParams>, QueryRejection>,
) -> Result<Json<Items<TimelineEntry>>, ApiError> {
    let Query(p) = params?;
    let limit = p.limit.unwrap_or(50);
    let items = dashboard::timeline(&state, &actor, path_id(&id, "person")?, limit).await?;
    Ok(Items::of(items))
}
