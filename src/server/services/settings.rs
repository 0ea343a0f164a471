//! The organisation's own settings and the audit log, for admins.

use super::audit;
use crate::domain::engagement::generation::{ModelInput, ModelSettings};
use crate::domain::{AuditRecord, Organisation, Timezone};
use crate::server::auth::Actor;
use crate::server::db;
use crate::server::error::{ServiceError, ServiceResult};
use crate::server::AppState;
use serde_json::json;

pub async fn organisation(state: &AppState, actor: &Actor) -> ServiceResult<Organisation> {
    db::orgs::by_id(&state.db, actor.org_id())
        .await?
        .ok_or(ServiceError::NotFound)
}

/// The organisation's time zone: where the portal's "today" is (a concierge in Sydney sees
/// what is due on her Tuesday, not on Monday in London).
pub async fn zone(state: &AppState, actor: &Actor) -> ServiceResult<chrono_tz::Tz> {
    Ok(Timezone::parse(&organisation(state, actor).await?.timezone)
        .unwrap_or_else(|_| Timezone::utc())
        .tz())
}

/// Renames the organisation and sets its default time zone and the country of its national
/// phone numbers (blank: none).
pub async fn update_organisation(
    state: &AppState,
    actor: &Actor,
    name: &str,
    timezone: &str,
    phone_region: &str,
) -> ServiceResult<Organisation> {
    actor.require_admin()?;
    let mut errors = crate::domain::FieldErrors::new();
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        errors.add("name", "must be 1 to 200 characters");
    }
    let timezone = errors.check("timezone", Timezone::parse(timezone));
    let region = match phone_region.trim() {
        "" => None,
        r => errors.check("phone_region", crate::domain::Region::parse(r)),
    };
    let Some(timezone) = timezone.filter(|_| errors.is_empty()) else {
        return Err(errors.into());
    };
    let now = state.clock.now();
    let region = region.as_ref().map(|r| r.as_str());
    db::orgs::update(
        &state.db,
        actor.org_id(),
        name,
        timezone.as_str(),
        region,
        now,
    )
    .await?;
    audit(
        &state.db,
        actor,
        "update",
        "organisation",
        Some(actor.org_id()),
        json!({ "name": name, "timezone": timezone.as_str(), "phone_region": region }),
        now,
    )
    .await;
    organisation(state, actor).await
}

/// The organisation's model for AI-written text, if one is set up (its key never leaves the
/// server; only whether there is one).
pub async fn model(state: &AppState, actor: &Actor) -> ServiceResult<Option<ModelSettings>> {
    actor.require_admin()?;
    Ok(
        db::generation::model(&state.db, &state.keys, actor.org_id())
            .await?
            .map(|(s, _)| s),
    )
}

/// Sets up (or changes) the organisation's model. A blank key keeps the stored one.
pub async fn save_model(
    state: &AppState,
    actor: &Actor,
    input: &ModelInput,
) -> ServiceResult<ModelSettings> {
    let current = model(state, actor).await?;
    let change = input.apply(current.as_ref())?;
    let now = state.clock.now();
    db::generation::save_model(&state.db, &state.keys, actor.org_id(), &change, now).await?;
    let s = &change.settings;
    audit(
        &state.db,
        actor,
        "update",
        "model",
        Some(actor.org_id()),
        json!({
            "enabled": s.enabled,
            "base_url": s.base_url,
            "model": s.model,
            "timeout_ms": s.timeout_ms,
            "key": match change.api_key.as_deref() {
                None => "kept",
                Some("") => "removed",
                Some(_) => "replaced",
            },
        }),
        now,
    )
    .await;
    Ok(change.settings)
}

/// The audit log, newest first, 100 entries a page (1-based).
pub async fn audit_log(
    state: &AppState,
    actor: &Actor,
    page: i64,
) -> ServiceResult<Vec<AuditRecord>> {
    actor.require_admin()?;
    let page = page.max(1);
    Ok(db::audit::recent(&state.db, actor.org_id(), (page - 1) * 100, 100).await?)
}
