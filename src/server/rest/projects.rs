//! `/api/v1/projects`, `/projects/{id}/tasks` and `/tasks/{id}`.

use super::{
    items_json, object_body, patch_body, path_id, query_id, with_id_alias, ApiActor, ApiError,
};
use crate::domain::projects::{Project, ProjectInput, Task, TaskInput};
use crate::server::services::deserialize_input;
use crate::server::services::projects::{self, ListQuery};
use crate::server::AppState;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/projects", get(list).post(create))
        .route("/projects/{id}", get(read).put(update))
        .route("/projects/{id}/tasks", get(list_tasks).post(add_task))
        .route("/tasks/{id}", put(update_task).get(read_task))
}

pub fn project_json(p: &Project) -> Value {
    with_id_alias(p, "project_id")
}

fn task_json(t: &Task) -> Value {
    with_id_alias(t, "task_id")
}

#[derive(Deserialize)]
struct ListParams {
    person_id: Option<String>,
    status: Option<String>,
    #[serde(default)]
    active_only: bool,
    skip: Option<i64>,
    limit: Option<i64>,
}

async fn list(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(p) = params?;
    let person_id = query_id("person_id", p.person_id.as_deref())?;
    let q = ListQuery {
        person_id,
        status: p.status,
        active_only: p.active_only,
        skip: p.skip.unwrap_or(0),
        limit: p.limit.unwrap_or(50),
    };
    let items = projects::list(&state, &actor, q).await?;
    Ok(items_json(&items, project_json, None))
}

async fn create(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let input: ProjectInput = deserialize_input(object_body(body)?)?;
    let p = projects::save(&state, &actor, None, &input).await?;
    Ok((StatusCode::CREATED, Json(project_json(&p))))
}

async fn read(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let p = projects::get(&state, &actor, path_id(&id, "project")?).await?;
    Ok(Json(project_json(&p)))
}

async fn update(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let p = projects::patch(&state, &actor, path_id(&id, "project")?, patch_body(body)?).await?;
    Ok(Json(project_json(&p)))
}

async fn list_tasks(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let items = projects::tasks(&state, &actor, path_id(&id, "project")?).await?;
    Ok(items_json(&items, task_json, None))
}

async fn add_task(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let id = path_id(&id, "project")?;
    let input: TaskInput = deserialize_input(object_body(body)?)?;
    let t = projects::add_task(&state, &actor, id, &input).await?;
    Ok((StatusCode::CREATED, Json(task_json(&t))))
}

async fn read_task(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let t = projects::get_task(&state, &actor, path_id(&id, "task")?).await?;
    Ok(Json(task_json(&t)))
}

async fn update_task(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let t = projects::patch_task(&state, &actor, path_id(&id, "task")?, patch_body(body)?).await?;
    Ok(Json(task_json(&t)))
}
