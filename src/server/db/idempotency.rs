//! The first response to each `Idempotency-Key` of an organisation (`services::idempotency`
//! keeps the rules).

use super::Db;
use crate::on_db;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A key as it is stored: the request it was first used with, and the answer once there is one.
#[derive(sqlx::FromRow)]
pub struct Stored {
    pub fingerprint: String,
    pub status: Option<i32>,
    pub content_type: Option<String>,
    pub body: Option<Vec<u8>>,
}

/// Takes `key` for a request with `fingerprint`: when the organisation has not used it, or
/// its last use is from before `expired_before`, or that use was never answered and began
/// before `abandoned_before`. One statement, so of two requests at once only one takes it.
pub async fn claim(
    db: &Db,
    org_id: Uuid,
    key: &str,
    fingerprint: &str,
    now: DateTime<Utc>,
    expired_before: DateTime<Utc>,
    abandoned_before: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let sql = "INSERT INTO idempotency_keys (org_id, key, fingerprint, created_at) VALUES ($1, $2, $3, $4) \
               ON CONFLICT (org_id, key) DO UPDATE SET fingerprint = excluded.fingerprint, \
                 status = NULL, content_type = NULL, body = NULL, created_at = excluded.created_at \
               WHERE idempotency_keys.created_at < $5 \
                  OR (idempotency_keys.status IS NULL AND idempotency_keys.created_at < $6) \
               RETURNING key";
    on_db!(db, pool => sqlx::query_scalar::<_, String>(sql)
        .bind(org_id).bind(key).bind(fingerprint).bind(now).bind(expired_before).bind(abandoned_before)
        .fetch_optional(pool).await.map(|taken| taken.is_some()))
}

pub async fn get(db: &Db, org_id: Uuid, key: &str) -> Result<Option<Stored>, sqlx::Error> {
    let sql = "SELECT fingerprint, status, content_type, body FROM idempotency_keys \
               WHERE org_id = $1 AND key = $2";
    on_db!(db, pool => sqlx::query_as::<_, Stored>(sql).bind(org_id).bind(key).fetch_optional(pool).await)
}

/// Keeps the answer to the request that took `key`.
pub async fn complete(
    db: &Db,
    org_id: Uuid,
    key: &str,
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<(), sqlx::Error> {
    let sql = "UPDATE idempotency_keys SET status = $3, content_type = $4, body = $5 \
               WHERE org_id = $1 AND key = $2";
    on_db!(db, pool => sqlx::query(sql).bind(org_id).bind(key).bind(i32::from(status))
        .bind(content_type).bind(body).execute(pool).await.map(|_| ()))
}

/// Gives `key` back unanswered (the request failed on our side, or was given up): the next
/// request with it does the work.
pub async fn release(db: &Db, org_id: Uuid, key: &str) -> Result<(), sqlx::Error> {
    let sql = "DELETE FROM idempotency_keys WHERE org_id = $1 AND key = $2 AND status IS NULL";
    on_db!(db, pool => sqlx::query(sql).bind(org_id).bind(key).execute(pool).await.map(|_| ()))
}

/// Forgets keys first used before `before` (housekeeping), up to `limit` of them.
pub async fn purge(db: &Db, before: DateTime<Utc>, limit: i64) -> Result<u64, sqlx::Error> {
    let sql = "DELETE FROM idempotency_keys WHERE (org_id, key) IN \
               (SELECT org_id, key FROM idempotency_keys WHERE created_at < $1 LIMIT $2)";
    on_db!(db, pool => sqlx::query(sql).bind(before).bind(limit).execute(pool).await.map(|r| r.rows_affected()))
}
