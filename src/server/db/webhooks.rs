//! Event webhook subscriptions (their secrets read only by the sender) and what the outbox
//! needs to tell them of an event.

use super::deliveries::COLUMNS;
use super::{ph, phs, Db, Tx};
use crate::domain::delivery::Delivery;
use crate::domain::webhooks::{EventType, Subscription};
use crate::server::secrets::Keyring;
use crate::{on_db, on_tx};
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

type Row = (
    Uuid,
    Uuid,
    String,
    Json<Vec<EventType>>,
    String,
    bool,
    DateTime<Utc>,
    DateTime<Utc>,
);

const SELECT: &str = "SELECT id, org_id, url, events, description, enabled, created_at, \
    updated_at FROM event_subscriptions";

fn subscription(r: Row) -> Subscription {
    Subscription {
        id: r.0,
        org_id: r.1,
        url: r.2,
        events: r.3 .0,
        description: r.4,
        enabled: r.5,
        created_at: r.6,
        updated_at: r.7,
    }
}

/// The organisation's subscriptions, oldest first.
pub async fn list(db: &Db, org_id: Uuid) -> Result<Vec<Subscription>, sqlx::Error> {
    let sql = format!("{SELECT} WHERE org_id = $1 ORDER BY created_at, id");
    let rows: Vec<Row> =
        on_db!(db, pool => sqlx::query_as(&sql).bind(org_id).fetch_all(pool).await)?;
    Ok(rows.into_iter().map(subscription).collect())
}

pub async fn get(db: &Db, org_id: Uuid, id: Uuid) -> Result<Option<Subscription>, sqlx::Error> {
    let sql = format!("{SELECT} WHERE org_id = $1 AND id = $2");
    let row: Option<Row> =
        on_db!(db, pool => sqlx::query_as(&sql).bind(org_id).bind(id).fetch_optional(pool).await)?;
    Ok(row.map(subscription))
}

/// Writes a subscription: a new one with its secret (sealed with `keys`), or a change (the
/// secret stays).
pub async fn save(
    db: &Db,
    keys: &Keyring,
    s: &Subscription,
    new_secret: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let events = Json(&s.events);
    match new_secret {
        Some(secret) => {
            let sql = "INSERT INTO event_subscriptions (id, org_id, url, secret, events, \
                       description, enabled, created_at, updated_at) \
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
            on_db!(db, pool => sqlx::query(sql)
                .bind(s.id).bind(s.org_id).bind(&s.url).bind(keys.seal(secret)).bind(events)
                .bind(&s.description).bind(s.enabled).bind(s.created_at).bind(s.updated_at)
                .execute(pool).await.map(|r| r.rows_affected() == 1))
        }
        None => {
            let sql = "UPDATE event_subscriptions SET url = $3, events = $4, description = $5, \
                       enabled = $6, updated_at = $7 WHERE org_id = $1 AND id = $2";
            on_db!(db, pool => sqlx::query(sql)
                .bind(s.org_id).bind(s.id).bind(&s.url).bind(events).bind(&s.description)
                .bind(s.enabled).bind(s.updated_at)
                .execute(pool).await.map(|r| r.rows_affected() == 1))
        }
    }
}

pub async fn delete(db: &Db, org_id: Uuid, id: Uuid) -> Result<bool, sqlx::Error> {
    let sql = "DELETE FROM event_subscriptions WHERE org_id = $1 AND id = $2";
    on_db!(db, pool => sqlx::query(sql).bind(org_id).bind(id).execute(pool).await
        .map(|r| r.rows_affected() == 1))
}

/// The secret a subscription's events are signed with (opened with `keys`), while it is
/// switched on.
pub async fn secret(
    db: &Db,
    keys: &Keyring,
    org_id: Uuid,
    id: Uuid,
) -> Result<Option<String>, sqlx::Error> {
    let sql = "SELECT secret FROM event_subscriptions WHERE org_id = $1 AND id = $2 AND enabled";
    let sealed: Option<String> = on_db!(db, pool => sqlx::query_scalar(sql).bind(org_id).bind(id)
        .fetch_optional(pool).await)?;
    Ok(sealed.map(|s| keys.open(&s)).transpose()?)
}

/// The organisation's switched-on subscriptions, read in the unit of work that records the
/// events they are told of: (id, url, events).
pub async fn active(
    tx: &mut Tx,
    org_id: Uuid,
) -> Result<Vec<(Uuid, String, Vec<EventType>)>, sqlx::Error> {
    let sql = "SELECT id, url, events FROM event_subscriptions WHERE org_id = $1 AND enabled \
               ORDER BY created_at, id";
    let rows: Vec<(Uuid, String, Json<Vec<EventType>>)> = on_tx!(tx, conn =>
        sqlx::query_as(sql).bind(org_id).fetch_all(&mut *conn).await)?;
    Ok(rows
        .into_iter()
        .map(|(id, url, e)| (id, url, e.0))
        .collect())
}

/// The organisation's deliveries with these ids, in the unit of work `tx`.
pub async fn deliveries(
    tx: &mut Tx,
    org_id: Uuid,
    ids: &[Uuid],
) -> Result<Vec<Delivery>, sqlx::Error> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        // Every parameter with `ph` once one is (see `db::ph`).
        let sql = format!(
            "SELECT {COLUMNS} FROM deliveries WHERE org_id = {} AND id IN ({})",
            ph(&*tx, 1),
            phs(&*tx, 2, chunk.len())
        );
        let rows: Vec<Delivery> = on_tx!(tx, conn => {
            let mut q = sqlx::query_as(&sql).bind(org_id);
            for id in chunk {
                q = q.bind(id);
            }
            q.fetch_all(&mut *conn).await
        })?;
        out.extend(rows);
    }
    Ok(out)
}
