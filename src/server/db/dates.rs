//! Date categories, date items and their reminder rules. Every query is scoped to one
//! organisation, and dates of soft-deleted people are invisible.

use super::{value_rows, Conn, Db, Dialect, Tx};
use crate::domain::dates::{
    CategoryDraft, DateCategory, DateItem, ReminderRule, ReminderStatus, ReminderType, UpcomingDate,
};
use crate::{on_conn, on_db, on_tx};
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

/// Binds a rule's columns in the order INSERT_RULE and UPDATE_RULE name them ($1 to $19).
macro_rules! bind_rule {
    ($query:expr, $r:expr) => {
        $query
            .bind($r.id)
            .bind($r.org_id)
            .bind($r.person_id)
            .bind($r.date_item_id)
            .bind($r.reminder_type.as_str())
            .bind($r.lead_time_days)
            .bind($r.time_of_day.as_deref())
            .bind($r.channel_type.as_str())
            .bind($r.audience.as_str())
            .bind($r.message.as_deref())
            .bind($r.status.as_str())
            .bind($r.occurrence_date)
            .bind($r.last_sent_occurrence)
            .bind($r.scheduled_datetime)
            .bind($r.sent_at)
            .bind($r.last_error.as_deref())
            .bind($r.position)
            .bind($r.created_at)
            .bind($r.updated_at)
    };
}

/// A reminder rule of a live person, written as "not of a deleted person" of the organisation
/// (`$1` in every statement that uses it; see `deleted_person_ids`). With `person_id` in the
/// list's index, the key of a deep page is read from the index alone.
const LIVE_RULE: &str = concat!("r.person_id NOT IN ", super::deleted_person_ids!());

const CATEGORY_COLUMNS: &str = "id, org_id, name, icon, color, created_at, updated_at";

pub async fn list_categories(db: &Db, org_id: Uuid) -> Result<Vec<DateCategory>, sqlx::Error> {
    let sql = format!(
        "SELECT {CATEGORY_COLUMNS} FROM date_categories WHERE org_id = $1 ORDER BY name_key"
    );
    on_db!(db, pool => sqlx::query_as::<_, DateCategory>(&sql).bind(org_id).fetch_all(pool).await)
}

pub async fn get_category(
    db: &Db,
    org_id: Uuid,
    id: Uuid,
) -> Result<Option<DateCategory>, sqlx::Error> {
    let sql =
        format!("SELECT {CATEGORY_COLUMNS} FROM date_categories WHERE org_id = $1 AND id = $2");
    on_db!(db, pool => sqlx::query_as::<_, DateCategory>(&sql).bind(org_id).bind(id).fetch_optional(pool).await)
}

pub async fn insert_category(
    conn: impl Into<Conn<'_>>,
    org_id: Uuid,
    id: Uuid,
    d: &CategoryDraft,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let sql = "INSERT INTO date_categories (id, org_id, name, name_key, icon, color, created_at, updated_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $7)";
    on_conn!(conn.into(), pool => sqlx::query(sql)
        .bind(id).bind(org_id).bind(&d.name).bind(d.name.to_lowercase()).bind(&d.icon).bind(&d.color).bind(at)
        .execute(pool).await.map(|_| ()))
}

pub async fn update_category(
    db: &Db,
    org_id: Uuid,
    id: Uuid,
    d: &CategoryDraft,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE date_categories SET name = $3, name_key = $4, icon = $5, color = $6, updated_at = $7 \
               WHERE org_id = $1 AND id = $2";
    on_db!(db, pool => sqlx::query(sql)
        .bind(org_id).bind(id).bind(&d.name).bind(d.name.to_lowercase()).bind(&d.icon).bind(&d.color).bind(at)
        .execute(pool).await.map(|r| r.rows_affected() > 0))
}

/// How many date items use a category.
pub async fn category_usage(db: &Db, org_id: Uuid, id: Uuid) -> Result<i64, sqlx::Error> {
    let sql = "SELECT COUNT(*) FROM date_items WHERE org_id = $1 AND category_id = $2";
    on_db!(db, pool => sqlx::query_scalar::<_, i64>(sql).bind(org_id).bind(id).fetch_one(pool).await)
}

pub async fn delete_category(db: &Db, org_id: Uuid, id: Uuid) -> Result<bool, sqlx::Error> {
    let sql = "DELETE FROM date_categories WHERE org_id = $1 AND id = $2";
    on_db!(db, pool => sqlx::query(sql).bind(org_id).bind(id).execute(pool).await.map(|r| r.rows_affected() > 0))
}

const ITEM_COLUMNS: &str = "d.id, d.org_id, d.person_id, d.category_id, d.title, d.date_value, \
    d.recurrence_rule, d.next_occurrence, d.notes, d.created_at, d.updated_at";

/// Joins that keep a soft-deleted person's dates out of sight.
const LIVE_PERSON: &str = "JOIN persons p ON p.id = d.person_id AND p.deleted_at IS NULL";

pub async fn get_item(
    conn: impl Into<Conn<'_>>,
    org_id: Uuid,
    id: Uuid,
) -> Result<Option<DateItem>, sqlx::Error> {
    let sql = format!(
        "SELECT {ITEM_COLUMNS} FROM date_items d {LIVE_PERSON} WHERE d.org_id = $1 AND d.id = $2"
    );
    on_conn!(conn.into(), c => sqlx::query_as::<_, DateItem>(&sql).bind(org_id).bind(id).fetch_optional(c).await)
}

/// Date items by id, for a batch (those of another organisation are left out).
pub async fn items_by_ids(
    db: &Db,
    org_id: Uuid,
    ids: &[Uuid],
) -> Result<Vec<DateItem>, sqlx::Error> {
    let sql =
        format!("SELECT {ITEM_COLUMNS} FROM date_items d WHERE {{org}} AND d.id IN ({{ids}})");
    super::by_ids(db, &sql, "d.org_id", org_id, ids).await
}

/// A person's dates, soonest first; those with no further occurrence last.
pub async fn items_for_person(
    db: &Db,
    org_id: Uuid,
    person_id: Uuid,
    category_id: Option<Uuid>,
) -> Result<Vec<DateItem>, sqlx::Error> {
    let filter = if category_id.is_some() {
        " AND d.category_id = $3"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {ITEM_COLUMNS} FROM date_items d {LIVE_PERSON} WHERE d.org_id = $1 AND d.person_id = $2{filter} \
         ORDER BY d.next_occurrence IS NULL, d.next_occurrence, d.title, d.id"
    );
    on_db!(db, pool => {
        let mut q = sqlx::query_as::<_, DateItem>(&sql).bind(org_id).bind(person_id);
        if let Some(c) = category_id {
            q = q.bind(c);
        }
        q.fetch_all(pool).await
    })
}

/// A person's dates, the most recently added first, at most `limit` of them (for their
/// timeline).
pub async fn added_for_person(
    db: &Db,
    org_id: Uuid,
    person_id: Uuid,
    limit: i64,
) -> Result<Vec<DateItem>, sqlx::Error> {
    let sql = format!(
        "SELECT {ITEM_COLUMNS} FROM date_items d WHERE d.org_id = $1 AND d.person_id = $2 \
         ORDER BY d.created_at DESC, d.id DESC LIMIT $3"
    );
    on_db!(db, pool => sqlx::query_as::<_, DateItem>(&sql).bind(org_id).bind(person_id).bind(limit).fetch_all(pool).await)
}

/// Writes a date item and replaces its reminder rules, as part of the unit of work `tx`.
/// `rules` are written
/// as given; rules of the item that are not among them are removed.
pub async fn save_item(
    tx: &mut Tx,
    item: &DateItem,
    rules: Option<&[ReminderRule]>,
    insert: bool,
) -> Result<bool, sqlx::Error> {
    let item_sql = if insert {
        "INSERT INTO date_items (id, org_id, person_id, category_id, title, date_value, recurrence_rule, \
         next_occurrence, notes, created_at, updated_at, occurs_on) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    } else {
        "UPDATE date_items SET person_id = $3, category_id = $4, title = $5, date_value = $6, \
         recurrence_rule = $7, next_occurrence = $8, notes = $9, updated_at = $11, occurs_on = $12 \
         WHERE id = $1 AND org_id = $2 AND $10 = $10"
    };
    on_tx!(tx, conn => {
        let written = sqlx::query(item_sql)
            .bind(item.id).bind(item.org_id).bind(item.person_id).bind(item.category_id)
            .bind(&item.title).bind(item.date_value).bind(&item.recurrence_rule)
            .bind(item.next_occurrence).bind(&item.notes).bind(item.created_at).bind(item.updated_at)
            .bind(item.occurs_on())
            .execute(&mut *conn).await?.rows_affected() > 0;
        if !written {
            return Ok(false);
        }
        if let Some(rules) = rules {
            let keep: Vec<Uuid> = rules.iter().map(|r| r.id).collect();
            let existing: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM reminder_rules WHERE org_id = $1 AND date_item_id = $2")
                .bind(item.org_id).bind(item.id).fetch_all(&mut *conn).await?;
            for gone in existing.iter().filter(|id| !keep.contains(id)) {
                sqlx::query("DELETE FROM reminder_rules WHERE org_id = $1 AND id = $2")
                    .bind(item.org_id).bind(gone).execute(&mut *conn).await?;
            }
            for rule in rules {
                let sql = if existing.contains(&rule.id) { UPDATE_RULE } else { INSERT_RULE };
                bind_rule!(sqlx::query(sql), rule).execute(&mut *conn).await?;
            }
        }
        Ok(true)
    })
}

pub async fn delete_item(tx: &mut Tx, org_id: Uuid, id: Uuid) -> Result<bool, sqlx::Error> {
    let sql = "DELETE FROM date_items WHERE org_id = $1 AND id = $2";
    on_tx!(tx, conn => sqlx::query(sql).bind(org_id).bind(id).execute(&mut *conn).await.map(|r| r.rows_affected() > 0))
}

/// Date items whose stored next occurrence may have passed by `before` (a day's slack is
/// left to the caller, which checks each against its person's own clock), in
/// `(next_occurrence, id)` order after the keyset `after`, with their person's time zone.
pub async fn items_to_roll(
    db: &Db,
    org_id: Uuid,
    before: NaiveDate,
    after: Option<(NaiveDate, Uuid)>,
    limit: i64,
) -> Result<Vec<(DateItem, String)>, sqlx::Error> {
    let keyset = if after.is_some() {
        " AND (d.next_occurrence > $4 OR (d.next_occurrence = $4 AND d.id > $5))"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {ITEM_COLUMNS}, p.timezone FROM date_items d {LIVE_PERSON} \
         WHERE d.org_id = $1 AND d.next_occurrence < $2{keyset} ORDER BY d.next_occurrence, d.id LIMIT $3"
    );
    on_db!(db, pool => {
        let mut q = sqlx::query(&sql).bind(org_id).bind(before).bind(limit);
        if let Some((day, id)) = after {
            q = q.bind(day).bind(id);
        }
        let rows = q.fetch_all(pool).await?;
        rows.iter()
            .map(|row| {
                use sqlx::{FromRow, Row};
                Ok((DateItem::from_row(row)?, row.try_get::<String, _>("timezone")?))
            })
            .collect()
    })
}

/// Sets the next occurrence of each item, in one statement.
pub async fn set_next_occurrences(
    conn: impl Into<Conn<'_>>,
    org_id: Uuid,
    changes: &[(Uuid, Option<NaiveDate>)],
) -> Result<(), sqlx::Error> {
    if changes.is_empty() {
        return Ok(());
    }
    let db = conn.into();
    let cases: Vec<String> = (0..changes.len())
        .map(|k| {
            format!(
                "WHEN {} THEN {}",
                super::ph(&db, 2 + 2 * k),
                super::typed(&db, 3 + 2 * k, "DATE")
            )
        })
        .collect();
    let ids: Vec<String> = (0..changes.len())
        .map(|k| super::ph(&db, 2 + 2 * k))
        .collect();
    let sql = format!(
        "UPDATE date_items SET next_occurrence = CASE id {} END WHERE org_id = {} AND id IN ({})",
        cases.join(" "),
        super::ph(&db, 1),
        ids.join(", ")
    );
    // SQLite's placeholders are bound in the order they appear; PostgreSQL's by number.
    let positional = !db.is_postgres();
    on_conn!(db, pool => {
        let mut q = sqlx::query(&sql);
        if !positional {
            q = q.bind(org_id);
        }
        for (id, next) in changes {
            q = q.bind(*id).bind(*next);
        }
        if positional {
            q = q.bind(org_id);
            for (id, _) in changes {
                q = q.bind(*id);
            }
        }
        q.execute(pool).await.map(|_| ())
    })
}

/// Occurrences from `from` to `to` (inclusive), soonest first (read in the index's order; the
/// caller orders a day's dates), optionally for one person.
pub async fn upcoming(
    db: &Db,
    org_id: Uuid,
    person_id: Option<Uuid>,
    from: NaiveDate,
    to: NaiveDate,
    limit: i64,
) -> Result<Vec<UpcomingDate>, sqlx::Error> {
    let person_filter = if person_id.is_some() {
        " AND d.person_id = $5"
    } else {
        ""
    };
    let sql = format!(
        "SELECT d.id AS date_item_id, d.person_id, p.full_name AS person_name, d.title, d.date_value, \
         d.recurrence_rule, d.next_occurrence, d.category_id, c.name AS category_name, c.icon AS category_icon, \
         c.color AS category_color, p.timezone, \
         (SELECT COUNT(*) FROM reminder_rules r WHERE r.date_item_id = d.id AND r.status <> 'cancelled') AS reminder_count \
         FROM date_items d {LIVE_PERSON} LEFT JOIN date_categories c ON c.id = d.category_id \
         WHERE d.org_id = $1 AND d.next_occurrence >= $2 AND d.next_occurrence <= $3{person_filter} \
         ORDER BY d.next_occurrence LIMIT $4"
    );
    on_db!(db, pool => {
        let mut q = sqlx::query_as::<_, UpcomingDate>(&sql).bind(org_id).bind(from).bind(to).bind(limit);
        if let Some(p) = person_id {
            q = q.bind(p);
        }
        q.fetch_all(pool).await
    })
}

/// Every date item of the organisation that could fall in a window: recurring ones, and
/// one-off dates inside it. The caller expands recurrences.
/// With `staff`, only the dates of people that staff member looks after, or nobody does.
pub async fn items_in_window(
    db: &Db,
    org_id: Uuid,
    from: NaiveDate,
    to: NaiveDate,
    staff: Option<Uuid>,
) -> Result<Vec<UpcomingDate>, sqlx::Error> {
    let sql = format!(
        "SELECT {UPCOMING_COLUMNS} FROM date_items d {LIVE_PERSON} LEFT JOIN date_categories c ON c.id = d.category_id \
         WHERE d.org_id = $1 AND d.date_value <= $3 AND (d.recurrence_rule IS NOT NULL OR d.date_value >= $2) \
         AND ($4 IS NULL OR p.assigned_staff_id IS NULL OR p.assigned_staff_id = $4) \
         ORDER BY p.sort_name, d.title LIMIT 20000"
    );
    on_db!(db, pool => sqlx::query_as::<_, UpcomingDate>(&sql).bind(org_id).bind(from).bind(to).bind(staff).fetch_all(pool).await)
}

const UPCOMING_COLUMNS: &str = "d.id AS date_item_id, d.person_id, p.full_name AS person_name, d.title, \
    d.date_value, d.recurrence_rule, d.date_value AS next_occurrence, d.category_id, c.name AS category_name, \
    c.icon AS category_icon, c.color AS category_color, p.timezone, \
    (SELECT COUNT(*) FROM reminder_rules r WHERE r.date_item_id = d.id AND r.status <> 'cancelled') AS reminder_count";

/// The rows of a per-day statement, each with the day it was found for (its `on_day` column)
/// and what `$read` makes of it.
macro_rules! on_days {
    ($rows:expr, |$row:ident| $read:expr) => {
        $rows
            .iter()
            .map(|$row| {
                #[allow(unused_imports)]
                use sqlx::{FromRow, Row};
                Ok((on_day($row.try_get("on_day")?)?, $read))
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
    };
}

/// For each day with its [`crate::domain::dates::calendar_keys`], the dates whose key is one of
/// them: `take` per day after skipping `skip`, in the key index's order, in one statement.
/// Each comes back with the day it was found for; the caller checks it against its rule.
pub async fn keyed_on_days(
    db: &Db,
    org_id: Uuid,
    days: &[(NaiveDate, Vec<String>)],
    skip: i64,
    take: i64,
) -> Result<Vec<(NaiveDate, UpcomingDate)>, sqlx::Error> {
    if days.is_empty() {
        return Ok(Vec::new());
    }
    // The days and keys are made here from dates (digits, '-' and '*'): written in, not bound.
    // Each key is read on its own (an exact range of `date_items_day`, in id order, stopping
    // after `skip + take`) and a day's keys are merged here: with `occurs_on IN (…)` and one
    // ORDER BY, PostgreSQL walked the index from the year's first day to find the few it
    // needed; merged in SQL, SQLite spent half the statement sorting each day's few rows.
    let pairs: Vec<(String, String)> = days
        .iter()
        .flat_map(|(day, keys)| {
            let day = day.format("%Y-%m-%d").to_string();
            keys.iter().map(move |key| (day.clone(), key.clone()))
        })
        .collect();
    let found = match db {
        Db::Sqlite(pool) => {
            let sql = pairs
                .iter()
                .enumerate()
                .map(|(n, (day, key))| {
                    format!(
                        "SELECT * FROM (SELECT {UPCOMING_COLUMNS}, '{day}' AS on_day, d.occurs_on AS day_key \
                         FROM date_items d {LIVE_PERSON} LEFT JOIN date_categories c ON c.id = d.category_id \
                         WHERE d.org_id = $1 AND d.occurs_on = '{key}' ORDER BY d.id LIMIT {}) AS k{n}",
                        skip + take
                    )
                })
                .collect::<Vec<_>>()
                .join(" UNION ALL ");
            let rows = sqlx::query(&sql).bind(org_id).fetch_all(pool).await?;
            on_days!(rows, |row| (
                row.try_get("day_key")?,
                UpcomingDate::from_row(row)?
            ))?
        }
        // One subquery run per key: PostgreSQL plans it once (planning the 62 branches of a
        // month written out took 31 ms, more than running them).
        Db::Postgres(pool) => {
            let sql = format!(
                "SELECT x.*, k.on_day, k.day_key FROM unnest($2::text[], $3::text[]) AS k(on_day, day_key) \
                 CROSS JOIN LATERAL (SELECT {UPCOMING_COLUMNS} FROM date_items d {LIVE_PERSON} \
                 LEFT JOIN date_categories c ON c.id = d.category_id \
                 WHERE d.org_id = $1 AND d.occurs_on = k.day_key ORDER BY d.id LIMIT {}) AS x",
                skip + take
            );
            let (on_days, keys): (Vec<String>, Vec<String>) = pairs.into_iter().unzip();
            let rows = sqlx::query(&sql)
                .bind(org_id)
                .bind(on_days)
                .bind(keys)
                .fetch_all(pool)
                .await?;
            on_days!(rows, |row| (
                row.try_get("day_key")?,
                UpcomingDate::from_row(row)?
            ))?
        }
    };
    // Each day in (key, id) order, `take` after skipping `skip`.
    let mut found: Vec<(NaiveDate, (String, UpcomingDate))> = found;
    found.sort_by(|(a, (a_key, a_item)), (b, (b_key, b_item))| {
        (a, a_key, a_item.date_item_id).cmp(&(b, b_key, b_item.date_item_id))
    });
    let mut out = Vec::new();
    let mut seen: Option<(NaiveDate, usize)> = None;
    for (day, (_, item)) in found {
        let n = match seen {
            Some((d, n)) if d == day => n + 1,
            _ => 0,
        };
        seen = Some((day, n));
        if n >= skip as usize && n < (skip + take) as usize {
            out.push((day, item));
        }
    }
    Ok(out)
}

/// The day a row of a per-day statement was found for.
fn on_day(day: String) -> Result<NaiveDate, sqlx::Error> {
    NaiveDate::parse_from_str(&day, "%Y-%m-%d").map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// The dates that repeat by a rule other than "every year on the day" (no calendar key): few,
/// expanded one by one by the caller.
pub async fn repeating_unkeyed(db: &Db, org_id: Uuid) -> Result<Vec<UpcomingDate>, sqlx::Error> {
    let sql = format!(
        "SELECT {UPCOMING_COLUMNS} FROM date_items d {LIVE_PERSON} \
         LEFT JOIN date_categories c ON c.id = d.category_id \
         WHERE d.org_id = $1 AND d.occurs_on IS NULL ORDER BY d.id"
    );
    on_db!(db, pool => sqlx::query_as::<_, UpcomingDate>(&sql).bind(org_id).fetch_all(pool).await)
}

/// For each window `[from, to)` (a day on the organisation's clock, with its date), the
/// reminders due in it but cancelled ones: `take` per window after skipping `skip`, soonest
/// first, in one statement.
pub async fn rules_in_windows(
    db: &Db,
    org_id: Uuid,
    windows: &[(NaiveDate, DateTime<Utc>, DateTime<Utc>)],
    skip: i64,
    take: i64,
) -> Result<Vec<(NaiveDate, ReminderRule)>, sqlx::Error> {
    if windows.is_empty() {
        return Ok(Vec::new());
    }
    match db {
        Db::Sqlite(pool) => {
            let sql = windows
                .iter()
                .enumerate()
                .map(|(n, (day, _, _))| {
                    format!(
                        "SELECT * FROM (SELECT {RULE_COLUMNS}, '{}' AS on_day FROM reminder_rules r \
                         WHERE r.org_id = $1 \
                         AND r.scheduled_datetime >= ${} AND r.scheduled_datetime < ${} AND r.status <> 'cancelled' \
                         AND {LIVE_RULE} \
                         ORDER BY r.scheduled_datetime, r.id LIMIT {take} OFFSET {skip}) AS day{n}",
                        day.format("%Y-%m-%d"),
                        2 + 2 * n,
                        3 + 2 * n
                    )
                })
                .collect::<Vec<_>>()
                .join(" UNION ALL ");
            let mut q = sqlx::query(&sql).bind(org_id);
            for (_, from, to) in windows {
                q = q.bind(*from).bind(*to);
            }
            let rows = q.fetch_all(pool).await?;
            on_days!(rows, |row| ReminderRule::from_row(row)?)
        }
        // One subquery run per window, planned once (see `keyed_on_days`).
        Db::Postgres(pool) => {
            let sql = format!(
                "SELECT x.*, w.on_day FROM unnest($2::timestamptz[], $3::timestamptz[], $4::text[]) \
                 AS w(from_at, to_at, on_day) \
                 CROSS JOIN LATERAL (SELECT {RULE_COLUMNS} FROM reminder_rules r WHERE r.org_id = $1 \
                 AND r.scheduled_datetime >= w.from_at AND r.scheduled_datetime < w.to_at \
                 AND r.status <> 'cancelled' AND {LIVE_RULE} \
                 ORDER BY r.scheduled_datetime, r.id LIMIT {take} OFFSET {skip}) AS x"
            );
            let froms: Vec<DateTime<Utc>> = windows.iter().map(|w| w.1).collect();
            let tos: Vec<DateTime<Utc>> = windows.iter().map(|w| w.2).collect();
            let days: Vec<String> = windows
                .iter()
                .map(|w| w.0.format("%Y-%m-%d").to_string())
                .collect();
            let rows = sqlx::query(&sql)
                .bind(org_id)
                .bind(froms)
                .bind(tos)
                .bind(days)
                .fetch_all(pool)
                .await?;
            on_days!(rows, |row| ReminderRule::from_row(row)?)
        }
    }
}

pub const RULE_COLUMNS: &str = "r.id, r.org_id, r.person_id, r.date_item_id, r.reminder_type, r.lead_time_days, \
    r.time_of_day, r.channel_type, r.audience, r.message, r.status, r.occurrence_date, r.last_sent_occurrence, \
    r.scheduled_datetime, r.sent_at, r.last_error, r.position, r.created_at, r.updated_at";

const INSERT_RULE: &str = "INSERT INTO reminder_rules (id, org_id, person_id, date_item_id, reminder_type, \
    lead_time_days, time_of_day, channel_type, audience, message, status, occurrence_date, last_sent_occurrence, \
    scheduled_datetime, sent_at, last_error, position, created_at, updated_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)";

const UPDATE_RULE: &str = "UPDATE reminder_rules SET person_id = $3, date_item_id = $4, reminder_type = $5, \
    lead_time_days = $6, time_of_day = $7, channel_type = $8, audience = $9, message = $10, status = $11, \
    occurrence_date = $12, last_sent_occurrence = $13, scheduled_datetime = $14, sent_at = $15, last_error = $16, \
    position = $17, updated_at = $19 WHERE id = $1 AND org_id = $2 AND $18 = $18";

/// Inserts or replaces one rule.
pub async fn save_rule(
    conn: impl Into<Conn<'_>>,
    rule: &ReminderRule,
    insert: bool,
) -> Result<bool, sqlx::Error> {
    let sql = if insert { INSERT_RULE } else { UPDATE_RULE };
    on_conn!(conn.into(), c => bind_rule!(sqlx::query(sql), rule).execute(c).await.map(|r| r.rows_affected() > 0))
}

pub async fn get_rule(
    db: &Db,
    org_id: Uuid,
    id: Uuid,
) -> Result<Option<ReminderRule>, sqlx::Error> {
    let sql = format!(
        "SELECT {RULE_COLUMNS} FROM reminder_rules r JOIN persons p ON p.id = r.person_id AND p.deleted_at IS NULL \
         WHERE r.org_id = $1 AND r.id = $2"
    );
    on_db!(db, pool => sqlx::query_as::<_, ReminderRule>(&sql).bind(org_id).bind(id).fetch_optional(pool).await)
}

pub async fn rules_for_item(
    db: &Db,
    org_id: Uuid,
    item_id: Uuid,
) -> Result<Vec<ReminderRule>, sqlx::Error> {
    let sql = format!(
        "SELECT {RULE_COLUMNS} FROM reminder_rules r WHERE r.org_id = $1 AND r.date_item_id = $2 \
         ORDER BY r.position, r.created_at, r.id"
    );
    on_db!(db, pool => sqlx::query_as::<_, ReminderRule>(&sql).bind(org_id).bind(item_id).fetch_all(pool).await)
}

/// Every rule of a person, in each date's order.
pub async fn rules_for_person(
    conn: impl Into<Conn<'_>>,
    org_id: Uuid,
    person_id: Uuid,
) -> Result<Vec<ReminderRule>, sqlx::Error> {
    let sql = format!(
        "SELECT {RULE_COLUMNS} FROM reminder_rules r WHERE r.org_id = $1 AND r.person_id = $2 \
         ORDER BY r.position, r.created_at, r.id"
    );
    on_conn!(conn.into(), c => sqlx::query_as::<_, ReminderRule>(&sql).bind(org_id).bind(person_id).fetch_all(c).await)
}

/// How many reminders each of a person's dates has that are not cancelled (dates with none
/// are left out).
pub async fn live_reminder_counts(
    db: &Db,
    org_id: Uuid,
    person_id: Uuid,
) -> Result<Vec<(Uuid, i64)>, sqlx::Error> {
    let sql = "SELECT r.date_item_id, COUNT(*) FROM reminder_rules r \
               WHERE r.org_id = $1 AND r.person_id = $2 AND r.date_item_id IS NOT NULL \
               AND r.status <> 'cancelled' GROUP BY r.date_item_id";
    on_db!(db, pool => sqlx::query_as::<_, (Uuid, i64)>(sql).bind(org_id).bind(person_id).fetch_all(pool).await)
}

/// What the reminders list is narrowed to.
#[derive(Clone, Debug, Default)]
pub struct RuleFilter {
    pub person_id: Option<Uuid>,
    pub date_item_id: Option<Uuid>,
    /// `pending`, `sent`, `failed` or `cancelled`; none for all.
    pub status: Option<&'static str>,
    /// Only those due at or before this instant.
    pub due_by: Option<DateTime<Utc>>,
    /// Only those due at or after this instant.
    pub due_from: Option<DateTime<Utc>>,
}

/// A page of reminders: soonest due first (those with no due time last); the `sent` ones
/// most recently sent first. Each shape of filter reads through an index in its order
/// (`reminder_rules_list_keys`, `reminder_rules_all_keys`, `reminder_rules_sent_keys`, or the person's or
/// date's), so a page costs its own rows, not the organisation's. A page after the first is
/// found as a keyset, as the directory's are: the key of the row just before it read from the
/// index alone, then the rows after that key.
pub async fn list_rules(
    db: &Db,
    org_id: Uuid,
    f: &RuleFilter,
    offset: i64,
    limit: i64,
) -> Result<Vec<ReminderRule>, sqlx::Error> {
    let mut clause = format!("r.org_id = $1 AND {LIVE_RULE}");
    let sent = f.status == Some("sent");
    let ranged = f.due_by.is_some() || f.due_from.is_some();
    let conditions = [
        (f.person_id.is_some(), "r.person_id = $N"),
        (f.date_item_id.is_some(), "r.date_item_id = $N"),
        (f.status.is_some() && !sent, "r.status = $N"),
        (f.due_by.is_some(), "r.scheduled_datetime <= $N"),
        (f.due_from.is_some(), "r.scheduled_datetime >= $N"),
    ];
    // $1 is the organisation; filters follow in order, then the page's own parameters.
    let n = super::push_conditions(&mut clause, &conditions, 2);
    macro_rules! filtered {
        ($q:expr) => {{
            let mut q = $q.bind(org_id);
            if let Some(v) = f.person_id {
                q = q.bind(v);
            }
            if let Some(v) = f.date_item_id {
                q = q.bind(v);
            }
            if let Some(v) = f.status.filter(|_| !sent) {
                q = q.bind(v);
            }
            if let Some(v) = f.due_by {
                q = q.bind(v);
            }
            if let Some(v) = f.due_from {
                q = q.bind(v);
            }
            q
        }};
    }
    // The order, and the column its key is read from.
    let (order, key_column, after) = if sent {
        // Sent at least once (a recurring rule goes back to pending for its next occurrence).
        clause.push_str(" AND r.sent_at IS NOT NULL");
        ("r.sent_at DESC, r.id DESC", "r.sent_at", "<")
    } else if ranged {
        // Said as an equality on the indexed expression, so the range is read in order.
        clause.push_str(" AND (r.scheduled_datetime IS NULL) = FALSE");
        ("r.scheduled_datetime, r.id", "r.scheduled_datetime", ">")
    } else {
        (
            "(r.scheduled_datetime IS NULL), r.scheduled_datetime, r.id",
            "r.scheduled_datetime",
            ">",
        )
    };
    if offset <= 0 {
        let sql = format!(
            "SELECT {RULE_COLUMNS} FROM reminder_rules r WHERE {clause} ORDER BY {order} LIMIT ${n}"
        );
        return on_db!(db, pool => filtered!(sqlx::query_as::<_, ReminderRule>(&sql)).bind(limit).fetch_all(pool).await);
    }
    let seek = format!(
        "SELECT {key_column}, r.id FROM reminder_rules r WHERE {clause} ORDER BY {order} LIMIT 1 OFFSET ${n}"
    );
    let key: Option<(Option<DateTime<Utc>>, Uuid)> = on_db!(db, pool =>
        filtered!(sqlx::query_as::<_, (Option<DateTime<Utc>>, Uuid)>(&seek)).bind(offset - 1).fetch_optional(pool).await)?;
    let (at, id) = match key {
        None => return Ok(Vec::new()),
        Some(key) => key,
    };
    let (k1, k2, k3) = (n, n + 1, n + 2);
    let sql = match at {
        // Past the last rule with a due time: the rest of those without one, by id.
        None => format!(
            "SELECT {RULE_COLUMNS} FROM reminder_rules r WHERE {clause} AND r.scheduled_datetime IS NULL \
             AND r.id > ${k2} AND ${k1} IS NULL ORDER BY {order} LIMIT ${k3}"
        ),
        Some(_) if sent || ranged => format!(
            "SELECT {RULE_COLUMNS} FROM reminder_rules r WHERE {clause} \
             AND ({key_column}, r.id) {after} (${k1}, ${k2}) ORDER BY {order} LIMIT ${k3}"
        ),
        // Those due after the key, then those with no due time: each read in its index's
        // order, the two put together after.
        Some(_) => format!(
            "SELECT * FROM (SELECT * FROM (SELECT {RULE_COLUMNS} FROM reminder_rules r WHERE {clause} \
             AND (r.scheduled_datetime IS NULL) = FALSE AND (r.scheduled_datetime, r.id) > (${k1}, ${k2}) \
             ORDER BY r.scheduled_datetime, r.id LIMIT ${k3}) AS due \
             UNION ALL SELECT * FROM (SELECT {RULE_COLUMNS} FROM reminder_rules r WHERE {clause} \
             AND r.scheduled_datetime IS NULL ORDER BY r.id LIMIT ${k3}) AS undue) AS page \
             ORDER BY (scheduled_datetime IS NULL), scheduled_datetime, id LIMIT ${k3}"
        ),
    };
    on_db!(db, pool => filtered!(sqlx::query_as::<_, ReminderRule>(&sql)).bind(at).bind(id).bind(limit).fetch_all(pool).await)
}

/// The titles of these date items (those that exist), in one statement.
pub async fn item_titles(
    db: &Db,
    org_id: Uuid,
    ids: &[Uuid],
) -> Result<Vec<(Uuid, String)>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT d.id, d.title FROM date_items d WHERE {} = {} AND d.id IN ({})",
        super::unindexed(db, "d.org_id"),
        super::ph(db, 1),
        super::phs(db, 2, ids.len())
    );
    on_db!(db, pool => {
        let mut q = sqlx::query_as::<_, (Uuid, String)>(&sql).bind(org_id);
        for id in ids {
            q = q.bind(id);
        }
        q.fetch_all(pool).await
    })
}

pub async fn delete_rule(db: &Db, org_id: Uuid, id: Uuid) -> Result<bool, sqlx::Error> {
    let sql = "DELETE FROM reminder_rules WHERE org_id = $1 AND id = $2";
    on_db!(db, pool => sqlx::query(sql).bind(org_id).bind(id).execute(pool).await.map(|r| r.rows_affected() > 0))
}

/// Seeds the default categories of a new organisation.
pub async fn seed_categories(
    conn: impl Into<Conn<'_>>,
    org_id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut conn = conn.into();
    for (name, icon, color) in crate::domain::dates::DEFAULT_CATEGORIES {
        let draft = CategoryDraft {
            name: name.into(),
            icon: icon.into(),
            color: color.into(),
        };
        insert_category(conn.reborrow(), org_id, Uuid::now_v7(), &draft, at).await?;
    }
    Ok(())
}

/// Reminder rules whose moment has come, across organisations, oldest first, after the rule
/// `after` (its moment and id) when given (people who were deleted are left out: their
/// reminders are not sent).
pub async fn due_rules(
    db: &Db,
    now: DateTime<Utc>,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<ReminderRule>, sqlx::Error> {
    // The first batch starts before any moment either backend keeps (year 1).
    let first = DateTime::<Utc>::from_timestamp(-62_135_596_800, 0).expect("year 1 is a time");
    let (at, id) = after.unwrap_or((first, Uuid::nil()));
    let sql = format!(
        "SELECT {RULE_COLUMNS} FROM reminder_rules r JOIN persons p ON p.id = r.person_id AND p.deleted_at IS NULL \
         WHERE r.status = 'pending' AND r.scheduled_datetime <= $1 \
         AND (r.scheduled_datetime > $2 OR (r.scheduled_datetime = $2 AND r.id > $3)) \
         ORDER BY r.scheduled_datetime, r.id LIMIT $4"
    );
    on_db!(db, pool => sqlx::query_as::<_, ReminderRule>(&sql).bind(now).bind(at).bind(id).bind(limit).fetch_all(pool).await)
}

/// Moves each rule past the occurrence just queued (`queued_for`, its moment then), unless
/// someone changed it meanwhile (then its moment differs and nothing is written), in one
/// transaction. Returns how many moved.
pub async fn advance_rules(
    db: &Db,
    moves: &[(ReminderRule, Option<DateTime<Utc>>)],
) -> Result<u64, sqlx::Error> {
    let sql =
        "UPDATE reminder_rules SET status = $3, occurrence_date = $4, last_sent_occurrence = $5, \
               scheduled_datetime = $6, updated_at = $7 \
               WHERE id = $1 AND org_id = $2 AND status = 'pending' AND scheduled_datetime = $8";
    if moves.is_empty() {
        return Ok(0);
    }
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let mut moved = 0;
        for (rule, queued_for) in moves {
            moved += sqlx::query(sql)
                .bind(rule.id).bind(rule.org_id).bind(rule.status.as_str()).bind(rule.occurrence_date)
                .bind(rule.last_sent_occurrence).bind(rule.scheduled_datetime).bind(rule.updated_at)
                .bind(queued_for)
                .execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(moved)
    })
}

/// Where each of the reminder rules `rules` (organisation, rule) stands: its status and type,
/// read in the unit of work `tx` (which a delivery's outcome then moves on).
pub async fn rule_states(
    tx: &mut Tx,
    rules: &[(Uuid, Uuid)],
) -> Result<Vec<(Uuid, ReminderStatus, ReminderType)>, sqlx::Error> {
    let mut out = Vec::with_capacity(rules.len());
    for chunk in rules.chunks(500) {
        let sql = format!(
            "SELECT r.id, r.status, r.reminder_type FROM reminder_rules r \
             JOIN (VALUES {}) AS v ON r.org_id = v.column1 AND r.id = v.column2",
            value_rows(tx, 1, chunk.len(), 2, Some(&["UUID", "UUID"]))
        );
        let rows: Vec<(Uuid, String, String)> = on_tx!(tx, conn => {
            let mut q = sqlx::query_as(&sql);
            for (org, id) in chunk {
                q = q.bind(org).bind(id);
            }
            q.fetch_all(&mut *conn).await?
        });
        for (id, status, kind) in rows {
            let status =
                ReminderStatus::parse(&status).map_err(|e| sqlx::Error::Decode(e.into()))?;
            let kind = ReminderType::parse(&kind).map_err(|e| sqlx::Error::Decode(e.into()))?;
            out.push((id, status, kind));
        }
    }
    Ok(out)
}

/// Moves a reminder rule from `from` to `to` after a delivery it carried (sent at `sent_at`,
/// or failed with `last_error`), unless it moved meanwhile; in the unit of work `tx`.
#[allow(clippy::too_many_arguments)]
pub async fn set_rule_outcome(
    tx: &mut Tx,
    org_id: Uuid,
    id: Uuid,
    from: ReminderStatus,
    to: ReminderStatus,
    sent_at: Option<DateTime<Utc>>,
    last_error: Option<&str>,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let sql = "UPDATE reminder_rules SET status = $4, sent_at = COALESCE($5, sent_at), \
               last_error = $6, updated_at = $7 WHERE org_id = $1 AND id = $2 AND status = $3";
    on_tx!(tx, conn => sqlx::query(sql)
        .bind(org_id).bind(id).bind(from.as_str()).bind(to.as_str()).bind(sent_at)
        .bind(last_error).bind(at)
        .execute(&mut *conn).await.map(|_| ()))
}
