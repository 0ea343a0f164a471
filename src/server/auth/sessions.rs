//! Sign-in sessions on `tower-sessions`, stored in the project's own `sessions` table on
//! either database (statements in `db::sessions`).
//!
//! What the layer keeps: a new id at every sign-in (the old session is deleted, a planted id
//! is never adopted), an idle limit and an absolute limit read on the application's clock, an
//! `HttpOnly`, `SameSite=Strict` cookie that is `Secure` and named with the `__Host-` prefix
//! when the portal is served over HTTPS, and sign-out everywhere (deleting a staff member's
//! rows). Cross-site writes are refused before any handler by `guard::origin_guard`.
//!
//! A record's data is what the table holds: the signed-in [`SessionUser`] (read by joining
//! the staff member, so a deactivated account or a changed role counts at once) and when the
//! session was last seen. Only a SHA-256 hash of the id is stored.

use crate::domain::SessionUser;
use crate::server::auth::token;
use crate::server::db::{sessions, Db};
use crate::server::{Clock, Config};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;
use tower_sessions::cookie::SameSite;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use tower_sessions::{Expiry, Session, SessionManagerLayer};

/// The cookie over plain HTTP (a laptop, a test): browsers refuse a `__Host-` cookie that is
/// not `Secure`, and a `Secure` cookie is not sent back over HTTP.
pub const PLAIN_COOKIE: &str = "concierge_session";
/// The cookie when `PUBLIC_URL` is `https://…`: `Secure`, host-only, `Path=/`.
pub const HOST_COOKIE: &str = "__Host-concierge_session";

/// A session's last-seen time is written at most this often, so reads do not each cost a write.
const TOUCH_EVERY_SECONDS: i64 = 60;

const USER: &str = "user";
const SEEN: &str = "seen";
const IP: &str = "ip";
const AGENT: &str = "agent";

/// The session layer for this configuration, over the `sessions` table.
pub fn layer(db: Db, clock: Arc<dyn Clock>, config: &Config) -> SessionManagerLayer<DbStore> {
    let secure = config.secure_cookies();
    let store = DbStore {
        db,
        clock,
        idle: Duration::minutes(config.session_idle_minutes),
        absolute: Duration::hours(config.session_absolute_hours),
    };
    SessionManagerLayer::new(store)
        .with_name(if secure { HOST_COOKIE } else { PLAIN_COOKIE })
        .with_secure(secure)
        .with_http_only(true)
        .with_same_site(SameSite::Strict)
        .with_path("/")
        // The browser forgets the cookie after the idle limit; the server decides on its own
        // clock, and every touch (at most once a minute) renews the cookie too.
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(
            config.session_idle_minutes,
        )))
}

/// The signed-in staff member of a session, if it is live. The last-seen time is renewed
/// (written after the response) when it is more than a minute old.
pub async fn user(
    session: &Session,
    now: DateTime<Utc>,
) -> Result<Option<SessionUser>, tower_sessions::session::Error> {
    let Some(user) = session.get::<SessionUser>(USER).await? else {
        return Ok(None);
    };
    let seen = session.get::<DateTime<Utc>>(SEEN).await?;
    if seen.is_none_or(|seen| now - seen > Duration::seconds(TOUCH_EVERY_SECONDS)) {
        session.insert(SEEN, now).await?;
    }
    Ok(Some(user))
}

/// Starts a session for a staff member who just signed in, always under a new id: whatever
/// session the browser had is deleted first. The row is written when the response goes out.
pub async fn start(
    session: &Session,
    user: &SessionUser,
    address: &str,
    user_agent: Option<&str>,
) -> Result<(), tower_sessions::session::Error> {
    // A new id, the old row deleted, nothing of the old data carried over.
    session.cycle_id().await?;
    session.clear().await;
    session.insert(USER, user).await?;
    session.insert(IP, address).await?;
    session.insert(AGENT, user_agent).await?;
    Ok(())
}

/// Ends a session: its row is deleted and the browser told to forget the cookie.
pub async fn end(session: &Session) -> Result<(), tower_sessions::session::Error> {
    session.flush().await
}

/// The `tower-sessions` store over the `sessions` table, deciding expiry on the application's
/// clock (tests move it; the cookie's own lifetime is only a hint to the browser).
#[derive(Clone)]
pub struct DbStore {
    db: Db,
    clock: Arc<dyn Clock>,
    idle: Duration,
    absolute: Duration,
}

impl std::fmt::Debug for DbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbStore")
            .field("idle", &self.idle)
            .field("absolute", &self.absolute)
            .finish_non_exhaustive()
    }
}

fn backend(err: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(err.to_string())
}

fn id_hash(id: &Id) -> String {
    token::sha256_hex(&id.to_string())
}

fn field<T: serde::de::DeserializeOwned>(record: &Record, key: &str) -> Option<T> {
    record
        .data
        .get(key)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
}

fn offset(t: DateTime<Utc>) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(t.timestamp())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

#[async_trait]
impl SessionStore for DbStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let user: SessionUser = field(record, USER)
            .ok_or_else(|| backend("a session is only stored for a signed-in staff member"))?;
        let ip: Option<String> = field(record, IP);
        let agent: Option<String> = field(record, AGENT);
        let now = self.clock.now();
        loop {
            let hash = id_hash(&record.id);
            let row = sessions::NewSession {
                token_hash: &hash,
                staff_id: user.staff_id,
                org_id: user.org_id,
                at: now,
                expires_at: now + self.absolute,
                ip: ip.as_deref(),
                user_agent: agent.as_deref(),
            };
            if sessions::insert(&self.db, row).await.map_err(backend)? {
                return Ok(());
            }
            // 128 random bits collided: draw again.
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let seen = field(record, SEEN).unwrap_or_else(|| self.clock.now());
        // A session deleted meanwhile (signed out everywhere) stays deleted.
        sessions::touch(&self.db, &id_hash(&record.id), seen)
            .await
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let hash = id_hash(id);
        let Some(row) = sessions::lookup(&self.db, &hash).await.map_err(backend)? else {
            return Ok(None);
        };
        let now = self.clock.now();
        let idle_ends = row.last_seen_at + self.idle;
        if row.expires_at <= now || idle_ends < now {
            sessions::delete(&self.db, &hash).await.map_err(backend)?;
            return Ok(None);
        }
        let user = row.staff.signed_in(row.org_name);
        let mut record = Record {
            id: *id,
            data: Default::default(),
            expiry_date: offset(idle_ends.min(row.expires_at)),
        };
        let json = |v: serde_json::Result<serde_json::Value>| v.map_err(backend);
        record
            .data
            .insert(USER.into(), json(serde_json::to_value(user))?);
        record
            .data
            .insert(SEEN.into(), json(serde_json::to_value(row.last_seen_at))?);
        Ok(Some(record))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        sessions::delete(&self.db, &id_hash(id))
            .await
            .map_err(backend)
    }
}
