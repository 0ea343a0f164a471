//! `/api/v1/vendors` (the catalogue) and `/recommendations`.

use super::{object_body, patch_body, path_id, resource, ApiActor, ApiError, IdParam, Items};
use crate::domain::vendors::{Recommendation, RecommendationInput, Vendor, VendorInput};
use crate::server::db::vendors::RecommendationFilter;
use crate::server::services::deserialize_input;
use crate::server::services::vendors::{self, VendorQuery};
use crate::server::AppState;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(list_vendors, create_vendor))
        .routes(routes!(read_vendor, update_vendor, delete_vendor))
        .routes(routes!(list_recommendations, recommend))
        .routes(routes!(
            read_recommendation,
            update_recommendation,
            delete_recommendation
        ))
}

resource!(
    /// A vendor of the catalogue.
    VendorResource(Vendor) { vendor_id }
);
resource!(
    /// A vendor recommended to a person or for a project.
    RecommendationResource(Recommendation) { recommendation_id }
);

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct VendorParams {
    /// Words in name, location and tags (at most eight are read).
    q: Option<String>,
    /// `venue`, `restaurant`, `vendor` or `product` (`all` or empty for every kind).
    #[param(pattern = r"^\s*(all|venue|restaurant|vendor|product)?\s*$")]
    kind: Option<String>,
    /// Only vendors with this tag.
    tag: Option<String>,
    /// How many to skip.
    #[param(minimum = 0)]
    skip: Option<i64>,
    /// How many to return (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/vendors", tag = "Vendors", summary = "Search the vendor catalogue",
    params(VendorParams),
    responses((status = 200, description = "A page of vendors", body = Items<VendorResource>)))]
async fn list_vendors(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    params: Result<Query<VendorParams>, QueryRejection>,
) -> Result<Json<Items<VendorResource>>, ApiError> {
    let Query(p) = params?;
    let q = VendorQuery {
        q: p.q,
        kind: p.kind,
        tag: p.tag,
        skip: p.skip.unwrap_or(0),
        limit: p.limit.unwrap_or(50),
    };
    let (items, total) = vendors::list_vendors(&state, &actor, q).await?;
    Ok(Items::paged(items, Some(total)))
}

#[utoipa::path(post, path = "/vendors", tag = "Vendors", summary = "Add a vendor",
    request_body = VendorInput,
    responses((status = 201, description = "Created", body = VendorResource)))]
async fn create_vendor(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<VendorResource>), ApiError> {
    let input: VendorInput = deserialize_input(object_body(body)?)?;
    let v = vendors::save_vendor(&state, &actor, None, &input).await?;
    Ok((StatusCode::CREATED, Json(v.into())))
}

#[utoipa::path(get, path = "/vendors/{id}", tag = "Vendors", summary = "Read a vendor",
    params(IdParam),
    responses((status = 200, description = "The vendor", body = VendorResource)))]
async fn read_vendor(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<VendorResource>, ApiError> {
    let v = vendors::get_vendor(&state, &actor, path_id(&id, "vendor")?).await?;
    Ok(Json(v.into()))
}

#[utoipa::path(put, path = "/vendors/{id}", tag = "Vendors", summary = "Change a vendor (fields present replace)",
    params(IdParam),
    request_body = VendorInput,
    responses((status = 200, description = "The vendor as changed", body = VendorResource)))]
async fn update_vendor(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<VendorResource>, ApiError> {
    let v =
        vendors::patch_vendor(&state, &actor, path_id(&id, "vendor")?, patch_body(body)?).await?;
    Ok(Json(v.into()))
}

#[utoipa::path(delete, path = "/vendors/{id}", tag = "Vendors", summary = "Take a vendor out of the catalogue",
    params(IdParam),
    responses((status = 204, description = "Deleted")))]
async fn delete_vendor(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    vendors::delete_vendor(&state, &actor, path_id(&id, "vendor")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct RecommendationParams {
    /// Only those to this person.
    person_id: Option<Uuid>,
    /// Only those for this project.
    project_id: Option<Uuid>,
    /// Only those of this vendor.
    vendor_id: Option<Uuid>,
    /// How many to skip.
    #[param(minimum = 0)]
    skip: Option<i64>,
    /// How many to return (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/recommendations", tag = "Vendors", summary = "List recommendations, newest first",
    params(RecommendationParams),
    responses((status = 200, description = "A page of recommendations", body = Items<RecommendationResource>)))]
async fn list_recommendations(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    params: Result<Query<RecommendationParams>, QueryRejection>,
) -> Result<Json<Items<RecommendationResource>>, ApiError> {
    let Query(p) = params?;
    let filter = RecommendationFilter {
        person_id: p.person_id,
        project_id: p.project_id,
        vendor_id: p.vendor_id,
    };
    let (items, total) = vendors::list_recommendations(
        &state,
        &actor,
        filter,
        p.skip.unwrap_or(0),
        p.limit.unwrap_or(50),
    )
    .await?;
    Ok(Items::paged(items, Some(total)))
}

#[utoipa::path(post, path = "/recommendations", tag = "Vendors", summary = "Recommend a vendor to a person or for a project",
    request_body = RecommendationInput,
    responses((status = 201, description = "Created", body = RecommendationResource)))]
async fn recommend(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<RecommendationResource>), ApiError> {
    let input: RecommendationInput = deserialize_input(object_body(body)?)?;
    let r = vendors::recommend(&state, &actor, &input).await?;
    Ok((StatusCode::CREATED, Json(r.into())))
}

#[utoipa::path(get, path = "/recommendations/{id}", tag = "Vendors", summary = "Read a recommendation",
    params(IdParam),
    responses((status = 200, description = "The recommendation", body = RecommendationResource)))]
async fn read_recommendation(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<Json<RecommendationResource>, ApiError> {
    let r = vendors::get_recommendation(&state, &actor, path_id(&id, "recommendation")?).await?;
    Ok(Json(r.into()))
}

#[utoipa::path(put, path = "/recommendations/{id}", tag = "Vendors", summary = "Change a recommendation (status, notes)",
    params(IdParam),
    request_body = RecommendationInput,
    responses((status = 200, description = "The recommendation as changed", body = RecommendationResource)))]
async fn update_recommendation(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<RecommendationResource>, ApiError> {
    let id = path_id(&id, "recommendation")?;
    let r = vendors::patch_recommendation(&state, &actor, id, patch_body(body)?).await?;
    Ok(Json(r.into()))
}

#[utoipa::path(delete, path = "/recommendations/{id}", tag = "Vendors", summary = "Delete a recommendation",
    params(IdParam),
    responses((status = 204, description = "Deleted")))]
async fn delete_recommendation(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    vendors::delete_recommendation(&state, &actor, path_id(&id, "recommendation")?).await?;
    Ok(StatusCode::NO_CONTENT)
}
