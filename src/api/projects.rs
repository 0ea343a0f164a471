//! Projects and their tasks for the portal: lists, a project with its tasks, the project form,
//! and adding, completing and reordering tasks.

use super::FormOutcome;
use crate::domain::projects::{Project, Task};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr::{actor, fail, optional_id, parse_id};

/// A project with its tasks and the client's name, for the detail page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProjectView {
    pub project: Project,
    pub tasks: Vec<Task>,
    pub person_name: Option<String>,
}

/// A project in a list, with its client's name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProjectRow {
    pub project: Project,
    pub person_name: Option<String>,
}

#[cfg(feature = "ssr")]
async fn person_name(
    state: &crate::server::AppState,
    actor: &crate::server::auth::Actor,
    id: Option<uuid::Uuid>,
) -> Option<String> {
    let id = id?;
    crate::server::services::persons::get(state, actor, id)
        .await
        .ok()
        .map(|p| p.full_name)
}

/// How many projects a page of the list shows.
pub const PROJECTS_PAGE: i64 = 50;

/// A page of projects (from 1), most urgent first: `status` is a status, `active`, or empty
/// for all. One more than a page is read, to know whether there is a next one.
#[server(prefix = "/srv", endpoint = "projects/list_projects")]
pub async fn list_projects(
    #[server(default)] status: String,
    #[server(default)] person_id: String,
    #[server(default)] page: i64,
) -> Result<Vec<ProjectRow>, ServerFnError> {
    use crate::server::services::projects::{self, ListQuery};
    let (state, actor) = actor()?;
    let active_only = status == "active";
    let q = ListQuery {
        person_id: optional_id(&person_id)?,
        status: (!active_only).then_some(status),
        active_only,
        skip: (page.max(1) - 1) * PROJECTS_PAGE,
        limit: PROJECTS_PAGE + 1,
    };
    let list = projects::list(&state, &actor, q).await.map_err(fail)?;
    // Every client's name in one statement.
    let names = crate::server::db::persons::names(
        &state.db,
        actor.org_id(),
        list.iter().filter_map(|p| p.person_id),
    )
    .await
    .map_err(|e| fail(e.into()))?;
    Ok(list
        .into_iter()
        .map(|project| ProjectRow {
            person_name: project.person_id.and_then(|p| names.get(&p).cloned()),
            project,
        })
        .collect())
}

#[server(prefix = "/srv", endpoint = "projects/get_project")]
pub async fn get_project(id: String) -> Result<ProjectView, ServerFnError> {
    use crate::server::services::projects;
    let (state, actor) = actor()?;
    let id = parse_id(&id)?;
    let project = projects::get(&state, &actor, id).await.map_err(fail)?;
    let tasks = projects::tasks(&state, &actor, id).await.map_err(fail)?;
    let person_name = person_name(&state, &actor, project.person_id).await;
    Ok(ProjectView {
        project,
        tasks,
        person_name,
    })
}

/// Creates (no `id`) or changes a project, then opens it.
#[server(prefix = "/srv", endpoint = "projects/save_project")]
pub async fn save_project(
    #[server(default)] id: Option<String>,
    #[server(default)] person_id: String,
    #[server(default)] title: String,
    #[server(default)] description: String,
    #[server(default)] status: String,
    #[server(default)] priority: String,
    #[server(default)] due_date: String,
) -> Result<FormOutcome, ServerFnError> {
    use crate::domain::projects::ProjectInput;
    use crate::server::services::projects;
    let (state, actor) = actor()?;
    let id = optional_id(id.as_deref().unwrap_or_default())?;
    let priority = match priority.trim() {
        "" => None,
        p => match p.parse::<i64>() {
            Ok(p) => Some(p),
            Err(_) => {
                return Ok(FormOutcome::Invalid(crate::domain::FieldErrors::single(
                    "priority",
                    "must be a number from 1 to 5",
                )))
            }
        },
    };
    let base = match id {
        Some(id) => {
            let p = projects::get(&state, &actor, id).await.map_err(fail)?;
            ProjectInput {
                assigned_staff_id: p.assigned_staff_id.map(|s| s.to_string()),
                ..Default::default()
            }
        }
        None => ProjectInput::default(),
    };
    let input = ProjectInput {
        person_id: Some(person_id),
        title: Some(title),
        description: Some(description),
        status: Some(status),
        priority,
        due_date: Some(due_date),
        ..base
    };
    let result = projects::save(&state, &actor, id, &input)
        .await
        .map(|p| p.id.to_string());
    let outcome = super::ssr::form_result(result)?;
    if let FormOutcome::Saved(id) = &outcome {
        leptos_axum::redirect(&format!("/projects/{id}"));
    }
    Ok(outcome)
}

#[server(prefix = "/srv", endpoint = "projects/add_task")]
pub async fn add_task(
    project_id: String,
    #[server(default)] title: String,
    #[server(default)] due_date: String,
) -> Result<FormOutcome, ServerFnError> {
    use crate::domain::projects::TaskInput;
    let (state, actor) = actor()?;
    let input = TaskInput {
        title: Some(title),
        due_date: Some(due_date),
        ..Default::default()
    };
    let result =
        crate::server::services::projects::add_task(&state, &actor, parse_id(&project_id)?, &input)
            .await
            .map(|t| t.id.to_string());
    super::ssr::form_result(result)
}

/// Changes one thing about a task: `status` (`todo`, `in_progress`, `done`) or `position`.
#[server(prefix = "/srv", endpoint = "projects/change_task")]
pub async fn change_task(
    id: String,
    #[server(default)] status: String,
    #[server(default)] position: Option<i64>,
) -> Result<(), ServerFnError> {
    let (state, actor) = actor()?;
    let mut patch = serde_json::Map::new();
    if !status.is_empty() {
        patch.insert("status".into(), status.into());
    }
    if let Some(p) = position {
        patch.insert("position".into(), p.max(0).into());
    }
    crate::server::services::projects::patch_task(&state, &actor, parse_id(&id)?, patch)
        .await
        .map(|_| ())
        .map_err(fail)
}

/// The signed-in staff member's open tasks, for Home.
#[server(prefix = "/srv", endpoint = "projects/my_tasks")]
pub async fn my_tasks() -> Result<Vec<Task>, ServerFnError> {
    let (state, actor) = actor()?;
    crate::server::services::projects::my_tasks(&state, &actor)
        .await
        .map_err(fail)
}
