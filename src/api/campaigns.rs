//! Campaigns for the portal: the list, one campaign with its audience, a preview for a client
//! and its results, the form (admins), and moving it along (activate, pause, resume).

// A server function takes one argument per form field, so the campaign form has many.
#![allow(clippy::too_many_arguments)]

use super::FormOutcome;
use crate::domain::campaigns::stats::CampaignStats;
use crate::domain::campaigns::{AudiencePreview, Campaign, CampaignPreview};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ssr::{actor, fail, form_result, parse_id};

/// How many variant slots the form offers (the API takes up to ten).
pub const FORM_VARIANTS: usize = 3;

#[server(prefix = "/srv", endpoint = "campaigns/list_campaigns")]
pub async fn list_campaigns() -> Result<Vec<Campaign>, ServerFnError> {
    let (state, actor) = actor()?;
    crate::server::services::campaigns::list(&state, &actor, None, 0, 200)
        .await
        .map(|(items, _)| items)
        .map_err(fail)
}

#[server(prefix = "/srv", endpoint = "campaigns/get_campaign")]
pub async fn get_campaign(id: String) -> Result<Campaign, ServerFnError> {
    let (state, actor) = actor()?;
    crate::server::services::campaigns::get(&state, &actor, parse_id(&id)?)
        .await
        .map_err(fail)
}

#[server(prefix = "/srv", endpoint = "campaigns/campaign_audience")]
pub async fn campaign_audience(id: String) -> Result<AudiencePreview, ServerFnError> {
    let (state, actor) = actor()?;
    crate::server::services::campaigns::audience(&state, &actor, parse_id(&id)?)
        .await
        .map_err(fail)
}

#[server(prefix = "/srv", endpoint = "campaigns/get_campaign_stats")]
pub async fn get_campaign_stats(id: String) -> Result<CampaignStats, ServerFnError> {
    let (state, actor) = actor()?;
    crate::server::services::campaigns::stats(&state, &actor, parse_id(&id)?)
        .await
        .map_err(fail)
}

/// The variants rendered for the client `client` names (an id, or words of their name: the
/// best match). `Ok(None)` when no client matches.
#[server(prefix = "/srv", endpoint = "campaigns/preview_campaign")]
pub async fn preview_campaign(
    id: String,
    #[server(default)] client: String,
) -> Result<Option<CampaignPreview>, ServerFnError> {
    use crate::server::services::{campaigns, persons};
    let (state, actor) = actor()?;
    let id = parse_id(&id)?;
    let client = client.trim();
    if client.is_empty() {
        return Ok(None);
    }
    let person = match uuid::Uuid::parse_str(client) {
        Ok(p) => Some(p),
        Err(_) => persons::page(&state, &actor, Some(client), Default::default(), 1)
            .await
            .map_err(fail)?
            .items
            .first()
            .map(|p| p.id),
    };
    match person {
        None => Ok(None),
        Some(p) => campaigns::preview(&state, &actor, id, p)
            .await
            .map(Some)
            .map_err(fail),
    }
}

/// Activates, pauses or resumes a campaign.
#[server(prefix = "/srv", endpoint = "campaigns/set_campaign_status")]
pub async fn set_campaign_status(id: String, status: String) -> Result<(), ServerFnError> {
    use crate::domain::campaigns::CampaignStatus;
    use crate::server::error::ServiceError;
    let (state, actor) = actor()?;
    let to =
        CampaignStatus::parse(&status).map_err(|e| fail(ServiceError::invalid("status", e)))?;
    crate::server::services::campaigns::set_status(&state, &actor, parse_id(&id)?, to)
        .await
        .map(|_| ())
        .map_err(fail)
}

/// Saves the campaign form: a new draft (no `id`) or changes to one. Empty variant slots are
/// left out; an unticked box is off.
#[server(prefix = "/srv", endpoint = "campaigns/save_campaign")]
pub async fn save_campaign(
    #[server(default)] id: Option<String>,
    #[server(default)] name: String,
    #[server(default)] channel: String,
    #[server(default)] seg_new: Option<String>,
    #[server(default)] seg_active: Option<String>,
    #[server(default)] seg_at_risk: Option<String>,
    #[server(default)] seg_dormant: Option<String>,
    #[server(default)] seg_churned: Option<String>,
    #[server(default)] tags: String,
    #[server(default)] churn_risk_min: String,
    #[server(default)] churn_risk_max: String,
    #[server(default)] min_days_inactive: String,
    #[server(default)] due_to_rebook: Option<String>,
    #[server(default)] usable_channel: Option<String>,
    #[server(default)] v0_key: String,
    #[server(default)] v0_name: String,
    #[server(default)] v0_weight: String,
    #[server(default)] v0_subject: String,
    #[server(default)] v0_body: String,
    #[server(default)] v0_prompt: String,
    #[server(default)] v1_key: String,
    #[server(default)] v1_name: String,
    #[server(default)] v1_weight: String,
    #[server(default)] v1_subject: String,
    #[server(default)] v1_body: String,
    #[server(default)] v1_prompt: String,
    #[server(default)] v2_key: String,
    #[server(default)] v2_name: String,
    #[server(default)] v2_weight: String,
    #[server(default)] v2_subject: String,
    #[server(default)] v2_body: String,
    #[server(default)] v2_prompt: String,
    #[server(default)] holdout_percent: String,
    #[server(default)] repeat_days: String,
    #[server(default)] send_window_start: String,
    #[server(default)] send_window_end: String,
    #[server(default)] conversion_days: String,
) -> Result<FormOutcome, ServerFnError> {
    use crate::domain::campaigns::{AudienceCriteria, CampaignInput, VariantInput};
    use crate::domain::engagement::Segment;
    use crate::domain::person::split_tags;
    use crate::domain::FieldErrors;
    let (state, actor) = actor()?;
    let mut errors = FieldErrors::new();
    let number = |errors: &mut FieldErrors, field: &str, raw: &str| -> Option<f64> {
        match raw.trim() {
            "" => None,
            t => errors.check(
                field,
                t.parse::<f64>()
                    .map_err(|_| format!("'{t}' is not a number")),
            ),
        }
    };
    let whole = |errors: &mut FieldErrors, field: &str, raw: &str| -> Option<i32> {
        match raw.trim() {
            "" => None,
            t => errors.check(
                field,
                t.parse::<i32>()
                    .map_err(|_| format!("'{t}' is not a whole number")),
            ),
        }
    };
    let segments = [
        (seg_new, Segment::New),
        (seg_active, Segment::Active),
        (seg_at_risk, Segment::AtRisk),
        (seg_dormant, Segment::Dormant),
        (seg_churned, Segment::Churned),
    ]
    .into_iter()
    .filter_map(|(on, s)| on.map(|_| s))
    .collect();
    let audience = AudienceCriteria {
        segments,
        tags: split_tags(&tags),
        churn_risk_min: number(&mut errors, "audience.churn_risk_min", &churn_risk_min),
        churn_risk_max: number(&mut errors, "audience.churn_risk_max", &churn_risk_max),
        min_days_inactive: whole(
            &mut errors,
            "audience.min_days_inactive",
            &min_days_inactive,
        ),
        due_to_rebook: due_to_rebook.is_some(),
        assigned_staff_id: None,
        has_usable_channel: usable_channel.is_some(),
    };
    let slots = [
        (v0_key, v0_name, v0_weight, v0_subject, v0_body, v0_prompt),
        (v1_key, v1_name, v1_weight, v1_subject, v1_body, v1_prompt),
        (v2_key, v2_name, v2_weight, v2_subject, v2_body, v2_prompt),
    ];
    let mut variants = Vec::new();
    for (i, (key, name, weight, subject, body, prompt)) in slots.into_iter().enumerate() {
        if [&body, &subject, &name, &prompt]
            .iter()
            .all(|t| t.trim().is_empty())
        {
            continue;
        }
        let weight = whole(&mut errors, &format!("variants[{i}].weight"), &weight);
        variants.push(VariantInput {
            key: Some(key),
            name: Some(name),
            weight: weight.map(|w| w.max(0) as u32),
            subject: Some(subject),
            body: Some(body),
            prompt: Some(prompt),
            prompt_version: None,
        });
    }
    let input = CampaignInput {
        name: Some(name),
        channel: Some(channel),
        audience: Some(audience),
        variants: Some(variants),
        holdout_percent: whole(&mut errors, "holdout_percent", &holdout_percent),
        starts_at: None,
        ends_at: None,
        repeat_days: whole(&mut errors, "repeat_days", &repeat_days),
        send_window_start: Some(send_window_start),
        send_window_end: Some(send_window_end),
        conversion_days: whole(&mut errors, "conversion_days", &conversion_days),
    };
    if !errors.is_empty() {
        return Ok(FormOutcome::Invalid(errors));
    }
    let result = match id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => crate::server::services::campaigns::create(&state, &actor, &input)
            .await
            .map(|c| c.id.to_string()),
        Some(id) => {
            // The form does not offer the start and end (the API does): they are kept.
            let mut patch = match serde_json::to_value(&input) {
                Ok(serde_json::Value::Object(map)) => map,
                _ => serde_json::Map::new(),
            };
            patch.remove("starts_at");
            patch.remove("ends_at");
            crate::server::services::campaigns::update(&state, &actor, parse_id(id)?, patch)
                .await
                .map(|c| c.id.to_string())
        }
    };
    let outcome = form_result(result)?;
    if let FormOutcome::Saved(id) = &outcome {
        leptos_axum::redirect(&format!("/campaigns/{id}"));
    }
    Ok(outcome)
}
