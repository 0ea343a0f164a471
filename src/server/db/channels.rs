//! Per-organisation channel settings (secrets kept in their own column, sealed with the
//! installation's key and never read back into a page) and staff's in-portal notifications.

use super::Db;
use crate::domain::channels::ChannelSettings;
use crate::domain::delivery::Notification;
use crate::on_db;
use crate::server::secrets::{Keyring, SecretError};
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use std::collections::BTreeMap;
use uuid::Uuid;

type SettingsRow = (
    String,
    bool,
    Json<BTreeMap<String, String>>,
    Json<BTreeMap<String, String>>,
);

/// Every channel the organisation has configured, by name, their secrets opened with `keys`.
pub async fn settings(
    db: &Db,
    keys: &Keyring,
    org_id: Uuid,
) -> Result<BTreeMap<String, ChannelSettings>, sqlx::Error> {
    let sql = "SELECT channel, enabled, config, secrets FROM channel_settings WHERE org_id = $1";
    let rows: Vec<SettingsRow> =
        on_db!(db, pool => sqlx::query_as(sql).bind(org_id).fetch_all(pool).await)?;
    rows.into_iter()
        .map(|(channel, enabled, config, secrets)| {
            let secrets = secrets
                .0
                .into_iter()
                .map(|(k, v)| Ok((k, keys.open(&v)?)))
                .collect::<Result<_, SecretError>>()?;
            Ok((
                channel,
                ChannelSettings {
                    enabled,
                    config: config.0,
                    secrets,
                },
            ))
        })
        .collect()
}

/// Stores a channel's settings, its secrets sealed with `keys`.
pub async fn save(
    db: &Db,
    keys: &Keyring,
    org_id: Uuid,
    channel: &str,
    s: &ChannelSettings,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let sql =
        "INSERT INTO channel_settings (org_id, channel, enabled, config, secrets, updated_at) \
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (org_id, channel) DO UPDATE SET \
               enabled = excluded.enabled, config = excluded.config, secrets = excluded.secrets, \
               updated_at = excluded.updated_at";
    let sealed: BTreeMap<&String, String> =
        s.secrets.iter().map(|(k, v)| (k, keys.seal(v))).collect();
    on_db!(db, pool => sqlx::query(sql)
        .bind(org_id).bind(channel).bind(s.enabled).bind(Json(&s.config)).bind(Json(&sealed))
        .bind(at)
        .execute(pool).await.map(|_| ()))
}

pub async fn remove(db: &Db, org_id: Uuid, channel: &str) -> Result<bool, sqlx::Error> {
    let sql = "DELETE FROM channel_settings WHERE org_id = $1 AND channel = $2";
    on_db!(db, pool => sqlx::query(sql).bind(org_id).bind(channel).execute(pool).await
        .map(|r| r.rows_affected() == 1))
}

#[allow(clippy::too_many_arguments)]
/// Leaves the note with each staff member (once per delivery, however often it is repeated).
pub async fn notify(
    db: &Db,
    org_id: Uuid,
    staff: &[Uuid],
    delivery_id: Uuid,
    person_id: Option<Uuid>,
    title: &str,
    body: &str,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let sql = "INSERT INTO notifications (id, org_id, staff_id, delivery_id, person_id, title, body, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (delivery_id, staff_id) DO NOTHING";
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        for s in staff {
            sqlx::query(sql)
                .bind(Uuid::now_v7()).bind(org_id).bind(s).bind(delivery_id).bind(person_id)
                .bind(title).bind(body).bind(at)
                .execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    })
}

/// The staff who hear about an unassigned client: the organisation's active admins.
pub async fn admins(db: &Db, org_id: Uuid) -> Result<Vec<Uuid>, sqlx::Error> {
    let sql =
        "SELECT id FROM staff WHERE org_id = $1 AND role = 'admin' AND active ORDER BY created_at";
    on_db!(db, pool => sqlx::query_scalar(sql).bind(org_id).fetch_all(pool).await)
}

/// Newest first.
pub async fn notifications(
    db: &Db,
    org_id: Uuid,
    staff_id: Uuid,
    unread_only: bool,
    limit: i64,
) -> Result<Vec<Notification>, sqlx::Error> {
    let sql = "SELECT id, staff_id, delivery_id, person_id, title, body, read_at, created_at \
               FROM notifications WHERE org_id = $1 AND staff_id = $2 \
               AND (NOT $3 OR read_at IS NULL) ORDER BY created_at DESC, id DESC LIMIT $4";
    on_db!(db, pool => sqlx::query_as::<_, Notification>(sql)
        .bind(org_id).bind(staff_id).bind(unread_only).bind(limit).fetch_all(pool).await)
}

/// What the navigation counts, in one statement (it runs on every page): the staff member's
/// unread notes, and the organisation's messages awaiting approval.
pub async fn nav_counts(db: &Db, org_id: Uuid, staff_id: Uuid) -> Result<(i64, i64), sqlx::Error> {
    let sql = "SELECT (SELECT COUNT(*) FROM notifications WHERE org_id = $1 AND staff_id = $2 \
               AND read_at IS NULL), \
               (SELECT COUNT(*) FROM deliveries WHERE org_id = $1 AND status = 'awaiting_approval')";
    on_db!(db, pool => sqlx::query_as(sql).bind(org_id).bind(staff_id).fetch_one(pool).await)
}

/// Marks one note (or, with no id, all of them) read.
pub async fn mark_read(
    db: &Db,
    org_id: Uuid,
    staff_id: Uuid,
    id: Option<Uuid>,
    at: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let sql = "UPDATE notifications SET read_at = $4 WHERE org_id = $1 AND staff_id = $2 \
               AND ($3 IS NULL OR id = $3) AND read_at IS NULL";
    on_db!(db, pool => sqlx::query(sql).bind(org_id).bind(staff_id).bind(id).bind(at).execute(pool).await
        .map(|r| r.rows_affected()))
}
