//! Staff accounts. E-mail addresses are unique across the installation (`email_key` is the
//! lower-cased address), so signing in needs no organisation name.

use super::{Conn, Db};
use crate::domain::StaffMember;
use crate::{on_conn, on_db};
use chrono::{DateTime, Utc};
use uuid::Uuid;

const COLUMNS: &str = "id, org_id, email, display_name, role, active, last_login_at, created_at";

pub struct NewStaff<'a> {
    pub id: Uuid,
    pub org_id: Uuid,
    pub email: &'a str,
    pub display_name: &'a str,
    pub role: &'a str,
    pub password_hash: &'a str,
    pub at: DateTime<Utc>,
}

pub async fn insert(conn: impl Into<Conn<'_>>, s: NewStaff<'_>) -> Result<(), sqlx::Error> {
    let sql = "INSERT INTO staff (id, org_id, email, email_key, display_name, role, password_hash, active, created_at, updated_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, TRUE, $8, $8)";
    on_conn!(conn.into(), pool => sqlx::query(sql)
        .bind(s.id)
        .bind(s.org_id)
        .bind(s.email)
        .bind(s.email.to_lowercase())
        .bind(s.display_name)
        .bind(s.role)
        .bind(s.password_hash)
        .bind(s.at)
        .execute(pool)
        .await
        .map(|_| ()))
}

#[derive(sqlx::FromRow)]
pub struct Credentials {
    #[sqlx(flatten)]
    pub staff: StaffMember,
    pub password_hash: String,
}

/// The account signing in with this address, active or not, with its password hash.
pub async fn credentials(db: &Db, email: &str) -> Result<Option<Credentials>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS}, password_hash FROM staff WHERE email_key = $1");
    on_db!(db, pool => sqlx::query_as::<_, Credentials>(&sql)
        .bind(email.trim().to_lowercase())
        .fetch_optional(pool)
        .await)
}

pub async fn list(db: &Db, org_id: Uuid) -> Result<Vec<StaffMember>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM staff WHERE org_id = $1 ORDER BY active DESC, display_name, id"
    );
    on_db!(db, pool => sqlx::query_as::<_, StaffMember>(&sql).bind(org_id).fetch_all(pool).await)
}

pub async fn get(db: &Db, org_id: Uuid, id: Uuid) -> Result<Option<StaffMember>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM staff WHERE org_id = $1 AND id = $2");
    on_db!(db, pool => sqlx::query_as::<_, StaffMember>(&sql).bind(org_id).bind(id).fetch_optional(pool).await)
}

pub async fn set_active(
    db: &Db,
    org_id: Uuid,
    id: Uuid,
    active: bool,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE staff SET active = $3, updated_at = $4 WHERE org_id = $1 AND id = $2";
    on_db!(db, pool => sqlx::query(sql).bind(org_id).bind(id).bind(active).bind(at).execute(pool).await
        .map(|r| r.rows_affected() > 0))
}

pub async fn set_password(
    db: &Db,
    org_id: Uuid,
    id: Uuid,
    hash: &str,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let sql = "UPDATE staff SET password_hash = $3, updated_at = $4 WHERE org_id = $1 AND id = $2";
    on_db!(db, pool => sqlx::query(sql).bind(org_id).bind(id).bind(hash).bind(at).execute(pool).await.map(|_| ()))
}

pub async fn set_role(db: &Db, org_id: Uuid, id: Uuid, role: &str) -> Result<(), sqlx::Error> {
    let sql = "UPDATE staff SET role = $3 WHERE org_id = $1 AND id = $2";
    on_db!(db, pool => sqlx::query(sql).bind(org_id).bind(id).bind(role).execute(pool).await.map(|_| ()))
}

pub async fn record_login(
    db: &Db,
    org_id: Uuid,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let sql = "UPDATE staff SET last_login_at = $3 WHERE org_id = $1 AND id = $2";
    on_db!(db, pool => sqlx::query(sql).bind(org_id).bind(id).bind(at).execute(pool).await.map(|_| ()))
}

pub async fn count_active_admins(db: &Db, org_id: Uuid) -> Result<i64, sqlx::Error> {
    let sql = "SELECT COUNT(*) FROM staff WHERE org_id = $1 AND role = 'admin' AND active = TRUE";
    on_db!(db, pool => sqlx::query_scalar::<_, i64>(sql).bind(org_id).fetch_one(pool).await)
}

/// Sets (or, with `None`, clears) the hash of a staff member's calendar-feed token.
pub async fn set_calendar_token(
    db: &Db,
    org_id: Uuid,
    id: Uuid,
    hash: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE staff SET calendar_token_hash = $3 WHERE org_id = $1 AND id = $2";
    on_db!(db, pool => sqlx::query(sql).bind(org_id).bind(id).bind(hash).execute(pool).await.map(|r| r.rows_affected() > 0))
}

/// The active staff member whose calendar-feed token hashes to `hash`.
pub async fn by_calendar_token(db: &Db, hash: &str) -> Result<Option<StaffMember>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM staff WHERE calendar_token_hash = $1 AND active");
    on_db!(db, pool => sqlx::query_as::<_, StaffMember>(&sql).bind(hash).fetch_optional(pool).await)
}
