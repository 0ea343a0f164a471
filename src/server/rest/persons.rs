//! `/api/v1/persons`: create (an upsert when `external_id` is given), list with search and a
//! cursor, read, partial update, soft delete.

use super::{object_body, ApiActor, ApiError};
use crate::domain::Person;
use crate::server::services::persons::{self, ListQuery};
use crate::server::services::privacy;
use crate::server::AppState;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(list, create))
        .routes(routes!(read, update, remove))
        .routes(routes!(export))
}

/// A person as the API shows it; `person_id` repeats `id` for clients written against the
/// original prototype's field names.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PersonResource {
    #[serde(flatten)]
    person: Person,
    person_id: Uuid,
}

impl From<Person> for PersonResource {
    fn from(person: Person) -> Self {
        Self {
            person_id: person.id,
            person,
        }
    }
}

fn person_id(raw: &str) -> Result<Uuid, ApiError> {
    super::path_id(raw, "person")
}

#[utoipa::path(post, path = "/persons", tag = "People",
    summary = "Create a person, or update the one with the same external_id",
    request_body = crate::domain::PersonInput,
    responses(
        (status = 201, description = "Created", body = PersonResource),
        (status = 200, description = "The person with this external_id, updated", body = PersonResource),
    ))]
async fn create(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<Response, ApiError> {
    let input: crate::domain::PersonInput =
        crate::server::services::deserialize_input(object_body(body)?)?;
    let (person, created) = persons::upsert(&state, &actor, &input).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(PersonResource::from(person))).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// Words to find in name, e-mail, phone and tags.
    q: Option<String>,
    /// `client`, `family_member` or `contact`.
    #[serde(alias = "type")]
    #[param(pattern = r"^\s*(client|family_member|contact)\s*$")]
    person_type: Option<String>,
    /// Only people with this tag.
    tag: Option<String>,
    /// Only the people this staff member looks after.
    assigned_staff_id: Option<Uuid>,
    /// Only the people in this segment: `new`, `active`, `at_risk`, `dormant` or `churned`
    /// (`all` or empty for everyone).
    #[param(pattern = r"^\s*(all|new|active|at_risk|dormant|churned)?\s*$")]
    segment: Option<String>,
    /// How many to return (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// How many to skip (without a cursor).
    #[param(minimum = 0)]
    skip: Option<i64>,
}

/// A page of people.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = PersonList)]
struct ListBody {
    items: Vec<PersonResource>,
    /// Pass as `cursor` for the next page; absent on the last.
    next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/persons", tag = "People", summary = "List people",
    params(ListParams),
    responses((status = 200, description = "A page of people", body = ListBody)))]
async fn list(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<ListBody>, ApiError> {
    let Query(p) = params?;
    let page = persons::list(
        &state,
        &actor,
        ListQuery {
            q: p.q.as_deref(),
            person_type: p.person_type.as_deref(),
            tag: p.tag.as_deref(),
            assigned_staff_id: p.assigned_staff_id,
            segment: p.segment.as_deref(),
            limit: p.limit,
            cursor: p.cursor.as_deref(),
            skip: p.skip,
        },
    )
    .await?;
    Ok(Json(ListBody {
        items: page.items.into_iter().map(PersonResource::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

#[utoipa::path(get, path = "/persons/{id}", tag = "People", summary = "Read a person",
    params(super::IdParam),
    responses((status = 200, description = "The person", body = PersonResource)))]
async fn read(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<PersonResource>, ApiError> {
    let person = persons::get(&state, &actor, person_id(&id)?).await?;
    Ok(Json(person.into()))
}

#[utoipa::path(put, path = "/persons/{id}", tag = "People",
    summary = "Change a person (fields present replace, null clears)",
    params(super::IdParam), request_body = crate::domain::PersonInput,
    responses((status = 200, description = "The person as changed", body = PersonResource)))]
async fn update(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<Json<PersonResource>, ApiError> {
    let id = person_id(&id)?;
    let serde_json::Value::Object(patch) = object_body(body)? else {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    };
    let person = persons::patch(&state, &actor, id, patch).await?;
    Ok(Json(person.into()))
}

#[utoipa::path(delete, path = "/persons/{id}", tag = "People",
    summary = "Delete a person, erasing what is held about them", params(super::IdParam),
    responses((status = 204, description = "Deleted")))]
async fn remove(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    persons::delete(&state, &actor, person_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/persons/{id}/export", tag = "People",
    summary = "Everything held about a person (right of access)",
    description = "The person with their addresses, dates and reminders, projects, \
        conversations and messages, every message sent to them, their activity and \
        recommendations, as one JSON document. Each export is audited.",
    params(super::IdParam),
    responses((status = 200, description = "Everything held about them",
        body = crate::server::services::privacy::PersonExport)))]
async fn export(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let export = privacy::export(&state, &actor, person_id(&id)?).await?;
    // Personal data: not kept by caches on the way.
    Ok((
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Json(export),
    )
        .into_response())
}
