//! The audit log: who did what to which record, when.

use super::Db;
use crate::on_db;
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

pub async fn record(db: &Db, e: Entry<'_>) -> Result<(), sqlx::Error> {
    let sql =
        "INSERT INTO audit_log (id, org_id, actor, action, entity, entity_id, detail, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    on_db!(db, pool => sqlx::query(sql)
        .bind(Uuid::now_v7())
        .bind(e.org_id)
        .bind(e.actor)
        .bind(e.action)
        .bind(e.entity)
        .bind(e.entity_id)
        .bind(Json(&e.detail))
        .bind(e.at)
        .execute(pool)
        .await
        .map(|_| ()))
}
