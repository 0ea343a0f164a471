//! Engagement for the portal: the policy (admins change it), runs (a dry run for anyone, a
//! real one for those who may write), their results, a person's engagement explained, and the
//! daily numbers behind the charts.

// A server function takes one argument per form field, so a whole-policy form has many.
#![allow(clippy::too_many_arguments)]

use super::FormOutcome;
use crate::domain::engagement::generation::ModelSettings;
use crate::domain::engagement::{
    EngagementPolicy, EngagementRun, EngagementStats, PersonEngagement, RunDecision, RunReport,
};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::ssr::{actor, fail, form_result, parse_id};

#[server(prefix = "/srv", endpoint = "engagement/get_policy")]
pub async fn get_policy() -> Result<EngagementPolicy, ServerFnError> {
    let (state, actor) = actor()?;
    crate::server::services::engagement::policy(&state, &actor)
        .await
        .map_err(fail)
}

/// Saves the policy from Settings → Engagement. An unticked box sends nothing: `enabled` is
/// then off.
#[server(prefix = "/srv", endpoint = "engagement/save_policy")]
pub async fn save_policy(
    #[server(default)] enabled: Option<String>,
    #[server(default)] dormant_days: String,
    #[server(default)] churned_days: String,
    #[server(default)] rebook_grace_days: String,
    #[server(default)] cap_per_day: String,
    #[server(default)] cap_per_week: String,
    #[server(default)] quiet_start: String,
    #[server(default)] quiet_end: String,
    #[server(default)] quiet_action: String,
    #[server(default)] channel: String,
    #[server(default)] booking_url: String,
    #[server(default)] conversion_hours: String,
    #[server(default)] link_hours: String,
    #[server(default)] dormant_subject: String,
    #[server(default)] dormant_body: String,
    #[server(default)] rebook_subject: String,
    #[server(default)] rebook_body: String,
    #[server(default)] banned_words: String,
) -> Result<FormOutcome, ServerFnError> {
    use crate::domain::engagement::PolicyInput;
    let (state, actor) = actor()?;
    let input = PolicyInput {
        enabled: Some(enabled.unwrap_or_else(|| "false".into())),
        dormant_days: Some(dormant_days),
        churned_days: Some(churned_days),
        rebook_grace_days: Some(rebook_grace_days),
        cap_per_day: Some(cap_per_day),
        cap_per_week: Some(cap_per_week),
        quiet_start: Some(quiet_start),
        quiet_end: Some(quiet_end),
        quiet_action: Some(quiet_action),
        channel: Some(channel),
        booking_url: Some(booking_url),
        conversion_hours: Some(conversion_hours),
        link_hours: Some(link_hours),
        dormant_subject: Some(dormant_subject),
        dormant_body: Some(dormant_body),
        rebook_subject: Some(rebook_subject),
        rebook_body: Some(rebook_body),
        banned_words: Some(banned_words),
    };
    let result = crate::server::services::engagement::update_policy(&state, &actor, &input)
        .await
        .map(|_| "engagement".to_string());
    form_result(result)
}

/// The organisation's model for AI-written text (admins), if one is set up.
#[server(prefix = "/srv", endpoint = "engagement/get_model")]
pub async fn get_model() -> Result<Option<ModelSettings>, ServerFnError> {
    let (state, actor) = actor()?;
    crate::server::services::settings::model(&state, &actor)
        .await
        .map_err(fail)
}

/// Saves the model from Settings → Engagement. A blank key keeps the stored one; an unticked
/// box switches the model off (messages are then written from their templates).
#[server(prefix = "/srv", endpoint = "engagement/save_model")]
pub async fn save_model(
    #[server(default)] enabled: Option<String>,
    #[server(default)] base_url: String,
    #[server(default)] model: String,
    #[server(default)] timeout_seconds: String,
    #[server(default)] api_key: String,
    #[server(default)] clear_key: Option<String>,
    #[server(default)] require_approval: Option<String>,
    #[server(default)] approval_hours: String,
) -> Result<FormOutcome, ServerFnError> {
    use crate::domain::engagement::generation::ModelInput;
    let (state, actor) = actor()?;
    let input = ModelInput {
        enabled: Some(enabled.unwrap_or_else(|| "false".into())),
        base_url: Some(base_url),
        model: Some(model),
        timeout_seconds: Some(timeout_seconds),
        api_key: Some(api_key),
        clear_key,
        require_approval: Some(require_approval.unwrap_or_else(|| "false".into())),
        approval_hours: Some(approval_hours),
    };
    let result = crate::server::services::settings::save_model(&state, &actor, &input)
        .await
        .map(|_| "model".to_string());
    form_result(result)
}

/// Runs engagement now: `dry_run` ("true") decides and reports without changing anything.
#[server(prefix = "/srv", endpoint = "engagement/run_engagement")]
pub async fn run_engagement(
    #[server(default)] dry_run: String,
) -> Result<RunReport, ServerFnError> {
    use crate::domain::engagement::RunTrigger;
    let (state, actor) = actor()?;
    let dry = crate::domain::engagement::policy::parse_flag(&dry_run)
        .map_err(|m| fail(crate::server::error::ServiceError::invalid("dry_run", m)))?;
    crate::server::services::engagement::run_now(&state, &actor, RunTrigger::Portal, dry)
        .await
        .map_err(fail)
}

#[server(prefix = "/srv", endpoint = "engagement/list_runs")]
pub async fn list_runs() -> Result<Vec<EngagementRun>, ServerFnError> {
    let (state, actor) = actor()?;
    crate::server::services::engagement::runs(&state, &actor, 10)
        .await
        .map_err(fail)
}

#[server(prefix = "/srv", endpoint = "engagement/get_run")]
pub async fn get_run(id: String) -> Result<RunReport, ServerFnError> {
    let (state, actor) = actor()?;
    crate::server::services::engagement::run_detail(&state, &actor, parse_id(&id)?)
        .await
        .map_err(fail)
}

/// The people a run decided about, by outcome (`skipped`, `held`, `queued`, or all), as they
/// stand now (a later run may have decided again).
#[server(prefix = "/srv", endpoint = "engagement/run_people")]
pub async fn run_people(
    id: String,
    #[server(default)] outcome: String,
) -> Result<Vec<RunDecision>, ServerFnError> {
    let (state, actor) = actor()?;
    let report = crate::server::services::engagement::run_detail(&state, &actor, parse_id(&id)?)
        .await
        .map_err(fail)?;
    let outcome = Some(outcome.trim()).filter(|o| !o.is_empty() && *o != "all");
    crate::server::services::engagement::decided(
        &state,
        &actor,
        report.run.started_at,
        outcome,
        200,
    )
    .await
    .map_err(fail)
}

#[server(prefix = "/srv", endpoint = "engagement/daily_numbers")]
pub async fn daily_numbers(#[server(default)] days: i64) -> Result<EngagementStats, ServerFnError> {
    let (state, actor) = actor()?;
    crate::server::services::engagement::stats(&state, &actor, if days <= 0 { 14 } else { days })
        .await
        .map_err(fail)
}

#[server(prefix = "/srv", endpoint = "engagement/explain_person")]
pub async fn explain_person(id: String) -> Result<PersonEngagement, ServerFnError> {
    let (state, actor) = actor()?;
    crate::server::services::engagement::person(&state, &actor, parse_id(&id)?)
        .await
        .map_err(fail)
}
