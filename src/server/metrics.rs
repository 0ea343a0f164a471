//! `GET /metrics` in the Prometheus text format: requests and their latency (by area, not by
//! path, so the number of series stays small), deliveries by status and channel, the queue's
//! depth and the worker's lag, and this process's send attempts by outcome.

use super::AppState;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, String, u16), u64>>,
    latency: Mutex<BTreeMap<&'static str, Histogram>>,
    attempts: Mutex<BTreeMap<(String, &'static str), u64>>,
    reminders_queued: Mutex<u64>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Which part of the application a path belongs to.
fn area(path: &str) -> &'static str {
    if path.starts_with("/api/") {
        "api"
    } else if path.starts_with("/pkg/") || path.starts_with("/favicon") {
        "asset"
    } else if path.starts_with("/srv/") {
        "server_fn"
    } else if path == "/metrics" || path == "/health" {
        "ops"
    } else {
        "page"
    }
}

impl Metrics {
    pub fn request(&self, area: &'static str, method: &str, status: u16, seconds: f64) {
        *lock(&self.requests)
            .entry((area, method.to_string(), status))
            .or_default() += 1;
        let mut latency = lock(&self.latency);
        let h = latency.entry(area).or_default();
        if h.counts.is_empty() {
            h.counts = vec![0; BUCKETS.len()];
        }
        for (i, le) in BUCKETS.iter().enumerate() {
            if seconds <= *le {
                h.counts[i] += 1;
            }
        }
        h.sum += seconds;
        h.count += 1;
    }

    /// One send attempt's outcome (`sent`, `retry`, `failed`) on a channel.
    pub fn attempt(&self, channel: &str, outcome: &'static str) {
        *lock(&self.attempts)
            .entry((channel.to_string(), outcome))
            .or_default() += 1;
    }

    pub fn reminders_queued(&self, n: u64) {
        *lock(&self.reminders_queued) += n;
    }

    fn render_process(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP concierge_http_requests_total HTTP requests answered, by area, method and status.\n\
             # TYPE concierge_http_requests_total counter"
        );
        for ((area, method, status), n) in lock(&self.requests).iter() {
            let _ = writeln!(
                out,
                "concierge_http_requests_total{{area=\"{area}\",method=\"{method}\",status=\"{status}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP concierge_http_request_duration_seconds Time to answer a request, by area.\n\
             # TYPE concierge_http_request_duration_seconds histogram"
        );
        for (area, h) in lock(&self.latency).iter() {
            for (i, le) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "concierge_http_request_duration_seconds_bucket{{area=\"{area}\",le=\"{le}\"}} {}",
                    h.counts.get(i).copied().unwrap_or(0)
                );
            }
            let _ = writeln!(
                out,
                "concierge_http_request_duration_seconds_bucket{{area=\"{area}\",le=\"+Inf\"}} {}\n\
                 concierge_http_request_duration_seconds_sum{{area=\"{area}\"}} {}\n\
                 concierge_http_request_duration_seconds_count{{area=\"{area}\"}} {}",
                h.count, h.sum, h.count
            );
        }
        let _ = writeln!(
            out,
            "# HELP concierge_delivery_attempts_total Send attempts made by this process, by channel and outcome.\n\
             # TYPE concierge_delivery_attempts_total counter"
        );
        for ((channel, outcome), n) in lock(&self.attempts).iter() {
            let _ = writeln!(
                out,
                "concierge_delivery_attempts_total{{channel=\"{channel}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP concierge_reminders_queued_total Reminder occurrences this process turned into deliveries.\n\
             # TYPE concierge_reminders_queued_total counter\n\
             concierge_reminders_queued_total {}",
            lock(&self.reminders_queued)
        );
    }
}

/// Counts every request and times it.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let area = area(req.uri().path());
    // A client may send any method name: the label keeps to the ones HTTP defines.
    let known = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
    ];
    let method = if known.contains(req.method()) {
        req.method().as_str()
    } else {
        "other"
    }
    .to_string();
    let res = next.run(req).await;
    state.metrics.request(
        area,
        &method,
        res.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    res
}

/// `GET /metrics`. With `METRICS_TOKEN` set it answers `Authorization: Bearer <token>` from
/// anywhere; without, only a scraper on this machine: a loopback peer whose request no proxy
/// forwarded (a reverse proxy on the same host would otherwise carry the world's requests
/// here from loopback).
pub async fn render(
    State(state): State<AppState>,
    request: axum::http::request::Parts,
) -> Response {
    let headers = &request.headers;
    if let Some(token) = &state.config.metrics_token {
        let given = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if given != Some(token.as_str()) {
            return (
                axum::http::StatusCode::UNAUTHORIZED,
                "metrics need Authorization: Bearer <METRICS_TOKEN>",
            )
                .into_response();
        }
    } else {
        if !crate::server::auth::guard::from_this_machine(&request) {
            return (
                axum::http::StatusCode::FORBIDDEN,
                "metrics answer only on this machine's loopback unless METRICS_TOKEN is set",
            )
                .into_response();
        }
    }
    let mut out = String::new();
    state.metrics.render_process(&mut out);
    let now = state.clock.now();
    match crate::server::db::deliveries::counts(&state.db).await {
        Ok(rows) => {
            let _ = writeln!(
                out,
                "# HELP concierge_deliveries Deliveries in the outbox, by status and channel.\n\
                 # TYPE concierge_deliveries gauge"
            );
            for (status, channel, n) in rows {
                let _ = writeln!(
                    out,
                    "concierge_deliveries{{status=\"{status}\",channel=\"{channel}\"}} {n}"
                );
            }
        }
        Err(err) => tracing::warn!(error = %err, "metrics: could not count deliveries"),
    }
    match crate::server::db::deliveries::queue(&state.db, now).await {
        Ok((depth, oldest)) => {
            let lag = oldest
                .map(|t| (now - t).num_milliseconds().max(0) as f64 / 1000.0)
                .unwrap_or(0.0);
            let _ = writeln!(
                out,
                "# HELP concierge_delivery_queue_depth Deliveries due now and not yet claimed.\n\
                 # TYPE concierge_delivery_queue_depth gauge\n\
                 concierge_delivery_queue_depth {depth}\n\
                 # HELP concierge_worker_lag_seconds How long the oldest due delivery has waited.\n\
                 # TYPE concierge_worker_lag_seconds gauge\n\
                 concierge_worker_lag_seconds {lag}"
            );
        }
        Err(err) => tracing::warn!(error = %err, "metrics: could not read the queue"),
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}
