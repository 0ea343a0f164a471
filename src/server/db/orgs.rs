//! Organisations (tenants).

use super::{Conn, Db, Tx};
use crate::domain::Organisation;
use crate::{on_conn, on_db, on_tx};

const COLUMNS: &str = "id, name, slug, timezone, phone_region, created_at";

pub async fn count(conn: impl Into<Conn<'_>>) -> Result<i64, sqlx::Error> {
    on_conn!(conn.into(), c => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM organisations").fetch_one(c).await)
}

/// Makes first-run setups wait for one another until `tx` ends: on PostgreSQL a lock for
/// the purpose (a transaction-level advisory lock); on SQLite every unit of work already
/// holds the write lock.
pub async fn lock_first_run(tx: &mut Tx) -> Result<(), sqlx::Error> {
    match tx {
        Tx::Postgres(_) => on_tx!(tx, conn => sqlx::query("SELECT pg_advisory_xact_lock(726001)")
            .execute(&mut *conn).await.map(|_| ())),
        Tx::Sqlite(_) => Ok(()),
    }
}

pub async fn insert(conn: impl Into<Conn<'_>>, org: &Organisation) -> Result<(), sqlx::Error> {
    let sql = "INSERT INTO organisations (id, name, slug, timezone, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)";
    on_conn!(conn.into(), pool => sqlx::query(sql)
        .bind(org.id)
        .bind(&org.name)
        .bind(&org.slug)
        .bind(&org.timezone)
        .bind(org.created_at)
        .execute(pool)
        .await
        .map(|_| ()))
}

pub async fn by_slug(db: &Db, slug: &str) -> Result<Option<Organisation>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM organisations WHERE slug = $1");
    on_db!(db, pool => sqlx::query_as::<_, Organisation>(&sql).bind(slug).fetch_optional(pool).await)
}

pub async fn by_id(db: &Db, id: uuid::Uuid) -> Result<Option<Organisation>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM organisations WHERE id = $1");
    on_db!(db, pool => sqlx::query_as::<_, Organisation>(&sql).bind(id).fetch_optional(pool).await)
}

pub async fn ids(db: &Db) -> Result<Vec<uuid::Uuid>, sqlx::Error> {
    on_db!(db, pool => sqlx::query_scalar::<_, uuid::Uuid>("SELECT id FROM organisations ORDER BY id").fetch_all(pool).await)
}

pub async fn update(
    db: &Db,
    id: uuid::Uuid,
    name: &str,
    timezone: &str,
    phone_region: Option<&str>,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<bool, sqlx::Error> {
    let sql =
        "UPDATE organisations SET name = $2, timezone = $3, phone_region = $4, updated_at = $5 \
               WHERE id = $1";
    on_db!(db, pool => sqlx::query(sql).bind(id).bind(name).bind(timezone).bind(phone_region)
        .bind(at).execute(pool).await.map(|r| r.rows_affected() > 0))
}
