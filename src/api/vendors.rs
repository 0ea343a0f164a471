//! The vendor catalogue and recommendations, for the portal.

// A server function takes one argument per form field, so the vendor form has many.
#![allow(clippy::too_many_arguments)]

use super::FormOutcome;
use crate::domain::vendors::{Recommendation, Vendor};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr::{actor, fail, form_result, optional_id, parse_id};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VendorView {
    pub vendor: Vendor,
    pub recommendations: Vec<Recommendation>,
}

/// Vendors on one page of the catalogue (and offered at once by a recommendation's search).
pub const VENDORS_PAGE: i64 = 50;

/// The catalogue, a page at a time (`page` from 1) in name order: `q` searches name, location
/// and tags; `kind` narrows it. With the total that matches.
#[server(prefix = "/srv", endpoint = "vendors/list_vendors")]
pub async fn list_vendors(
    #[server(default)] q: String,
    #[server(default)] kind: String,
    #[server(default)] page: i64,
) -> Result<(Vec<Vendor>, i64), ServerFnError> {
    use crate::server::services::vendors::{self, VendorQuery};
    let (state, actor) = actor()?;
    let query = VendorQuery {
        q: Some(q),
        kind: Some(kind),
        tag: None,
        skip: (page.max(1) - 1) * VENDORS_PAGE,
        limit: VENDORS_PAGE,
    };
    vendors::list_vendors(&state, &actor, query)
        .await
        .map_err(fail)
}

/// The recommendations made for a project.
#[server(prefix = "/srv", endpoint = "vendors/project_recommendations")]
pub async fn project_recommendations(
    project_id: String,
) -> Result<Vec<Recommendation>, ServerFnError> {
    use crate::server::db::vendors::RecommendationFilter;
    let (state, actor) = actor()?;
    let filter = RecommendationFilter {
        project_id: Some(parse_id(&project_id)?),
        ..Default::default()
    };
    crate::server::services::vendors::list_recommendations(&state, &actor, filter, 0, 100)
        .await
        .map(|(items, _)| items)
        .map_err(fail)
}

#[server(prefix = "/srv", endpoint = "vendors/get_vendor")]
pub async fn get_vendor(id: String) -> Result<VendorView, ServerFnError> {
    use crate::server::db::vendors::RecommendationFilter;
    use crate::server::services::vendors;
    let (state, actor) = actor()?;
    let id = parse_id(&id)?;
    let vendor = vendors::get_vendor(&state, &actor, id)
        .await
        .map_err(fail)?;
    let filter = RecommendationFilter {
        vendor_id: Some(id),
        ..Default::default()
    };
    let (recommendations, _) = vendors::list_recommendations(&state, &actor, filter, 0, 100)
        .await
        .map_err(fail)?;
    Ok(VendorView {
        vendor,
        recommendations,
    })
}

/// Adds a vendor (no `id`) or changes one. Tags come comma-separated.
#[server(prefix = "/srv", endpoint = "vendors/save_vendor")]
pub async fn save_vendor(
    #[server(default)] id: Option<String>,
    #[server(default)] name: String,
    #[server(default)] kind: String,
    #[server(default)] location: String,
    #[server(default)] price_level: String,
    #[server(default)] rating: String,
    #[server(default)] tags: String,
    #[server(default)] website: String,
    #[server(default)] notes: String,
) -> Result<FormOutcome, ServerFnError> {
    use crate::domain::person::split_tags;
    use crate::domain::vendors::VendorInput;
    use crate::domain::FieldErrors;
    let (state, actor) = actor()?;
    let id = optional_id(id.as_deref().unwrap_or_default())?;
    let mut errors = FieldErrors::new();
    let price_level = match price_level.trim() {
        "" => None,
        p => errors.check(
            "price_level",
            p.parse::<i64>().map_err(|_| "must be 1 to 4".to_string()),
        ),
    };
    let rating = match rating.trim() {
        "" => None,
        r => errors.check(
            "rating",
            r.parse::<f64>()
                .map_err(|_| "must be a number from 0 to 5".to_string()),
        ),
    };
    if !errors.is_empty() {
        return Ok(FormOutcome::Invalid(errors));
    }
    let input = VendorInput {
        name: Some(name),
        kind: Some(kind),
        location: Some(location),
        price_level,
        rating,
        tags: Some(split_tags(&tags)),
        website: Some(website),
        notes: Some(notes),
    };
    let result = crate::server::services::vendors::save_vendor(&state, &actor, id, &input)
        .await
        .map(|v| v.id.to_string());
    let outcome = form_result(result)?;
    if let FormOutcome::Saved(id) = &outcome {
        leptos_axum::redirect(&format!("/vendors/{id}"));
    }
    Ok(outcome)
}

/// Recommends a vendor to a client, for a project, or both.
#[server(prefix = "/srv", endpoint = "vendors/recommend")]
pub async fn recommend(
    #[server(default)] person_id: String,
    #[server(default)] project_id: String,
    #[server(default)] vendor_id: String,
    #[server(default)] notes: String,
) -> Result<FormOutcome, ServerFnError> {
    use crate::domain::vendors::RecommendationInput;
    let (state, actor) = actor()?;
    let input = RecommendationInput {
        vendor_id: Some(vendor_id),
        person_id: Some(person_id),
        project_id: Some(project_id),
        notes: Some(notes),
        ..Default::default()
    };
    let result = crate::server::services::vendors::recommend(&state, &actor, &input)
        .await
        .map(|r| r.id.to_string());
    form_result(result)
}

/// Marks a recommendation `accepted`, `declined` or `suggested` again.
#[server(prefix = "/srv", endpoint = "vendors/set_recommendation_status")]
pub async fn set_recommendation_status(id: String, status: String) -> Result<(), ServerFnError> {
    use crate::domain::vendors::RecommendationStatus;
    let (state, actor) = actor()?;
    let status = RecommendationStatus::parse(&status).map_err(ServerFnError::new)?;
    crate::server::services::vendors::set_recommendation_status(
        &state,
        &actor,
        parse_id(&id)?,
        status,
    )
    .await
    .map(|_| ())
    .map_err(fail)
}
