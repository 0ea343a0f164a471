//! The audit log: who did what to which record, when.

use super::{Conn, Db};
use crate::domain::AuditRecord;
use crate::{on_conn, on_db};
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

pub struct Entry<'a> {
    pub org_id: Uuid,
    pub actor: &'a str,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: Option<Uuid>,
    pub detail: serde_json::Value,
    pub at: DateTime<Utc>,
}

/// Writes one entry, on its own or as part of a unit of work.
pub async fn record(conn: impl Into<Conn<'_>>, e: Entry<'_>) -> Result<(), sqlx::Error> {
    let sql =
        "INSERT INTO audit_log (id, org_id, actor, action, entity, entity_id, detail, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    on_conn!(conn.into(), c => sqlx::query(sql)
        .bind(Uuid::now_v7())
        .bind(e.org_id)
        .bind(e.actor)
        .bind(e.action)
        .bind(e.entity)
        .bind(e.entity_id)
        .bind(Json(&e.detail))
        .bind(e.at)
        .execute(c)
        .await
        .map(|_| ()))
}

const COLUMNS: &str = "id, actor, action, entity, entity_id, detail, created_at";

/// What happened to one record, oldest first.
pub async fn for_entity(
    db: &Db,
    org_id: Uuid,
    entity: &str,
    entity_id: Uuid,
) -> Result<Vec<AuditRecord>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM audit_log WHERE org_id = $1 AND entity = $2 AND entity_id = $3 \
         ORDER BY created_at, id LIMIT 500"
    );
    on_db!(db, pool => sqlx::query_as::<_, AuditRecord>(&sql).bind(org_id).bind(entity).bind(entity_id).fetch_all(pool).await)
}

/// The newest entries of the organisation, a page at a time; a page after the first found as
/// a keyset (the key of the entry before it, then the entries after that key).
pub async fn recent(
    db: &Db,
    org_id: Uuid,
    offset: i64,
    limit: i64,
) -> Result<Vec<AuditRecord>, sqlx::Error> {
    const ORDER: &str = "ORDER BY created_at DESC, id DESC";
    if offset <= 0 {
        let sql = format!("SELECT {COLUMNS} FROM audit_log WHERE org_id = $1 {ORDER} LIMIT $2");
        return on_db!(db, pool => sqlx::query_as::<_, AuditRecord>(&sql).bind(org_id).bind(limit).fetch_all(pool).await);
    }
    let seek =
        format!("SELECT created_at, id FROM audit_log WHERE org_id = $1 {ORDER} LIMIT 1 OFFSET $2");
    let key: Option<(DateTime<Utc>, Uuid)> = on_db!(db, pool =>
        sqlx::query_as(&seek).bind(org_id).bind(offset - 1).fetch_optional(pool).await)?;
    let Some((at, id)) = key else {
        return Ok(Vec::new());
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM audit_log WHERE org_id = $1 AND (created_at, id) < ($2, $3) {ORDER} LIMIT $4"
    );
    on_db!(db, pool => sqlx::query_as::<_, AuditRecord>(&sql).bind(org_id).bind(at).bind(id).bind(limit).fetch_all(pool).await)
}
