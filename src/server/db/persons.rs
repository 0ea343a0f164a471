//! People. Every query is scoped to one organisation and ignores soft-deleted rows.

use super::{Conn, Db, Tx};
use crate::domain::{Person, PersonDraft, PersonType};
use crate::{on_conn, on_db, on_tx};
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
    tx: &mut Tx,
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
    on_tx!(tx, conn => {
        bind_draft!(sqlx::query(sql).bind(id).bind(org_id), d)
            .bind(consent.given)
            .bind(consent.at)
            .bind(consent.source)
            .bind(at)
            .execute(&mut *conn)
            .await?;
        sqlx::query(engagement).bind(id).bind(org_id).bind(at.timestamp())
            .execute(&mut *conn).await.map(|_| ())
    })
}

/// Replaces every field of a live person; false when there is none with this id.
pub async fn update(
    tx: &mut Tx,
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
    on_tx!(tx, conn => bind_draft!(sqlx::query(sql).bind(org_id).bind(id), d)
        .bind(consent.given)
        .bind(consent.at)
        .bind(consent.source)
        .bind(at)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected() > 0))
}

pub async fn get(
    conn: impl Into<Conn<'_>>,
    org_id: Uuid,
    id: Uuid,
) -> Result<Option<Person>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE p.org_id = $1 AND p.id = $2 AND p.deleted_at IS NULL"
    );
    on_conn!(conn.into(), c => sqlx::query_as::<_, Person>(&sql).bind(org_id).bind(id).fetch_optional(c).await)
}

/// Live people by id, for a batch (those deleted or of another organisation are left out).
pub async fn by_ids(db: &Db, org_id: Uuid, ids: &[Uuid]) -> Result<Vec<Person>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE {{org}} AND p.deleted_at IS NULL AND p.id IN ({{ids}})"
    );
    super::by_ids(db, &sql, "p.org_id", org_id, ids).await
}

/// The names of these people (live ones, each once), for lists that show whose a row is.
pub async fn names(
    db: &Db,
    org_id: Uuid,
    ids: impl IntoIterator<Item = Uuid>,
) -> Result<std::collections::HashMap<Uuid, String>, sqlx::Error> {
    let ids: std::collections::BTreeSet<Uuid> = ids.into_iter().collect();
    let ids: Vec<Uuid> = ids.into_iter().collect();
    Ok(by_ids(db, org_id, &ids)
        .await?
        .into_iter()
        .map(|p| (p.id, p.full_name))
        .collect())
}

pub async fn by_external_id(
    conn: impl Into<Conn<'_>>,
    org_id: Uuid,
    external_id: &str,
) -> Result<Option<Person>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE p.org_id = $1 AND p.external_id = $2 AND p.deleted_at IS NULL");
    on_conn!(conn.into(), c => sqlx::query_as::<_, Person>(&sql).bind(org_id).bind(external_id).fetch_optional(c).await)
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
    tx: &mut Tx,
    org_id: Uuid,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE persons SET deleted_at = $3, updated_at = $3 WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL";
    on_tx!(tx, conn => sqlx::query(sql).bind(org_id).bind(id).bind(at).execute(&mut *conn).await.map(|r| r.rows_affected() > 0))
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
    /// The filter matches many (its count stopped at [`COUNT_CAP`]): a page in name order is
    /// then read by walking the name index and testing each person against the search index's
    /// matches, which finds a page long before fetching and sorting every match would.
    pub common: bool,
}

/// Escapes LIKE wildcards so a search for `50%` means the characters, not a pattern.
pub(crate) fn like_pattern(word: &str) -> String {
    let escaped = word
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// A query parameter of a filter: text or an id (bound as the backend's UUID type).
enum Param {
    Text(String),
    Id(Uuid),
}

/// Binds a filter's parameters, in order, onto a query of either backend.
macro_rules! bind_params {
    ($query:expr, $params:expr) => {{
        let mut query = $query;
        for p in $params {
            query = match p {
                Param::Text(t) => query.bind(t),
                Param::Id(id) => query.bind(id),
            };
        }
        query
    }};
}

/// An FTS5 query that matches rows containing every one of `words` (each a phrase: with the
/// trigram tokenizer, a substring).
fn fts_all(words: &[&str]) -> String {
    words
        .iter()
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The WHERE clause for a filter, its parameters numbered from `$first`. Search words are
/// found through the search index: on SQLite the FTS5 trigram table `persons_search` (words
/// of three characters or more; shorter ones are matched on the row), on PostgreSQL the
/// trigram index on `search_text` that serves `LIKE '%…%'`. A tag is matched whole on the
/// tags and, as it is part of the search text too, narrowed through the same index first.
fn where_clause(db: &Db, filter: &Filter, first: usize) -> (String, Vec<Param>) {
    let mut sql = String::from("p.org_id = $1 AND p.deleted_at IS NULL");
    let mut params = Vec::new();
    let mut n = first;
    if let Some(t) = filter.person_type {
        sql.push_str(&format!(" AND p.person_type = ${n}"));
        params.push(Param::Text(t.as_str().to_string()));
        n += 1;
    }
    let tag = filter.tag.as_ref().map(|t| t.trim().to_lowercase());
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
        // Checked on each row as the directory is read in name order: SQLite with STAT4
        // statistics would otherwise start from the segment's index and sort every member.
        sql.push_str(&format!(
            " AND {} = ${n}",
            super::unindexed(db, "e.segment")
        ));
        params.push(Param::Text(segment.as_str().to_string()));
        n += 1;
    }
    let searched: Vec<&str> = filter
        .words
        .iter()
        .map(String::as_str)
        .chain(tag.as_deref())
        .collect();
    let (indexed, scanned): (Vec<&str>, Vec<&str>) = match db {
        Db::Sqlite(_) => searched.iter().partition(|w| w.chars().count() >= 3),
        Db::Postgres(_) => (Vec::new(), searched),
    };
    if !indexed.is_empty() {
        let rowid = if filter.common {
            super::unindexed(db, "p.rowid")
        } else {
            "p.rowid".to_string()
        };
        sql.push_str(&format!(
            " AND {rowid} IN (SELECT rowid FROM persons_search WHERE persons_search MATCH ${n})"
        ));
        params.push(Param::Text(fts_all(&indexed)));
        n += 1;
    }
    for word in scanned {
        sql.push_str(&format!(" AND p.search_text LIKE ${n} ESCAPE '\\'"));
        params.push(Param::Text(like_pattern(word)));
        n += 1;
    }
    (sql, params)
}

/// Whether a directory statement may keep its prepared plan. PostgreSQL plans a prepared
/// statement once for any value after five runs (a generic plan): for `LIKE $n` it cannot see
/// whether the pattern is rare (read the trigram index's matches, then sort) or common (walk
/// the name index and stop after a page), and a tag that half the clients carry took 450 ms
/// on the rare-name plan against 30 ms planned for its value. Statements with search text
/// are therefore planned for their values each time (an unnamed statement: about a tenth of
/// a millisecond of planning). SQLite's plans do not depend on the values.
fn keeps_plan(db: &Db, params: &[Param]) -> bool {
    matches!(db, Db::Sqlite(_)) || !params.iter().any(|p| matches!(p, Param::Text(_)))
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
            let (clause, params) = where_clause(db, filter, 5);
            (format!("{clause} AND (p.sort_name, p.id) > ($2, $3) ORDER BY p.sort_name, p.id LIMIT $4"), params)
        }
        None => {
            let (clause, params) = where_clause(db, filter, 3);
            (
                format!("{clause} ORDER BY p.sort_name, p.id LIMIT $2"),
                params,
            )
        }
    };
    let sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE {clause}");
    let persistent = keeps_plan(db, &params);
    on_db!(db, pool => {
        let mut q = sqlx::query_as::<_, Person>(&sql).persistent(persistent).bind(org_id);
        if let Some((name, id)) = &after {
            q = q.bind(name).bind(id);
        }
        q = q.bind(limit);
        q = bind_params!(q, &params);
        q.fetch_all(pool).await
    })
}

/// How far a count goes when it cannot be read from an index alone (a tag, a staff member, a
/// search's page past its last match): past this the directory says "more than". A search's
/// page counts its matches as it ranks them ([`ranked_page`]).
pub const COUNT_CAP: i64 = 1_000;

/// How many people a filter matches: exact when an index can tell (no filter; people of a
/// type; a segment alone, as the segment's count less its deleted people), otherwise up to
/// [`COUNT_CAP`] and whether there are more.
pub async fn count(db: &Db, org_id: Uuid, filter: &Filter) -> Result<(i64, bool), sqlx::Error> {
    let (clause, params) = where_clause(db, filter, 2);
    let narrowed =
        !filter.words.is_empty() || filter.tag.is_some() || filter.assigned_staff_id.is_some();
    let (sql, capped) = match filter.segment {
        Some(_) if !narrowed && filter.person_type.is_none() => (
            "SELECT (SELECT COUNT(*) FROM person_engagement e WHERE e.org_id = $1 AND e.segment = $2) - \
             (SELECT COUNT(*) FROM persons p JOIN person_engagement e ON e.person_id = p.id \
              WHERE p.org_id = $1 AND p.deleted_at IS NOT NULL AND e.segment = $2)"
                .to_string(),
            false,
        ),
        None if !narrowed => {
            // The narrowest index that holds every live person (SQLite's planner may otherwise
            // take a wider one).
            let from = match db {
                Db::Sqlite(_) => "persons p INDEXED BY persons_type",
                Db::Postgres(_) => "persons p",
            };
            (format!("SELECT COUNT(*) FROM {from} WHERE {clause}"), false)
        }
        _ => (
            format!(
                "SELECT COUNT(*) FROM (SELECT 1 FROM {FROM} WHERE {clause} LIMIT {}) AS matches",
                COUNT_CAP + 1
            ),
            true,
        ),
    };
    let persistent = keeps_plan(db, &params);
    let n = on_db!(db, pool => {
        let mut c = sqlx::query_scalar::<_, i64>(&sql).persistent(persistent).bind(org_id);
        c = bind_params!(c, &params);
        c.fetch_one(pool).await
    })?;
    Ok(if capped && n > COUNT_CAP {
        (COUNT_CAP, true)
    } else {
        (n, false)
    })
}

/// A numbered page of the directory in name order.
pub async fn page(
    db: &Db,
    org_id: Uuid,
    filter: &Filter,
    offset: i64,
    limit: i64,
) -> Result<Vec<Person>, sqlx::Error> {
    if offset > 0 {
        // A numbered page in name order is found as a keyset: the key just before it read
        // from the name index alone (with OFFSET over every row and its engagement, page
        // 1,000 of 100,000 clients took half a second), then the page after that key.
        return match seek(db, org_id, filter, offset - 1).await? {
            Some(key) => list_after(db, org_id, filter, Some(key), limit).await,
            None => Ok(Vec::new()),
        };
    }
    list_after(db, org_id, filter, None, limit).await
}

/// A person and how many people the statement matched in all.
#[derive(sqlx::FromRow)]
struct Counted {
    #[sqlx(flatten)]
    person: Person,
    matches: i64,
}

/// A numbered page of a search, the best matches first: names that start with the first word,
/// then names with a word that starts with it, then the rest, each group by name. Ranking
/// reads every match, so the same statement counts them (exactly): the total comes back with
/// the page, none when the page is past the last match.
pub async fn ranked_page(
    db: &Db,
    org_id: Uuid,
    filter: &Filter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<Person>, Option<i64>), sqlx::Error> {
    let (clause, mut params) = where_clause(db, filter, 4);
    let order = match filter.words.first() {
        Some(word) => {
            let n = 4 + params.len();
            let escaped = like_pattern(word);
            let bare = &escaped[1..escaped.len() - 1];
            params.push(Param::Text(format!("{bare}%")));
            params.push(Param::Text(format!("% {bare}%")));
            format!(
                "CASE WHEN p.sort_name LIKE ${n} ESCAPE '\\' THEN 0 \
                 WHEN p.sort_name LIKE ${} ESCAPE '\\' THEN 1 ELSE 2 END, p.sort_name, p.id",
                n + 1
            )
        }
        None => "p.sort_name, p.id".to_string(),
    };
    // The matches are ranked and counted on their keys alone; only the page's rows are then
    // read whole (sorting every match with all its columns took twice as long).
    let key = match db {
        Db::Sqlite(_) => "p.rowid",
        Db::Postgres(_) => "p.id",
    };
    // Only the segment is read from the engagement table.
    let from = if filter.segment.is_some() {
        FROM
    } else {
        "persons p"
    };
    let sql = format!(
        "SELECT {COLUMNS}, ranked.matches FROM \
         (SELECT {key} AS ranked_key, COUNT(*) OVER () AS matches FROM {from} WHERE {clause} \
          ORDER BY {order} LIMIT $2 OFFSET $3) ranked \
         JOIN persons p ON {key} = ranked.ranked_key \
         LEFT JOIN person_engagement e ON e.person_id = p.id ORDER BY {order}"
    );
    let persistent = keeps_plan(db, &params);
    let rows = on_db!(db, pool => {
        let mut q = sqlx::query_as::<_, Counted>(&sql)
            .persistent(persistent)
            .bind(org_id)
            .bind(limit)
            .bind(offset);
        q = bind_params!(q, &params);
        q.fetch_all(pool).await
    })?;
    let total = rows.first().map(|r| r.matches);
    Ok((rows.into_iter().map(|r| r.person).collect(), total))
}

/// The directory key `(sort_name, id)` of the match at `offset` in name order, read without
/// the people's columns (from the name index alone when the filter needs no more).
async fn seek(
    db: &Db,
    org_id: Uuid,
    filter: &Filter,
    offset: i64,
) -> Result<Option<(String, Uuid)>, sqlx::Error> {
    let (clause, params) = where_clause(db, filter, 3);
    // Only the segment is read from the engagement table.
    let from = if filter.segment.is_some() {
        FROM
    } else {
        "persons p"
    };
    let sql = format!(
        "SELECT p.sort_name, p.id FROM {from} WHERE {clause} ORDER BY p.sort_name, p.id LIMIT 1 OFFSET $2"
    );
    let persistent = keeps_plan(db, &params);
    on_db!(db, pool => {
        let mut q = sqlx::query_as::<_, (String, Uuid)>(&sql)
            .persistent(persistent)
            .bind(org_id)
            .bind(offset);
        q = bind_params!(q, &params);
        q.fetch_optional(pool).await
    })
}

/// People whose name is close to `text` though it matches no one exactly (a name half
/// remembered or misspelt), best first: on SQLite the rows sharing the most of its trigrams
/// by the search index's rank, which the caller then checks for closeness; on PostgreSQL
/// `pg_trgm`'s word similarity (`<%`, served by the trigram index).
pub async fn similar(
    db: &Db,
    org_id: Uuid,
    text: &str,
    limit: i64,
) -> Result<Vec<Person>, sqlx::Error> {
    let text = text.trim().to_lowercase();
    match db {
        Db::Sqlite(pool) => {
            let grams = crate::domain::person::trigrams(&text);
            if grams.is_empty() {
                return Ok(Vec::new());
            }
            let query = grams
                .iter()
                .map(|g| format!("\"{}\"", g.replace('"', "\"\"")))
                .collect::<Vec<_>>()
                .join(" OR ");
            let sql = format!(
                "SELECT {COLUMNS} FROM persons_search s JOIN persons p ON p.rowid = s.rowid \
                 LEFT JOIN person_engagement e ON e.person_id = p.id \
                 WHERE persons_search MATCH $2 AND p.org_id = $1 AND p.deleted_at IS NULL \
                 ORDER BY s.rank LIMIT $3"
            );
            sqlx::query_as::<_, Person>(&sql)
                .bind(org_id)
                .bind(query)
                .bind(limit)
                .fetch_all(pool)
                .await
        }
        Db::Postgres(pool) => {
            let sql = format!(
                "SELECT {COLUMNS} FROM {FROM} WHERE p.org_id = $1 AND p.deleted_at IS NULL \
                 AND $2 <% p.search_text ORDER BY word_similarity($2, p.search_text) DESC, p.sort_name \
                 LIMIT $3"
            );
            sqlx::query_as::<_, Person>(&sql)
                .bind(org_id)
                .bind(text)
                .bind(limit)
                .fetch_all(pool)
                .await
        }
    }
}

/// The organisation's live people whose full name, e-mail address (without regard to case)
/// or phone number is among those given: each `(id, full name, what matched, the value)`,
/// `what` being `name`, `email` or `phone`.
pub async fn mentioned(
    db: &Db,
    org_id: Uuid,
    names: &[String],
    emails: &[String],
    phones: &[String],
) -> Result<Vec<(Uuid, String, &'static str, String)>, sqlx::Error> {
    let mut out = Vec::new();
    for (what, column, values) in [
        ("name", "full_name", names),
        ("email", "LOWER(email)", emails),
        ("phone", "phone", phones),
    ] {
        for chunk in values.chunks(200) {
            let sql = format!(
                "SELECT id, full_name, {column} FROM persons WHERE org_id = {} \
                 AND deleted_at IS NULL AND {column} IN ({})",
                super::ph(db, 1),
                super::phs(db, 2, chunk.len())
            );
            let found: Vec<(Uuid, String, String)> = on_db!(db, pool => {
                let mut q = sqlx::query_as(&sql).bind(org_id);
                for v in chunk {
                    q = q.bind(v);
                }
                q.fetch_all(pool).await?
            });
            out.extend(found.into_iter().map(|(id, n, v)| (id, n, what, v)));
        }
    }
    Ok(out)
}
