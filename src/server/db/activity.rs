//! Activity events as read back (they are written with the roll-ups they move, by
//! `db::engagement::ingest`).

use super::Db;
use crate::domain::activity::ActivityEvent;
use crate::on_db;
use uuid::Uuid;

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
