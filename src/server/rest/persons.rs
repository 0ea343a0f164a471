//! `/api/v1/persons`: create (an upsert when `external_id` is given), list with search and a
//! cursor, read, partial update, soft delete.

use super::{object_body, ApiActor, ApiError};
use crate::domain::Person;
use crate::server::services::persons::{self, ListQuery};
use crate::server::AppState;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/persons", get(list).post(create))
        .route("/persons/{id}", get(read).put(update).delete(remove))
}

/// A person as the API shows it; `person_id` repeats `id` for clients written against the
/// original prototype's field names.
#[derive(Serialize)]
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

#[derive(Deserialize)]
struct ListParams {
    q: Option<String>,
    #[serde(alias = "type")]
    person_type: Option<String>,
    tag: Option<String>,
    assigned_staff_id: Option<String>,
    segment: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
    skip: Option<i64>,
}

#[derive(Serialize)]
struct ListBody {
    items: Vec<PersonResource>,
    next_cursor: Option<String>,
}

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
            assigned_staff_id: super::query_id(
                "assigned_staff_id",
                p.assigned_staff_id.as_deref(),
            )?,
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

async fn read(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<PersonResource>, ApiError> {
    let person = persons::get(&state, &actor, person_id(&id)?).await?;
    Ok(Json(person.into()))
}

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

async fn remove(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    persons::delete(&state, &actor, person_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
