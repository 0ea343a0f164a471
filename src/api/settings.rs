//! Settings for admins: the organisation, API keys (shown once), date categories, and the
//! audit log.

use super::FormOutcome;
use crate::domain::{AuditRecord, Organisation};
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr::{actor, fail, form_result, parse_id};

/// An API key as Settings lists it: never the secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyRow {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The key may read but not write.
    #[serde(default)]
    pub read_only: bool,
    pub expires_at: Option<DateTime<Utc>>,
}

/// What creating a key answers: the secret, this once, or what was wrong.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum NewKey {
    Created { name: String, secret: String },
    Invalid(crate::domain::FieldErrors),
}

#[server(prefix = "/srv", endpoint = "settings/get_organisation")]
pub async fn get_organisation() -> Result<Organisation, ServerFnError> {
    let (state, actor) = actor()?;
    crate::server::services::settings::organisation(&state, &actor)
        .await
        .map_err(fail)
}

#[server(prefix = "/srv", endpoint = "settings/save_organisation")]
pub async fn save_organisation(
    #[server(default)] name: String,
    #[server(default)] timezone: String,
    #[server(default)] phone_region: String,
) -> Result<FormOutcome, ServerFnError> {
    let (state, actor) = actor()?;
    let result = crate::server::services::settings::update_organisation(
        &state,
        &actor,
        &name,
        &timezone,
        &phone_region,
    )
    .await
    .map(|o| o.id.to_string());
    form_result(result)
}

#[server(prefix = "/srv", endpoint = "settings/list_keys")]
pub async fn list_keys() -> Result<Vec<KeyRow>, ServerFnError> {
    let (state, actor) = actor()?;
    let keys = crate::server::services::api_keys::list_for(&state, &actor)
        .await
        .map_err(fail)?;
    Ok(keys
        .into_iter()
        .map(|k| KeyRow {
            id: k.id.to_string(),
            name: k.name,
            prefix: k.prefix,
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
            read_only: k.read_only,
            expires_at: k.expires_at,
        })
        .collect())
}

#[server(prefix = "/srv", endpoint = "settings/create_key")]
pub async fn create_key(
    #[server(default)] name: String,
    #[server(default)] read_only: Option<String>,
    #[server(default)] expires_in_days: String,
) -> Result<NewKey, ServerFnError> {
    use crate::server::services::api_keys::{create_for, Access};
    let (state, actor) = actor()?;
    let expires_in_days = match expires_in_days.trim() {
        "" => None,
        days => match days.parse::<i64>() {
            Ok(days) => Some(days),
            Err(_) => {
                return Ok(NewKey::Invalid(crate::domain::FieldErrors::single(
                    "expires_in_days",
                    "must be a whole number of days",
                )))
            }
        },
    };
    let access = Access {
        read_only: read_only.is_some_and(|v| v == "on" || v == "true"),
        expires_in_days,
    };
    match create_for(&state, &actor, &name, access).await {
        Ok((key, secret)) => Ok(NewKey::Created {
            name: key.name,
            secret,
        }),
        Err(crate::server::error::ServiceError::Invalid(errors)) => Ok(NewKey::Invalid(errors)),
        Err(other) => Err(fail(other)),
    }
}

#[server(prefix = "/srv", endpoint = "settings/revoke_key")]
pub async fn revoke_key(id: String) -> Result<(), ServerFnError> {
    let (state, actor) = actor()?;
    crate::server::services::api_keys::revoke_for(&state, &actor, parse_id(&id)?)
        .await
        .map_err(fail)
}

/// Adds a category (no `id`) or changes one.
#[server(prefix = "/srv", endpoint = "settings/save_category")]
pub async fn save_category(
    #[server(default)] id: Option<String>,
    #[server(default)] name: String,
    #[server(default)] icon: String,
    #[server(default)] color: String,
) -> Result<FormOutcome, ServerFnError> {
    use crate::domain::dates::CategoryInput;
    let (state, actor) = actor()?;
    actor.require_admin().map_err(fail)?;
    let input = CategoryInput {
        name: Some(name),
        icon: Some(icon),
        color: Some(color),
    };
    let id = super::ssr::optional_id(id.as_deref().unwrap_or_default())?;
    let result = crate::server::services::dates::save_category(&state, &actor, id, &input)
        .await
        .map(|c| c.id.to_string());
    form_result(result)
}

#[server(prefix = "/srv", endpoint = "settings/delete_category")]
pub async fn delete_category(id: String) -> Result<(), ServerFnError> {
    let (state, actor) = actor()?;
    actor.require_admin().map_err(fail)?;
    crate::server::services::dates::delete_category(&state, &actor, parse_id(&id)?)
        .await
        .map_err(fail)
}

/// The categories, for Settings (the same list the date form offers).
pub use super::dates::list_categories;

#[server(prefix = "/srv", endpoint = "settings/audit_log")]
pub async fn audit_log(#[server(default)] page: i64) -> Result<Vec<AuditRecord>, ServerFnError> {
    let (state, actor) = actor()?;
    crate::server::services::settings::audit_log(&state, &actor, page)
        .await
        .map_err(fail)
}
