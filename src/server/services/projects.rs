//! Projects and tasks: create, change, list; tasks added, completed and reordered.

use super::{active_staff, audit, live_person};
use crate::domain::projects::{
    completion, Project, ProjectDraft, ProjectInput, ProjectStatus, Task, TaskDraft, TaskInput,
};
use crate::server::auth::Actor;
use crate::server::db::projects::{self as repo, ProjectFilter};
use crate::server::error::{ServiceError, ServiceResult};
use crate::server::AppState;
use serde_json::json;
use uuid::Uuid;

fn with_completion(mut p: Project) -> Project {
    p.completion_percentage = completion(p.completed_tasks, p.total_tasks);
    p
}

pub async fn get(state: &AppState, actor: &Actor, id: Uuid) -> ServiceResult<Project> {
    repo::get_project(&state.db, actor.org_id(), id)
        .await?
        .map(with_completion)
        .ok_or(ServiceError::NotFound)
}

/// Creates a project (no `id`) or replaces one's fields.
pub async fn save(
    state: &AppState,
    actor: &Actor,
    id: Option<Uuid>,
    input: &ProjectInput,
) -> ServiceResult<Project> {
    actor.require_write()?;
    let draft = ProjectDraft::parse(input)?;
    if let Some(p) = draft.person_id {
        live_person(state, actor, p, "person_id").await?;
    }
    if let Some(s) = draft.assigned_staff_id {
        active_staff(state, actor, s, "assigned_staff_id").await?;
    }
    if let Some(id) = id {
        get(state, actor, id).await?;
    }
    let now = state.clock.now();
    let pid = id.unwrap_or_else(Uuid::now_v7);
    if !repo::save_project(&state.db, actor.org_id(), pid, &draft, now, id.is_none()).await? {
        return Err(ServiceError::NotFound);
    }
    let action = if id.is_some() { "update" } else { "create" };
    audit(
        &state.db,
        actor,
        action,
        "project",
        Some(pid),
        json!({ "title": draft.title, "status": draft.status.as_str() }),
        now,
    )
    .await;
    get(state, actor, pid).await
}

/// A partial update: present fields replace stored ones, `null` clears.
pub async fn patch(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    patch: serde_json::Map<String, serde_json::Value>,
) -> ServiceResult<Project> {
    actor.require_write()?;
    let p = get(state, actor, id).await?;
    let base = ProjectInput {
        person_id: p.person_id.map(|x| x.to_string()),
        title: Some(p.title),
        description: p.description,
        status: Some(p.status.as_str().into()),
        priority: Some(p.priority.into()),
        due_date: p.due_date.map(|d| d.to_string()),
        assigned_staff_id: p.assigned_staff_id.map(|x| x.to_string()),
    };
    let input: ProjectInput = super::merge_patch(
        &base,
        patch,
        &[("assigned_to_account_id", "assigned_staff_id")],
    )?;
    save(state, actor, Some(id), &input).await
}

pub struct ListQuery {
    pub person_id: Option<Uuid>,
    pub status: Option<String>,
    pub active_only: bool,
    pub skip: i64,
    pub limit: i64,
}

pub async fn list(state: &AppState, actor: &Actor, q: ListQuery) -> ServiceResult<Vec<Project>> {
    super::page_bounds(q.skip, q.limit)?;
    let status = super::enum_filter("status", q.status.as_deref(), ProjectStatus::parse)?
        .map(ProjectStatus::as_str);
    let filter = ProjectFilter {
        person_id: q.person_id,
        status,
        active_only: q.active_only,
    };
    Ok(
        repo::list_projects(&state.db, actor.org_id(), &filter, q.skip, q.limit)
            .await?
            .into_iter()
            .map(with_completion)
            .collect(),
    )
}

pub async fn tasks(state: &AppState, actor: &Actor, project_id: Uuid) -> ServiceResult<Vec<Task>> {
    get(state, actor, project_id).await?;
    Ok(repo::tasks(&state.db, actor.org_id(), project_id).await?)
}

pub async fn get_task(state: &AppState, actor: &Actor, id: Uuid) -> ServiceResult<Task> {
    let task = repo::get_task(&state.db, actor.org_id(), id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    // A task of a project out of sight (its person deleted) is out of sight too.
    get(state, actor, task.project_id).await?;
    Ok(task)
}

/// Adds a task to a project, at `position` or at the end.
pub async fn add_task(
    state: &AppState,
    actor: &Actor,
    project_id: Uuid,
    input: &TaskInput,
) -> ServiceResult<Task> {
    actor.require_write()?;
    get(state, actor, project_id).await?;
    let draft = TaskDraft::parse(input)?;
    if let Some(s) = draft.assigned_staff_id {
        active_staff(state, actor, s, "assigned_staff_id").await?;
    }
    let id = Uuid::now_v7();
    let now = state.clock.now();
    repo::save_task(&state.db, actor.org_id(), project_id, id, &draft, None, now).await?;
    audit(
        &state.db,
        actor,
        "create",
        "task",
        Some(id),
        json!({ "title": draft.title, "project_id": project_id }),
        now,
    )
    .await;
    get_task(state, actor, id).await
}

/// Changes a task: present fields replace stored ones; `position` moves it in the list.
pub async fn patch_task(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    patch: serde_json::Map<String, serde_json::Value>,
) -> ServiceResult<Task> {
    actor.require_write()?;
    let task = get_task(state, actor, id).await?;
    let base = TaskInput {
        title: Some(task.title.clone()),
        status: Some(task.status.as_str().into()),
        due_date: task.due_date.map(|d| d.to_string()),
        assigned_staff_id: task.assigned_staff_id.map(|x| x.to_string()),
        position: None,
    };
    let input: TaskInput = super::merge_patch(
        &base,
        patch,
        &[("assigned_to_account_id", "assigned_staff_id")],
    )?;
    let draft = TaskDraft::parse(&input)?;
    if let Some(s) = draft
        .assigned_staff_id
        .filter(|s| Some(*s) != task.assigned_staff_id)
    {
        active_staff(state, actor, s, "assigned_staff_id").await?;
    }
    let now = state.clock.now();
    repo::save_task(
        &state.db,
        actor.org_id(),
        task.project_id,
        id,
        &draft,
        Some(&task),
        now,
    )
    .await?;
    audit(
        &state.db,
        actor,
        "update",
        "task",
        Some(id),
        json!({ "title": draft.title, "status": draft.status.as_str() }),
        now,
    )
    .await;
    get_task(state, actor, id).await
}

/// The signed-in staff member's open tasks.
pub async fn my_tasks(state: &AppState, actor: &Actor) -> ServiceResult<Vec<Task>> {
    match actor {
        Actor::Staff(user) => {
            Ok(repo::open_tasks_for(&state.db, actor.org_id(), user.staff_id, 50).await?)
        }
        Actor::ApiKey { .. } => Ok(Vec::new()),
    }
}
