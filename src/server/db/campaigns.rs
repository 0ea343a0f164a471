//! Campaigns and each person's arm of one. Every statement is scoped to the organisation.

use super::engagement::ROLLUP_COLUMNS;
use super::persons::like_pattern;
use super::vendors::tag_json;
use super::{ph, phs, value_rows, Db, Tx};
use crate::domain::campaigns::stats::{AssignedRow, MessageRow};
use crate::domain::campaigns::{
    AudienceCriteria, Campaign, CampaignSettings, CampaignStatus, Variant,
};
use crate::domain::engagement::{NudgeChannel, Rollup};
use crate::domain::timing::parse_time_of_day;
use crate::{on_db, on_tx};
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use std::collections::HashMap;
use uuid::Uuid;

const COLUMNS: &str = "id, org_id, name, status, channel, audience, variants, holdout_percent, \
    starts_at, ends_at, repeat_days, send_window_start, send_window_end, conversion_days, \
    created_at, updated_at, activated_at, completed_at, last_run_at";

/// A campaign as its row holds it.
#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    org_id: Uuid,
    name: String,
    status: String,
    channel: String,
    audience: Json<AudienceCriteria>,
    variants: Json<Vec<Variant>>,
    holdout_percent: i32,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    repeat_days: Option<i32>,
    send_window_start: Option<String>,
    send_window_end: Option<String>,
    conversion_days: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    activated_at: Option<DateTime<Utc>>,
    completed_at: Option<DateTime<Utc>>,
    last_run_at: Option<DateTime<Utc>>,
}

impl TryFrom<Row> for Campaign {
    type Error = sqlx::Error;

    fn try_from(r: Row) -> Result<Self, Self::Error> {
        let decode = |e: String| sqlx::Error::Decode(e.into());
        let time = |t: Option<String>| t.map(|t| parse_time_of_day(&t)).transpose();
        Ok(Campaign {
            id: r.id,
            org_id: r.org_id,
            status: CampaignStatus::parse(&r.status).map_err(decode)?,
            settings: CampaignSettings {
                name: r.name,
                channel: NudgeChannel::parse(&r.channel).map_err(decode)?,
                audience: r.audience.0,
                variants: r.variants.0,
                holdout_percent: r.holdout_percent,
                starts_at: r.starts_at,
                ends_at: r.ends_at,
                repeat_days: r.repeat_days,
                send_window_start: time(r.send_window_start).map_err(decode)?,
                send_window_end: time(r.send_window_end).map_err(decode)?,
                conversion_days: r.conversion_days,
            },
            created_at: r.created_at,
            updated_at: r.updated_at,
            activated_at: r.activated_at,
            completed_at: r.completed_at,
            last_run_at: r.last_run_at,
        })
    }
}

fn hhmm(t: Option<chrono::NaiveTime>) -> Option<String> {
    t.map(|t| t.format("%H:%M").to_string())
}

/// Inserts a new campaign, or (`insert` false) writes every field of an existing one;
/// false when there was none to update.
pub async fn save(
    tx: &mut Tx,
    c: &Campaign,
    created_by: Option<Uuid>,
    insert: bool,
) -> Result<bool, sqlx::Error> {
    let sql = if insert {
        "INSERT INTO campaigns (id, org_id, name, status, channel, audience, variants, \
         holdout_percent, starts_at, ends_at, repeat_days, send_window_start, send_window_end, \
         conversion_days, created_at, updated_at, activated_at, completed_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)"
    } else {
        "UPDATE campaigns SET name = $3, status = $4, channel = $5, audience = $6, variants = $7, \
         holdout_percent = $8, starts_at = $9, ends_at = $10, repeat_days = $11, \
         send_window_start = $12, send_window_end = $13, conversion_days = $14, \
         created_at = $15, updated_at = $16, activated_at = $17, completed_at = $18 \
         WHERE id = $1 AND org_id = $2"
    };
    on_tx!(tx, conn => {
        let s = &c.settings;
        let q = sqlx::query(sql)
            .bind(c.id).bind(c.org_id).bind(&s.name).bind(c.status.as_str())
            .bind(s.channel.as_str()).bind(Json(&s.audience)).bind(Json(&s.variants))
            .bind(s.holdout_percent).bind(s.starts_at).bind(s.ends_at).bind(s.repeat_days)
            .bind(hhmm(s.send_window_start)).bind(hhmm(s.send_window_end))
            .bind(s.conversion_days).bind(c.created_at).bind(c.updated_at).bind(c.activated_at)
            .bind(c.completed_at);
        let q = if insert { q.bind(created_by) } else { q };
        q.execute(&mut *conn).await.map(|r| r.rows_affected() == 1)
    })
}

pub async fn get(db: &Db, org_id: Uuid, id: Uuid) -> Result<Option<Campaign>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM campaigns WHERE org_id = $1 AND id = $2");
    let row: Option<Row> = on_db!(db, pool => sqlx::query_as(&sql)
        .bind(org_id).bind(id).fetch_optional(pool).await)?;
    row.map(Campaign::try_from).transpose()
}

/// The organisation's campaigns, newest first (`status`: only those), a page of them and how
/// many there are in all.
pub async fn list(
    db: &Db,
    org_id: Uuid,
    status: Option<CampaignStatus>,
    skip: i64,
    limit: i64,
) -> Result<(Vec<Campaign>, i64), sqlx::Error> {
    let filter = "org_id = $1 AND ($2 IS NULL OR status = $2)";
    let status = status.map(|s| s.as_str());
    let sql = format!(
        "SELECT {COLUMNS} FROM campaigns WHERE {filter} \
         ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
    );
    let count = format!("SELECT COUNT(*) FROM campaigns WHERE {filter}");
    let (rows, total): (Vec<Row>, i64) = on_db!(db, pool => {
        let rows = sqlx::query_as(&sql).bind(org_id).bind(status).bind(limit).bind(skip)
            .fetch_all(pool).await?;
        let total = sqlx::query_scalar(&count).bind(org_id).bind(status).fetch_one(pool).await?;
        (rows, total)
    });
    let items = rows
        .into_iter()
        .map(Campaign::try_from)
        .collect::<Result<_, _>>()?;
    Ok((items, total))
}

/// Moves a campaign from `from` to `to` (only while it is in `from`); false when it was not.
pub async fn set_status(
    db: &Db,
    org_id: Uuid,
    id: Uuid,
    from: CampaignStatus,
    to: CampaignStatus,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE campaigns SET status = $4, updated_at = $5, \
               activated_at = CASE WHEN $4 = 'active' THEN COALESCE(activated_at, $5) ELSE activated_at END, \
               completed_at = CASE WHEN $4 = 'completed' THEN $5 ELSE completed_at END \
               WHERE org_id = $1 AND id = $2 AND status = $3";
    on_db!(db, pool => sqlx::query(sql)
        .bind(org_id).bind(id).bind(from.as_str()).bind(to.as_str()).bind(at)
        .execute(pool).await.map(|r| r.rows_affected() == 1))
}

/// The organisation's active campaigns, oldest first.
pub async fn active(db: &Db, org_id: Uuid) -> Result<Vec<Campaign>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM campaigns WHERE org_id = $1 AND status = 'active' \
         ORDER BY created_at, id"
    );
    let rows: Vec<Row> =
        on_db!(db, pool => sqlx::query_as(&sql).bind(org_id).fetch_all(pool).await)?;
    rows.into_iter().map(Campaign::try_from).collect()
}

/// One page of a campaign's audience: who meets its criteria.
pub struct AudiencePage<'a> {
    pub org_id: Uuid,
    pub criteria: &'a AudienceCriteria,
    /// Now, in seconds since 1970 (for "inactive at least N days").
    pub now_s: i64,
    /// A rebooking counts as due when it fell due before this (now less the grace).
    pub due_before: i64,
    /// The page starts after this person (by id).
    pub after: Uuid,
    pub limit: i64,
}

/// The next people (by id) who meet a campaign's criteria, with their activity roll-ups:
/// live people with an engagement roll-up, narrowed by segment, tags, churn risk, days
/// inactive, a rebooking due and assigned staff. Whether a channel can reach them is the
/// policy decision's to say, as in every run.
pub async fn audience(db: &Db, q: &AudiencePage<'_>) -> Result<Vec<Rollup>, sqlx::Error> {
    enum P {
        Id(Uuid),
        Int(i64),
        Text(String),
    }
    let c = q.criteria;
    let mut params = vec![P::Id(q.org_id)];
    let mut clause = String::from("pe.org_id = $1 AND p.org_id = $1 AND p.deleted_at IS NULL");
    let next = |params: &mut Vec<P>, p: P| {
        params.push(p);
        format!("${}", params.len())
    };
    if !c.segments.is_empty() {
        let list: Vec<String> = c
            .segments
            .iter()
            .map(|s| next(&mut params, P::Text(s.as_str().to_string())))
            .collect();
        clause.push_str(&format!(" AND pe.segment IN ({})", list.join(", ")));
    }
    if !c.tags.is_empty() {
        let any: Vec<String> = c
            .tags
            .iter()
            .map(|t| {
                let n = next(&mut params, P::Text(like_pattern(&tag_json(t))));
                format!("LOWER(CAST(p.tags AS TEXT)) LIKE {n} ESCAPE '\\'")
            })
            .collect();
        clause.push_str(&format!(" AND ({})", any.join(" OR ")));
    }
    // Churn risk is stored in hundredths.
    if let Some(min) = c.churn_risk_min {
        let n = next(&mut params, P::Int((min * 100.0).ceil() as i64));
        clause.push_str(&format!(" AND pe.churn_points >= {n}"));
    }
    if let Some(max) = c.churn_risk_max {
        let n = next(&mut params, P::Int((max * 100.0).floor() as i64));
        clause.push_str(&format!(" AND pe.churn_points <= {n}"));
    }
    if let Some(days) = c.min_days_inactive {
        let n = next(&mut params, P::Int(q.now_s - days as i64 * 86_400));
        clause.push_str(&format!(
            " AND COALESCE(pe.last_active_s, pe.joined_s) <= {n}"
        ));
    }
    if c.due_to_rebook {
        let n = next(&mut params, P::Int(q.due_before));
        clause.push_str(&format!(
            " AND pe.rebook_due_s IS NOT NULL AND pe.rebook_due_s <= {n}"
        ));
    }
    if let Some(staff) = c.assigned_staff_id {
        let n = next(&mut params, P::Id(staff));
        clause.push_str(&format!(" AND p.assigned_staff_id = {n}"));
    }
    let after = next(&mut params, P::Id(q.after));
    let limit = next(&mut params, P::Int(q.limit));
    let columns: Vec<String> = ROLLUP_COLUMNS
        .split(',')
        .map(|c| format!("pe.{}", c.trim()))
        .collect();
    let sql = format!(
        "SELECT {} FROM person_engagement pe JOIN persons p ON p.id = pe.person_id \
         WHERE {clause} AND pe.person_id > {after} ORDER BY pe.person_id LIMIT {limit}",
        columns.join(", ")
    );
    on_db!(db, pool => {
        let mut query = sqlx::query_as::<_, Rollup>(&sql);
        for p in &params {
            query = match p {
                P::Id(id) => query.bind(*id),
                P::Int(n) => query.bind(*n),
                P::Text(t) => query.bind(t.clone()),
            };
        }
        query.fetch_all(pool).await
    })
}

/// Where each of `people` stands in a campaign: their arm's key and when a message of it was
/// last queued for them.
pub async fn assignments(
    db: &Db,
    org_id: Uuid,
    campaign: Uuid,
    people: &[Uuid],
) -> Result<HashMap<Uuid, (String, Option<DateTime<Utc>>)>, sqlx::Error> {
    let mut out = HashMap::with_capacity(people.len());
    for chunk in people.chunks(500) {
        let sql = format!(
            "SELECT person_id, arm, last_round_at FROM campaign_assignments \
             WHERE org_id = {} AND campaign_id = {} AND person_id IN ({})",
            ph(db, 1),
            ph(db, 2),
            phs(db, 3, chunk.len())
        );
        let rows: Vec<(Uuid, String, Option<DateTime<Utc>>)> = on_db!(db, pool => {
            let mut q = sqlx::query_as(&sql).bind(org_id).bind(campaign);
            for id in chunk {
                q = q.bind(id);
            }
            q.fetch_all(pool).await?
        });
        out.extend(rows.into_iter().map(|(p, arm, last)| (p, (arm, last))));
    }
    Ok(out)
}

/// One person's arm of a campaign to record, and (when a message was queued for them, or
/// they are in the holdout) the round's time.
pub struct Assignment {
    pub person_id: Uuid,
    pub arm: String,
    pub reached_at: Option<DateTime<Utc>>,
}

/// Records arms (a person's first keeps their arm for good) and rounds, in multi-row
/// statements.
pub async fn save_assignments(
    db: &Db,
    org_id: Uuid,
    campaign: Uuid,
    rows: &[Assignment],
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    for chunk in rows.chunks(400) {
        let sql = format!(
            "INSERT INTO campaign_assignments \
             (campaign_id, person_id, org_id, arm, assigned_at, last_round_at) VALUES {} \
             ON CONFLICT (campaign_id, person_id) DO UPDATE SET \
             last_round_at = COALESCE(excluded.last_round_at, campaign_assignments.last_round_at)",
            value_rows(db, 1, chunk.len(), 6, None)
        );
        on_db!(db, pool => {
            let mut q = sqlx::query(&sql);
            for a in chunk {
                q = q.bind(campaign).bind(a.person_id).bind(org_id).bind(&a.arm).bind(at)
                    .bind(a.reached_at);
            }
            q.execute(pool).await.map(|_| ())?
        });
    }
    Ok(())
}

/// Notes that an engagement run sent for the campaign at `at`.
pub async fn mark_run(
    db: &Db,
    org_id: Uuid,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let sql = "UPDATE campaigns SET last_run_at = $3 WHERE org_id = $1 AND id = $2";
    on_db!(db, pool => sqlx::query(sql).bind(org_id).bind(id).bind(at)
        .execute(pool).await.map(|_| ()))
}

/// Completes an active campaign whose sending is over — its end has passed, or it is a one-off
/// without an end that a run has sent — once none of its messages is still pending or being
/// sent (each was delivered, sent, or failed for good). In the unit of work `tx`, so that it
/// sees the outcomes written with it. True when it completed now.
pub async fn complete_if_settled(
    tx: &mut Tx,
    org_id: Uuid,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE campaigns SET status = 'completed', completed_at = $3, updated_at = $3 \
        WHERE org_id = $1 AND id = $2 AND status = 'active' \
        AND ((ends_at IS NOT NULL AND ends_at <= $3) \
             OR (repeat_days IS NULL AND ends_at IS NULL AND last_run_at IS NOT NULL)) \
        AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.campaign_id = $2 \
                        AND d.status IN ('pending', 'sending', 'awaiting_approval'))";
    on_tx!(tx, conn => sqlx::query(sql).bind(org_id).bind(id).bind(at)
        .execute(&mut *conn).await.map(|r| r.rows_affected() == 1))
}

/// Everyone assigned to the campaign: their arm, when, and their first activity after it.
pub async fn assigned_rows(
    db: &Db,
    org_id: Uuid,
    campaign: Uuid,
) -> Result<Vec<(Uuid, AssignedRow)>, sqlx::Error> {
    let sql = "SELECT a.person_id, a.arm, a.assigned_at, MIN(e.occurred_at) AS first_after \
        FROM campaign_assignments a \
        LEFT JOIN activity_events e ON e.person_id = a.person_id AND e.occurred_at > a.assigned_at \
        WHERE a.org_id = $1 AND a.campaign_id = $2 \
        GROUP BY a.person_id, a.arm, a.assigned_at";
    type Raw = (Uuid, String, DateTime<Utc>, Option<DateTime<Utc>>);
    let rows: Vec<Raw> = on_db!(db, pool =>
        sqlx::query_as(sql).bind(org_id).bind(campaign).fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .map(|(person, arm, assigned_at, first)| {
            (
                person,
                AssignedRow {
                    arm,
                    assigned_at,
                    first_activity_after: first,
                    booked_at: None,
                },
            )
        })
        .collect())
}

/// The campaign's messages, each with the person, whether it was opened and clicked, and when
/// a booking came through it.
pub async fn message_rows(
    db: &Db,
    org_id: Uuid,
    campaign: Uuid,
) -> Result<Vec<(Option<Uuid>, Option<DateTime<Utc>>, MessageRow)>, sqlx::Error> {
    let sql = "SELECT d.person_id, COALESCE(d.variant, ''), d.sent_at, d.status = 'delivered', \
        EXISTS (SELECT 1 FROM delivery_events ev WHERE ev.delivery_id = d.id AND ev.event = 'opened'), \
        EXISTS (SELECT 1 FROM delivery_events ev WHERE ev.delivery_id = d.id AND ev.event = 'clicked'), \
        CASE WHEN d.response = 'booked' THEN d.response_at END \
        FROM deliveries d WHERE d.org_id = $1 AND d.campaign_id = $2";
    type Raw = (
        Option<Uuid>,
        String,
        Option<DateTime<Utc>>,
        bool,
        bool,
        bool,
        Option<DateTime<Utc>>,
    );
    let rows: Vec<Raw> = on_db!(db, pool =>
        sqlx::query_as(sql).bind(org_id).bind(campaign).fetch_all(pool).await)?;
    Ok(rows
        .into_iter()
        .map(
            |(person, variant, sent_at, delivered, opened, clicked, booked)| {
                (
                    person,
                    booked,
                    MessageRow {
                        variant,
                        sent_at,
                        delivered,
                        opened,
                        clicked,
                    },
                )
            },
        )
        .collect())
}
