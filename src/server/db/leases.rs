//! Leases on periodic work: with several worker processes on one database, each interval's
//! work is done once, by whichever process takes its lease first.

use super::Db;
use crate::on_db;
use chrono::{DateTime, Utc};

/// Takes the lease on `task` until `until` if no one holds it at `now`; whether this caller
/// got it. One statement, so two processes asking together cannot both get it.
pub async fn take(
    db: &Db,
    task: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let sql = "INSERT INTO work_leases (task, held_until) VALUES ($1, $3) \
               ON CONFLICT (task) DO UPDATE SET held_until = excluded.held_until \
               WHERE work_leases.held_until <= $2 \
               RETURNING task";
    on_db!(db, pool => sqlx::query_scalar::<_, String>(sql)
        .bind(task)
        .bind(now)
        .bind(until)
        .fetch_optional(pool)
        .await
        .map(|taken| taken.is_some()))
}
