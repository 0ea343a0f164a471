//! The versioned JSON API under `/api/v1`: bearer-key authentication, problem+json errors
//! (RFC 9457), and one router per resource.

mod activity;
mod approvals;
mod campaigns;
mod comms;
mod conditional;
mod dashboard;
mod dates;
mod deliveries;
mod engagement;
mod idempotency;
pub mod openapi;
mod persons;
pub mod problem;
mod projects;
pub mod reference;
mod reminders;
mod vendors;
mod webhooks;

use crate::server::auth::Actor;
use crate::server::services::api_keys;
use crate::server::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::{Json, Router};
pub use problem::ApiError;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use uuid::Uuid;

/// The largest request body the API reads (a batch of 500 activity events fits many times
/// over); a larger one is a 413.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Every route of the API with its OpenAPI description: one router per resource, each
/// handler annotated with `#[utoipa::path]`, so the document is derived from the code.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(utoipa_axum::routes!(openapi::serve))
        .merge(persons::router())
        .merge(dates::router())
        .merge(activity::router())
        .merge(projects::router())
        .merge(reminders::router())
        .merge(comms::router())
        .merge(vendors::router())
        .merge(dashboard::router())
        .merge(deliveries::router())
        .merge(engagement::router())
        .merge(campaigns::router())
        .merge(approvals::router())
        .merge(webhooks::router())
}

pub fn router() -> Router<AppState> {
    let (router, _) = api().split_for_parts();
    router
        .fallback(|req: Request| async move {
            ApiError::not_found(format!(
                "there is no API route {} {}",
                req.method(),
                req.uri().path()
            ))
        })
        .layer(axum::middleware::from_fn(conditional::etag))
        .layer(axum::middleware::from_fn(no_nul_in_query))
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
}

/// A record as the API shows it: its own fields, and its `id` again under the original
/// prototype's name (`date_item_id` …), so clients written against those names keep working.
macro_rules! resource {
    ($(#[$doc:meta])* $name:ident($record:ty) { $alias:ident }) => {
        $(#[$doc])*
        #[derive(serde::Serialize, utoipa::ToSchema)]
        pub struct $name {
            #[serde(flatten)]
            pub record: $record,
            /// The same as `id`.
            pub $alias: uuid::Uuid,
        }

        impl From<$record> for $name {
            fn from(record: $record) -> Self {
                Self {
                    $alias: record.id,
                    record,
                }
            }
        }
    };
}
pub(crate) use resource;

/// A list answer: `{ "items": [...] }`, with `total` when the list is paged.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
    /// How many there are in all, on paged lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
}

impl<T> Items<T> {
    /// Every item, each as the API shows it.
    pub fn of<R>(records: impl IntoIterator<Item = R>) -> Json<Self>
    where
        T: From<R>,
    {
        Self::paged(records, None)
    }

    pub fn paged<R>(records: impl IntoIterator<Item = R>, total: Option<i64>) -> Json<Self>
    where
        T: From<R>,
    {
        Json(Self {
            items: records.into_iter().map(T::from).collect(),
            total,
        })
    }
}

/// A query string may not carry the NUL character (`%00`), which no field can hold (and
/// PostgreSQL cannot store or compare): a 422 naming the parameter, before any handler.
async fn no_nul_in_query(req: Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    if let Some(query) = req.uri().query() {
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            if value.contains('\0') || name.contains('\0') {
                return ApiError::invalid(&name, "must not contain the NUL character")
                    .into_response();
            }
        }
    }
    next.run(req).await
}

/// The id of the record a path names.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct IdParam {
    /// The record's id.
    #[allow(dead_code)]
    id: Uuid,
}

/// The API with its layers that need the application, outermost last: the API key is found,
/// the request counted against the key's rate limit, and an `Idempotency-Key` honoured.
pub fn with_layers(state: AppState) -> Router<AppState> {
    use axum::middleware::from_fn_with_state;
    router()
        // Only for a route that exists: a method it does not serve is a 405, key or not.
        .route_layer(from_fn_with_state(state.clone(), idempotency::layer))
        .layer(from_fn_with_state(state.clone(), owned))
        .layer(from_fn_with_state(
            state.clone(),
            crate::server::ratelimit::api,
        ))
        .layer(from_fn_with_state(state, authenticate))
}

/// The table of the record a path names (`/deliveries/{id}/events`: a delivery), for
/// [`owned`]; its id as it was written.
pub fn record_of(path: &str) -> Option<(&'static str, &str)> {
    let mut segments = path.trim_start_matches('/').split('/');
    let (first, second) = (segments.next()?, segments.next()?);
    let table = match first {
        "persons" => "persons",
        "identities" => "comm_identities",
        "date-categories" => "date_categories",
        "date-items" => "date_items",
        "reminders" => "reminder_rules",
        "deliveries" | "approvals" => "deliveries",
        "projects" => "projects",
        "tasks" => "tasks",
        "conversations" => "conversations",
        "vendors" => "vendors",
        "campaigns" => "campaigns",
        "webhooks" => "event_subscriptions",
        "recommendations" => "recommendations",
        "engagement" if second == "runs" => return Some(("engagement_runs", segments.next()?)),
        _ => return None,
    };
    Some((table, second))
}

/// Tenants, in depth: a request that names a record by id is answered 404 unless the record
/// is its organisation's, before its body is looked at, so another organisation's ids tell
/// nothing (not even through a 422). Each handler checks again, in its own statements.
async fn owned(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let Some(actor) = req.extensions().get::<Actor>() else {
        return next.run(req).await;
    };
    let named = record_of(req.uri().path())
        .and_then(|(table, raw)| Uuid::parse_str(raw).ok().map(|id| (table, id)));
    if let Some((table, id)) = named {
        match crate::server::db::owns(&state.db, table, actor.org_id(), id).await {
            Ok(true) => {}
            Ok(false) => {
                return ApiError::not_found("no such record in this organisation").into_response()
            }
            Err(e) => {
                return ApiError::from(crate::server::error::ServiceError::from(e)).into_response()
            }
        }
    }
    next.run(req).await
}

/// Finds the request's API key for the layers that count and remember per key. Without a
/// valid key the request goes on, for its handler to refuse (or, for the document, to
/// answer); when the key cannot be checked (the database is away) that is the answer.
async fn authenticate(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (mut parts, body) = req.into_parts();
    if parts
        .headers
        .contains_key(axum::http::header::AUTHORIZATION)
    {
        match ApiActor::from_request_parts(&mut parts, &state).await {
            Ok(ApiActor(actor)) => {
                parts.extensions.insert(actor);
            }
            Err(e) if e.0.status == 401 => {}
            Err(e) => return e.into_response(),
        }
    }
    next.run(Request::from_parts(parts, body)).await
}

/// The organisation's API key, from `Authorization: Bearer <key>`.
pub struct ApiActor(pub Actor);

impl FromRequestParts<AppState> for ApiActor {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Already found by a layer in front (`idempotency`).
        if let Some(actor) = parts.extensions.get::<Actor>() {
            return Ok(ApiActor(actor.clone()));
        }
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                ApiError::unauthorized("send an API key as Authorization: Bearer <key>")
            })?;
        let key = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                ApiError::unauthorized("the Authorization header must be Bearer <key>")
            })?;
        api_keys::authenticate(state, key)
            .await
            .map(ApiActor)
            .map_err(|e| match e {
                crate::server::error::ServiceError::Unauthorized => {
                    ApiError::unauthorized("the API key is unknown, revoked or expired")
                }
                other => other.into(),
            })
    }
}

/// An id from the path; one that is not a UUID cannot name a record of this organisation.
pub fn path_id(raw: &str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found(format!("there is no {what} '{raw}'")))
}

/// A JSON object body, or a 400 that says what was wrong with it.
pub fn object_body(
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<serde_json::Value, ApiError> {
    let Json(value) = body?;
    if !value.is_object() {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    }
    Ok(value)
}

/// The body as a JSON object's fields, for partial updates.
pub fn patch_body(
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    match object_body(body)? {
        serde_json::Value::Object(map) => Ok(map),
        _ => Err(ApiError::bad_request("the body must be a JSON object")),
    }
}
