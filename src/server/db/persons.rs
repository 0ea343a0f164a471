//! People. Every query is scoped to one organisation and ignores soft-deleted rows.

use super::Db;
use crate::domain::{Person, PersonDraft, PersonType};
use crate::on_db;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

/// Binds a draft's columns in the order both INSERT and UPDATE name them ($3 to $18).
macro_rules! bind_draft {
    ($query:expr, $d:expr) => {
        $query
            .bind(&$d.full_name)
            .bind(&$d.preferred_name)
            .bind($d.person_type.as_str())
            .bind($d.email.as_ref().map(|e| e.as_str()))
            .bind($d.phone.as_ref().map(|p| p.as_str()))
            .bind($d.timezone.as_str())
            .bind($d.birthday)
            .bind(Json(&$d.tags))
            .bind(&$d.external_id)
            .bind(&$d.notes)
            .bind($d.search_text())
            .bind($d.sort_name())
            .bind(&$d.locale)
            .bind($d.related_person_id)
            .bind(&$d.relationship)
            .bind($d.assigned_staff_id)
    };
}

/// A person's columns, with what the engagement run computed for them (`p` is the person,
/// `e` their engagement row; see [`FROM`]).
pub const COLUMNS: &str = "p.id, p.org_id, p.full_name, p.preferred_name, p.person_type, p.email, \
    p.phone, p.timezone, p.birthday, p.tags, p.external_id, p.notes, p.locale, p.related_person_id, \
    p.relationship, p.assigned_staff_id, p.last_active_at, p.marketing_consent, p.consent_at, \
    p.consent_source, COALESCE(e.segment, 'new') AS segment, \
    CAST(COALESCE(e.churn_points, 0) AS DOUBLE PRECISION) / 100 AS churn_risk, \
    COALESCE(e.labels, '') AS labels, p.created_at, p.updated_at";

/// People with their engagement row.
pub const FROM: &str = "persons p LEFT JOIN person_engagement e ON e.person_id = p.id";

/// Consent as it is to be written: the flag, when it last changed, and how.
pub struct Consent<'a> {
    pub given: bool,
    pub at: Option<DateTime<Utc>>,
    pub source: Option<&'a str>,
}

pub async fn insert(
    db: &Db,
    org_id: Uuid,
    id: Uuid,
    d: &PersonDraft,
    consent: &Consent<'_>,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let sql = "INSERT INTO persons (id, org_id, full_name, preferred_name, person_type, email, phone, timezone, \
               birthday, tags, external_id, notes, search_text, sort_name, locale, related_person_id, relationship, \
               assigned_staff_id, marketing_consent, consent_at, consent_source, created_at, updated_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $22)";
    let engagement =
        "INSERT INTO person_engagement (person_id, org_id, joined_s) VALUES ($1, $2, $3)";
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        bind_draft!(sqlx::query(sql).bind(id).bind(org_id), d)
            .bind(consent.given)
            .bind(consent.at)
            .bind(consent.source)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        sqlx::query(engagement).bind(id).bind(org_id).bind(at.timestamp())
            .execute(&mut *tx).await?;
        tx.commit().await
    })
}

/// Replaces every field of a live person; false when there is none with this id.
pub async fn update(
    db: &Db,
    org_id: Uuid,
    id: Uuid,
    d: &PersonDraft,
    consent: &Consent<'_>,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE persons SET full_name = $3, preferred_name = $4, person_type = $5, email = $6, phone = $7, \
               timezone = $8, birthday = $9, tags = $10, external_id = $11, notes = $12, search_text = $13, \
               sort_name = $14, locale = $15, related_person_id = $16, relationship = $17, assigned_staff_id = $18, \
               marketing_consent = $19, consent_at = $20, consent_source = $21, updated_at = $22 \
               WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL";
    on_db!(db, pool => bind_draft!(sqlx::query(sql).bind(org_id).bind(id), d)
        .bind(consent.given)
        .bind(consent.at)
        .bind(consent.source)
        .bind(at)
        .execute(pool)
        .await
        .map(|r| r.rows_affected() > 0))
}

pub async fn get(db: &Db, org_id: Uuid, id: Uuid) -> Result<Option<Person>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE p.org_id = $1 AND p.id = $2 AND p.deleted_at IS NULL"
    );
    on_db!(db, pool => sqlx::query_as::<_, Person>(&sql).bind(org_id).bind(id).fetch_optional(pool).await)
}

/// Live people by id, for a batch (those deleted or of another organisation are left out).
pub async fn by_ids(db: &Db, org_id: Uuid, ids: &[Uuid]) -> Result<Vec<Person>, sqlx::Error> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let sql = format!(
            "SELECT {COLUMNS} FROM {FROM} WHERE {} = {} AND p.deleted_at IS NULL AND p.id IN ({})",
            super::unindexed(db, "p.org_id"),
            super::ph(db, 1),
            super::phs(db, 2, chunk.len())
        );
        let rows = on_db!(db, pool => {
            let mut q = sqlx::query_as::<_, Person>(&sql).bind(org_id);
            for id in chunk {
                q = q.bind(id);
            }
            q.fetch_all(pool).await
        })?;
        out.extend(rows);
    }
    Ok(out)
}

pub async fn by_external_id(
    db: &Db,
    org_id: Uuid,
    external_id: &str,
) -> Result<Option<Person>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE p.org_id = $1 AND p.external_id = $2 AND p.deleted_at IS NULL");
    on_db!(db, pool => sqlx::query_as::<_, Person>(&sql).bind(org_id).bind(external_id).fetch_optional(pool).await)
}

/// Withdraws marketing consent, stamped with the time and how; false when there is no such
/// live person.
pub async fn withdraw_consent(
    db: &Db,
    org_id: Uuid,
    id: Uuid,
    source: &str,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let sql =
        "UPDATE persons SET marketing_consent = FALSE, consent_at = $3, consent_source = $4, \
               updated_at = $3 WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL";
    on_db!(db, pool => sqlx::query(sql).bind(org_id).bind(id).bind(at).bind(source)
        .execute(pool).await.map(|r| r.rows_affected() > 0))
}

pub async fn soft_delete(
    db: &Db,
    org_id: Uuid,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE persons SET deleted_at = $3, updated_at = $3 WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL";
    on_db!(db, pool => sqlx::query(sql).bind(org_id).bind(id).bind(at).execute(pool).await.map(|r| r.rows_affected() > 0))
}

/// What the directory is narrowed to.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Lower-cased words; a person matches when their search text contains every one.
    pub words: Vec<String>,
    pub person_type: Option<PersonType>,
    /// A tag, matched whole and without regard to (ASCII) case.
    pub tag: Option<String>,
    pub assigned_staff_id: Option<Uuid>,
    /// Only people in this engagement segment.
    pub segment: Option<crate::domain::engagement::Segment>,
}

/// Escapes LIKE wildcards so a search for `50%` means the characters, not a pattern.
pub(crate) fn like_pattern(word: &str) -> String {
    let escaped = word
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// The WHERE clause for a filter, its parameters numbered from `$first`.
/// A query parameter of a filter: text or an id (bound as the backend's UUID type).
enum Param {
    Text(String),
    Id(Uuid),
}

fn where_clause(filter: &Filter, first: usize) -> (String, Vec<Param>) {
    let mut sql = String::from("p.org_id = $1 AND p.deleted_at IS NULL");
    let mut params = Vec::new();
    let mut n = first;
    if let Some(t) = filter.person_type {
        sql.push_str(&format!(" AND p.person_type = ${n}"));
        params.push(Param::Text(t.as_str().to_string()));
        n += 1;
    }
    if let Some(tag) = &filter.tag {
        sql.push_str(&format!(
            " AND LOWER(CAST(p.tags AS TEXT)) LIKE ${n} ESCAPE '\\'"
        ));
        params.push(Param::Text(like_pattern(&super::vendors::tag_json(tag))));
        n += 1;
    }
    if let Some(staff) = filter.assigned_staff_id {
        sql.push_str(&format!(" AND p.assigned_staff_id = ${n}"));
        params.push(Param::Id(staff));
        n += 1;
    }
    if let Some(segment) = filter.segment {
        sql.push_str(&format!(" AND e.segment = ${n}"));
        params.push(Param::Text(segment.as_str().to_string()));
        n += 1;
    }
    for word in &filter.words {
        sql.push_str(&format!(" AND p.search_text LIKE ${n} ESCAPE '\\'"));
        params.push(Param::Text(like_pattern(word)));
        n += 1;
    }
    (sql, params)
}

/// A page after the keyset `(sort_name, id)`, in directory order.
pub async fn list_after(
    db: &Db,
    org_id: Uuid,
    filter: &Filter,
    after: Option<(String, Uuid)>,
    limit: i64,
) -> Result<Vec<Person>, sqlx::Error> {
    let (clause, params) = match after {
        Some(_) => {
            let (clause, params) = where_clause(filter, 5);
            (format!("{clause} AND (p.sort_name > $2 OR (p.sort_name = $2 AND p.id > $3)) ORDER BY p.sort_name, p.id LIMIT $4"), params)
        }
        None => {
            let (clause, params) = where_clause(filter, 3);
            (
                format!("{clause} ORDER BY p.sort_name, p.id LIMIT $2"),
                params,
            )
        }
    };
    let sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE {clause}");
    on_db!(db, pool => {
        let mut q = sqlx::query_as::<_, Person>(&sql).bind(org_id);
        if let Some((name, id)) = &after {
            q = q.bind(name).bind(id);
        }
        q = q.bind(limit);
        for p in &params {
            q = match p { Param::Text(t) => q.bind(t), Param::Id(id) => q.bind(id) };
        }
        q.fetch_all(pool).await
    })
}

fn count_sql(filter: &Filter) -> String {
    let (clause, _) = where_clause(filter, 2);
    // The engagement roll-up is joined only when a segment needs it.
    let from = if filter.segment.is_some() {
        FROM
    } else {
        "persons p"
    };
    format!("SELECT COUNT(*) FROM {from} WHERE {clause}")
}

/// How many people a filter matches.
pub async fn count(db: &Db, org_id: Uuid, filter: &Filter) -> Result<i64, sqlx::Error> {
    let (_, params) = where_clause(filter, 2);
    let sql = count_sql(filter);
    on_db!(db, pool => {
        let mut c = sqlx::query_scalar::<_, i64>(&sql).bind(org_id);
        for p in &params {
            c = match p { Param::Text(t) => c.bind(t), Param::Id(id) => c.bind(id) };
        }
        c.fetch_one(pool).await
    })
}

/// A numbered page of the directory and the number of matches in all.
pub async fn page(
    db: &Db,
    org_id: Uuid,
    filter: &Filter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<Person>, i64), sqlx::Error> {
    let (clause, params) = where_clause(filter, 4);
    let sql = format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE {clause} ORDER BY p.sort_name, p.id LIMIT $2 OFFSET $3"
    );
    let count_sql = count_sql(filter);
    on_db!(db, pool => {
        let mut q = sqlx::query_as::<_, Person>(&sql).bind(org_id).bind(limit).bind(offset);
        let mut c = sqlx::query_scalar::<_, i64>(&count_sql).bind(org_id);
        for p in &params {
            (q, c) = match p {
                Param::Text(t) => (q.bind(t), c.bind(t)),
                Param::Id(id) => (q.bind(id), c.bind(id)),
            };
        }
        Ok((q.fetch_all(pool).await?, c.fetch_one(pool).await?))
    })
}
