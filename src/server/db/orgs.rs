//! Organisations (tenants).

use super::Db;
use crate::domain::Organisation;
use crate::on_db;

const COLUMNS: &str = "id, name, slug, timezone, created_at";

pub async fn count(db: &Db) -> Result<i64, sqlx::Error> {
    on_db!(db, pool => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM organisations").fetch_one(pool).await)
}

pub async fn insert(db: &Db, org: &Organisation) -> Result<(), sqlx::Error> {
    let sql = "INSERT INTO organisations (id, name, slug, timezone, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)";
    on_db!(db, pool => sqlx::query(sql)
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
    at: chrono::DateTime<chrono::Utc>,
) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE organisations SET name = $2, timezone = $3, updated_at = $4 WHERE id = $1";
    on_db!(db, pool => sqlx::query(sql).bind(id).bind(name).bind(timezone).bind(at)
        .execute(pool).await.map(|r| r.rows_affected() > 0))
}
