//! Engagement's statements: each person's activity roll-up (written with the events that move
//! it), the set-based recompute of segments and churn risk, the run's candidates and its
//! decisions. Every instant here is whole seconds since 1970, so the arithmetic is one SQL
//! string for both databases; the formulas are `domain::engagement::score`'s, and a test holds
//! the SQL to them.

mod runs;

pub use runs::*;

use super::{ph, phs, value_rows, Conn, Db, Tx};
use crate::domain::activity::ActivityEvent;
use crate::domain::engagement::score::{self, EventFacts, Rollup, Thresholds};
use crate::{on_conn, on_db, on_tx};
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use uuid::Uuid;

pub const ROLLUP_COLUMNS: &str = "person_id, org_id, joined_s, last_active_s, events, window_no, \
    recent, previous, night_recent, night_previous, bookings, first_booking_s, last_booking_s, \
    last_service, rebook_due_s, unanswered, last_nudge_s";

/// Statements in one multi-row INSERT or UPDATE (parameters stay well under either backend's
/// limit).
const CHUNK: usize = 400;

/// The roll-ups of `persons` (with their time zones) as they stand, locked for the rest of
/// the transaction on PostgreSQL.
macro_rules! read_rollups {
    ($tx:expr, $db:expr, $org:expr, $ids:expr) => {{
        let lock = match $db {
            Db::Postgres(_) => " FOR UPDATE OF e",
            Db::Sqlite(_) => "",
        };
        let mut out: Vec<(Rollup, String)> = Vec::new();
        for chunk in $ids.chunks(CHUNK) {
            let sql = format!(
                "SELECT e.person_id, e.org_id, e.joined_s, e.last_active_s, e.events, e.window_no, \
                 e.recent, e.previous, e.night_recent, e.night_previous, e.bookings, \
                 e.first_booking_s, e.last_booking_s, e.last_service, e.rebook_due_s, \
                 e.unanswered, e.last_nudge_s, p.timezone \
                 FROM person_engagement e JOIN persons p ON p.id = e.person_id \
                 WHERE e.org_id = {} AND e.person_id IN ({}){lock}",
                ph($db, 1),
                phs($db, 2, chunk.len())
            );
            let mut q = sqlx::query(&sql).bind($org);
            for id in chunk {
                q = q.bind(id);
            }
            for r in q.fetch_all(&mut *$tx).await? {
                use sqlx::{FromRow, Row};
                let rollup = Rollup::from_row(&r)?;
                let tz: String = r.try_get("timezone")?;
                out.push((rollup, tz));
            }
        }
        out
    }};
}

/// Writes roll-ups back, one multi-row UPDATE per chunk.
macro_rules! write_rollups {
    ($tx:expr, $db:expr, $rollups:expr) => {{
        let types = [
            "UUID", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "TEXT", "BIGINT", "BIGINT", "BIGINT", "BIGINT",
        ];
        for chunk in $rollups.chunks(CHUNK) {
            let sql = format!(
                "UPDATE person_engagement SET last_active_s = v.column2, events = v.column3, \
                 window_no = v.column4, recent = v.column5, previous = v.column6, \
                 night_recent = v.column7, night_previous = v.column8, bookings = v.column9, \
                 first_booking_s = v.column10, last_booking_s = v.column11, \
                 last_service = v.column12, rebook_due_s = v.column13, unanswered = v.column14, \
                 last_nudge_s = v.column15, joined_s = v.column16, next_score_s = 0, decide_at_s = 0 \
                 FROM (VALUES {}) AS v WHERE person_engagement.person_id = v.column1",
                value_rows($db, 1, chunk.len(), types.len(), Some(&types))
            );
            let mut q = sqlx::query(&sql);
            for r in chunk.iter() {
                let r: &Rollup = r;
                q = q
                    .bind(r.person_id)
                    .bind(r.last_active_s)
                    .bind(r.events)
                    .bind(r.window_no)
                    .bind(r.recent)
                    .bind(r.previous)
                    .bind(r.night_recent)
                    .bind(r.night_previous)
                    .bind(r.bookings)
                    .bind(r.first_booking_s)
                    .bind(r.last_booking_s)
                    .bind(&r.last_service)
                    .bind(r.rebook_due_s)
                    .bind(r.unanswered)
                    .bind(r.last_nudge_s)
                    .bind(r.joined_s);
            }
            q.execute(&mut *$tx).await?;
        }
    }};
}

/// What ingesting a batch changed besides the events themselves: engagement messages that
/// the activity answered (delivery id, the response recorded).
#[derive(Debug, Default)]
pub struct Ingested {
    pub answered: Vec<(Uuid, &'static str)>,
}

/// How a response ranks: a stronger one replaces a weaker one, never the other way.
pub(crate) const RANK: &str = "(CASE response WHEN 'unsubscribed' THEN 9 WHEN 'booked' THEN 4 \
    WHEN 'replied' THEN 3 WHEN 'clicked' THEN 2 WHEN 'responded' THEN 1 ELSE 0 END)";

pub fn rank(response: &str) -> i32 {
    match response {
        "unsubscribed" => 9,
        "booked" => 4,
        "replied" => 3,
        "clicked" => 2,
        "responded" => 1,
        _ => 0,
    }
}

/// Writes activity events, all or nothing: the events, each person's `last_active_at`, their
/// roll-up, and the engagement messages the activity answers (sent within `window` before it:
/// a booking marks them `booked`, anything else `responded`).
pub async fn ingest(
    db: &Db,
    events: &[ActivityEvent],
    window: Duration,
) -> Result<Ingested, sqlx::Error> {
    let Some(org_id) = events.first().map(|e| e.org_id) else {
        return Ok(Ingested::default());
    };
    let insert_types = [
        "UUID",
        "UUID",
        "UUID",
        "",
        "JSONB",
        "TIMESTAMPTZ",
        "TIMESTAMPTZ",
    ];
    let touch = "UPDATE persons SET last_active_at = $3 WHERE org_id = $1 AND id = $2 \
                 AND (last_active_at IS NULL OR last_active_at < $3)";
    let mut by_person: HashMap<Uuid, Vec<&ActivityEvent>> = HashMap::new();
    for e in events {
        by_person.entry(e.person_id).or_default().push(e);
    }
    let mut ids: Vec<Uuid> = by_person.keys().copied().collect();
    ids.sort();
    let answer = format!(
        "UPDATE deliveries SET response = $4, response_at = $5, updated_at = $5 \
         WHERE org_id = $1 AND person_id = $2 AND kind = 'engagement' AND sent_at IS NOT NULL \
         AND sent_at >= $3 AND sent_at <= $5 AND {RANK} < $6 RETURNING id"
    );
    let event_sql = "INSERT INTO delivery_events (id, org_id, delivery_id, event, status, attempt, detail, at) \
        SELECT $1, org_id, id, $2, status, attempts, $3, $4 FROM deliveries WHERE id = $5";
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        for chunk in events.chunks(CHUNK) {
            let sql = format!(
                "INSERT INTO activity_events (id, org_id, person_id, name, properties, occurred_at, created_at) VALUES {}",
                value_rows(db, 1, chunk.len(), insert_types.len(), Some(&insert_types))
            );
            let mut q = sqlx::query(&sql);
            for e in chunk {
                q = q.bind(e.id).bind(e.org_id).bind(e.person_id).bind(&e.name)
                    .bind(sqlx::types::Json(&e.properties)).bind(e.occurred_at).bind(e.created_at);
            }
            q.execute(&mut *tx).await?;
        }
        let current = read_rollups!(tx, db, org_id, ids);
        let mut next: Vec<Rollup> = Vec::with_capacity(current.len());
        let mut out = Ingested::default();
        for (mut rollup, tz) in current {
            let tz: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::UTC);
            let nudged = rollup.last_nudge_s;
            let mut mine = by_person.remove(&rollup.person_id).unwrap_or_default();
            mine.sort_by_key(|e| e.occurred_at);
            for e in &mine {
                rollup.absorb(&EventFacts {
                    name: &e.name,
                    properties: &e.properties,
                    at: e.occurred_at,
                    tz,
                });
            }
            // The engagement messages this activity answers.
            if nudged.is_some() {
                for e in &mine {
                    let response = if score::is_booking(&e.name) { "booked" } else { "responded" };
                    let answered: Vec<Uuid> = sqlx::query_scalar(&answer)
                        .bind(org_id).bind(rollup.person_id).bind(e.occurred_at - window)
                        .bind(response).bind(e.occurred_at).bind(rank(response))
                        .fetch_all(&mut *tx).await?;
                    for id in answered {
                        sqlx::query(event_sql)
                            .bind(Uuid::now_v7()).bind(response)
                            .bind(format!("{} within the conversion window", e.name.replace('_', " ")))
                            .bind(e.occurred_at).bind(id)
                            .execute(&mut *tx).await?;
                        out.answered.push((id, response));
                    }
                }
            }
            if let Some(latest) = mine.last() {
                sqlx::query(touch).bind(org_id).bind(rollup.person_id).bind(latest.occurred_at)
                    .execute(&mut *tx).await?;
            }
            next.push(rollup);
        }
        write_rollups!(tx, db, next);
        tx.commit().await?;
        Ok(out)
    })
}

/// One person's roll-up.
pub async fn rollup(db: &Db, org_id: Uuid, person_id: Uuid) -> Result<Option<Rollup>, sqlx::Error> {
    let sql = format!(
        "SELECT {ROLLUP_COLUMNS} FROM person_engagement WHERE org_id = $1 AND person_id = $2"
    );
    on_db!(db, pool => sqlx::query_as::<_, Rollup>(&sql).bind(org_id).bind(person_id).fetch_optional(pool).await)
}

/// Rebuilds every roll-up of an organisation from its activity events (after an import of
/// history, or once for data from before roll-ups existed). Streams people in batches.
pub async fn rebuild(db: &Db, org_id: Uuid) -> Result<u64, sqlx::Error> {
    let people = "SELECT e.person_id, p.timezone FROM person_engagement e JOIN persons p ON p.id = e.person_id \
                  WHERE e.org_id = $1 AND e.person_id > $2 ORDER BY e.person_id LIMIT 500";
    let mut after = Uuid::nil();
    let mut done = 0;
    loop {
        let batch: Vec<(Uuid, String)> = on_db!(db, pool => sqlx::query_as(people)
            .bind(org_id).bind(after).fetch_all(pool).await)?;
        let Some(last) = batch.last() else { break };
        after = last.0;
        let events_sql = format!(
            "SELECT person_id, name, properties, occurred_at FROM activity_events \
             WHERE org_id = {} AND person_id IN ({}) ORDER BY occurred_at",
            ph(db, 1),
            phs(db, 2, batch.len())
        );
        type Row = (
            Uuid,
            String,
            sqlx::types::Json<serde_json::Value>,
            DateTime<Utc>,
        );
        let events: Vec<Row> = on_db!(db, pool => {
            let mut q = sqlx::query_as::<_, Row>(&events_sql).bind(org_id);
            for (id, _) in &batch {
                q = q.bind(id);
            }
            q.fetch_all(pool).await
        })?;
        on_db!(db, pool => {
            let mut tx = pool.begin().await?;
            let ids: Vec<Uuid> = batch.iter().map(|(id, _)| *id).collect();
            let current = read_rollups!(tx, db, org_id, ids);
            let mut next = Vec::with_capacity(current.len());
            for (old, tz) in current {
                let tz: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::UTC);
                let mut r = Rollup::new(org_id, old.person_id, Utc::now());
                r.joined_s = old.joined_s;
                r.unanswered = old.unanswered;
                r.last_nudge_s = old.last_nudge_s;
                for (_, name, props, at) in events.iter().filter(|e| e.0 == old.person_id) {
                    r.absorb(&EventFacts { name, properties: &props.0, at: *at, tz });
                }
                next.push(r);
            }
            write_rollups!(tx, db, next);
            tx.commit().await?;
            Ok::<(), sqlx::Error>(())
        })?;
        done += batch.len() as u64;
    }
    Ok(done)
}

/// Once per installation: builds the roll-ups of activity recorded before roll-ups existed.
pub async fn backfill_once(db: &Db) -> Result<(), sqlx::Error> {
    let marker = "rollups_backfilled";
    if super::secrets::marked(db, marker).await? {
        return Ok(());
    }
    let orgs: Vec<Uuid> = on_db!(db, pool => sqlx::query_scalar(
        "SELECT DISTINCT org_id FROM activity_events").fetch_all(pool).await)?;
    for org in orgs {
        let n = rebuild(db, org).await?;
        tracing::info!(org = %org, people = n, "built activity roll-ups from earlier events");
    }
    super::secrets::mark(db, marker, "1", Utc::now()).await?;
    Ok(())
}

/// The person's engagement is to be decided afresh at the next run (their consent, addresses
/// or time zone changed).
pub async fn reconsider(
    conn: impl Into<Conn<'_>>,
    org_id: Uuid,
    person_id: Uuid,
) -> Result<(), sqlx::Error> {
    let sql = "UPDATE person_engagement SET recheck_s = CASE WHEN decided_s IS NULL THEN recheck_s ELSE 0 END, \
               decide_at_s = 0 WHERE org_id = $1 AND person_id = $2";
    on_conn!(conn.into(), c => sqlx::query(sql).bind(org_id).bind(person_id).execute(c).await.map(|_| ()))
}

/// The person answered an engagement message (they followed its link).
pub async fn answered(db: &Db, org_id: Uuid, person_id: Uuid) -> Result<(), sqlx::Error> {
    let sql = "UPDATE person_engagement SET unanswered = 0, next_score_s = 0 WHERE org_id = $1 AND person_id = $2";
    on_db!(db, pool => sqlx::query(sql).bind(org_id).bind(person_id).execute(pool).await.map(|_| ()))
}

/// A person was deleted: they leave engagement.
pub async fn forget(
    conn: impl Into<Conn<'_>>,
    org_id: Uuid,
    person_id: Uuid,
) -> Result<(), sqlx::Error> {
    let sql = "DELETE FROM person_engagement WHERE org_id = $1 AND person_id = $2";
    on_conn!(conn.into(), c => sqlx::query(sql).bind(org_id).bind(person_id).execute(c).await.map(|_| ()))
}

/// An engagement message went out to the person at `at`, in the unit of work `tx`: it counts
/// as unanswered until they next show activity, and their score is due again.
pub async fn nudged(
    tx: &mut Tx,
    org_id: Uuid,
    person_id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let sql = "UPDATE person_engagement SET unanswered = unanswered + 1, next_score_s = 0, \
        last_nudge_s = CASE WHEN last_nudge_s IS NULL OR last_nudge_s < $3 THEN $3 ELSE last_nudge_s END \
        WHERE person_id = $2 AND org_id = $1";
    on_tx!(tx, conn => sqlx::query(sql).bind(org_id).bind(person_id).bind(at.timestamp())
        .execute(&mut *conn).await.map(|_| ()))
}

/// A value for a `@name` placeholder.
#[derive(Clone, Copy, Debug)]
enum Value {
    Id(Uuid),
    Int(i64),
}

/// SQL written with `@name` placeholders, numbered `$1, $2 …` in order of first use, and the
/// values to bind in that order.
struct Named {
    sql: String,
    values: Vec<Value>,
}

fn named(sql: &str, values: &[(&str, Value)]) -> Named {
    let mut out = String::with_capacity(sql.len());
    let mut order: Vec<&str> = Vec::new();
    let mut bound = Vec::new();
    let mut rest = sql;
    while let Some(at) = rest.find('@') {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 1..];
        let len = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        let name = &tail[..len];
        let n = match order.iter().position(|o| *o == name) {
            Some(i) => i + 1,
            None => {
                order.push(name);
                let value = values
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| *v)
                    .unwrap_or_else(|| unreachable!("no value for @{name}"));
                bound.push(value);
                order.len()
            }
        };
        out.push_str(&format!("${n}"));
        rest = &tail[len..];
    }
    out.push_str(rest);
    Named {
        sql: out,
        values: bound,
    }
}

macro_rules! bind_named {
    ($q:expr, $named:expr) => {{
        let mut q = $q;
        for v in &$named.values {
            q = match v {
                Value::Id(id) => q.bind(*id),
                Value::Int(n) => q.bind(*n),
            };
        }
        q
    }};
}

/// The values the formulas read: the organisation, now and the thresholds.
fn formula_values(org_id: Uuid, t: Thresholds, now: i64) -> Vec<(&'static str, Value)> {
    vec![
        ("org", Value::Id(org_id)),
        ("now", Value::Int(now)),
        ("dormant", Value::Int(t.dormant_days)),
        ("churned", Value::Int(t.churned_days)),
    ]
}

/// The SQL for the formulas of `domain::engagement::score`, over `person_engagement`'s
/// columns (see [`formula_values`] for the placeholders).
struct Formulas {
    segment: String,
    points: String,
    labels: String,
    /// When the score changes next with nothing else happening (`score::next_change`).
    next: String,
}

fn formulas() -> Formulas {
    let reference = "COALESCE(last_active_s, joined_s)";
    let days =
        format!("(CASE WHEN @now < {reference} THEN 0 ELSE (@now - {reference}) / 86400 END)");
    // The moment the score stands for (see `score::scored_at`), its window, and how much of
    // the previous window still counts then.
    let at = format!("({reference} + {days} * 86400)");
    let w = score::WINDOW;
    let window = format!("({at} / {w})");
    let keep = format!("(1000 - ({at} % {w}) * 1000 / {w})");
    let windowed = |cur: &str, prev: &str| {
        format!(
            "(CASE WHEN window_no >= {window} THEN ({cur} * 1000 + {prev} * {keep}) / 1000 \
             WHEN window_no = {window} - 1 THEN {cur} * {keep} / 1000 ELSE 0 END)"
        )
    };
    let recent = windowed("recent", "previous");
    let night = windowed("night_recent", "night_previous");
    let f = score::FREQUENT;
    let n = score::NIGHT_OWL_MIN;
    let u = score::UNANSWERED_FULL;
    let span = "(2 * @dormant)";
    let points = format!(
        "(50 * (CASE WHEN {days} > {span} THEN {span} ELSE {days} END) / {span} \
         + 30 * ({f} - (CASE WHEN {recent} > {f} THEN {f} ELSE {recent} END)) / {f} \
         + 20 * (CASE WHEN unanswered > {u} THEN {u} WHEN unanswered < 0 THEN 0 ELSE unanswered END) / {u})"
    );
    let segment = format!(
        "(CASE WHEN {days} >= @churned THEN 'churned' WHEN {days} >= @dormant THEN 'dormant' \
         WHEN ({at} - joined_s) / 86400 < @dormant THEN 'new' WHEN 2 * {days} >= @dormant THEN 'at_risk' \
         ELSE 'active' END)"
    );
    let frequent = format!("{recent} >= {f}");
    let owl = format!("({recent} >= {n} AND 2 * {night} >= {recent})");
    let labels = format!(
        "(CASE WHEN {frequent} AND {owl} THEN 'frequent,night_owl' WHEN {frequent} THEN 'frequent' \
         WHEN {owl} THEN 'night_owl' ELSE '' END)"
    );
    Formulas {
        segment,
        points,
        labels,
        next: format!("({at} + 86400)"),
    }
}

/// Recomputes the segment, churn risk and labels of everyone whose score may have changed —
/// their day of inactivity turned, or their activity or responses changed (`next_score_s` is
/// then due) — or of everyone (`all`: the thresholds changed). Returns how many were scored.
pub async fn recompute(
    db: &Db,
    org_id: Uuid,
    t: Thresholds,
    now: DateTime<Utc>,
    all: bool,
) -> Result<u64, sqlx::Error> {
    let f = formulas();
    // Written out rather than `OR @all`, so the planner sees the index it can use.
    let due = if all { "" } else { " AND next_score_s <= @now" };
    let q = named(
        &format!(
            "UPDATE person_engagement SET segment = {}, churn_points = {}, labels = {}, \
             next_score_s = {} WHERE org_id = @org{due}",
            f.segment, f.points, f.labels, f.next
        ),
        &formula_values(org_id, t, now.timestamp()),
    );
    on_db!(db, pool => bind_named!(sqlx::query(&q.sql), q)
        .execute(pool).await.map(|r| r.rows_affected()))
}

/// What the SQL formulas make of each person, without writing: (person, segment, churn
/// points, labels). A dry run counts segments with it; a test holds it to the domain's.
pub async fn formula_preview(
    db: &Db,
    org_id: Uuid,
    t: Thresholds,
    now: DateTime<Utc>,
) -> Result<Vec<(Uuid, String, i64, String)>, sqlx::Error> {
    let f = formulas();
    let q = named(
        &format!(
            "SELECT person_id, {}, {}, {} FROM person_engagement WHERE org_id = @org ORDER BY person_id",
            f.segment, f.points, f.labels
        ),
        &formula_values(org_id, t, now.timestamp()),
    );
    on_db!(db, pool => bind_named!(sqlx::query_as(&q.sql), q).fetch_all(pool).await)
}

/// How many people the organisation has in each segment: as last computed, or computed now.
pub async fn segment_counts(
    db: &Db,
    org_id: Uuid,
    segments: Segments,
    now: DateTime<Utc>,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let (segment, values) = match segments {
        Segments::Stored => ("segment".to_string(), vec![("org", Value::Id(org_id))]),
        Segments::Computed(t) => (
            formulas().segment,
            formula_values(org_id, t, now.timestamp()),
        ),
    };
    let q = named(
        &format!(
            "SELECT {segment} AS s, COUNT(*) FROM person_engagement WHERE org_id = @org GROUP BY {segment}"
        ),
        &values,
    );
    on_db!(db, pool => bind_named!(sqlx::query_as(&q.sql), q).fetch_all(pool).await)
}

/// Where a selection reads segments from: as the last run stored them, or computed now (a
/// dry run, which writes nothing).
#[derive(Clone, Copy, Debug)]
pub enum Segments {
    Stored,
    Computed(Thresholds),
}

/// The selection of people awaiting a nudge decision, as SQL with its values. `@due` is the
/// latest `rebook_due_s` that counts as due (now minus the grace), `@policy` when the policy
/// last changed (decisions older than that are made again).
struct Selection {
    wanted: String,
    due: String,
    nudge: String,
    episode: String,
    undecided: String,
    values: Vec<(&'static str, Value)>,
}

fn selection(
    org_id: Uuid,
    segments: Segments,
    due_before: i64,
    now: i64,
    policy_s: i64,
) -> Selection {
    let (segment, mut values) = match segments {
        Segments::Stored => (
            "segment".to_string(),
            vec![("org", Value::Id(org_id)), ("now", Value::Int(now))],
        ),
        Segments::Computed(t) => (formulas().segment, formula_values(org_id, t, now)),
    };
    values.push(("due", Value::Int(due_before)));
    values.push(("policy", Value::Int(policy_s)));
    let due =
        format!("(rebook_due_s IS NOT NULL AND rebook_due_s <= @due AND {segment} <> 'churned')");
    let wanted = format!("({segment} = 'dormant' OR {due})");
    let nudge = format!("(CASE WHEN {due} THEN 'rebook' ELSE 'dormant' END)");
    let episode =
        format!("(CASE WHEN {due} THEN last_booking_s ELSE COALESCE(last_active_s, joined_s) END)");
    let undecided = format!(
        "NOT (decided_s IS NOT NULL AND decided_s >= @policy AND decided_nudge = {nudge} \
         AND decided_episode_s = {episode} AND (recheck_s IS NULL OR recheck_s > @now))"
    );
    Selection {
        wanted,
        due,
        nudge,
        episode,
        undecided,
        values,
    }
}

/// How many are dormant or due to rebook, how many of those are due to rebook, and how many
/// await a decision.
pub async fn wanted_counts(
    db: &Db,
    org_id: Uuid,
    segments: Segments,
    due_before: i64,
    now: i64,
    policy_s: i64,
) -> Result<(i64, i64, i64), sqlx::Error> {
    let s = selection(org_id, segments, due_before, now, policy_s);
    let q = named(
        &format!(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN {} THEN 1 ELSE 0 END), 0), \
             COALESCE(SUM(CASE WHEN {} THEN 1 ELSE 0 END), 0) \
             FROM person_engagement WHERE org_id = @org AND {}",
            s.due, s.undecided, s.wanted
        ),
        &s.values,
    );
    on_db!(db, pool => bind_named!(sqlx::query_as(&q.sql), q).fetch_one(pool).await)
}

/// A person awaiting an engagement decision: their roll-up and what they would be nudged for.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub rollup: Rollup,
    pub nudge: String,
    pub episode_s: i64,
}

/// The next `limit` people awaiting a decision after `after` (by id).
#[allow(clippy::too_many_arguments)]
pub async fn candidates(
    db: &Db,
    org_id: Uuid,
    segments: Segments,
    due_before: i64,
    now: i64,
    policy_s: i64,
    after: Uuid,
    limit: i64,
) -> Result<Vec<Candidate>, sqlx::Error> {
    let mut s = selection(org_id, segments, due_before, now, policy_s);
    s.values.push(("after", Value::Id(after)));
    s.values.push(("limit", Value::Int(limit)));
    let q = named(
        &format!(
            "SELECT {ROLLUP_COLUMNS}, {} AS nudge, {} AS episode_s FROM person_engagement \
             WHERE org_id = @org AND {} AND {} AND person_id > @after \
             ORDER BY person_id LIMIT @limit",
            s.nudge, s.episode, s.wanted, s.undecided
        ),
        &s.values,
    );
    on_db!(db, pool => {
        use sqlx::{FromRow, Row};
        let rows = bind_named!(sqlx::query(&q.sql), q).fetch_all(pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(Candidate {
                rollup: Rollup::from_row(&r)?,
                nudge: r.try_get("nudge")?,
                episode_s: r.try_get("episode_s")?,
            });
        }
        Ok(out)
    })
}

/// The earlier of two nullable instants, as SQL.
fn earlier(a: &str, b: &str) -> String {
    format!("(CASE WHEN {a} IS NULL THEN {b} WHEN {b} IS NULL THEN {a} WHEN {a} < {b} THEN {a} ELSE {b} END)")
}

/// What the incremental selection needs besides the selection: the dormancy threshold and the
/// rebooking grace, in seconds.
fn look_values(s: &mut Selection, dormant_s: i64, grace_s: i64) {
    s.values.push(("dormant_s", Value::Int(dormant_s)));
    s.values.push(("grace_s", Value::Int(grace_s)));
}

/// When a person needs looking at again with nothing else happening: a skip's recheck, the
/// moment they turn dormant, or the moment their rebooking falls due — whichever is first and
/// still ahead (none: not until their activity, their record or the policy changes).
fn next_look() -> String {
    let recheck = "(CASE WHEN recheck_s > @now THEN recheck_s END)";
    let dormant = "(CASE WHEN COALESCE(last_active_s, joined_s) + @dormant_s > @now \
                   THEN COALESCE(last_active_s, joined_s) + @dormant_s END)";
    let due = "(CASE WHEN rebook_due_s + @grace_s > @now THEN rebook_due_s + @grace_s END)";
    earlier(recheck, &earlier(dormant, due))
}

/// Everyone is to be looked at again (the policy changed).
pub async fn look_at_everyone(db: &Db, org_id: Uuid) -> Result<u64, sqlx::Error> {
    let sql = "UPDATE person_engagement SET decide_at_s = 0 WHERE org_id = $1";
    on_db!(db, pool => sqlx::query(sql).bind(org_id).execute(pool).await.map(|r| r.rows_affected()))
}

/// The run's view of who needs looking at: who counts as due to rebook (booked last before
/// `due_before`), now, and when the policy last changed; the thresholds for the next look.
pub struct Looks {
    pub org_id: Uuid,
    pub due_before: i64,
    pub now: i64,
    pub policy_s: i64,
    pub dormant_s: i64,
    pub grace_s: i64,
}

/// Settles the people due a look who need no decision now — not dormant nor due, or already
/// decided for this stretch of time — with the time of their next look. With `ids`, only those
/// (a batch just decided). Set-based; returns how many were settled.
pub async fn settle(db: &Db, looks: &Looks, ids: Option<&[Uuid]>) -> Result<u64, sqlx::Error> {
    let mut s = selection(
        looks.org_id,
        Segments::Stored,
        looks.due_before,
        looks.now,
        looks.policy_s,
    );
    look_values(&mut s, looks.dormant_s, looks.grace_s);
    let mut settled = 0;
    let chunks: Vec<&[Uuid]> = match ids {
        Some(ids) => ids.chunks(CHUNK).collect(),
        None => vec![&[]],
    };
    for chunk in chunks {
        let names: Vec<String> = (0..chunk.len()).map(|i| format!("id{i}")).collect();
        let mut values: Vec<(&str, Value)> = s.values.clone();
        values.extend(
            names
                .iter()
                .map(String::as_str)
                .zip(chunk.iter().map(|id| Value::Id(*id))),
        );
        // A batch is found by its ids (the primary key), not by the organisation's looks.
        let (org, look, only) = if ids.is_some() {
            let list: Vec<String> = names.iter().map(|n| format!("@{n}")).collect();
            (
                super::unindexed(db, "org_id"),
                super::unindexed(db, "decide_at_s"),
                format!(" AND person_id IN ({})", list.join(", ")),
            )
        } else {
            ("org_id".into(), "decide_at_s".into(), String::new())
        };
        let q = named(
            &format!(
                "UPDATE person_engagement SET decide_at_s = {} WHERE {org} = @org \
                 AND {look} <= @now AND NOT ({} AND {}){only}",
                next_look(),
                s.wanted,
                s.undecided
            ),
            &values,
        );
        settled += on_db!(db, pool => bind_named!(sqlx::query(&q.sql), q)
            .execute(pool).await.map(|r| r.rows_affected()))?;
    }
    Ok(settled)
}

/// Where a walk through the people due a look has got to: the look time and id of the last
/// one read.
pub type LookKey = (i64, Uuid);

/// The next `limit` people due a look who need a decision now (dormant or due, and not decided
/// for this stretch of time), after `after` in look order: found through the index of looks,
/// so an hourly run reads only the people something happened to. (Walking on from the last key
/// rather than from the start also steps over the entries of those just settled, which
/// PostgreSQL keeps until it vacuums.)
pub async fn due_candidates(
    db: &Db,
    org_id: Uuid,
    due_before: i64,
    now: i64,
    policy_s: i64,
    after: Option<LookKey>,
    limit: i64,
) -> Result<Vec<(Candidate, i64)>, sqlx::Error> {
    let mut s = selection(org_id, Segments::Stored, due_before, now, policy_s);
    s.values.push(("limit", Value::Int(limit)));
    let keyset = match after {
        Some((at, id)) => {
            s.values.push(("at", Value::Int(at)));
            s.values.push(("after", Value::Id(id)));
            " AND (decide_at_s > @at OR (decide_at_s = @at AND person_id > @after))"
        }
        None => "",
    };
    let q = named(
        &format!(
            "SELECT {ROLLUP_COLUMNS}, {} AS nudge, {} AS episode_s, decide_at_s FROM person_engagement \
             WHERE org_id = @org AND decide_at_s <= @now AND {} AND {}{keyset} \
             ORDER BY decide_at_s, person_id LIMIT @limit",
            s.nudge, s.episode, s.wanted, s.undecided
        ),
        &s.values,
    );
    on_db!(db, pool => {
        use sqlx::{FromRow, Row};
        let rows = bind_named!(sqlx::query(&q.sql), q).fetch_all(pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push((
                Candidate {
                    rollup: Rollup::from_row(&r)?,
                    nudge: r.try_get("nudge")?,
                    episode_s: r.try_get("episode_s")?,
                },
                r.try_get::<Option<i64>, _>("decide_at_s")?.unwrap_or(0),
            ));
        }
        Ok(out)
    })
}

/// The counts a run reports, read through indexes: (due to rebook, due to rebook and dormant,
/// awaiting a decision). Call after [`settle`]: whoever is still due a look then awaits one.
pub async fn due_counts(
    db: &Db,
    org_id: Uuid,
    due_before: i64,
    now: i64,
) -> Result<(i64, i64, i64), sqlx::Error> {
    let due = "SELECT COUNT(*), COALESCE(SUM(CASE WHEN segment = 'dormant' THEN 1 ELSE 0 END), 0) \
               FROM person_engagement WHERE org_id = $1 AND rebook_due_s IS NOT NULL \
               AND rebook_due_s <= $2 AND segment <> 'churned'";
    let waiting = "SELECT COUNT(*) FROM person_engagement WHERE org_id = $1 AND decide_at_s <= $2";
    on_db!(db, pool => {
        let (d, both): (i64, i64) = sqlx::query_as(due).bind(org_id).bind(due_before).fetch_one(pool).await?;
        let w: i64 = sqlx::query_scalar(waiting).bind(org_id).bind(now).fetch_one(pool).await?;
        Ok((d, both, w))
    })
}

/// One decision to write onto a person.
#[derive(Clone, Debug)]
pub struct DecisionRow {
    pub person_id: Uuid,
    pub nudge: String,
    pub episode_s: i64,
    pub outcome: String,
    pub reason: Option<String>,
    pub recheck_s: Option<i64>,
    pub delivery_id: Option<Uuid>,
}

/// Records the run's decisions on the people they are about.
pub async fn record_decisions(
    db: &Db,
    decided_at: DateTime<Utc>,
    rows: &[DecisionRow],
) -> Result<(), sqlx::Error> {
    let types = [
        "UUID", "TEXT", "BIGINT", "TEXT", "TEXT", "BIGINT", "UUID", "BIGINT",
    ];
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        for chunk in rows.chunks(CHUNK) {
            let sql = format!(
                "UPDATE person_engagement SET decided_s = v.column8, decided_nudge = v.column2, \
                 decided_episode_s = v.column3, decided_outcome = v.column4, decided_reason = v.column5, \
                 recheck_s = v.column6, decided_delivery_id = v.column7 \
                 FROM (VALUES {}) AS v WHERE person_engagement.person_id = v.column1",
                value_rows(db, 1, chunk.len(), types.len(), Some(&types))
            );
            let mut q = sqlx::query(&sql);
            for d in chunk {
                q = q.bind(d.person_id).bind(&d.nudge).bind(d.episode_s).bind(&d.outcome)
                    .bind(&d.reason).bind(d.recheck_s).bind(d.delivery_id)
                    .bind(decided_at.timestamp());
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await
    })
}

/// The latest decision about a person: (when, nudge, outcome, reason, delivery).
pub type LastDecision = (
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<Uuid>,
);

pub async fn last_decision(
    db: &Db,
    org_id: Uuid,
    person_id: Uuid,
) -> Result<Option<LastDecision>, sqlx::Error> {
    let sql =
        "SELECT decided_s, decided_nudge, decided_outcome, decided_reason, decided_delivery_id \
               FROM person_engagement WHERE org_id = $1 AND person_id = $2";
    on_db!(db, pool => sqlx::query_as(sql).bind(org_id).bind(person_id).fetch_optional(pool).await)
}

/// People decided at or after `since` with their outcome and reason, newest decision first
/// (the Engagement page's "who was skipped and why").
pub async fn decided_since(
    db: &Db,
    org_id: Uuid,
    since: DateTime<Utc>,
    outcome: Option<&str>,
    limit: i64,
) -> Result<Vec<(Uuid, String, String, String, Option<String>, Option<Uuid>)>, sqlx::Error> {
    let sql = "SELECT e.person_id, p.full_name, e.decided_nudge, e.decided_outcome, e.decided_reason, \
               e.decided_delivery_id FROM person_engagement e JOIN persons p ON p.id = e.person_id \
               WHERE e.org_id = $1 AND e.decided_s >= $2 AND ($3 IS NULL OR e.decided_outcome = $3) \
               ORDER BY e.decided_s DESC, p.sort_name LIMIT $4";
    on_db!(db, pool => sqlx::query_as(sql)
        .bind(org_id).bind(since.timestamp()).bind(outcome).bind(limit).fetch_all(pool).await)
}
