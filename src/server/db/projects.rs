//! Projects and their tasks. Projects of a soft-deleted person are out of sight with them.

use super::Db;
use crate::domain::projects::{Project, ProjectDraft, Task, TaskDraft, TaskStatus};
use crate::on_db;
use chrono::{DateTime, Utc};
use uuid::Uuid;

const PROJECT_COLUMNS: &str = "p.id, p.org_id, p.person_id, p.title, p.description, p.status, p.priority, \
    p.due_date, p.assigned_staff_id, p.created_at, p.updated_at, \
    (SELECT COUNT(*) FROM tasks t WHERE t.project_id = p.id) AS total_tasks, \
    (SELECT COUNT(*) FROM tasks t WHERE t.project_id = p.id AND t.status = 'done') AS completed_tasks";

/// Projects of no one or of a live person: written as "not of a deleted person", so the check
/// reads the few deleted people (`persons_deleted`), never every live one.
const VISIBLE: &str = "NOT EXISTS (SELECT 1 FROM persons x WHERE x.id = p.person_id \
    AND x.org_id = p.org_id AND x.deleted_at IS NOT NULL)";

pub async fn save_project(
    db: &Db,
    org_id: Uuid,
    id: Uuid,
    d: &ProjectDraft,
    at: DateTime<Utc>,
    insert: bool,
) -> Result<bool, sqlx::Error> {
    let sql = if insert {
        "INSERT INTO projects (id, org_id, person_id, title, description, status, priority, due_date, \
         assigned_staff_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)"
    } else {
        "UPDATE projects SET person_id = $3, title = $4, description = $5, status = $6, priority = $7, \
         due_date = $8, assigned_staff_id = $9, updated_at = $10 WHERE id = $1 AND org_id = $2"
    };
    on_db!(db, pool => sqlx::query(sql)
        .bind(id).bind(org_id).bind(d.person_id).bind(&d.title).bind(&d.description)
        .bind(d.status.as_str()).bind(d.priority).bind(d.due_date).bind(d.assigned_staff_id).bind(at)
        .execute(pool).await.map(|r| r.rows_affected() > 0))
}

pub async fn get_project(db: &Db, org_id: Uuid, id: Uuid) -> Result<Option<Project>, sqlx::Error> {
    let sql = format!(
        "SELECT {PROJECT_COLUMNS} FROM projects p WHERE p.org_id = $1 AND p.id = $2 AND {VISIBLE}"
    );
    on_db!(db, pool => sqlx::query_as::<_, Project>(&sql).bind(org_id).bind(id).fetch_optional(pool).await)
}

#[derive(Clone, Debug, Default)]
pub struct ProjectFilter {
    pub person_id: Option<Uuid>,
    pub status: Option<&'static str>,
    /// New and in-progress only.
    pub active_only: bool,
}

/// Projects, most urgent first: by priority, then due date (none last), then newest.
pub async fn list_projects(
    db: &Db,
    org_id: Uuid,
    f: &ProjectFilter,
    offset: i64,
    limit: i64,
) -> Result<Vec<Project>, sqlx::Error> {
    let mut clause = format!("p.org_id = $1 AND {VISIBLE}");
    let mut n = 4;
    if f.person_id.is_some() {
        clause.push_str(&format!(" AND p.person_id = ${n}"));
        n += 1;
    }
    if f.status.is_some() {
        clause.push_str(&format!(" AND p.status = ${n}"));
    }
    if f.active_only {
        clause.push_str(" AND p.status IN ('new', 'in_progress')");
    }
    let sql = format!(
        "SELECT {PROJECT_COLUMNS} FROM projects p WHERE {clause} \
         ORDER BY p.priority, p.due_date IS NULL, p.due_date, p.updated_at DESC, p.id LIMIT $2 OFFSET $3"
    );
    on_db!(db, pool => {
        let mut q = sqlx::query_as::<_, Project>(&sql).bind(org_id).bind(limit).bind(offset);
        if let Some(p) = f.person_id { q = q.bind(p); }
        if let Some(s) = f.status { q = q.bind(s); }
        q.fetch_all(pool).await
    })
}

const TASK_COLUMNS: &str =
    "id, org_id, project_id, title, status, due_date, assigned_staff_id, position, \
    completed_at, created_at, updated_at";

pub async fn tasks(db: &Db, org_id: Uuid, project_id: Uuid) -> Result<Vec<Task>, sqlx::Error> {
    let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE org_id = $1 AND project_id = $2 ORDER BY position, created_at");
    on_db!(db, pool => sqlx::query_as::<_, Task>(&sql).bind(org_id).bind(project_id).fetch_all(pool).await)
}

pub async fn get_task(db: &Db, org_id: Uuid, id: Uuid) -> Result<Option<Task>, sqlx::Error> {
    let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE org_id = $1 AND id = $2");
    on_db!(db, pool => sqlx::query_as::<_, Task>(&sql).bind(org_id).bind(id).fetch_optional(pool).await)
}

/// Open tasks assigned to one staff member, soonest due first.
pub async fn open_tasks_for(
    db: &Db,
    org_id: Uuid,
    staff_id: Uuid,
    limit: i64,
) -> Result<Vec<Task>, sqlx::Error> {
    let sql = format!(
        "SELECT {TASK_COLUMNS} FROM tasks WHERE org_id = $1 AND assigned_staff_id = $2 AND status <> 'done' \
         ORDER BY due_date IS NULL, due_date, created_at LIMIT $3"
    );
    on_db!(db, pool => sqlx::query_as::<_, Task>(&sql).bind(org_id).bind(staff_id).bind(limit).fetch_all(pool).await)
}

/// Writes a task at `position` (clamped to the list), moving the others to make room, all or
/// nothing. `existing` is the task as it was, for an update.
pub async fn save_task(
    db: &Db,
    org_id: Uuid,
    project_id: Uuid,
    id: Uuid,
    d: &TaskDraft,
    existing: Option<&Task>,
    at: DateTime<Utc>,
) -> Result<i32, sqlx::Error> {
    let completed_at = match (d.status, existing) {
        (TaskStatus::Done, Some(e)) if e.status == TaskStatus::Done => e.completed_at,
        (TaskStatus::Done, _) => Some(at),
        _ => None,
    };
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tasks WHERE org_id = $1 AND project_id = $2")
            .bind(org_id).bind(project_id).fetch_one(&mut *tx).await?;
        let position = match existing {
            None => {
                let to = d.position.unwrap_or(count).clamp(0, count) as i32;
                sqlx::query("UPDATE tasks SET position = position + 1 WHERE org_id = $1 AND project_id = $2 AND position >= $3")
                    .bind(org_id).bind(project_id).bind(to).execute(&mut *tx).await?;
                sqlx::query("INSERT INTO tasks (id, org_id, project_id, title, status, due_date, assigned_staff_id, \
                             position, completed_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)")
                    .bind(id).bind(org_id).bind(project_id).bind(&d.title).bind(d.status.as_str()).bind(d.due_date)
                    .bind(d.assigned_staff_id).bind(to).bind(completed_at).bind(at)
                    .execute(&mut *tx).await?;
                to
            }
            Some(e) => {
                let from = e.position;
                let to = d.position.map(|p| p.clamp(0, (count - 1).max(0)) as i32).unwrap_or(from);
                if to < from {
                    sqlx::query("UPDATE tasks SET position = position + 1 WHERE org_id = $1 AND project_id = $2 AND position >= $3 AND position < $4")
                        .bind(org_id).bind(project_id).bind(to).bind(from).execute(&mut *tx).await?;
                } else if to > from {
                    sqlx::query("UPDATE tasks SET position = position - 1 WHERE org_id = $1 AND project_id = $2 AND position > $3 AND position <= $4")
                        .bind(org_id).bind(project_id).bind(from).bind(to).execute(&mut *tx).await?;
                }
                sqlx::query("UPDATE tasks SET title = $3, status = $4, due_date = $5, assigned_staff_id = $6, \
                             position = $7, completed_at = $8, updated_at = $9 WHERE org_id = $1 AND id = $2")
                    .bind(org_id).bind(id).bind(&d.title).bind(d.status.as_str()).bind(d.due_date)
                    .bind(d.assigned_staff_id).bind(to).bind(completed_at).bind(at)
                    .execute(&mut *tx).await?;
                to
            }
        };
        sqlx::query("UPDATE projects SET updated_at = $3 WHERE org_id = $1 AND id = $2").bind(org_id).bind(project_id).bind(at).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(position)
    })
}
