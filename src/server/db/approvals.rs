//! The approval queue's statements: AI-written messages `awaiting_approval`, oldest first; a
//! staff member's approval, edit or rejection; and expiry. Each change writes its event in the
//! same unit of work, and only moves a message that is still awaiting approval (two people
//! reviewing at once cannot both decide it).

use super::deliveries::COLUMNS;
use super::{Db, Tx};
use crate::domain::delivery::Delivery;
use crate::{on_db, on_tx};
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

const EVENT: &str = "INSERT INTO delivery_events (id, org_id, delivery_id, event, status, \
    attempt, detail, at) VALUES ($1, $2, $3, $4, $5, 0, $6, $7)";

/// A page of the organisation's messages awaiting approval, oldest first, and how many there
/// are in all.
pub async fn list(
    db: &Db,
    org_id: Uuid,
    skip: i64,
    limit: i64,
) -> Result<(Vec<Delivery>, i64), sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM deliveries WHERE org_id = $1 AND status = 'awaiting_approval' \
         ORDER BY created_at, id LIMIT $2 OFFSET $3"
    );
    let rows: Vec<Delivery> = on_db!(db, pool => sqlx::query_as(&sql)
        .bind(org_id).bind(limit).bind(skip).fetch_all(pool).await)?;
    Ok((rows, count(db, org_id).await?))
}

/// How many of the organisation's messages await approval (the navigation's count).
pub async fn count(db: &Db, org_id: Uuid) -> Result<i64, sqlx::Error> {
    let sql = "SELECT COUNT(*) FROM deliveries WHERE org_id = $1 AND status = 'awaiting_approval'";
    on_db!(db, pool => sqlx::query_scalar(sql).bind(org_id).fetch_one(pool).await)
}

/// How a reviewed message moves on.
pub enum Verdict<'a> {
    /// Queued to go at the time it was meant for (or now, if that has passed).
    Approve,
    /// Never sent: cancelled, with the reviewer's reason.
    Reject { reason: &'a str },
}

/// Approves or rejects one awaiting message in `tx`, with its event; false when it was not
/// awaiting approval (any more).
pub async fn decide(
    tx: &mut Tx,
    org_id: Uuid,
    id: Uuid,
    verdict: &Verdict<'_>,
    by: Option<Uuid>,
    detail: &str,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let (sql, event, status, reason) = match verdict {
        Verdict::Approve => (
            "UPDATE deliveries SET status = 'pending', reviewed_by = $3, reviewed_at = $4, \
             updated_at = $4, next_attempt_at = CASE WHEN next_attempt_at > $4 \
             THEN next_attempt_at ELSE $4 END \
             WHERE org_id = $1 AND id = $2 AND status = 'awaiting_approval'",
            "approved",
            "pending",
            None,
        ),
        Verdict::Reject { reason } => (
            "UPDATE deliveries SET status = 'cancelled', reviewed_by = $3, reviewed_at = $4, \
             updated_at = $4, next_attempt_at = NULL, suppression_reason = 'rejected', \
             last_error = $5 \
             WHERE org_id = $1 AND id = $2 AND status = 'awaiting_approval'",
            "rejected",
            "cancelled",
            Some(*reason),
        ),
    };
    on_tx!(tx, conn => {
        let q = sqlx::query(sql).bind(org_id).bind(id).bind(by).bind(at);
        let q = match reason { Some(r) => q.bind(r), None => q };
        let done = q.execute(&mut *conn).await?.rows_affected() == 1;
        if done {
            sqlx::query(EVENT)
                .bind(Uuid::now_v7()).bind(org_id).bind(id).bind(event).bind(status)
                .bind(detail).bind(at)
                .execute(&mut *conn).await?;
        }
        Ok(done)
    })
}

/// New words for an awaiting message (a staff member's edit, screened again): its subject,
/// body, safety checks and metadata, with an `edited` event. False when it is not awaiting
/// approval (any more).
#[allow(clippy::too_many_arguments)]
pub async fn edit(
    tx: &mut Tx,
    org_id: Uuid,
    id: Uuid,
    subject: Option<&str>,
    body: &str,
    safety_checks: &serde_json::Value,
    metadata: &serde_json::Value,
    detail: &str,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE deliveries SET subject = $3, body = $4, safety_checks = $5, metadata = $6, \
               updated_at = $7 WHERE org_id = $1 AND id = $2 AND status = 'awaiting_approval'";
    on_tx!(tx, conn => {
        let done = sqlx::query(sql)
            .bind(org_id).bind(id).bind(subject).bind(body).bind(Json(safety_checks))
            .bind(Json(metadata)).bind(at)
            .execute(&mut *conn).await?
            .rows_affected() == 1;
        if done {
            sqlx::query(EVENT)
                .bind(Uuid::now_v7()).bind(org_id).bind(id).bind("edited")
                .bind("awaiting_approval").bind(detail).bind(at)
                .execute(&mut *conn).await?;
        }
        Ok(done)
    })
}

/// Messages (of every organisation) whose approval has waited past its expiry, at most
/// `limit`: (organisation, id, campaign).
pub async fn expired(
    db: &Db,
    at: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<(Uuid, Uuid, Option<Uuid>)>, sqlx::Error> {
    let sql = "SELECT org_id, id, campaign_id FROM deliveries WHERE status = 'awaiting_approval' \
               AND approval_expires_at <= $1 ORDER BY approval_expires_at LIMIT $2";
    on_db!(db, pool => sqlx::query_as(sql).bind(at).bind(limit).fetch_all(pool).await)
}

/// Ends one message's wait unsent (suppressed, `approval_expired`), with its event; false when
/// it was reviewed meanwhile.
pub async fn expire(
    tx: &mut Tx,
    org_id: Uuid,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let sql =
        "UPDATE deliveries SET status = 'suppressed', suppression_reason = 'approval_expired', \
               next_attempt_at = NULL, updated_at = $3 \
               WHERE org_id = $1 AND id = $2 AND status = 'awaiting_approval' \
               AND approval_expires_at <= $3";
    on_tx!(tx, conn => {
        let done = sqlx::query(sql).bind(org_id).bind(id).bind(at)
            .execute(&mut *conn).await?
            .rows_affected() == 1;
        if done {
            sqlx::query(EVENT)
                .bind(Uuid::now_v7()).bind(org_id).bind(id).bind("expired")
                .bind("suppressed").bind("nobody approved it in time").bind(at)
                .execute(&mut *conn).await?;
        }
        Ok(done)
    })
}
