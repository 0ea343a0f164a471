//! Sign-in throttling counters (`auth::throttle` keeps the rules), shared by every process.

use super::{Db, Tx};
use crate::{on_db, on_tx};
use chrono::{DateTime, Utc};

/// Counts one failure on `key` — starting a new window when the last one began before
/// `window_start_after` and no lock holds — as part of `tx` (on PostgreSQL the row stays
/// locked until it ends; on SQLite the unit of work holds the write lock), and returns the
/// failures in the window with the lock that holds, if any.
pub async fn count_failure(
    tx: &mut Tx,
    key: &str,
    now: DateTime<Utc>,
    window_start_after: DateTime<Utc>,
) -> Result<(i64, Option<DateTime<Utc>>), sqlx::Error> {
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
               RETURNING failures, locked_until";
    on_tx!(tx, conn => sqlx::query_as::<_, (i64, Option<DateTime<Utc>>)>(sql)
        .bind(key)
        .bind(now)
        .bind(window_start_after)
        .fetch_one(&mut *conn)
        .await)
}

pub async fn lock(tx: &mut Tx, key: &str, until: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let sql = "UPDATE sign_in_throttle SET locked_until = $2 WHERE key = $1";
    on_tx!(tx, conn => sqlx::query(sql).bind(key).bind(until).execute(&mut *conn).await.map(|_| ()))
}

/// Takes back one failure counted on `key`, and its lock once it is under `free_failures`.
pub async fn uncount(db: &Db, key: &str, free_failures: i64) -> Result<(), sqlx::Error> {
    let sql = "UPDATE sign_in_throttle SET failures = failures - 1, \
               locked_until = CASE WHEN failures - 1 < $2 THEN NULL ELSE locked_until END \
               WHERE key = $1 AND failures > 0";
    on_db!(db, pool => sqlx::query(sql).bind(key).bind(free_failures).execute(pool).await.map(|_| ()))
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
