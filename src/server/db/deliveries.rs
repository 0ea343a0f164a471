//! The outbox: deliveries and their events. Claiming is the one place the backends differ —
//! PostgreSQL skips rows another worker holds (`FOR UPDATE SKIP LOCKED`); SQLite has a single
//! writer, so its `UPDATE … RETURNING` is atomic as it stands.

use super::{ph, phs, value_rows, Db, Dialect, Tx};
use crate::domain::delivery::{Delivery, DeliveryEvent, DeliveryFilter, DeliveryStatus};
use crate::{on_db, on_tx};
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

pub const COLUMNS: &str = "id, org_id, person_id, staff_id, identity_id, kind, source, channel, \
    address, subject, body, metadata, status, suppression_reason, priority, attempts, max_attempts, \
    next_attempt_at, lease_owner, lease_expires_at, last_error, transport, provider_message_id, \
    idempotency_key, correlation_id, reminder_rule_id, occurrence, conversation_id, campaign_id, \
    variant, template, prompt_version, model, safety_checks, response, response_at, sent_at, \
    delivered_at, failed_at, created_at, updated_at, approval_expires_at";

const EVENT_INSERT: &str = "INSERT INTO delivery_events (id, org_id, delivery_id, event, status, \
    attempt, detail, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// Writes a new delivery and its first event, unless one with the same idempotency key exists
/// (then nothing is written and `false` comes back).
pub async fn insert(db: &Db, d: &Delivery, event: &str) -> Result<bool, sqlx::Error> {
    let sql = format!(
        "INSERT INTO deliveries ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
         $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, \
         $30, $31, $32, $33, $34, $35, $36, $37, $38, $39, $40, $41, $42) \
         ON CONFLICT (org_id, idempotency_key) DO NOTHING"
    );
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let inserted = sqlx::query(&sql)
            .bind(d.id).bind(d.org_id).bind(d.person_id).bind(d.staff_id).bind(d.identity_id)
            .bind(d.kind.as_str()).bind(d.source.as_str()).bind(d.channel.as_str())
            .bind(&d.address).bind(&d.subject).bind(&d.body).bind(Json(&d.metadata))
            .bind(d.status.as_str()).bind(&d.suppression_reason).bind(d.priority)
            .bind(d.attempts).bind(d.max_attempts).bind(d.next_attempt_at).bind(&d.lease_owner)
            .bind(d.lease_expires_at).bind(&d.last_error).bind(&d.transport)
            .bind(&d.provider_message_id).bind(&d.idempotency_key).bind(&d.correlation_id)
            .bind(d.reminder_rule_id).bind(&d.occurrence).bind(d.conversation_id)
            .bind(d.campaign_id).bind(&d.variant).bind(&d.template).bind(&d.prompt_version)
            .bind(&d.model).bind(Json(&d.safety_checks)).bind(&d.response).bind(d.response_at)
            .bind(d.sent_at).bind(d.delivered_at).bind(d.failed_at).bind(d.created_at)
            .bind(d.updated_at).bind(d.approval_expires_at)
            .execute(&mut *tx).await?
            .rows_affected() == 1;
        if inserted {
            sqlx::query(EVENT_INSERT)
                .bind(Uuid::now_v7()).bind(d.org_id).bind(d.id).bind(event)
                .bind(d.status.as_str()).bind(0_i32).bind(&d.suppression_reason)
                .bind(d.created_at)
                .execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(inserted)
    })
}

/// Writes many new deliveries at once, each with its first event (`events[i]` for
/// `deliveries[i]`); those whose idempotency key exists are left as they are. Returns the ids
/// written.
pub async fn insert_many(
    db: &Db,
    deliveries: &[Delivery],
    events: &[&str],
) -> Result<Vec<Uuid>, sqlx::Error> {
    let mut tx = db.begin().await?;
    let written = insert_many_in(&mut tx, deliveries, events).await?;
    tx.commit().await?;
    Ok(written)
}

/// [`insert_many`] in the unit of work `tx`.
pub async fn insert_many_in(
    tx: &mut Tx,
    deliveries: &[Delivery],
    events: &[&str],
) -> Result<Vec<Uuid>, sqlx::Error> {
    const ROWS: usize = 200;
    let mut written = Vec::new();
    for (n, chunk) in deliveries.chunks(ROWS).enumerate() {
        let sql = format!(
            "INSERT INTO deliveries ({COLUMNS}) VALUES {} \
             ON CONFLICT (org_id, idempotency_key) DO NOTHING RETURNING id",
            value_rows(&*tx, 1, chunk.len(), 42, None)
        );
        let ids: std::collections::HashSet<Uuid> = on_tx!(tx, conn => {
            let mut q = sqlx::query_scalar::<_, Uuid>(&sql);
            for d in chunk {
                q = q.bind(d.id).bind(d.org_id).bind(d.person_id).bind(d.staff_id).bind(d.identity_id)
                    .bind(d.kind.as_str()).bind(d.source.as_str()).bind(d.channel.as_str())
                    .bind(&d.address).bind(&d.subject).bind(&d.body).bind(Json(&d.metadata))
                    .bind(d.status.as_str()).bind(&d.suppression_reason).bind(d.priority)
                    .bind(d.attempts).bind(d.max_attempts).bind(d.next_attempt_at).bind(&d.lease_owner)
                    .bind(d.lease_expires_at).bind(&d.last_error).bind(&d.transport)
                    .bind(&d.provider_message_id).bind(&d.idempotency_key).bind(&d.correlation_id)
                    .bind(d.reminder_rule_id).bind(&d.occurrence).bind(d.conversation_id)
                    .bind(d.campaign_id).bind(&d.variant).bind(&d.template).bind(&d.prompt_version)
                    .bind(&d.model).bind(Json(&d.safety_checks)).bind(&d.response).bind(d.response_at)
                    .bind(d.sent_at).bind(d.delivered_at).bind(d.failed_at).bind(d.created_at)
                    .bind(d.updated_at).bind(d.approval_expires_at);
            }
            q.fetch_all(&mut *conn).await
        })?
        .into_iter()
        .collect();
        let landed: Vec<(usize, &Delivery)> = chunk
            .iter()
            .enumerate()
            .filter(|(_, d)| ids.contains(&d.id))
            .collect();
        for events_chunk in landed.chunks(ROWS) {
            let sql = format!(
                "INSERT INTO delivery_events (id, org_id, delivery_id, event, status, attempt, detail, at) VALUES {}",
                value_rows(&*tx, 1, events_chunk.len(), 8, None)
            );
            on_tx!(tx, conn => {
                let mut q = sqlx::query(&sql);
                for (i, d) in events_chunk {
                    let event = events.get(n * ROWS + i).copied().unwrap_or("queued");
                    q = q.bind(Uuid::now_v7()).bind(d.org_id).bind(d.id).bind(event)
                        .bind(d.status.as_str()).bind(0_i32).bind(&d.suppression_reason)
                        .bind(d.created_at);
                }
                q.execute(&mut *conn).await.map(|_| ())
            })?;
        }
        written.extend(landed.iter().map(|(_, d)| d.id));
    }
    Ok(written)
}

/// Cancels the messages still queued for a person who was deleted (`person_deleted`), each
/// with its event, as part of the unit of work that deletes them; one being sent finishes.
/// How many.
pub async fn cancel_for_person(
    tx: &mut Tx,
    org_id: Uuid,
    person_id: Uuid,
    at: DateTime<Utc>,
) -> Result<usize, sqlx::Error> {
    let sql = "UPDATE deliveries SET status = 'cancelled', suppression_reason = 'person_deleted', \
               next_attempt_at = NULL, updated_at = $3 \
               WHERE org_id = $1 AND person_id = $2 AND status IN ('pending', 'awaiting_approval') \
               RETURNING id";
    let ids: Vec<Uuid> = on_tx!(&mut *tx, conn => sqlx::query_scalar(sql)
        .bind(org_id).bind(person_id).bind(at).fetch_all(&mut *conn).await)?;
    for id in &ids {
        on_tx!(&mut *tx, conn => sqlx::query(EVENT_INSERT)
            .bind(Uuid::now_v7()).bind(org_id).bind(id).bind("cancelled").bind("cancelled")
            .bind(0_i32).bind("the person was deleted").bind(at)
            .execute(&mut *conn).await.map(|_| ()))?;
    }
    Ok(ids.len())
}

/// A person's engagement messages that count against the caps: queued, held or being sent
/// (whenever they will go), and those sent since `since`. (person, status, sent_at,
/// created_at, id) for many people at once.
pub type EngagementPrior = (Uuid, String, Option<DateTime<Utc>>, DateTime<Utc>, Uuid);

pub async fn engagement_priors(
    db: &Db,
    org_id: Uuid,
    person_ids: &[Uuid],
    since: DateTime<Utc>,
) -> Result<Vec<EngagementPrior>, sqlx::Error> {
    let mut out = Vec::new();
    for chunk in person_ids.chunks(500) {
        let sql = format!(
            "SELECT person_id, status, sent_at, created_at, id FROM deliveries \
             WHERE org_id = {} AND kind = 'engagement' AND person_id IN ({}) \
             AND (status IN ('pending', 'sending', 'awaiting_approval') \
             OR (status IN ('sent', 'delivered') AND sent_at > {}))",
            ph(db, 1),
            phs(db, 2, chunk.len()),
            ph(db, chunk.len() + 2)
        );
        let rows: Vec<EngagementPrior> = on_db!(db, pool => {
            let mut q = sqlx::query_as(&sql).bind(org_id);
            for id in chunk {
                q = q.bind(id);
            }
            q.bind(since).fetch_all(pool).await
        })?;
        out.extend(rows);
    }
    Ok(out)
}

/// A delivery by id alone, for the signed links a client follows (the token names the
/// delivery; its organisation comes from the row).
pub async fn by_signed_id(db: &Db, id: Uuid) -> Result<Option<Delivery>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM deliveries WHERE id = $1");
    on_db!(db, pool => sqlx::query_as::<_, Delivery>(&sql).bind(id).fetch_optional(pool).await)
}

pub async fn get(db: &Db, org_id: Uuid, id: Uuid) -> Result<Option<Delivery>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM deliveries WHERE org_id = $1 AND id = $2");
    on_db!(db, pool => sqlx::query_as::<_, Delivery>(&sql).bind(org_id).bind(id).fetch_optional(pool).await)
}

pub async fn by_key(db: &Db, org_id: Uuid, key: &str) -> Result<Option<Delivery>, sqlx::Error> {
    let sql =
        format!("SELECT {COLUMNS} FROM deliveries WHERE org_id = $1 AND idempotency_key = $2");
    on_db!(db, pool => sqlx::query_as::<_, Delivery>(&sql).bind(org_id).bind(key).fetch_optional(pool).await)
}

/// Newest first. Each filter is written into the statement only when given, so that the index
/// for it (`deliveries_recent` for none, `deliveries_status`, `deliveries_kind`,
/// `deliveries_channel`, `deliveries_person_recent`, `deliveries_rule`) reads the page in its
/// order.
///
/// A page after the first is found as a keyset, as the directory's are: the key `(created_at,
/// id)` of the row just before it is read from the index alone, then the page of rows after
/// it. With OFFSET, page 1,000 of a million messages fetched the 50,000 rows before it.
pub async fn list(
    db: &Db,
    org_id: Uuid,
    f: &DeliveryFilter,
    skip: i64,
    limit: i64,
) -> Result<Vec<Delivery>, sqlx::Error> {
    let conditions = [
        (f.person_id.is_some(), "person_id = $N"),
        (f.status.is_some(), "status = $N"),
        (f.kind.is_some(), "kind = $N"),
        (f.channel.is_some(), "channel = $N"),
        (f.reminder_rule_id.is_some(), "reminder_rule_id = $N"),
    ];
    // $1 is the organisation; filters follow in order, then the page's own parameters.
    let mut clause = String::from("org_id = $1");
    let n = super::push_conditions(&mut clause, &conditions, 2);
    macro_rules! filtered {
        ($q:expr) => {{
            let mut q = $q.bind(org_id);
            if let Some(v) = f.person_id {
                q = q.bind(v);
            }
            if let Some(v) = f.status {
                q = q.bind(v.as_str());
            }
            if let Some(v) = f.kind {
                q = q.bind(v.as_str());
            }
            if let Some(v) = f.channel {
                q = q.bind(v.as_str());
            }
            if let Some(v) = f.reminder_rule_id {
                q = q.bind(v);
            }
            q
        }};
    }
    const ORDER: &str = "ORDER BY created_at DESC, id DESC";
    if skip <= 0 {
        let sql = format!("SELECT {COLUMNS} FROM deliveries WHERE {clause} {ORDER} LIMIT ${n}");
        return on_db!(db, pool => filtered!(sqlx::query_as::<_, Delivery>(&sql)).bind(limit).fetch_all(pool).await);
    }
    let seek =
        format!("SELECT created_at, id FROM deliveries WHERE {clause} {ORDER} LIMIT 1 OFFSET ${n}");
    let key: Option<(DateTime<Utc>, Uuid)> = on_db!(db, pool =>
        filtered!(sqlx::query_as::<_, (DateTime<Utc>, Uuid)>(&seek)).bind(skip - 1).fetch_optional(pool).await)?;
    let Some((at, id)) = key else {
        return Ok(Vec::new());
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM deliveries WHERE {clause} AND (created_at, id) < (${n}, ${}) {ORDER} LIMIT ${}",
        n + 1,
        n + 2
    );
    on_db!(db, pool => filtered!(sqlx::query_as::<_, Delivery>(&sql)).bind(at).bind(id).bind(limit).fetch_all(pool).await)
}

pub async fn events(
    db: &Db,
    org_id: Uuid,
    delivery_id: Uuid,
) -> Result<Vec<DeliveryEvent>, sqlx::Error> {
    let sql = "SELECT id, org_id, delivery_id, event, status, attempt, detail, at \
               FROM delivery_events WHERE org_id = $1 AND delivery_id = $2 ORDER BY at, id";
    on_db!(db, pool => sqlx::query_as::<_, DeliveryEvent>(sql).bind(org_id).bind(delivery_id).fetch_all(pool).await)
}

/// Claims up to `limit` due deliveries for `owner` until `lease_until`, utility first. Each
/// claim counts as an attempt, so a worker that dies mid-send has still used one.
pub async fn claim(
    db: &Db,
    owner: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Delivery>, sqlx::Error> {
    let lock = match db {
        Db::Postgres(_) => " FOR UPDATE SKIP LOCKED",
        Db::Sqlite(_) => "",
    };
    let sql = format!(
        "UPDATE deliveries SET status = 'sending', lease_owner = $1, lease_expires_at = $2, \
         attempts = attempts + 1, updated_at = $3 \
         WHERE status = 'pending' AND id IN (SELECT id FROM deliveries WHERE status = 'pending' \
         AND next_attempt_at <= $3 ORDER BY priority, next_attempt_at LIMIT $4{lock}) \
         RETURNING {COLUMNS}"
    );
    let mut claimed = on_db!(db, pool => sqlx::query_as::<_, Delivery>(&sql)
        .bind(owner).bind(lease_until).bind(now).bind(limit)
        .fetch_all(pool).await)?;
    claimed.sort_by_key(|d| (d.priority, d.next_attempt_at));
    Ok(claimed)
}

/// Deliveries whose worker's lease ran out (it died, or hung): they are handed back.
pub async fn expired_leases(
    db: &Db,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Delivery>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM deliveries WHERE status = 'sending' AND lease_expires_at < $1 \
         ORDER BY lease_expires_at LIMIT $2"
    );
    on_db!(db, pool => sqlx::query_as::<_, Delivery>(&sql).bind(now).bind(limit).fetch_all(pool).await)
}

/// What became of one attempt (or of a lease that ran out, or of a check before sending), to
/// be written back.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub id: Uuid,
    pub org_id: Uuid,
    /// The lease it was claimed under; the write only lands while that lease is current.
    pub owner: Option<String>,
    pub status: DeliveryStatus,
    pub event: &'static str,
    pub attempt: i32,
    pub detail: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub transport: Option<String>,
    pub provider_message_id: Option<String>,
    pub at: DateTime<Utc>,
    pub reminder_rule_id: Option<Uuid>,
    pub identity_id: Option<Uuid>,
    /// A hard failure (bounce, unknown number), counted against the identity.
    pub hard: bool,
    /// Why it is not sent (a suppression code), when it is suppressed.
    pub reason: Option<String>,
    /// Nothing was attempted (it was held, or could not be tried): the claim's attempt is
    /// given back.
    pub uncount: bool,
    /// The person an engagement message went to, whose unanswered count it adds to.
    pub engagement_person: Option<Uuid>,
    /// The campaign it belongs to, which may be complete once it settles.
    pub campaign_id: Option<Uuid>,
}

impl Outcome {
    /// An outcome for `d` that changes nothing yet: the caller sets what happened.
    pub fn of(d: &Delivery, at: DateTime<Utc>) -> Self {
        Self {
            id: d.id,
            org_id: d.org_id,
            owner: d.lease_owner.clone(),
            status: DeliveryStatus::Sent,
            event: "sent",
            attempt: d.attempts,
            detail: None,
            next_attempt_at: d.next_attempt_at,
            transport: None,
            provider_message_id: None,
            at,
            reminder_rule_id: d.reminder_rule_id,
            identity_id: d.identity_id,
            hard: false,
            reason: None,
            uncount: false,
            engagement_person: None,
            campaign_id: d.campaign_id,
        }
    }
}

/// Parameters per outcome in the record statement.
const RECORD_COLUMNS: usize = 11;
/// How many outcomes go into one statement (well under either backend's parameter limit).
const RECORD_CHUNK: usize = 400;

/// One UPDATE for a chunk of outcomes (each only while its lease is still current), returning
/// the ids that landed; and one INSERT for their events.
fn record_sql(db: &impl Dialect, rows: usize) -> (String, String) {
    let types = [
        "UUID",
        "UUID",
        "",
        "TIMESTAMPTZ",
        "",
        "",
        "",
        "TIMESTAMPTZ",
        "",
        "",
        "INTEGER",
    ];
    let update = format!(
        "UPDATE deliveries SET status = v.column3, next_attempt_at = v.column4, \
         last_error = COALESCE(v.column5, deliveries.last_error), \
         transport = COALESCE(v.column6, deliveries.transport), \
         provider_message_id = COALESCE(v.column7, deliveries.provider_message_id), \
         sent_at = CASE WHEN v.column3 = 'sent' THEN v.column8 ELSE deliveries.sent_at END, \
         failed_at = CASE WHEN v.column3 = 'failed' THEN v.column8 ELSE deliveries.failed_at END, \
         suppression_reason = COALESCE(v.column10, deliveries.suppression_reason), \
         attempts = deliveries.attempts - v.column11, \
         lease_owner = NULL, lease_expires_at = NULL, updated_at = v.column8 \
         FROM (VALUES {}) AS v \
         WHERE deliveries.id = v.column1 AND deliveries.org_id = v.column2 \
         AND deliveries.status = 'sending' AND (v.column9 IS NULL OR deliveries.lease_owner = v.column9) \
         RETURNING deliveries.id",
        value_rows(db, 1, rows, RECORD_COLUMNS, Some(&types))
    );
    let insert = format!(
        "INSERT INTO delivery_events (id, org_id, delivery_id, event, status, attempt, detail, at) VALUES {}",
        value_rows(db, 1, rows, 8, None)
    );
    (update, insert)
}

/// Parameters per outcome in the statement for a send whose report came first.
const LATE_COLUMNS: usize = 8;

/// One UPDATE for outcomes whose delivery a provider's report moved on (to delivered or
/// failed) while it was being sent, still under the lease it was claimed with: the report's
/// status stands, and the send's facts are kept beside it (its transport, the provider's id,
/// when it was sent when it was), the lease given back. Returns the ids and their status.
fn late_sql(db: &impl Dialect, rows: usize) -> String {
    let types = ["UUID", "UUID", "", "", "", "TIMESTAMPTZ", "", "INTEGER"];
    format!(
        "UPDATE deliveries SET transport = COALESCE(v.column3, deliveries.transport), \
         provider_message_id = COALESCE(v.column4, deliveries.provider_message_id), \
         sent_at = CASE WHEN v.column5 = 'sent' OR deliveries.status = 'delivered' \
         THEN COALESCE(deliveries.sent_at, v.column6) ELSE deliveries.sent_at END, \
         attempts = deliveries.attempts - v.column8, \
         lease_owner = NULL, lease_expires_at = NULL, updated_at = v.column6 \
         FROM (VALUES {}) AS v \
         WHERE deliveries.id = v.column1 AND deliveries.org_id = v.column2 \
         AND deliveries.status IN ('delivered', 'failed') AND deliveries.lease_owner = v.column7 \
         RETURNING deliveries.id, deliveries.status",
        value_rows(db, 1, rows, LATE_COLUMNS, Some(&types))
    )
}

/// What [`record`] wrote.
#[derive(Debug, Default)]
pub struct Recorded {
    /// Outcomes written as they were.
    pub landed: HashSet<Uuid>,
    /// Outcomes whose delivery a provider's report had already moved on while it was being
    /// sent: the status the report gave it (delivered or failed), which stands; the send's
    /// facts were written beside it.
    pub late: HashMap<Uuid, DeliveryStatus>,
}

/// Writes a batch of outcomes into the unit of work `tx`: each delivery's new state (only
/// while the recorded lease is still its own) and its event, a few statements per
/// [`RECORD_CHUNK`] outcomes. A delivery a provider reported on while it was being sent keeps
/// the report's status and gets the send's facts ([`Recorded::late`]). Writing the same
/// outcomes twice lands none the second time. What follows from an outcome is the service's
/// to decide.
pub async fn record(tx: &mut Tx, outcomes: &[Outcome]) -> Result<Recorded, sqlx::Error> {
    let mut recorded = Recorded::default();
    for chunk in outcomes.chunks(RECORD_CHUNK) {
        let (update, insert) = record_sql(tx, chunk.len());
        let landed: HashSet<Uuid> = on_tx!(tx, conn => {
            let mut q = sqlx::query_scalar::<_, Uuid>(&update);
            for o in chunk {
                q = q.bind(o.id).bind(o.org_id).bind(o.status.as_str()).bind(o.next_attempt_at)
                    .bind(&o.detail).bind(&o.transport).bind(&o.provider_message_id).bind(o.at)
                    .bind(&o.owner).bind(&o.reason).bind(o.uncount as i32);
            }
            q.fetch_all(&mut *conn).await?
        })
        .into_iter()
        .collect();
        // The rest were claimed by someone else since, or reported on while being sent.
        let rest: Vec<&Outcome> = chunk
            .iter()
            .filter(|o| o.owner.is_some() && !landed.contains(&o.id))
            .collect();
        let late: HashMap<Uuid, DeliveryStatus> = if rest.is_empty() {
            HashMap::new()
        } else {
            let sql = late_sql(tx, rest.len());
            on_tx!(tx, conn => {
                let mut q = sqlx::query_as::<_, (Uuid, String)>(&sql);
                for o in &rest {
                    q = q.bind(o.id).bind(o.org_id).bind(&o.transport)
                        .bind(&o.provider_message_id).bind(o.status.as_str()).bind(o.at)
                        .bind(&o.owner).bind(o.uncount as i32);
                }
                q.fetch_all(&mut *conn).await?
            })
            .into_iter()
            .filter_map(|(id, status)| DeliveryStatus::parse(&status).ok().map(|s| (id, s)))
            .collect()
        };
        let done: Vec<&Outcome> = chunk
            .iter()
            .filter(|o| landed.contains(&o.id) || late.contains_key(&o.id))
            .collect();
        if done.is_empty() {
            continue;
        }
        let insert = if done.len() == chunk.len() {
            insert
        } else {
            record_sql(tx, done.len()).1
        };
        on_tx!(tx, conn => {
            let mut q = sqlx::query(&insert);
            for o in &done {
                q = q.bind(Uuid::now_v7()).bind(o.org_id).bind(o.id).bind(o.event)
                    .bind(o.status.as_str()).bind(o.attempt - o.uncount as i32).bind(&o.detail)
                    .bind(o.at);
            }
            q.execute(&mut *conn).await.map(|_| ())?
        });
        recorded.landed.extend(landed);
        recorded.late.extend(late);
    }
    Ok(recorded)
}

/// Keeps the leases of `ids` (held by `owner`) for another stretch: a worker renews what it
/// holds, so a claim never runs out while the worker is alive and still means to send it.
pub async fn renew(
    db: &Db,
    owner: &str,
    ids: &[Uuid],
    until: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let mut renewed = 0;
    for chunk in ids.chunks(500) {
        let sql = format!(
            "UPDATE deliveries SET lease_expires_at = {} WHERE lease_owner = {} \
             AND status = 'sending' AND id IN ({})",
            ph(db, 1),
            ph(db, 2),
            phs(db, 3, chunk.len())
        );
        renewed += on_db!(db, pool => {
            let mut q = sqlx::query(&sql).bind(until).bind(owner);
            for id in chunk {
                q = q.bind(id);
            }
            q.execute(pool).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(renewed)
}

/// Moves a delivery from one status to another (for staff and provider callbacks), with its
/// event, in the unit of work `tx`; false when it was not in one of the `from` statuses. `fields` are set alongside: delivered_at, response and its time, an error.
pub struct Transition<'a> {
    pub org_id: Uuid,
    pub id: Uuid,
    pub from: &'a [DeliveryStatus],
    pub to: DeliveryStatus,
    pub event: &'a str,
    pub detail: Option<String>,
    pub at: DateTime<Utc>,
    pub reset_attempts: bool,
    pub response: Option<&'a str>,
}

pub async fn transition(tx: &mut Tx, t: &Transition<'_>) -> Result<bool, sqlx::Error> {
    let allowed: Vec<&str> = t.from.iter().map(|s| s.as_str()).collect();
    let list = allowed
        .iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "UPDATE deliveries SET status = $3, updated_at = $4, \
         attempts = CASE WHEN $5 THEN 0 ELSE attempts END, \
         next_attempt_at = CASE WHEN $3 = 'pending' THEN $4 ELSE next_attempt_at END, \
         last_error = CASE WHEN $3 = 'failed' THEN COALESCE($6, last_error) ELSE last_error END, \
         delivered_at = CASE WHEN $3 = 'delivered' THEN $4 ELSE delivered_at END, \
         failed_at = CASE WHEN $3 = 'failed' THEN $4 ELSE failed_at END, \
         response = COALESCE($7, response), \
         response_at = CASE WHEN $7 IS NULL THEN response_at ELSE $4 END \
         WHERE org_id = $1 AND id = $2 AND status IN ({list})"
    );
    on_tx!(tx, conn => {
        let done = sqlx::query(&sql)
            .bind(t.org_id).bind(t.id).bind(t.to.as_str()).bind(t.at).bind(t.reset_attempts)
            .bind(&t.detail).bind(t.response)
            .execute(&mut *conn).await?
            .rows_affected() == 1;
        if done {
            sqlx::query(EVENT_INSERT)
                .bind(Uuid::now_v7()).bind(t.org_id).bind(t.id).bind(t.event)
                .bind(t.to.as_str()).bind(0_i32).bind(&t.detail).bind(t.at)
                .execute(&mut *conn).await?;
        }
        Ok(done)
    })
}

/// Records an event that does not change the status (opened, a response).
#[allow(clippy::too_many_arguments)]
pub async fn add_event(
    db: &Db,
    org_id: Uuid,
    id: Uuid,
    event: &str,
    status: DeliveryStatus,
    detail: Option<&str>,
    at: DateTime<Utc>,
    response: Option<&str>,
) -> Result<(), sqlx::Error> {
    let set = "UPDATE deliveries SET response = $3, response_at = $4, updated_at = $4 \
               WHERE org_id = $1 AND id = $2";
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        if let Some(r) = response {
            sqlx::query(set).bind(org_id).bind(id).bind(r).bind(at).execute(&mut *tx).await?;
        }
        sqlx::query(EVENT_INSERT)
            .bind(Uuid::now_v7()).bind(org_id).bind(id).bind(event).bind(status.as_str())
            .bind(0_i32).bind(detail).bind(at)
            .execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    })
}

/// A response to a message (`clicked`, `unsubscribed` …): always an event; the delivery's
/// `response` only when it is stronger than the one it has.
pub async fn respond(
    db: &Db,
    org_id: Uuid,
    id: Uuid,
    response: &str,
    detail: &str,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let set = format!(
        "UPDATE deliveries SET response = $3, response_at = $4, updated_at = $4 \
         WHERE org_id = $1 AND id = $2 AND {} < $5",
        super::engagement::RANK
    );
    let event = "INSERT INTO delivery_events (id, org_id, delivery_id, event, status, attempt, detail, at) \
                 SELECT $1, org_id, id, $2, status, attempts, $3, $4 FROM deliveries WHERE org_id = $5 AND id = $6";
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        sqlx::query(&set).bind(org_id).bind(id).bind(response).bind(at)
            .bind(super::engagement::rank(response)).execute(&mut *tx).await?;
        sqlx::query(event).bind(Uuid::now_v7()).bind(response).bind(detail).bind(at)
            .bind(org_id).bind(id).execute(&mut *tx).await?;
        tx.commit().await
    })
}

/// The engagement story of a person for their timeline: messages that went out and what they
/// did with them — (event id, event, detail, at, delivery id, subject). Read from the person's
/// latest `limit` engagement messages (through their newest-first index), so a client with
/// years of messages costs no more than a new one.
pub type EngagementEvent = (
    Uuid,
    String,
    Option<String>,
    DateTime<Utc>,
    Uuid,
    Option<String>,
);

pub async fn engagement_events(
    db: &Db,
    org_id: Uuid,
    person_id: Uuid,
    limit: i64,
) -> Result<Vec<EngagementEvent>, sqlx::Error> {
    let sql = "SELECT ev.id, ev.event, ev.detail, ev.at, d.id, d.subject FROM \
               (SELECT id, subject FROM deliveries WHERE org_id = $1 AND person_id = $2 \
                AND kind = 'engagement' ORDER BY created_at DESC, id DESC LIMIT $3) d \
               JOIN delivery_events ev ON ev.delivery_id = d.id \
               WHERE ev.event IN ('sent', 'clicked', 'booked', 'responded', 'replied', 'unsubscribed') \
               ORDER BY ev.at DESC, ev.id DESC LIMIT $3";
    on_db!(db, pool => sqlx::query_as(sql).bind(org_id).bind(person_id).bind(limit).fetch_all(pool).await)
}

/// The latest failed delivery a reminder produced, for "retry".
pub async fn last_failed_for_rule(
    db: &Db,
    org_id: Uuid,
    rule_id: Uuid,
) -> Result<Option<Delivery>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM deliveries WHERE org_id = $1 AND reminder_rule_id = $2 \
         AND status = 'failed' ORDER BY created_at DESC LIMIT 1"
    );
    on_db!(db, pool => sqlx::query_as::<_, Delivery>(&sql).bind(org_id).bind(rule_id).fetch_optional(pool).await)
}

/// Counts by status and channel, across organisations (for metrics).
pub async fn counts(db: &Db) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
    let sql = "SELECT status, channel, COUNT(*) FROM deliveries GROUP BY status, channel";
    on_db!(db, pool => sqlx::query_as::<_, (String, String, i64)>(sql).fetch_all(pool).await)
}

/// How many deliveries are due now, and since when the oldest of them has waited.
pub async fn queue(
    db: &Db,
    now: DateTime<Utc>,
) -> Result<(i64, Option<DateTime<Utc>>), sqlx::Error> {
    let count =
        "SELECT COUNT(*) FROM deliveries WHERE status = 'pending' AND next_attempt_at <= $1";
    let oldest = "SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending' AND next_attempt_at <= $1";
    on_db!(db, pool => {
        let n: i64 = sqlx::query_scalar(count).bind(now).fetch_one(pool).await?;
        let t: Option<DateTime<Utc>> = sqlx::query_scalar(oldest).bind(now).fetch_one(pool).await?;
        Ok((n, t))
    })
}

/// Hands back everything `owner` still holds (a worker shutting down), but `except`: due
/// again now, and the attempt it had begun not counted.
pub async fn release(
    db: &Db,
    owner: &str,
    except: &[Uuid],
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let keep = if except.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = (0..except.len()).map(|i| format!("${}", i + 3)).collect();
        format!(" AND id NOT IN ({})", list.join(", "))
    };
    let sql = format!(
        "UPDATE deliveries SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL, \
         attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, next_attempt_at = $2, \
         updated_at = $2 WHERE status = 'sending' AND lease_owner = $1{keep}"
    );
    on_db!(db, pool => {
        let mut q = sqlx::query(&sql).bind(owner).bind(now);
        for id in except {
            q = q.bind(id);
        }
        q.execute(pool).await.map(|r| r.rows_affected())
    })
}

/// Claims one particular pending delivery (to send it at once, as a test message is).
pub async fn claim_one(
    db: &Db,
    org_id: Uuid,
    id: Uuid,
    owner: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<Option<Delivery>, sqlx::Error> {
    let sql = format!(
        "UPDATE deliveries SET status = 'sending', lease_owner = $3, lease_expires_at = $4, \
         attempts = attempts + 1, updated_at = $5 WHERE org_id = $1 AND id = $2 AND status = 'pending' \
         RETURNING {COLUMNS}"
    );
    on_db!(db, pool => sqlx::query_as::<_, Delivery>(&sql)
        .bind(org_id).bind(id).bind(owner).bind(lease_until).bind(now)
        .fetch_optional(pool).await)
}
