//! The vendor and venue catalogue, and recommendations made from it.

use super::persons::like_pattern;
use super::Db;
use crate::domain::vendors::{Recommendation, RecommendationDraft, Vendor, VendorDraft};
use crate::on_db;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

const VENDOR_COLUMNS: &str =
    "id, org_id, name, kind, location, price_level, rating, tags, website, \
    notes, created_at, updated_at";

pub async fn get_vendor(db: &Db, org_id: Uuid, id: Uuid) -> Result<Option<Vendor>, sqlx::Error> {
    let sql = format!(
        "SELECT {VENDOR_COLUMNS} FROM vendors WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL"
    );
    on_db!(db, pool => sqlx::query_as::<_, Vendor>(&sql).bind(org_id).bind(id).fetch_optional(pool).await)
}

#[derive(Clone, Debug, Default)]
pub struct VendorFilter {
    /// Lower-cased words; a vendor matches when its name, location or tags hold every one.
    pub words: Vec<String>,
    pub kind: Option<&'static str>,
    /// A tag, matched whole and without regard to (ASCII) case.
    pub tag: Option<String>,
}

fn vendor_where(f: &VendorFilter, first: usize) -> (String, Vec<String>) {
    let mut clause = String::from("org_id = $1 AND deleted_at IS NULL");
    let mut params = Vec::new();
    let mut n = first;
    if let Some(k) = f.kind {
        clause.push_str(&format!(" AND kind = ${n}"));
        params.push(k.to_string());
        n += 1;
    }
    if let Some(tag) = &f.tag {
        clause.push_str(&format!(
            " AND LOWER(CAST(tags AS TEXT)) LIKE ${n} ESCAPE '\\'"
        ));
        params.push(like_pattern(&tag_json(tag)));
        n += 1;
    }
    for word in &f.words {
        clause.push_str(&format!(" AND search_text LIKE ${n} ESCAPE '\\'"));
        params.push(like_pattern(word));
        n += 1;
    }
    (clause, params)
}

/// A tag as it appears inside the stored JSON array, lower-cased: `"wine"`.
pub(crate) fn tag_json(tag: &str) -> String {
    serde_json::to_string(&tag.trim().to_lowercase()).unwrap_or_default()
}

/// A page of the catalogue by name, and how many match in all; a page after the first found as
/// a keyset (the key of the vendor before it, then the vendors after that key).
pub async fn list_vendors(
    db: &Db,
    org_id: Uuid,
    f: &VendorFilter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<Vendor>, i64), sqlx::Error> {
    // $1 is the organisation, the filter's from $2, then the page's own.
    let (clause, params) = vendor_where(f, 2);
    let n = 2 + params.len();
    const ORDER: &str = "ORDER BY LOWER(name), id";
    let count_sql = format!("SELECT COUNT(*) FROM vendors WHERE {clause}");
    let total = on_db!(db, pool => {
        let mut c = sqlx::query_scalar::<_, i64>(&count_sql).bind(org_id);
        for p in &params {
            c = c.bind(p);
        }
        c.fetch_one(pool).await
    })?;
    let key: Option<(String, Uuid)> = if offset > 0 {
        let seek = format!(
            "SELECT LOWER(name), id FROM vendors WHERE {clause} {ORDER} LIMIT 1 OFFSET ${n}"
        );
        let key = on_db!(db, pool => {
            let mut q = sqlx::query_as::<_, (String, Uuid)>(&seek).bind(org_id);
            for p in &params {
                q = q.bind(p);
            }
            q.bind(offset - 1).fetch_optional(pool).await
        })?;
        if key.is_none() {
            return Ok((Vec::new(), total));
        }
        key
    } else {
        None
    };
    let after = if key.is_some() {
        format!(" AND (LOWER(name), id) > (${}, ${})", n + 1, n + 2)
    } else {
        String::new()
    };
    let sql =
        format!("SELECT {VENDOR_COLUMNS} FROM vendors WHERE {clause}{after} {ORDER} LIMIT ${n}");
    let items = on_db!(db, pool => {
        let mut q = sqlx::query_as::<_, Vendor>(&sql).bind(org_id);
        for p in &params {
            q = q.bind(p);
        }
        q = q.bind(limit);
        if let Some((name, id)) = &key {
            q = q.bind(name).bind(id);
        }
        q.fetch_all(pool).await
    })?;
    Ok((items, total))
}

pub async fn save_vendor(
    db: &Db,
    org_id: Uuid,
    id: Uuid,
    d: &VendorDraft,
    at: DateTime<Utc>,
    insert: bool,
) -> Result<bool, sqlx::Error> {
    let sql = if insert {
        "INSERT INTO vendors (id, org_id, name, kind, location, price_level, rating, tags, website, notes, \
         search_text, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)"
    } else {
        "UPDATE vendors SET name = $3, kind = $4, location = $5, price_level = $6, rating = $7, tags = $8, \
         website = $9, notes = $10, search_text = $11, updated_at = $12 \
         WHERE id = $1 AND org_id = $2 AND deleted_at IS NULL"
    };
    on_db!(db, pool => sqlx::query(sql)
        .bind(id).bind(org_id).bind(&d.name).bind(d.kind.as_str()).bind(&d.location)
        .bind(d.price_level).bind(d.rating).bind(Json(&d.tags)).bind(&d.website).bind(&d.notes)
        .bind(d.search_text()).bind(at)
        .execute(pool).await.map(|r| r.rows_affected() > 0))
}

/// Takes a vendor out of the catalogue; recommendations already made keep naming it.
pub async fn delete_vendor(
    db: &Db,
    org_id: Uuid,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE vendors SET deleted_at = $3, updated_at = $3 WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL";
    on_db!(db, pool => sqlx::query(sql).bind(org_id).bind(id).bind(at).execute(pool).await.map(|r| r.rows_affected() > 0))
}

const RECOMMENDATION_COLUMNS: &str = "r.id, r.org_id, r.vendor_id, v.name AS venue_name, \
    v.kind AS category, r.person_id, r.project_id, r.notes, r.status, r.created_by, r.created_at, r.updated_at";

/// Recommendations to live people (or for projects of live people) only: written as "not of a
/// deleted person", so the check reads the few deleted people, never every live one.
const RECOMMENDATION_FROM: &str = "recommendations r JOIN vendors v ON v.id = r.vendor_id";
const RECOMMENDATION_VISIBLE: &str = "NOT EXISTS (SELECT 1 FROM persons x \
    WHERE x.id = r.person_id AND x.org_id = r.org_id AND x.deleted_at IS NOT NULL) \
    AND NOT EXISTS (SELECT 1 FROM projects pr JOIN persons y ON y.id = pr.person_id \
    WHERE pr.id = r.project_id AND y.deleted_at IS NOT NULL)";

pub async fn get_recommendation(
    db: &Db,
    org_id: Uuid,
    id: Uuid,
) -> Result<Option<Recommendation>, sqlx::Error> {
    let sql = format!(
        "SELECT {RECOMMENDATION_COLUMNS} FROM {RECOMMENDATION_FROM} \
         WHERE r.org_id = $1 AND r.id = $2 AND {RECOMMENDATION_VISIBLE}"
    );
    on_db!(db, pool => sqlx::query_as::<_, Recommendation>(&sql).bind(org_id).bind(id).fetch_optional(pool).await)
}

#[derive(Clone, Debug, Default)]
pub struct RecommendationFilter {
    pub person_id: Option<Uuid>,
    pub project_id: Option<Uuid>,
    pub vendor_id: Option<Uuid>,
}

/// Recommendations, newest first, and how many match in all.
pub async fn list_recommendations(
    db: &Db,
    org_id: Uuid,
    f: &RecommendationFilter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<Recommendation>, i64), sqlx::Error> {
    let clause = |first: usize| {
        let mut clause = format!("r.org_id = $1 AND {RECOMMENDATION_VISIBLE}");
        let mut n = first;
        for (column, value) in [
            ("r.person_id", f.person_id),
            ("r.project_id", f.project_id),
            ("r.vendor_id", f.vendor_id),
        ] {
            if value.is_some() {
                clause.push_str(&format!(" AND {column} = ${n}"));
                n += 1;
            }
        }
        clause
    };
    let sql = format!(
        "SELECT {RECOMMENDATION_COLUMNS} FROM {RECOMMENDATION_FROM} WHERE {} \
         ORDER BY r.created_at DESC, r.id DESC LIMIT $2 OFFSET $3",
        clause(4)
    );
    let count_sql = format!(
        "SELECT COUNT(*) FROM {RECOMMENDATION_FROM} WHERE {}",
        clause(2)
    );
    let ids: Vec<Uuid> = [f.person_id, f.project_id, f.vendor_id]
        .into_iter()
        .flatten()
        .collect();
    on_db!(db, pool => {
        let mut q = sqlx::query_as::<_, Recommendation>(&sql).bind(org_id).bind(limit).bind(offset);
        let mut c = sqlx::query_scalar::<_, i64>(&count_sql).bind(org_id);
        for id in &ids {
            q = q.bind(id);
            c = c.bind(id);
        }
        Ok((q.fetch_all(pool).await?, c.fetch_one(pool).await?))
    })
}

pub async fn insert_recommendation(
    db: &Db,
    org_id: Uuid,
    id: Uuid,
    d: &RecommendationDraft,
    created_by: &str,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let sql = "INSERT INTO recommendations (id, org_id, vendor_id, person_id, project_id, notes, status, \
               created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)";
    on_db!(db, pool => sqlx::query(sql)
        .bind(id).bind(org_id).bind(d.vendor_id).bind(d.person_id).bind(d.project_id).bind(&d.notes)
        .bind(d.status.as_str()).bind(created_by).bind(at)
        .execute(pool).await.map(|_| ()))
}

pub async fn update_recommendation(
    db: &Db,
    org_id: Uuid,
    id: Uuid,
    d: &RecommendationDraft,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let sql =
        "UPDATE recommendations SET vendor_id = $3, person_id = $4, project_id = $5, notes = $6, \
               status = $7, updated_at = $8 WHERE id = $1 AND org_id = $2";
    on_db!(db, pool => sqlx::query(sql)
        .bind(id).bind(org_id).bind(d.vendor_id).bind(d.person_id).bind(d.project_id).bind(&d.notes)
        .bind(d.status.as_str()).bind(at)
        .execute(pool).await.map(|r| r.rows_affected() > 0))
}

pub async fn delete_recommendation(db: &Db, org_id: Uuid, id: Uuid) -> Result<bool, sqlx::Error> {
    on_db!(db, pool => sqlx::query("DELETE FROM recommendations WHERE org_id = $1 AND id = $2")
        .bind(org_id).bind(id).execute(pool).await.map(|r| r.rows_affected() > 0))
}
