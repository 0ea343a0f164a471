//! The statements of sign-in sessions, kept in the database on both backends (the session
//! layer is `auth::sessions`). Only a SHA-256 hash of the session id is stored, so a copy of
//! the database cannot be used to sign in.

use super::Db;
use crate::domain::StaffMember;
use crate::on_db;
use chrono::{DateTime, Utc};
use uuid::Uuid;

pub struct NewSession<'a> {
    pub token_hash: &'a str,
    pub staff_id: Uuid,
    pub org_id: Uuid,
    pub at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// Inserts a session; `false` when its id is already taken (the caller draws another).
pub async fn insert(db: &Db, s: NewSession<'_>) -> Result<bool, sqlx::Error> {
    let sql = "INSERT INTO sessions (token_hash, staff_id, org_id, created_at, last_seen_at, expires_at, ip, user_agent) \
               VALUES ($1, $2, $3, $4, $4, $5, $6, $7) ON CONFLICT (token_hash) DO NOTHING";
    on_db!(db, pool => sqlx::query(sql)
        .bind(s.token_hash)
        .bind(s.staff_id)
        .bind(s.org_id)
        .bind(s.at)
        .bind(s.expires_at)
        .bind(s.ip)
        .bind(s.user_agent)
        .execute(pool)
        .await
        .map(|r| r.rows_affected() == 1))
}

#[derive(sqlx::FromRow)]
pub struct SessionRow {
    #[sqlx(flatten)]
    pub staff: StaffMember,
    pub org_name: String,
    pub session_created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The session with this token hash and its (active) staff member.
pub async fn lookup(db: &Db, token_hash: &str) -> Result<Option<SessionRow>, sqlx::Error> {
    let sql = "SELECT s.id, s.org_id, s.email, s.display_name, s.role, s.active, s.last_login_at, s.created_at, \
                      o.name AS org_name, x.created_at AS session_created_at, x.last_seen_at, x.expires_at \
               FROM sessions x \
               JOIN staff s ON s.id = x.staff_id AND s.org_id = x.org_id \
               JOIN organisations o ON o.id = x.org_id \
               WHERE x.token_hash = $1 AND s.active = TRUE";
    on_db!(db, pool => sqlx::query_as::<_, SessionRow>(sql).bind(token_hash).fetch_optional(pool).await)
}

pub async fn touch(db: &Db, token_hash: &str, at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let sql = "UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1";
    on_db!(db, pool => sqlx::query(sql).bind(token_hash).bind(at).execute(pool).await.map(|_| ()))
}

pub async fn delete(db: &Db, token_hash: &str) -> Result<(), sqlx::Error> {
    on_db!(db, pool => sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(pool).await.map(|_| ()))
}

pub async fn delete_for_staff(db: &Db, staff_id: Uuid) -> Result<(), sqlx::Error> {
    on_db!(db, pool => sqlx::query("DELETE FROM sessions WHERE staff_id = $1").bind(staff_id).execute(pool).await.map(|_| ()))
}

/// Removes sessions past their absolute expiry or idle since `idle_before`.
pub async fn delete_expired(
    db: &Db,
    now: DateTime<Utc>,
    idle_before: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let sql = "DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2";
    on_db!(db, pool => sqlx::query(sql).bind(now).bind(idle_before).execute(pool).await.map(|r| r.rows_affected()))
}
