//! Privacy's statements: erasing what is held about a deleted person, and forgetting what is
//! older than the organisation keeps it (retention), a batch at a time.

use super::{Db, Tx};
use crate::{on_db, on_tx};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// What stands in for a deleted person's name.
pub const ERASED_NAME: &str = "Deleted person";

/// Erases what is held about the person `person_id` of `org_id` in the unit of work `tx`:
/// their addresses, conversations and messages, activity, dates and reminders,
/// recommendations and notifications go; their messages keep only what counts them (channel,
/// status, campaign and variant, times), not their words, address or metadata; their own row
/// keeps only its id and the time it was deleted, and the audit of it and its records keeps
/// what was done, not the values.
pub async fn erase_person(
    tx: &mut Tx,
    org_id: Uuid,
    person_id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let statements = [
        "DELETE FROM messages WHERE org_id = $1 AND conversation_id IN \
         (SELECT id FROM conversations WHERE org_id = $1 AND person_id = $2)",
        "UPDATE deliveries SET conversation_id = NULL WHERE org_id = $1 AND person_id = $2 \
         AND conversation_id IS NOT NULL",
        "DELETE FROM conversations WHERE org_id = $1 AND person_id = $2",
        "UPDATE deliveries SET identity_id = NULL, reminder_rule_id = NULL \
         WHERE org_id = $1 AND person_id = $2",
        "DELETE FROM comm_identities WHERE org_id = $1 AND person_id = $2",
        "DELETE FROM activity_events WHERE org_id = $1 AND person_id = $2",
        "DELETE FROM reminder_rules WHERE org_id = $1 AND person_id = $2",
        "DELETE FROM date_items WHERE org_id = $1 AND person_id = $2",
        "DELETE FROM recommendations WHERE org_id = $1 AND person_id = $2",
        "DELETE FROM notifications WHERE org_id = $1 AND person_id = $2",
        "UPDATE delivery_events SET detail = NULL WHERE org_id = $1 AND delivery_id IN \
         (SELECT id FROM deliveries WHERE org_id = $1 AND person_id = $2)",
        "UPDATE deliveries SET address = NULL, subject = NULL, body = '', metadata = '{}', \
         last_error = NULL, correlation_id = NULL, safety_checks = '{}' \
         WHERE org_id = $1 AND person_id = $2",
        "UPDATE persons SET preferred_name = NULL, email = NULL, phone = NULL, birthday = NULL, \
         tags = '[]', external_id = NULL, notes = NULL, search_text = '', locale = NULL, \
         related_person_id = NULL, relationship = NULL, last_active_at = NULL, \
         consent_source = NULL WHERE org_id = $1 AND id = $2",
    ];
    for sql in statements {
        on_tx!(&mut *tx, conn => sqlx::query(sql).bind(org_id).bind(person_id)
            .execute(&mut *conn).await.map(|_| ()))?;
    }
    // The audit of them, and of their records (which name them), keeps what was done.
    let named = match tx {
        Tx::Sqlite(_) => "json_extract(detail, '$.person_id')",
        Tx::Postgres(_) => "detail->>'person_id'",
    };
    let audit = format!(
        "UPDATE audit_log SET detail = '{{}}' WHERE org_id = $1 \
         AND ((entity = 'person' AND entity_id = $2) OR {named} = $3)"
    );
    on_tx!(&mut *tx, conn => sqlx::query(&audit).bind(org_id).bind(person_id)
        .bind(person_id.to_string()).execute(&mut *conn).await.map(|_| ()))?;
    let name = "UPDATE persons SET full_name = $3, sort_name = $4, updated_at = $5 \
                WHERE org_id = $1 AND id = $2";
    on_tx!(tx, conn => sqlx::query(name).bind(org_id).bind(person_id).bind(ERASED_NAME)
        .bind(ERASED_NAME.to_lowercase()).bind(at).execute(&mut *conn).await.map(|_| ()))
}

/// How many rows a retention statement touches at once, so housekeeping never holds a long
/// lock over a big table.
pub const RETENTION_BATCH: i64 = 1000;

/// One kind of record retention forgets: what it is called (in logs and settings) and the
/// statement that forgets up to `$2` of them older than `$1`.
pub struct Retained {
    pub name: &'static str,
    sql: &'static str,
}

/// The bodies of settled messages: their words, subject, address and metadata are blanked;
/// the row (what counts them) stays.
pub const MESSAGE_BODIES: Retained = Retained {
    name: "message bodies",
    sql: "UPDATE deliveries SET body = '', subject = NULL, address = NULL, metadata = '{}', \
          safety_checks = '{}' WHERE id IN (SELECT id FROM deliveries \
          WHERE status IN ('sent', 'delivered', 'failed', 'suppressed', 'cancelled') \
          AND updated_at < $1 AND (body <> '' OR address IS NOT NULL) LIMIT $2)",
};

/// The events of messages (attempts, reports).
pub const DELIVERY_EVENTS: Retained = Retained {
    name: "delivery events",
    sql: "DELETE FROM delivery_events WHERE id IN \
          (SELECT id FROM delivery_events WHERE at < $1 LIMIT $2)",
};

/// Audit entries.
pub const AUDIT_ENTRIES: Retained = Retained {
    name: "audit entries",
    sql: "DELETE FROM audit_log WHERE id IN \
          (SELECT id FROM audit_log WHERE created_at < $1 LIMIT $2)",
};

/// Finished engagement runs (a run still going is never forgotten).
pub const FINISHED_RUNS: Retained = Retained {
    name: "finished runs",
    sql: "DELETE FROM engagement_runs WHERE id IN (SELECT id FROM engagement_runs \
          WHERE finished_at IS NOT NULL AND finished_at < $1 LIMIT $2)",
};

/// Forgets up to [`RETENTION_BATCH`] records of `what` from before `before`, across
/// organisations (each organisation's own rows, by their own age). How many.
pub async fn forget_before(
    db: &Db,
    what: &Retained,
    before: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    on_db!(db, pool => sqlx::query(what.sql).bind(before).bind(RETENTION_BATCH)
        .execute(pool).await.map(|r| r.rows_affected()))
}
