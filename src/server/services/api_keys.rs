//! API keys: created for an organisation (the key is shown once), listed, revoked, and
//! checked on every API request.

use crate::domain::Slug;
use crate::server::auth::{token, Actor};
use crate::server::db::api_keys::{self, ApiKey};
use crate::server::db::orgs;
use crate::server::error::{ServiceError, ServiceResult};
use crate::server::AppState;
use chrono::Duration;
use uuid::Uuid;

const KEY_PREFIX: &str = "ck_";

async fn org_by_slug(state: &AppState, slug: &str) -> ServiceResult<crate::domain::Organisation> {
    let slug = Slug::parse(slug).map_err(|m| ServiceError::invalid("org", m))?;
    orgs::by_slug(&state.db, slug.as_str())
        .await?
        .ok_or_else(|| ServiceError::invalid("org", format!("there is no organisation '{slug}'")))
}

/// Creates a key for an organisation named by slug (the command line); the returned secret is
/// the only time the key is ever seen.
pub async fn create(
    state: &AppState,
    org_slug: &str,
    name: &str,
) -> ServiceResult<(ApiKey, String)> {
    create_with(state, org_slug, name, Access::default()).await
}

/// What a key may do, and for how long.
#[derive(Clone, Copy, Debug, Default)]
pub struct Access {
    /// Reads only: every write is a 403.
    pub read_only: bool,
    /// Stops working this many days after it is made (1 to 3650).
    pub expires_in_days: Option<i64>,
}

/// [`create`], with what the key may do.
pub async fn create_with(
    state: &AppState,
    org_slug: &str,
    name: &str,
    access: Access,
) -> ServiceResult<(ApiKey, String)> {
    let org = org_by_slug(state, org_slug).await?;
    create_in(state, org.id, name, access).await
}

async fn create_in(
    state: &AppState,
    org_id: Uuid,
    name: &str,
    access: Access,
) -> ServiceResult<(ApiKey, String)> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ServiceError::invalid("name", "must be 1 to 100 characters"));
    }
    if access
        .expires_in_days
        .is_some_and(|d| !(1..=3650).contains(&d))
    {
        return Err(ServiceError::invalid(
            "expires_in_days",
            "must be 1 to 3650 days",
        ));
    }
    let now = state.clock.now();
    let secret = format!("{KEY_PREFIX}{}", token::random_token());
    let key = ApiKey {
        id: Uuid::now_v7(),
        org_id,
        name: name.to_string(),
        prefix: secret.chars().take(KEY_PREFIX.len() + 6).collect(),
        created_at: now,
        last_used_at: None,
        revoked_at: None,
        read_only: access.read_only,
        expires_at: access.expires_in_days.map(|d| now + Duration::days(d)),
    };
    api_keys::insert(&state.db, &key, &token::sha256_hex(&secret)).await?;
    Ok((key, secret))
}

pub async fn list(state: &AppState, org_slug: &str) -> ServiceResult<Vec<ApiKey>> {
    let org = org_by_slug(state, org_slug).await?;
    Ok(api_keys::list(&state.db, org.id).await?)
}

/// Revokes one of an organisation's keys, from the command line.
pub async fn revoke(state: &AppState, org_slug: &str, id: Uuid) -> ServiceResult<()> {
    let org = org_by_slug(state, org_slug).await?;
    if api_keys::revoke(&state.db, org.id, id, state.clock.now()).await? {
        Ok(())
    } else {
        Err(ServiceError::NotFound)
    }
}

/// An admin creates a key for their own organisation, from Settings.
pub async fn create_for(
    state: &AppState,
    actor: &Actor,
    name: &str,
    access: Access,
) -> ServiceResult<(ApiKey, String)> {
    actor.require_admin()?;
    let (key, secret) = create_in(state, actor.org_id(), name, access).await?;
    super::audit(
        &state.db,
        actor,
        "create",
        "api_key",
        Some(key.id),
        serde_json::json!({ "name": key.name, "read_only": key.read_only, "expires_at": key.expires_at }),
        key.created_at,
    )
    .await;
    Ok((key, secret))
}

pub async fn list_for(state: &AppState, actor: &Actor) -> ServiceResult<Vec<ApiKey>> {
    actor.require_admin()?;
    Ok(api_keys::list(&state.db, actor.org_id()).await?)
}

/// Revokes one of the organisation's keys; another organisation's is not found.
pub async fn revoke_for(state: &AppState, actor: &Actor, id: Uuid) -> ServiceResult<()> {
    actor.require_admin()?;
    let now = state.clock.now();
    if !api_keys::revoke(&state.db, actor.org_id(), id, now).await? {
        return Err(ServiceError::NotFound);
    }
    super::audit(
        &state.db,
        actor,
        "revoke",
        "api_key",
        Some(id),
        serde_json::json!({}),
        now,
    )
    .await;
    Ok(())
}

/// The actor a bearer key stands for, or `Unauthorized`.
pub async fn authenticate(state: &AppState, presented: &str) -> ServiceResult<Actor> {
    if !presented.starts_with(KEY_PREFIX) {
        return Err(ServiceError::Unauthorized);
    }
    let key = api_keys::by_hash(&state.db, &token::sha256_hex(presented))
        .await?
        .ok_or(ServiceError::Unauthorized)?;
    let now = state.clock.now();
    if key.expires_at.is_some_and(|at| at <= now) {
        return Err(ServiceError::Unauthorized);
    }
    if key
        .last_used_at
        .is_none_or(|t| now - t > Duration::minutes(1))
    {
        api_keys::touch(&state.db, key.org_id, key.id, now).await?;
    }
    Ok(Actor::ApiKey {
        id: key.id,
        org_id: key.org_id,
        name: key.name,
        read_only: key.read_only,
    })
}
