//! Activity events, written in batches with the people's `last_active_at` moved forward.

use super::Db;
use crate::domain::activity::ActivityEvent;
use crate::on_db;
use uuid::Uuid;

/// Writes the events and moves each person's `last_active_at` to their latest event, all or
/// nothing.
pub async fn insert_all(db: &Db, events: &[ActivityEvent]) -> Result<(), sqlx::Error> {
    let insert = "INSERT INTO activity_events (id, org_id, person_id, name, properties, occurred_at, created_at) \
                  VALUES ($1, $2, $3, $4, $5, $6, $7)";
    let touch = "UPDATE persons SET last_active_at = $3 WHERE org_id = $1 AND id = $2 \
                 AND (last_active_at IS NULL OR last_active_at < $3)";
    let mut latest: Vec<(Uuid, Uuid, chrono::DateTime<chrono::Utc>)> = Vec::new();
    for e in events {
        match latest.iter_mut().find(|(_, p, _)| *p == e.person_id) {
            Some(entry) => entry.2 = entry.2.max(e.occurred_at),
            None => latest.push((e.org_id, e.person_id, e.occurred_at)),
        }
    }
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        for e in events {
            sqlx::query(insert)
                .bind(e.id).bind(e.org_id).bind(e.person_id).bind(&e.name)
                .bind(sqlx::types::Json(&e.properties)).bind(e.occurred_at).bind(e.created_at)
                .execute(&mut *tx).await?;
        }
        for (org_id, person_id, at) in &latest {
            sqlx::query(touch).bind(org_id).bind(person_id).bind(at).execute(&mut *tx).await?;
        }
        tx.commit().await
    })
}

/// A person's events, newest first.
pub async fn for_person(
    db: &Db,
    org_id: Uuid,
    person_id: Uuid,
    limit: i64,
) -> Result<Vec<ActivityEvent>, sqlx::Error> {
    let sql = "SELECT id, org_id, person_id, name, properties, occurred_at, created_at FROM activity_events \
               WHERE org_id = $1 AND person_id = $2 ORDER BY occurred_at DESC, id DESC LIMIT $3";
    on_db!(db, pool => sqlx::query_as::<_, ActivityEvent>(sql).bind(org_id).bind(person_id).bind(limit).fetch_all(pool).await)
}
