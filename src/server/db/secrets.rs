//! Secrets at rest: the installation's own (the links' signing key, the setup code) and
//! sealing again every stored secret under the current key (at start for what was stored
//! before sealing existed, and by `concierge secrets rotate`).

use super::Db;
use crate::server::secrets::{Keyring, SecretError};
use crate::{on_db, on_tx};
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use std::collections::BTreeMap;
use uuid::Uuid;

/// A secret the installation generated once, sealed with `keys` (`generate` makes it the
/// first time; when two processes race, both read the one that was stored).
pub async fn installation_secret(
    db: &Db,
    keys: &Keyring,
    name: &str,
    generate: impl FnOnce() -> String,
    at: DateTime<Utc>,
) -> Result<String, sqlx::Error> {
    let sealed = keys.seal(&generate());
    let value = mark(db, name, &sealed, at).await?;
    Ok(keys.open(&value)?)
}

/// Records `value` under `name` unless something is recorded there already; what is recorded.
/// (Also for markers of one-time work, whose value is no secret.)
pub async fn mark(
    db: &Db,
    name: &str,
    value: &str,
    at: DateTime<Utc>,
) -> Result<String, sqlx::Error> {
    let insert = "INSERT INTO installation_secrets (name, value, created_at) VALUES ($1, $2, $3) \
                  ON CONFLICT (name) DO NOTHING";
    let read = "SELECT value FROM installation_secrets WHERE name = $1";
    on_db!(db, pool => {
        sqlx::query(insert).bind(name).bind(value).bind(at).execute(pool).await?;
        sqlx::query_scalar(read).bind(name).fetch_one(pool).await
    })
}

/// Whether something is recorded under `name`.
pub async fn marked(db: &Db, name: &str) -> Result<bool, sqlx::Error> {
    let sql = "SELECT value FROM installation_secrets WHERE name = $1";
    let value: Option<String> =
        on_db!(db, pool => sqlx::query_scalar(sql).bind(name).fetch_optional(pool).await)?;
    Ok(value.is_some())
}

/// The installation secrets that are sealed (the others are markers).
pub const SEALED: &[&str] = &["link_key", "setup_code"];

/// Seals every stored secret that is not sealed with the current key of `keys` (stored plain
/// before sealing existed, or sealed with a key being rotated out), in one transaction: all
/// of them, or, when one cannot be opened, none. How many rows changed.
pub async fn reseal_all(db: &Db, keys: &Keyring) -> Result<usize, sqlx::Error> {
    let again = |v: &str| -> Result<String, SecretError> { Ok(keys.seal(&keys.open(v)?)) };
    let mut tx = db.begin().await?;
    let mut changed = 0;

    type ChannelRow = (Uuid, String, Json<BTreeMap<String, String>>);
    let rows: Vec<ChannelRow> = on_tx!(&mut tx, c => sqlx::query_as(
        "SELECT org_id, channel, secrets FROM channel_settings").fetch_all(&mut *c).await)?;
    for (org, channel, Json(secrets)) in rows {
        if !secrets.values().any(|v| keys.needs_sealing(v)) {
            continue;
        }
        let sealed = secrets
            .iter()
            .map(|(k, v)| Ok((k.clone(), again(v)?)))
            .collect::<Result<BTreeMap<_, _>, SecretError>>()?;
        on_tx!(&mut tx, c => sqlx::query(
            "UPDATE channel_settings SET secrets = $3 WHERE org_id = $1 AND channel = $2")
            .bind(org).bind(&channel).bind(Json(&sealed)).execute(&mut *c).await.map(|_| ()))?;
        changed += 1;
    }

    let rows: Vec<(Uuid, String)> = on_tx!(&mut tx, c => sqlx::query_as(
        "SELECT org_id, api_key FROM model_settings WHERE api_key <> ''").fetch_all(&mut *c).await)?;
    for (org, key) in rows.into_iter().filter(|(_, k)| keys.needs_sealing(k)) {
        on_tx!(&mut tx, c => sqlx::query("UPDATE model_settings SET api_key = $2 WHERE org_id = $1")
            .bind(org).bind(again(&key)?).execute(&mut *c).await.map(|_| ()))?;
        changed += 1;
    }

    let rows: Vec<(Uuid, Uuid, String)> = on_tx!(&mut tx, c => sqlx::query_as(
        "SELECT org_id, id, secret FROM event_subscriptions").fetch_all(&mut *c).await)?;
    for (org, id, secret) in rows.into_iter().filter(|(_, _, s)| keys.needs_sealing(s)) {
        on_tx!(&mut tx, c => sqlx::query(
            "UPDATE event_subscriptions SET secret = $3 WHERE org_id = $1 AND id = $2")
            .bind(org).bind(id).bind(again(&secret)?).execute(&mut *c).await.map(|_| ()))?;
        changed += 1;
    }

    for name in SEALED {
        let value: Option<String> = on_tx!(&mut tx, c => sqlx::query_scalar(
            "SELECT value FROM installation_secrets WHERE name = $1").bind(name)
            .fetch_optional(&mut *c).await)?;
        if let Some(value) = value.filter(|v| keys.needs_sealing(v)) {
            on_tx!(&mut tx, c => sqlx::query(
                "UPDATE installation_secrets SET value = $2 WHERE name = $1")
                .bind(name).bind(again(&value)?).execute(&mut *c).await.map(|_| ()))?;
            changed += 1;
        }
    }
    tx.commit().await?;
    Ok(changed)
}
