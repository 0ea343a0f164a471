//! AI-written text: each organisation's model settings (the key in its own column, read only
//! by the sender, never into a page) and the versions of campaign variants' prompts.

use super::{Db, Tx};
use crate::domain::campaigns::Campaign;
use crate::domain::engagement::generation::{ModelChange, ModelSettings};
use crate::server::secrets::Keyring;
use crate::{on_db, on_tx};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The organisation's model and its key (opened with `keys`; empty when it has none), if one
/// is set up.
pub async fn model(
    db: &Db,
    keys: &Keyring,
    org_id: Uuid,
) -> Result<Option<(ModelSettings, String)>, sqlx::Error> {
    type Row = (bool, String, String, i32, String, bool, i32);
    let sql = "SELECT enabled, base_url, model, timeout_ms, api_key, require_approval, \
               approval_hours FROM model_settings WHERE org_id = $1";
    let row: Option<Row> =
        on_db!(db, pool => sqlx::query_as(sql).bind(org_id).fetch_optional(pool).await)?;
    row.map(
        |(enabled, base_url, model, timeout_ms, key, require_approval, hours)| {
            let key = if key.is_empty() {
                key
            } else {
                keys.open(&key)?
            };
            Ok((
                ModelSettings {
                    enabled,
                    base_url,
                    model,
                    timeout_ms: u32::try_from(timeout_ms).unwrap_or(u32::MAX),
                    has_key: !key.is_empty(),
                    require_approval,
                    approval_hours: u32::try_from(hours).unwrap_or(1),
                },
                key,
            ))
        },
    )
    .transpose()
}

/// Stores the settings; the key (sealed with `keys`) only when the change carries one (`None`
/// keeps it, empty removes it).
pub async fn save_model(
    db: &Db,
    keys: &Keyring,
    org_id: Uuid,
    change: &ModelChange,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let sql = "INSERT INTO model_settings \
               (org_id, enabled, base_url, model, timeout_ms, api_key, updated_at, \
               require_approval, approval_hours) \
               VALUES ($1, $2, $3, $4, $5, COALESCE($6, ''), $7, $8, $9) \
               ON CONFLICT (org_id) DO UPDATE SET enabled = excluded.enabled, \
               base_url = excluded.base_url, model = excluded.model, \
               timeout_ms = excluded.timeout_ms, \
               api_key = COALESCE($6, model_settings.api_key), updated_at = excluded.updated_at, \
               require_approval = excluded.require_approval, \
               approval_hours = excluded.approval_hours";
    let s = &change.settings;
    let int = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
    let key = change.api_key.as_deref().map(|k| {
        if k.is_empty() {
            String::new()
        } else {
            keys.seal(k)
        }
    });
    on_db!(db, pool => sqlx::query(sql)
        .bind(org_id).bind(s.enabled).bind(&s.base_url).bind(&s.model)
        .bind(int(s.timeout_ms)).bind(key).bind(at)
        .bind(s.require_approval).bind(int(s.approval_hours))
        .execute(pool).await.map(|_| ()))
}

/// Numbers the prompts of `c`'s variants: a prompt unchanged since its latest version keeps
/// that number, a changed one is stored as the next version. Sets each variant's
/// `prompt_version`, in the same unit of work as the campaign's own save.
pub async fn version_prompts(
    tx: &mut Tx,
    c: &mut Campaign,
    by: Option<Uuid>,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let latest = "SELECT version, text FROM prompts WHERE org_id = $1 AND campaign_id = $2 \
                  AND variant = $3 ORDER BY version DESC LIMIT 1";
    let insert = "INSERT INTO prompts (org_id, campaign_id, variant, version, text, created_by, \
                  created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    for v in &mut c.settings.variants {
        let Some(text) = v.prompt.as_deref() else {
            v.prompt_version = None;
            continue;
        };
        let row: Option<(i32, String)> = on_tx!(tx, conn => sqlx::query_as(latest)
            .bind(c.org_id).bind(c.id).bind(&v.key).fetch_optional(&mut *conn).await)?;
        let version = match row {
            Some((n, old)) if old == text => n,
            other => {
                let n = other.map_or(0, |(n, _)| n) + 1;
                on_tx!(tx, conn => sqlx::query(insert)
                    .bind(c.org_id).bind(c.id).bind(&v.key).bind(n).bind(text).bind(by).bind(at)
                    .execute(&mut *conn).await.map(|_| ()))?;
                n
            }
        };
        v.prompt_version = u32::try_from(version).ok();
    }
    Ok(())
}

/// The text of one version of a variant's prompt.
pub async fn prompt(
    db: &Db,
    org_id: Uuid,
    campaign_id: Uuid,
    variant: &str,
    version: i32,
) -> Result<Option<String>, sqlx::Error> {
    let sql = "SELECT text FROM prompts WHERE org_id = $1 AND campaign_id = $2 AND variant = $3 \
               AND version = $4";
    on_db!(db, pool => sqlx::query_scalar(sql)
        .bind(org_id).bind(campaign_id).bind(variant).bind(version)
        .fetch_optional(pool).await)
}
