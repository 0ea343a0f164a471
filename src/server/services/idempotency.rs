//! `Idempotency-Key` on every write of the API: the same key with the same request answers
//! with the first response again, without doing the work twice; the same key with another
//! request is refused; two requests with one key at once do the work once. Keys are each
//! organisation's own and are forgotten after [`KEEP_HOURS`] (housekeeping).

use crate::server::db::idempotency as repo;
use crate::server::error::ServiceResult;
use crate::server::AppState;
use chrono::Duration;
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub const KEEP_HOURS: i64 = 24;

/// What a request carrying a key is to do.
pub enum Begin {
    /// The key is this request's: do the work, then [`finish`] (or [`give_back`]).
    Proceed,
    /// The key answered this same request before: send that answer again.
    Replay {
        status: u16,
        content_type: Option<String>,
        body: Vec<u8>,
    },
    /// The key was used for another request.
    Mismatch,
    /// The request that took the key is still being answered.
    InProgress,
}

/// What makes two requests the same: method, path with query, and body.
pub fn fingerprint(method: &str, path_and_query: &str, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(method.as_bytes());
    hash.update(b" ");
    hash.update(path_and_query.as_bytes());
    hash.update(b"\n");
    hash.update(body);
    hex::encode(hash.finalize())
}

pub async fn begin(
    state: &AppState,
    org_id: Uuid,
    key: &str,
    fingerprint: &str,
) -> ServiceResult<Begin> {
    let now = state.clock.now();
    let expired_before = now - Duration::hours(KEEP_HOURS);
    // A request still unanswered after twice the time any request is given was abandoned
    // (its process stopped): the key is free again.
    let abandoned_before =
        now - Duration::from_std(state.config.request_timeout * 2).unwrap_or(Duration::minutes(1));
    let db = &state.db;
    if repo::claim(
        db,
        org_id,
        key,
        fingerprint,
        now,
        expired_before,
        abandoned_before,
    )
    .await?
    {
        return Ok(Begin::Proceed);
    }
    Ok(match repo::get(db, org_id, key).await? {
        // Released between the two statements: the next attempt will take it.
        None => Begin::InProgress,
        Some(stored) if stored.fingerprint != fingerprint => Begin::Mismatch,
        Some(repo::Stored {
            status: Some(status),
            content_type,
            body,
            ..
        }) => Begin::Replay {
            status: u16::try_from(status).unwrap_or(500),
            content_type,
            body: body.unwrap_or_default(),
        },
        Some(_) => Begin::InProgress,
    })
}

/// Keeps the answer to the request that took `key`.
pub async fn finish(
    state: &AppState,
    org_id: Uuid,
    key: &str,
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> ServiceResult<()> {
    Ok(repo::complete(&state.db, org_id, key, status, content_type, body).await?)
}

/// Frees `key` without an answer: the request failed on our side, and may be sent again.
pub async fn give_back(state: &AppState, org_id: Uuid, key: &str) -> ServiceResult<()> {
    Ok(repo::release(&state.db, org_id, key).await?)
}

/// Forgets keys older than [`KEEP_HOURS`], a thousand at a time (housekeeping). How many.
pub async fn purge_expired(state: &AppState) -> ServiceResult<u64> {
    let before = state.clock.now() - Duration::hours(KEEP_HOURS);
    let mut total = 0;
    loop {
        let n = repo::purge(&state.db, before, 1000).await?;
        total += n;
        if n < 1000 {
            return Ok(total);
        }
    }
}
