//! The engagement policy (one JSON document per organisation), the runs with their summaries,
//! the installation's secrets, and the numbers the charts draw.

use crate::domain::engagement::{
    EngagementPolicy, EngagementRun, RunDecision, RunReport, RunSummary, RunTrigger,
};
use crate::on_db;
use crate::server::db::Db;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

/// The organisation's policy, if an admin ever saved one.
pub async fn policy(db: &Db, org_id: Uuid) -> Result<Option<EngagementPolicy>, sqlx::Error> {
    let sql = "SELECT policy FROM engagement_policies WHERE org_id = $1";
    let row: Option<Json<EngagementPolicy>> = on_db!(db, pool => sqlx::query_scalar(sql)
        .bind(org_id).fetch_optional(pool).await)?;
    Ok(row.map(|j| j.0))
}

pub async fn save_policy(
    db: &Db,
    org_id: Uuid,
    policy: &EngagementPolicy,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let sql = "INSERT INTO engagement_policies (org_id, policy, updated_at) VALUES ($1, $2, $3) \
               ON CONFLICT (org_id) DO UPDATE SET policy = excluded.policy, updated_at = excluded.updated_at";
    on_db!(db, pool => sqlx::query(sql).bind(org_id).bind(Json(policy)).bind(at)
        .execute(pool).await.map(|_| ()))
}

/// Starts a run. A scheduled run names its `slot` (the interval it stands for); only one run
/// per organisation and slot is ever started, so several workers do not run it twice. `false`
/// when another got the slot.
pub async fn start_run(
    db: &Db,
    org_id: Uuid,
    id: Uuid,
    trigger: RunTrigger,
    slot: Option<&str>,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let sql = "INSERT INTO engagement_runs (id, org_id, started_by, slot, started_at) \
               VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING";
    on_db!(db, pool => sqlx::query(sql).bind(id).bind(org_id).bind(trigger.as_str()).bind(slot)
        .bind(at).execute(pool).await.map(|r| r.rows_affected() == 1))
}

/// Stores how a run ended: its summary, the decisions kept, and its error if it failed.
pub async fn finish_run(db: &Db, org_id: Uuid, report: &RunReport) -> Result<(), sqlx::Error> {
    let run = &report.run;
    let sql = "UPDATE engagement_runs SET finished_at = $3, summary = $4, decisions = $5, \
               truncated = $6, error = $7 WHERE org_id = $1 AND id = $2";
    on_db!(db, pool => sqlx::query(sql).bind(org_id).bind(run.id).bind(run.finished_at)
        .bind(Json(&run.summary)).bind(Json(&report.decisions)).bind(report.truncated)
        .bind(run.error.as_deref()).execute(pool).await.map(|_| ()))
}

type RunRow = (
    Uuid,
    String,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Json<RunSummary>,
    Option<String>,
);

fn to_run(r: RunRow) -> EngagementRun {
    EngagementRun {
        id: r.0,
        trigger: RunTrigger::parse(&r.1).unwrap_or(RunTrigger::Api),
        dry_run: false,
        started_at: r.2,
        finished_at: r.3,
        summary: r.4 .0,
        error: r.5,
    }
}

/// When the latest run that finished without an error before `now` started.
pub async fn last_run_started(
    db: &Db,
    org_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let sql = "SELECT MAX(started_at) FROM engagement_runs WHERE org_id = $1 \
               AND finished_at IS NOT NULL AND error IS NULL AND started_at < $2";
    on_db!(db, pool => sqlx::query_scalar(sql).bind(org_id).bind(now).fetch_one(pool).await)
}

/// The latest runs, newest first.
pub async fn runs(db: &Db, org_id: Uuid, limit: i64) -> Result<Vec<EngagementRun>, sqlx::Error> {
    let sql =
        "SELECT id, started_by, started_at, finished_at, summary, error FROM engagement_runs \
               WHERE org_id = $1 ORDER BY started_at DESC, id DESC LIMIT $2";
    let rows: Vec<RunRow> = on_db!(db, pool => sqlx::query_as(sql).bind(org_id).bind(limit)
        .fetch_all(pool).await)?;
    Ok(rows.into_iter().map(to_run).collect())
}

/// One run with the decisions it kept.
pub async fn run(
    db: &Db,
    org_id: Uuid,
    id: Uuid,
) -> Result<Option<(EngagementRun, Vec<RunDecision>, bool)>, sqlx::Error> {
    let sql =
        "SELECT id, started_by, started_at, finished_at, summary, error, decisions, truncated \
               FROM engagement_runs WHERE org_id = $1 AND id = $2";
    type Full = (
        Uuid,
        String,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
        Json<RunSummary>,
        Option<String>,
        Json<Vec<RunDecision>>,
        bool,
    );
    let row: Option<Full> = on_db!(db, pool => sqlx::query_as(sql).bind(org_id).bind(id)
        .fetch_optional(pool).await)?;
    Ok(row.map(|r| (to_run((r.0, r.1, r.2, r.3, r.4, r.5)), r.6 .0, r.7)))
}

/// An expression for the day (`YYYY-MM-DD`) of `column`, shifted by `$2` minutes (the
/// organisation's offset from UTC).
fn day_of(db: &Db, column: &str) -> String {
    match db {
        Db::Sqlite(_) => format!("substr(datetime({column}, printf('%+d minutes', $2)), 1, 10)"),
        Db::Postgres(_) => format!(
            "to_char(({column} AT TIME ZONE 'UTC') + make_interval(mins => CAST($2 AS INTEGER)), 'YYYY-MM-DD')"
        ),
    }
}

/// Engagement messages sent per day since `since`, and responses per day by kind
/// (`clicked`, `booked`, `unsubscribed` …), with days shifted by `offset_minutes`.
pub async fn daily(
    db: &Db,
    org_id: Uuid,
    since: DateTime<Utc>,
    offset_minutes: i32,
) -> Result<(Vec<(String, i64)>, Vec<(String, String, i64)>), sqlx::Error> {
    let sent = format!(
        "SELECT {d} AS day, COUNT(*) FROM deliveries WHERE org_id = $1 AND kind = 'engagement' \
         AND sent_at >= $3 GROUP BY {d} ORDER BY 1",
        d = day_of(db, "sent_at")
    );
    let responses = format!(
        "SELECT {d} AS day, ev.event, COUNT(*) FROM delivery_events ev \
         WHERE ev.org_id = $1 AND ev.event IN ('clicked', 'booked', 'unsubscribed') AND ev.at >= $3 \
         AND EXISTS (SELECT 1 FROM deliveries d WHERE d.id = ev.delivery_id AND d.kind = 'engagement') \
         GROUP BY {d}, ev.event ORDER BY 1",
        d = day_of(db, "ev.at")
    );
    on_db!(db, pool => {
        let a: Vec<(String, i64)> = sqlx::query_as(&sent)
            .bind(org_id).bind(offset_minutes).bind(since).fetch_all(pool).await?;
        let b: Vec<(String, String, i64)> = sqlx::query_as(&responses)
            .bind(org_id).bind(offset_minutes).bind(since).fetch_all(pool).await?;
        Ok((a, b))
    })
}
