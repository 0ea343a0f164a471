//! Sign-in throttling counters (`auth::throttle` keeps the rules), shared by every process.

use super::Db;
use crate::on_db;
use chrono::{DateTime, Utc};

/// The latest lock among `keys` still in force at `now`.
pub async fn locked_until(
    db: &Db,
    keys: &[String; 3],
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let sql = "SELECT MAX(locked_until) FROM sign_in_throttle \
               WHERE key IN ($1, $2, $3) AND locked_until > $4";
    on_db!(db, pool => sqlx::query_scalar::<_, Option<DateTime<Utc>>>(sql)
        .bind(&keys[0])
        .bind(&keys[1])
        .bind(&keys[2])
        .bind(now)
        .fetch_one(pool)
        .await)
}

/// Counts one failure on `key` — starting a new window when the last one began before
/// `window_start_after` and no lock holds — and returns the failures in the window.
pub async fn count_failure(
    db: &Db,
    key: &str,
    now: DateTime<Utc>,
    window_start_after: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    // Every right-hand side reads the row as it was before this statement.
    let sql = "INSERT INTO sign_in_throttle (key, failures, window_start, locked_until) \
               VALUES ($1, 1, $2, NULL) \
               ON CONFLICT (key) DO UPDATE SET \
                 failures = CASE WHEN sign_in_throttle.window_start < $3 \
                                  AND (sign_in_throttle.locked_until IS NULL OR sign_in_throttle.locked_until <= $2) \
                            THEN 1 ELSE sign_in_throttle.failures + 1 END, \
                 locked_until = CASE WHEN sign_in_throttle.window_start < $3 \
                                  AND (sign_in_throttle.locked_until IS NULL OR sign_in_throttle.locked_until <= $2) \
                            THEN NULL ELSE sign_in_throttle.locked_until END, \
                 window_start = CASE WHEN sign_in_throttle.window_start < $3 \
                                  AND (sign_in_throttle.locked_until IS NULL OR sign_in_throttle.locked_until <= $2) \
                            THEN $2 ELSE sign_in_throttle.window_start END \
               RETURNING failures";
    on_db!(db, pool => sqlx::query_scalar::<_, i64>(sql)
        .bind(key)
        .bind(now)
        .bind(window_start_after)
        .fetch_one(pool)
        .await)
}

pub async fn lock(db: &Db, key: &str, until: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let sql = "UPDATE sign_in_throttle SET locked_until = $2 WHERE key = $1";
    on_db!(db, pool => sqlx::query(sql).bind(key).bind(until).execute(pool).await.map(|_| ()))
}

pub async fn forget(db: &Db, keys: &[String; 2]) -> Result<(), sqlx::Error> {
    let sql = "DELETE FROM sign_in_throttle WHERE key IN ($1, $2)";
    on_db!(db, pool => sqlx::query(sql).bind(&keys[0]).bind(&keys[1]).execute(pool).await.map(|_| ()))
}

/// Removes counters whose window began before `window_start_before` and whose lock is over.
pub async fn purge(
    db: &Db,
    now: DateTime<Utc>,
    window_start_before: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let sql = "DELETE FROM sign_in_throttle WHERE window_start < $2 \
               AND (locked_until IS NULL OR locked_until <= $1)";
    on_db!(db, pool => sqlx::query(sql).bind(now).bind(window_start_before).execute(pool).await.map(|r| r.rows_affected()))
}
