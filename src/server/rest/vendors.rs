//! `/api/v1/vendors` (the catalogue) and `/recommendations`.

use super::{
    items_json, object_body, patch_body, path_id, query_id, with_id_alias, ApiActor, ApiError,
};
use crate::domain::vendors::{Recommendation, RecommendationInput, Vendor, VendorInput};
use crate::server::db::vendors::RecommendationFilter;
use crate::server::services::deserialize_input;
use crate::server::services::vendors::{self, VendorQuery};
use crate::server::AppState;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/vendors", get(list_vendors).post(create_vendor))
        .route(
            "/vendors/{id}",
            get(read_vendor).put(update_vendor).delete(delete_vendor),
        )
        .route(
            "/recommendations",
            get(list_recommendations).post(recommend),
        )
        .route(
            "/recommendations/{id}",
            get(read_recommendation)
                .put(update_recommendation)
                .delete(delete_recommendation),
        )
}

fn vendor_json(v: &Vendor) -> Value {
    with_id_alias(v, "vendor_id")
}

pub fn recommendation_json(r: &Recommendation) -> Value {
    with_id_alias(r, "recommendation_id")
}

#[derive(Deserialize)]
struct VendorParams {
    q: Option<String>,
    kind: Option<String>,
    tag: Option<String>,
    skip: Option<i64>,
    limit: Option<i64>,
}

async fn list_vendors(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    params: Result<Query<VendorParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(p) = params?;
    let q = VendorQuery {
        q: p.q,
        kind: p.kind,
        tag: p.tag,
        skip: p.skip.unwrap_or(0),
        limit: p.limit.unwrap_or(50),
    };
    let (items, total) = vendors::list_vendors(&state, &actor, q).await?;
    Ok(items_json(&items, vendor_json, Some(total)))
}

async fn create_vendor(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let input: VendorInput = deserialize_input(object_body(body)?)?;
    let v = vendors::save_vendor(&state, &actor, None, &input).await?;
    Ok((StatusCode::CREATED, Json(vendor_json(&v))))
}

async fn read_vendor(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let v = vendors::get_vendor(&state, &actor, path_id(&id, "vendor")?).await?;
    Ok(Json(vendor_json(&v)))
}

async fn update_vendor(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let v =
        vendors::patch_vendor(&state, &actor, path_id(&id, "vendor")?, patch_body(body)?).await?;
    Ok(Json(vendor_json(&v)))
}

async fn delete_vendor(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    vendors::delete_vendor(&state, &actor, path_id(&id, "vendor")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct RecommendationParams {
    person_id: Option<String>,
    project_id: Option<String>,
    vendor_id: Option<String>,
    skip: Option<i64>,
    limit: Option<i64>,
}

async fn list_recommendations(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    params: Result<Query<RecommendationParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(p) = params?;
    let filter = RecommendationFilter {
        person_id: query_id("person_id", p.person_id.as_deref())?,
        project_id: query_id("project_id", p.project_id.as_deref())?,
        vendor_id: query_id("vendor_id", p.vendor_id.as_deref())?,
    };
    let (items, total) = vendors::list_recommendations(
        &state,
        &actor,
        filter,
        p.skip.unwrap_or(0),
        p.limit.unwrap_or(50),
    )
    .await?;
    Ok(items_json(&items, recommendation_json, Some(total)))
}

async fn recommend(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let input: RecommendationInput = deserialize_input(object_body(body)?)?;
    let r = vendors::recommend(&state, &actor, &input).await?;
    Ok((StatusCode::CREATED, Json(recommendation_json(&r))))
}

async fn read_recommendation(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let r = vendors::get_recommendation(&state, &actor, path_id(&id, "recommendation")?).await?;
    Ok(Json(recommendation_json(&r)))
}

async fn update_recommendation(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(&id, "recommendation")?;
    let r = vendors::patch_recommendation(&state, &actor, id, patch_body(body)?).await?;
    Ok(Json(recommendation_json(&r)))
}

async fn delete_recommendation(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    vendors::delete_recommendation(&state, &actor, path_id(&id, "recommendation")?).await?;
    Ok(StatusCode::NO_CONTENT)
}
