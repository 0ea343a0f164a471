//! Token buckets of the rate limits, shared by the processes on one PostgreSQL database
//! (`server::ratelimit` keeps the rules).

use super::Db;
use crate::on_db;

/// Takes a token from `bucket` (capacity `capacity`, refilled at `per_second`) at `now_s`
/// (seconds since the epoch), in one statement: whether one was there, and how many are left.
pub async fn take(
    db: &Db,
    bucket: &str,
    capacity: f64,
    per_second: f64,
    now_s: f64,
) -> Result<(bool, f64), sqlx::Error> {
    // `refilled` is written out where it is used: the tokens there were, plus the refill since
    // (none when this process's clock is behind the one that wrote last).
    let elapsed = "CASE WHEN $4 > rate_buckets.at_s THEN $4 - rate_buckets.at_s ELSE 0 END";
    let refilled = format!(
        "CASE WHEN rate_buckets.tokens + ({elapsed}) * $3 > $2 THEN $2 \
         ELSE rate_buckets.tokens + ({elapsed}) * $3 END"
    );
    let sql = format!(
        "INSERT INTO rate_buckets (bucket, tokens, at_s, allowed) VALUES ($1, $2 - 1, $4, TRUE) \
         ON CONFLICT (bucket) DO UPDATE SET \
           tokens = CASE WHEN {refilled} >= 1 THEN {refilled} - 1 ELSE {refilled} END, \
           allowed = {refilled} >= 1, \
           at_s = CASE WHEN $4 > rate_buckets.at_s THEN $4 ELSE rate_buckets.at_s END \
         RETURNING allowed, tokens"
    );
    on_db!(db, pool => sqlx::query_as::<_, (bool, f64)>(&sql)
        .bind(bucket).bind(capacity).bind(per_second).bind(now_s)
        .fetch_one(pool).await)
}

/// Forgets buckets untouched since `before_s` (they are full again by then).
pub async fn purge(db: &Db, before_s: f64) -> Result<u64, sqlx::Error> {
    on_db!(db, pool => sqlx::query("DELETE FROM rate_buckets WHERE at_s < $1").bind(before_s)
        .execute(pool).await.map(|r| r.rows_affected()))
}
