//! Projects the team runs for a client (plan an anniversary dinner, renew a club membership)
//! and their tasks, with how far along each project is.

use super::dates::{parse_date, parse_uuid};
use super::person::{bounded, present};
use super::FieldErrors;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProjectStatus {
    #[default]
    New,
    InProgress,
    Completed,
    Cancelled,
}

text_enum!(ProjectStatus, "a project status", {
    New => "new", InProgress => "in_progress", Completed => "completed", Cancelled => "cancelled",
});

impl ProjectStatus {
    pub fn label(self) -> &'static str {
        match self {
            Self::New => "New",
            Self::InProgress => "In progress",
            Self::Completed => "Completed",
            Self::Cancelled => "Cancelled",
        }
    }

    /// New and in-progress projects are active.
    pub fn is_active(self) -> bool {
        matches!(self, Self::New | Self::InProgress)
    }
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    #[default]
    Todo,
    InProgress,
    Done,
}

text_enum!(TaskStatus, "a task status", {
    Todo => "todo", InProgress => "in_progress", Done => "done",
});

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Project {
    pub id: Uuid,
    pub org_id: Uuid,
    pub person_id: Option<Uuid>,
    pub title: String,
    pub description: Option<String>,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub status: ProjectStatus,
    pub priority: i32,
    pub due_date: Option<NaiveDate>,
    pub assigned_staff_id: Option<Uuid>,
    pub total_tasks: i64,
    pub completed_tasks: i64,
    /// Done tasks as a whole percentage of all tasks (0 with no tasks).
    #[cfg_attr(feature = "ssr", sqlx(default))]
    pub completion_percentage: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Done tasks as a whole percentage, rounded down so 100 means every task is done.
pub fn completion(done: i64, total: i64) -> i64 {
    if total <= 0 {
        0
    } else {
        done.clamp(0, total) * 100 / total
    }
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Task {
    pub id: Uuid,
    pub org_id: Uuid,
    pub project_id: Uuid,
    pub title: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub status: TaskStatus,
    pub due_date: Option<NaiveDate>,
    pub assigned_staff_id: Option<Uuid>,
    /// 0-based place in the project's list.
    pub position: i32,
    pub completed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectInput {
    #[serde(default)]
    #[cfg_attr(
        feature = "ssr",
        schema(
            pattern = r"^\s*([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})?\s*$"
        )
    )]
    pub person_id: Option<String>,
    #[serde(default)]
    #[cfg_attr(
        feature = "ssr",
        schema(
            required = true,
            nullable = false,
            min_length = 1,
            pattern = r"\S",
            max_length = 200
        )
    )]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    #[cfg_attr(
        feature = "ssr",
        schema(pattern = r"^\s*(new|in_progress|completed|cancelled)?\s*$")
    )]
    pub status: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(minimum = 1, maximum = 5))]
    pub priority: Option<i64>,
    #[serde(default)]
    #[cfg_attr(
        feature = "ssr",
        schema(
            pattern = r"^\s*((19[0-9]{2}|2[01][0-9]{2})-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8]))?\s*$"
        )
    )]
    pub due_date: Option<String>,
    #[serde(default, alias = "assigned_to_account_id")]
    #[cfg_attr(
        feature = "ssr",
        schema(
            pattern = r"^\s*([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})?\s*$"
        )
    )]
    pub assigned_staff_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ProjectDraft {
    pub person_id: Option<Uuid>,
    pub title: String,
    pub description: Option<String>,
    pub status: ProjectStatus,
    pub priority: i32,
    pub due_date: Option<NaiveDate>,
    pub assigned_staff_id: Option<Uuid>,
}

fn optional_id(field: &str, value: &Option<String>, errors: &mut FieldErrors) -> Option<Uuid> {
    present(value).and_then(|v| errors.check(field, parse_uuid(field, v)))
}

fn required_title(value: &Option<String>, errors: &mut FieldErrors) -> Option<String> {
    match present(value) {
        None => {
            errors.add("title", "is required");
            None
        }
        Some(t) => bounded("title", Some(t), 200, errors),
    }
}

impl ProjectDraft {
    pub fn parse(input: &ProjectInput) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let person_id = optional_id("person_id", &input.person_id, &mut errors);
        let title = required_title(&input.title, &mut errors);
        let description = bounded(
            "description",
            present(&input.description),
            5_000,
            &mut errors,
        );
        let status = match present(&input.status) {
            None => Some(ProjectStatus::New),
            Some(s) => errors.check("status", ProjectStatus::parse(s)),
        };
        let priority = match input.priority {
            None => Some(3),
            Some(p) if (1..=5).contains(&p) => Some(p as i32),
            Some(_) => {
                errors.add("priority", "must be between 1 (highest) and 5");
                None
            }
        };
        let due_date =
            present(&input.due_date).and_then(|d| errors.check("due_date", parse_date(d)));
        let assigned_staff_id =
            optional_id("assigned_staff_id", &input.assigned_staff_id, &mut errors);
        match (title, status, priority) {
            (Some(title), Some(status), Some(priority)) if errors.is_empty() => Ok(Self {
                person_id,
                title,
                description,
                status,
                priority,
                due_date,
                assigned_staff_id,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskInput {
    #[serde(default)]
    #[cfg_attr(
        feature = "ssr",
        schema(
            required = true,
            nullable = false,
            min_length = 1,
            pattern = r"\S",
            max_length = 200
        )
    )]
    pub title: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(pattern = r"^\s*(todo|in_progress|done)?\s*$"))]
    pub status: Option<String>,
    #[serde(default)]
    #[cfg_attr(
        feature = "ssr",
        schema(
            pattern = r"^\s*((19[0-9]{2}|2[01][0-9]{2})-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8]))?\s*$"
        )
    )]
    pub due_date: Option<String>,
    #[serde(default, alias = "assigned_to_account_id")]
    #[cfg_attr(
        feature = "ssr",
        schema(
            pattern = r"^\s*([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})?\s*$"
        )
    )]
    pub assigned_staff_id: Option<String>,
    /// Where the task goes in its project's list (0 = first); absent keeps it (or appends).
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(minimum = 0))]
    pub position: Option<i64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TaskDraft {
    pub title: String,
    pub status: TaskStatus,
    pub due_date: Option<NaiveDate>,
    pub assigned_staff_id: Option<Uuid>,
    pub position: Option<i64>,
}

impl TaskDraft {
    pub fn parse(input: &TaskInput) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let title = required_title(&input.title, &mut errors);
        let status = match present(&input.status) {
            None => Some(TaskStatus::Todo),
            Some(s) => errors.check("status", TaskStatus::parse(s)),
        };
        let due_date =
            present(&input.due_date).and_then(|d| errors.check("due_date", parse_date(d)));
        let assigned_staff_id =
            optional_id("assigned_staff_id", &input.assigned_staff_id, &mut errors);
        if input.position.is_some_and(|p| p < 0) {
            errors.add("position", "must not be negative");
        }
        match (title, status) {
            (Some(title), Some(status)) if errors.is_empty() => Ok(Self {
                title,
                status,
                due_date,
                assigned_staff_id,
                position: input.position,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_rounds_down() {
        assert_eq!(completion(0, 0), 0);
        assert_eq!(completion(4, 7), 57);
        assert_eq!(completion(6, 7), 85);
        assert_eq!(completion(7, 7), 100);
    }

    #[test]
    fn project_fields_are_checked() {
        let input = ProjectInput {
            title: Some(" ".into()),
            status: Some("sleeping".into()),
            priority: Some(9),
            due_date: Some("soon".into()),
            person_id: Some("x".into()),
            ..Default::default()
        };
        let errors = ProjectDraft::parse(&input).unwrap_err();
        for f in ["title", "status", "priority", "due_date", "person_id"] {
            assert!(errors.get(f).is_some(), "{f}: {errors}");
        }
    }
}
