//! API keys. Only a SHA-256 hash of each key is stored; the key itself is shown once.

use super::Db;
use crate::on_db;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct ApiKey {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The key may read, not write.
    pub read_only: bool,
    /// The key stops working at this moment.
    pub expires_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str =
    "id, org_id, name, prefix, created_at, last_used_at, revoked_at, read_only, expires_at";

pub async fn insert(db: &Db, key: &ApiKey, key_hash: &str) -> Result<(), sqlx::Error> {
    let sql = "INSERT INTO api_keys (id, org_id, name, prefix, key_hash, created_at, read_only, expires_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    on_db!(db, pool => sqlx::query(sql)
        .bind(key.id)
        .bind(key.org_id)
        .bind(&key.name)
        .bind(&key.prefix)
        .bind(key_hash)
        .bind(key.created_at)
        .bind(key.read_only)
        .bind(key.expires_at)
        .execute(pool)
        .await
        .map(|_| ()))
}

pub async fn list(db: &Db, org_id: Uuid) -> Result<Vec<ApiKey>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE org_id = $1 ORDER BY created_at, id");
    on_db!(db, pool => sqlx::query_as::<_, ApiKey>(&sql).bind(org_id).fetch_all(pool).await)
}

/// The live key with this hash.
pub async fn by_hash(db: &Db, key_hash: &str) -> Result<Option<ApiKey>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL");
    on_db!(db, pool => sqlx::query_as::<_, ApiKey>(&sql).bind(key_hash).fetch_optional(pool).await)
}

pub async fn touch(db: &Db, org_id: Uuid, id: Uuid, at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let sql = "UPDATE api_keys SET last_used_at = $3 WHERE org_id = $1 AND id = $2";
    on_db!(db, pool => sqlx::query(sql).bind(org_id).bind(id).bind(at).execute(pool).await.map(|_| ()))
}

/// Revokes one of the organisation's live keys; false when it has no such key.
pub async fn revoke(
    db: &Db,
    org_id: Uuid,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let sql =
        "UPDATE api_keys SET revoked_at = $3 WHERE org_id = $1 AND id = $2 AND revoked_at IS NULL";
    on_db!(db, pool => sqlx::query(sql).bind(org_id).bind(id).bind(at).execute(pool).await.map(|r| r.rows_affected() > 0))
}
