//! `/api/v1/projects`, `/projects/{id}/tasks` and `/tasks/{id}`.

use super::{object_body, patch_body, path_id, resource, ApiActor, ApiError, IdParam, Items};
use crate::domain::projects::{Project, ProjectInput, Task, TaskInput};
use crate::server::services::deserialize_input;
use crate::server::services::projects::{self, ListQuery};
use crate::server::AppState;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(list, create))
        .routes(routes!(read, update))
        .routes(routes!(list_tasks, add_task))
        .routes(routes!(read_task, update_task))
}

resource!(
    /// A project, with its completion.
    ProjectResource(Project) { project_id }
);
resource!(
    /// A task of a project.
    TaskResource(Task) { task_id }
);

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// Only this person's.
    person_id: Option<Uuid>,
    /// `new`, `in_progress`, `completed` or `cancelled` (`all` or empty for every one).
    #[param(pattern = r"^\s*(all|new|in_progress|completed|cancelled)?\s*$")]
    status: Option<String>,
    /// `true` for new and in-progress projects only.
    #[serde(default)]
    active_only: bool,
    /// How many to skip.
    #[param(minimum = 0)]
    skip: Option<i64>,
    /// How many to return (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/projects", tag = "Projects", summary = "List projects, most urgent first",
    params(ListParams), responses((status = 200, description = "The projects", body = Items<ProjectResource>)))]
async fn list(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<Items<ProjectResource>>, ApiError> {
    let Query(p) = params?;
    let q = ListQuery {
        person_id: p.person_id,
        status: p.status,
        active_only: p.active_only,
        skip: p.skip.unwrap_or(0),
        limit: p.limit.unwrap_or(50),
    };
    let items = projects::list(&state, &actor, q).await?;
    Ok(Items::of(items))
}

#[utoipa::path(post, path = "/projects", tag = "Projects", summary = "Create a project",
    request_body = ProjectInput, responses((status = 201, description = "Created", body = ProjectResource)))]
async fn create(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<ProjectResource>), ApiError> {
    let input: ProjectInput = deserialize_input(object_body(body)?)?;
    let p = projects::save(&state, &actor, None, &input).await?;
    Ok((StatusCode::CREATED, Json(p.into())))
}

#[utoipa::path(get, path = "/projects/{id}", tag = "Projects", summary = "Read a project with its completion",
    params(IdParam), responses((status = 200, description = "The project", body = ProjectResource)))]
async fn read(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<ProjectResource>, ApiError> {
    let p = projects::get(&state, &actor, path_id(&id, "project")?).await?;
    Ok(Json(p.into()))
}

#[utoipa::path(put, path = "/projects/{id}", tag = "Projects", summary = "Change a project (fields present replace)",
    params(IdParam), request_body = ProjectInput,
    responses((status = 200, description = "The project as changed", body = ProjectResource)))]
async fn update(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<ProjectResource>, ApiError> {
    let p = projects::patch(&state, &actor, path_id(&id, "project")?, patch_body(body)?).await?;
    Ok(Json(p.into()))
}

#[utoipa::path(get, path = "/projects/{id}/tasks", tag = "Projects", summary = "The project's tasks in order",
    params(IdParam), responses((status = 200, description = "Its tasks", body = Items<TaskResource>)))]
async fn list_tasks(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<Items<TaskResource>>, ApiError> {
    let items = projects::tasks(&state, &actor, path_id(&id, "project")?).await?;
    Ok(Items::of(items))
}

#[utoipa::path(post, path = "/projects/{id}/tasks", tag = "Projects", summary = "Add a task (at position, or at the end)",
    params(IdParam), request_body = TaskInput,
    responses((status = 201, description = "Created", body = TaskResource)))]
async fn add_task(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<TaskResource>), ApiError> {
    let id = path_id(&id, "project")?;
    let input: TaskInput = deserialize_input(object_body(body)?)?;
    let t = projects::add_task(&state, &actor, id, &input).await?;
    Ok((StatusCode::CREATED, Json(t.into())))
}

#[utoipa::path(get, path = "/tasks/{id}", tag = "Projects", summary = "Read a task",
    params(IdParam), responses((status = 200, description = "The task", body = TaskResource)))]
async fn read_task(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<TaskResource>, ApiError> {
    let t = projects::get_task(&state, &actor, path_id(&id, "task")?).await?;
    Ok(Json(t.into()))
}

#[utoipa::path(put, path = "/tasks/{id}", tag = "Projects", summary = "Change, complete or move a task (fields present replace)",
    params(IdParam), request_body = TaskInput,
    responses((status = 200, description = "The task as changed", body = TaskResource)))]
async fn update_task(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<TaskResource>, ApiError> {
    let t = projects::patch_task(&state, &actor, path_id(&id, "task")?, patch_body(body)?).await?;
    Ok(Json(t.into()))
}
