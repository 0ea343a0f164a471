//! Projects: the list across clients, a project with its tasks (add, complete, reorder), the
//! project form, and a client's active projects on their profile.

use crate::api::projects::{
    get_project, list_projects, AddTask, ChangeTask, ProjectRow, SaveProject, PROJECTS_PAGE,
};
use crate::api::vendors::project_recommendations;
use crate::components::{
    action_error, can_write, form_errors, id_param, query_param, urlencode, ErrorNotice, Field,
    FieldMessage, Progress, Tabs,
};
use crate::domain::projects::{Project, ProjectStatus, Task, TaskStatus};
use crate::pages::vendors::RecommendationsPanel;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

fn priority_label(n: i32) -> String {
    match n {
        1 => "1 — highest".into(),
        3 => "3 — normal".into(),
        5 => "5 — lowest".into(),
        n => n.to_string(),
    }
}

fn due_label(p: &Project) -> String {
    p.due_date
        .map(|d| format!("due {}", d.format("%-d %b %Y")))
        .unwrap_or_default()
}

#[component]
pub fn ProjectsPage() -> impl IntoView {
    let status = query_param("status", "active");
    let page = query_param("page", "1");
    let list = Resource::new(
        move || (status.get(), page.get().parse::<i64>().unwrap_or(1).max(1)),
        |(s, p)| list_projects(s, String::new(), p),
    );
    let writable = can_write();
    view! {
        <Title text="Projects"/>
        <div class="page-head">
            <h1>"Projects"</h1>
            <Suspense fallback=|| ()>
                {move || writable.get().then(|| view! { <a class="button primary" href="/projects/new">"New project"</a> })}
            </Suspense>
        </div>
        <Tabs label="Filter projects" base="/projects" name="status" current=status tabs=&[
            ("active", "Active"), ("completed", "Completed"), ("cancelled", "Cancelled"), ("all", "All"),
        ]/>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(rows) if rows.is_empty() => view! { <p class="empty">"No projects here."</p> }.into_any(),
                    Ok(mut rows) => {
                        let current = page.get_untracked().parse::<i64>().unwrap_or(1).max(1);
                        let more = rows.len() as i64 > PROJECTS_PAGE;
                        rows.truncate(PROJECTS_PAGE as usize);
                        let link = move |p: i64| format!("/projects?status={}&page={p}", urlencode(&status.get_untracked()));
                        view! {
                            <ProjectTable rows/>
                            <crate::components::PageLinks page=current more link/>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn ProjectTable(rows: Vec<ProjectRow>) -> impl IntoView {
    view! {
        <table class="table">
            <thead>
                <tr><th scope="col">"Project"</th><th scope="col">"Client"</th><th scope="col">"Status"</th>
                    <th scope="col">"Priority"</th><th scope="col">"Due"</th><th scope="col">"Done"</th></tr>
            </thead>
            <tbody>
                {rows.into_iter().map(|r| {
                    let p = r.project;
                    view! {
                        <tr>
                            <td><a href=format!("/projects/{}", p.id)>{p.title.clone()}</a></td>
                            <td>{match (p.person_id, r.person_name) {
                                (Some(id), Some(name)) => view! { <a href=format!("/clients/{id}")>{name}</a> }.into_any(),
                                _ => view! { <span class="muted">"—"</span> }.into_any(),
                            }}</td>
                            <td><span class=format!("status status-{}", p.status.as_str())>{p.status.label()}</span></td>
                            <td>{p.priority}</td>
                            <td>{p.due_date.map(|d| d.format("%-d %b %Y").to_string()).unwrap_or_default()}</td>
                            <td><Progress percent=p.completion_percentage/>
                                <span class="muted">{format!(" {}/{}", p.completed_tasks, p.total_tasks)}</span></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// A client's active projects, for their profile.
#[component]
pub fn ClientProjects(
    person_id: String,
    projects: Vec<Project>,
    writable: Signal<bool>,
) -> impl IntoView {
    let add = format!("/projects/new?client={person_id}");
    view! {
        <section class="panel" aria-labelledby="projects-heading">
            <div class="panel-head">
                <h2 id="projects-heading">"Active projects"</h2>
                {move || writable.get().then(|| view! { <a class="button" href=add.clone()>"New project"</a> })}
            </div>
            {if projects.is_empty() {
                view! { <p class="empty">"No active projects."</p> }.into_any()
            } else {
                view! {
                    <ul class="project-list">
                        {projects.into_iter().map(|p| view! {
                            <li class="project-line">
                                <a href=format!("/projects/{}", p.id)>{p.title.clone()}</a>
                                <span class="muted">{due_label(&p)}</span>
                                <Progress percent=p.completion_percentage/>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}

#[component]
pub fn ProjectPage() -> impl IntoView {
    let id = id_param();
    let add = ServerAction::<AddTask>::new();
    let change = ServerAction::<ChangeTask>::new();
    let view_data = Resource::new(
        move || (id.get(), add.version().get(), change.version().get()),
        |(id, _, _)| get_project(id),
    );
    let recommendations = Resource::new(move || id.get(), project_recommendations);
    let writable = can_write();
    let add_errors = form_errors(add);
    let add_error = action_error(add);
    let change_error = action_error(change);
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match view_data.await {
                    Err(e) => view! { <Title text="Project"/><p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(v) => {
                        let p = v.project;
                        let pid = p.id.to_string();
                        let count = v.tasks.len() as i64;
                        view! {
                            <Title text=p.title.clone()/>
                            <div class="page-head">
                                <h1>{p.title.clone()}</h1>
                                {move || writable.get().then(|| view! { <a class="button" href=format!("/projects/{}/edit", p.id)>"Edit"</a> })}
                            </div>
                            <p class="project-meta">
                                <span class=format!("status status-{}", p.status.as_str())>{p.status.label()}</span>
                                {format!(" · priority {} · ", p.priority)}
                                {match (p.person_id, v.person_name) {
                                    (Some(id), Some(name)) => view! { "for " <a href=format!("/clients/{id}")>{name}</a> }.into_any(),
                                    _ => view! { "no client" }.into_any(),
                                }}
                                {p.due_date.map(|d| format!(" · due {}", d.format("%-d %B %Y")))}
                            </p>
                            <p><Progress percent=p.completion_percentage/>
                               <span class="muted">{format!(" {} of {} tasks done", p.completed_tasks, p.total_tasks)}</span></p>
                            {p.description.clone().map(|d| view! { <p class="notes">{d}</p> })}
                            <section class="panel" aria-labelledby="tasks-heading">
                                <h2 id="tasks-heading">"Tasks"</h2>
                                <ErrorNotice message=change_error/>
                                {if v.tasks.is_empty() {
                                    view! { <p class="empty">"No tasks yet."</p> }.into_any()
                                } else {
                                    view! {
                                        <ol class="task-list">
                                            {v.tasks.into_iter().map(|t| view! { <TaskLine task=t count change writable/> }).collect_view()}
                                        </ol>
                                    }.into_any()
                                }}
                                {move || writable.get().then(|| {
                                    let pid = pid.clone();
                                    view! {
                                        <ActionForm action=add attr:class="inline-form" attr:aria-label="Add a task">
                                            <input type="hidden" name="project_id" value=pid/>
                                            <Field label="New task" name="title" errors=add_errors required=true/>
                                            <Field label="Due" name="due_date" kind="date" errors=add_errors/>
                                            <button type="submit" class="primary">"Add task"</button>
                                        </ActionForm>
                                        <ErrorNotice message=add_error/>
                                    }
                                })}
                            </section>
                            <Suspense fallback=|| ()>
                                {move || {
                                    let (person, project) = (p.person_id.map(|x| x.to_string()).unwrap_or_default(), p.id.to_string());
                                    Suspend::new(async move {
                                        let items = recommendations.await.unwrap_or_default();
                                        view! { <RecommendationsPanel person_id=person project_id=project items writable/> }
                                    })
                                }}
                            </Suspense>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn TaskLine(
    task: Task,
    count: i64,
    change: ServerAction<ChangeTask>,
    writable: Signal<bool>,
) -> impl IntoView {
    let done = task.status == TaskStatus::Done;
    let id = task.id.to_string();
    let pos = task.position as i64;
    let button = move |label: &'static str,
                       text: &'static str,
                       status: &'static str,
                       position: Option<i64>| {
        let id = id.clone();
        view! {
            <ActionForm action=change attr:class="inline">
                <input type="hidden" name="id" value=id/>
                <input type="hidden" name="status" value=status/>
                {position.map(|p| view! { <input type="hidden" name="position" value=p.to_string()/> })}
                <button type="submit" class="link-button" aria-label=label>{text}</button>
            </ActionForm>
        }
    };
    let title = task.title.clone();
    view! {
        <li class="task-line" class:done=done>
            <span class="task-title">{task.title.clone()}</span>
            {task.due_date.map(|d| view! { <span class="muted">{format!("due {}", d.format("%-d %b"))}</span> })}
            {move || writable.get().then(|| view! {
                <span class="task-actions">
                    {if done {
                        button("Reopen", "Reopen", "todo", None).into_any()
                    } else {
                        button("Mark done", "Done ✓", "done", None).into_any()
                    }}
                    {(pos > 0).then(|| button("Move up", "↑", "", Some(pos - 1)))}
                    {(pos + 1 < count).then(|| button("Move down", "↓", "", Some(pos + 1)))}
                </span>
            })}
            <span class="visually-hidden">{if done { format!("{title} is done") } else { String::new() }}</span>
        </li>
    }
}

#[component]
pub fn NewProjectPage() -> impl IntoView {
    let query = use_query_map();
    let client = move || query.read().get("client").unwrap_or_default();
    view! {
        <Title text="New project"/>
        <h1>"New project"</h1>
        {move || view! { <ProjectForm project=None person_id=client()/> }}
    }
}

#[component]
pub fn EditProjectPage() -> impl IntoView {
    let id = id_param();
    let data = Resource::new(move || id.get(), get_project);
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <Title text="Project"/><p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(v) => {
                        let pid = v.project.person_id.map(|p| p.to_string()).unwrap_or_default();
                        view! {
                            <Title text=format!("Edit {}", v.project.title)/>
                            <h1>"Edit " {v.project.title.clone()}</h1>
                            <ProjectForm project=Some(v.project) person_id=pid/>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn ProjectForm(project: Option<Project>, person_id: String) -> impl IntoView {
    let save = ServerAction::<SaveProject>::new();
    let errors = form_errors(save);
    let error = action_error(save);
    let p = project.clone();
    let status = p.as_ref().map(|p| p.status).unwrap_or_default();
    let priority = p.as_ref().map(|p| p.priority).unwrap_or(3);
    view! {
        <ActionForm action=save attr:class="form">
            {p.as_ref().map(|p| view! { <input type="hidden" name="id" value=p.id.to_string()/> })}
            <input type="hidden" name="person_id" value=person_id/>
            <Field label="Title" name="title" errors required=true value=p.as_ref().map(|p| p.title.clone()).unwrap_or_default()/>
            <div class="field">
                <label for="f-description">"Description"</label>
                <textarea id="f-description" name="description" rows="4">{p.as_ref().and_then(|p| p.description.clone()).unwrap_or_default()}</textarea>
                <FieldMessage name="description" errors/>
            </div>
            <div class="field">
                <label for="f-status">"Status"</label>
                <select id="f-status" name="status">
                    {ProjectStatus::ALL.iter().map(|s| view! {
                        <option value=s.as_str() selected=*s == status>{s.label()}</option>
                    }).collect_view()}
                </select>
                <FieldMessage name="status" errors/>
            </div>
            <div class="field">
                <label for="f-priority">"Priority"</label>
                <select id="f-priority" name="priority">
                    {(1..=5).map(|n| view! {
                        <option value=n.to_string() selected=n == priority>
                            {priority_label(n)}
                        </option>
                    }).collect_view()}
                </select>
                <FieldMessage name="priority" errors/>
            </div>
            <Field label="Due date" name="due_date" kind="date" errors value=p.as_ref().and_then(|p| p.due_date).map(|d| d.to_string()).unwrap_or_default()/>
            <FieldMessage name="person_id" errors/>
            <ErrorNotice message=error/>
            <button type="submit" class="primary">"Save project"</button>
        </ActionForm>
    }
}
