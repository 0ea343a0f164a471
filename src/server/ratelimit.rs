//! Rate limits: a token bucket per API key and per signed-in staff member, and a larger one
//! of its own for the batch routes (a sync sends many of those). Every answer carries the
//! IETF `RateLimit-Policy` and `RateLimit` headers; a request past the limit is a 429
//! (problem+json on the API) with `Retry-After`, and does not use up a token.
//!
//! On PostgreSQL the buckets live in the database (`db::rate_limits`), so every web process
//! counts the same requests; SQLite serves one process, which keeps its buckets in memory.

use crate::domain::SessionUser;
use crate::server::auth::Actor;
use crate::server::db::{self, Db, Dialect};
use crate::server::rest::ApiError;
use crate::server::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Mutex;

/// A bucket's size: `per_minute` requests at once, refilled at that rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Policy {
    pub name: &'static str,
    pub per_minute: u32,
}

impl Policy {
    fn capacity(&self) -> f64 {
        f64::from(self.per_minute)
    }

    fn per_second(&self) -> f64 {
        f64::from(self.per_minute) / 60.0
    }
}

/// Routes that carry many records in one request.
fn is_batch(path: &str) -> bool {
    matches!(
        path,
        "/api/v1/activity/events" | "/srv/clients/import_rows" | "/srv/clients/preview_import"
    )
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Bucket {
    tokens: f64,
    at_s: f64,
}

/// Takes a token from `bucket` at `now_s`: the bucket afterwards, and whether there was one.
/// (The same arithmetic as `db::rate_limits::take`.)
fn take(bucket: Option<Bucket>, policy: Policy, now_s: f64) -> (Bucket, bool) {
    let refilled = match bucket {
        None => policy.capacity(),
        Some(b) => {
            (b.tokens + (now_s - b.at_s).max(0.0) * policy.per_second()).min(policy.capacity())
        }
    };
    let allowed = refilled >= 1.0;
    let tokens = if allowed { refilled - 1.0 } else { refilled };
    // A clock that steps back does not move the bucket back.
    let at_s = bucket.map_or(now_s, |b| b.at_s.max(now_s));
    (Bucket { tokens, at_s }, allowed)
}

/// What a bucket said to one request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decision {
    pub policy: Policy,
    pub allowed: bool,
    pub remaining: u64,
    /// Seconds until the bucket is full again.
    pub reset: u64,
    /// Seconds until the next token (when refused).
    pub retry_after: u64,
}

impl Decision {
    fn new(policy: Policy, allowed: bool, tokens: f64) -> Self {
        let tokens = tokens.max(0.0);
        let rate = policy.per_second().max(f64::MIN_POSITIVE);
        Self {
            policy,
            allowed,
            remaining: tokens.floor() as u64,
            reset: ((policy.capacity() - tokens) / rate).ceil().max(0.0) as u64,
            retry_after: ((1.0 - tokens) / rate).ceil().max(1.0) as u64,
        }
    }

    fn headers(&self, headers: &mut HeaderMap) {
        let name = self.policy.name;
        let policy = format!("\"{name}\";q={};w=60", self.policy.per_minute);
        let state = if self.allowed {
            format!("\"{name}\";r={};t={}", self.remaining, self.reset)
        } else {
            format!("\"{name}\";r=0;t={}", self.retry_after)
        };
        for (field, value) in [("ratelimit-policy", policy), ("ratelimit", state)] {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(field, v);
            }
        }
        if !self.allowed {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(self.retry_after));
        }
    }
}

/// The buckets of this process (SQLite); on PostgreSQL the database keeps them.
#[derive(Default)]
pub struct Limiter {
    memory: Mutex<HashMap<String, Bucket>>,
}

impl Limiter {
    pub async fn take(
        &self,
        db: &Db,
        bucket: &str,
        policy: Policy,
        now: DateTime<Utc>,
    ) -> Result<Decision, sqlx::Error> {
        let now_s = now.timestamp_millis() as f64 / 1000.0;
        let (allowed, tokens) = match db {
            Db::Postgres(_) => {
                db::rate_limits::take(db, bucket, policy.capacity(), policy.per_second(), now_s)
                    .await?
            }
            Db::Sqlite(_) => {
                let mut memory = self.memory.lock().unwrap_or_else(|e| e.into_inner());
                let (b, allowed) = take(memory.get(bucket).copied(), policy, now_s);
                memory.insert(bucket.to_string(), b);
                (allowed, b.tokens)
            }
        };
        Ok(Decision::new(policy, allowed, tokens))
    }

    /// Forgets buckets untouched for an hour (they are full again): housekeeping.
    pub async fn purge(&self, db: &Db, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
        let before_s = (now.timestamp() - 3600) as f64;
        let mut gone = {
            let mut memory = self.memory.lock().unwrap_or_else(|e| e.into_inner());
            let n = memory.len();
            memory.retain(|_, b| b.at_s >= before_s);
            (n - memory.len()) as u64
        };
        if db.is_postgres() {
            gone += db::rate_limits::purge(db, before_s).await?;
        }
        Ok(gone)
    }
}

/// The rate limit of the portal, per signed-in staff member (in front of the pages and
/// server functions, after the session is known; the built assets are not counted). The API
/// has its own ([`api`]); a request from no one in particular is not counted (sign-in has its
/// own throttle).
pub async fn portal(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let who = req
        .extensions()
        .get::<SessionUser>()
        .map(|user| format!("staff:{}", user.staff_id));
    let path = req.uri().path();
    let counted = !path.starts_with("/api/") && !path.starts_with("/pkg/");
    match who.filter(|_| counted) {
        Some(who) => limit(&state, &who, false, req, next).await,
        None => next.run(req).await,
    }
}

/// The rate limit of the API, per API key (inside the API's router, once the key is known).
pub async fn api(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let who = match req.extensions().get::<Actor>() {
        Some(Actor::ApiKey { id, .. }) => Some(format!("key:{id}")),
        Some(Actor::Staff(user)) => Some(format!("staff:{}", user.staff_id)),
        None => None,
    };
    match who {
        Some(who) => limit(&state, &who, true, req, next).await,
        None => next.run(req).await,
    }
}

async fn limit(state: &AppState, who: &str, api: bool, req: Request, next: Next) -> Response {
    // Inside a nested router the path has lost its prefix; the original one names the route.
    let path = req
        .extensions()
        .get::<axum::extract::OriginalUri>()
        .map(|u| u.path().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    let limits = &state.config.rate_limits;
    let policy = if is_batch(&path) {
        limits.batch
    } else {
        limits.standard
    };
    if policy.per_minute == 0 {
        return next.run(req).await;
    }
    let bucket = format!("{who}:{}", policy.name);
    let decision = match state
        .rate_limits
        .take(&state.db, &bucket, policy, state.clock.now())
        .await
    {
        Ok(d) => d,
        Err(err) => {
            // The request meets the same database next, and answers for it.
            tracing::warn!(error = %err, "could not count a request against its rate limit");
            return next.run(req).await;
        }
    };
    let mut res = if decision.allowed {
        next.run(req).await
    } else {
        let detail = format!(
            "too many requests: {} a minute are allowed; try again in {} s",
            policy.per_minute, decision.retry_after
        );
        if api {
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, detail).into_response()
        } else {
            (StatusCode::TOO_MANY_REQUESTS, detail).into_response()
        }
    };
    decision.headers(res.headers_mut());
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIVE: Policy = Policy {
        name: "test",
        per_minute: 5,
    };

    #[test]
    fn a_bucket_empties_and_refills() {
        let mut b = None;
        for n in 0..5 {
            let (next, ok) = take(b, FIVE, 100.0);
            assert!(ok, "request {n}");
            b = Some(next);
        }
        let (next, ok) = take(b, FIVE, 100.0);
        assert!(!ok);
        assert_eq!(next.tokens, 0.0, "a refused request takes nothing");
        let d = Decision::new(FIVE, false, next.tokens);
        assert_eq!(d.retry_after, 12, "one token every 12 s");
        // Twelve seconds later there is one again, and one only.
        let (next, ok) = take(Some(next), FIVE, 112.0);
        assert!(ok);
        assert!(!take(Some(next), FIVE, 112.0).1);
        // Never more than the capacity.
        let (full, _) = take(Some(next), FIVE, 10_000.0);
        assert_eq!(full.tokens, 4.0);
    }

    #[test]
    fn headers_follow_the_ietf_fields() {
        let mut h = HeaderMap::new();
        Decision::new(FIVE, true, 3.0).headers(&mut h);
        assert_eq!(h["ratelimit-policy"], "\"test\";q=5;w=60");
        assert_eq!(h["ratelimit"], "\"test\";r=3;t=24");
        assert!(h.get("retry-after").is_none());
        let mut h = HeaderMap::new();
        Decision::new(FIVE, false, 0.5).headers(&mut h);
        assert_eq!(h["ratelimit"], "\"test\";r=0;t=6");
        assert_eq!(h["retry-after"], "6");
    }
}
