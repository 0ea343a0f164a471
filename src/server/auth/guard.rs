//! Middleware in front of every request: the correlation id, security headers (with a per-
//! request CSP nonce), the cross-origin guard, and the session lookup that sends signed-out
//! visitors of staff pages to the sign-in page.

use crate::domain::SessionUser;
use crate::server::auth::sessions;
use crate::server::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use std::net::SocketAddr;
use tower_sessions::Session;

/// The request's correlation id, carried into logs and echoed in `x-correlation-id`.
#[derive(Clone, Debug)]
pub struct CorrelationId(pub String);

/// The nonce that inline scripts of this response carry, named in its CSP.
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

/// The client's address (from `X-Forwarded-For` only behind a trusted proxy).
#[derive(Clone, Debug)]
pub struct ClientAddr(pub String);

pub const CORRELATION_HEADER: &str = "x-correlation-id";

fn acceptable_correlation_id(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 128
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
}

pub async fn correlation(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(CORRELATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable_correlation_id(v))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    req.extensions_mut().insert(CorrelationId(id.clone()));
    let span = tracing::info_span!("request", method = %req.method(), path = %logged_path(req.uri().path()), correlation_id = %id);
    let started = std::time::Instant::now();
    let mut res = tracing::Instrument::instrument(next.run(req), span.clone()).await;
    span.in_scope(|| {
        tracing::info!(
            status = res.status().as_u16(),
            ms = started.elapsed().as_millis() as u64,
            "response"
        )
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(CORRELATION_HEADER, value);
    }
    res
}

/// A request's path as the log shows it: a calendar feed's address is its secret, and is left
/// out.
fn logged_path(path: &str) -> &str {
    if path.starts_with("/calendar/") && path.ends_with(".ics") {
        "/calendar/[token].ics"
    } else {
        path
    }
}

pub async fn security_headers(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let nonce = crate::server::auth::token::random_token();
    req.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut res = next.run(req).await;
    let csp = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; \
         form-action 'self'; frame-ancestors 'none'"
    );
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    // Served over HTTPS, the browser is to come back only over HTTPS, for a year.
    if state.config.secure_cookies() {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    res
}

/// The client address for throttling and the session record: behind `hops` trusted proxies,
/// the entry of `X-Forwarded-For` (all its headers, in order) that the outermost of them
/// wrote, counting from the right; entries further left are the client's own claims. A
/// header with fewer entries than that gives its leftmost.
pub fn forwarded_client(headers: &HeaderMap, hops: usize) -> Option<String> {
    if hops == 0 {
        return None;
    }
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    let at = entries.len().saturating_sub(hops);
    entries.get(at).map(|e| e.to_string())
}

/// Whether a request comes from this machine: a loopback peer, and no proxy forwarded it (a
/// reverse proxy on the same host would otherwise carry the world's requests in from
/// loopback).
pub fn from_this_machine(parts: &axum::http::request::Parts) -> bool {
    let local = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|p| p.0.ip().is_loopback());
    let forwarded = ["forwarded", "x-forwarded-for", "x-real-ip"]
        .iter()
        .any(|h| parts.headers.contains_key(*h));
    local && !forwarded
}

/// The client address for throttling and the session record.
pub fn client_addr(state: &AppState, req: &Request) -> String {
    if let Some(client) = forwarded_client(req.headers(), state.config.trusted_proxies) {
        return client;
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn is_state_changing(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// The origin (scheme://host[:port]) this server is reached at, for comparison with `Origin`.
fn own_origins(state: &AppState, headers: &HeaderMap) -> Vec<String> {
    let mut origins = Vec::new();
    if let Some(public) = &state.config.public_url {
        origins.push(public.clone());
    }
    if let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) {
        origins.push(format!("http://{host}"));
        origins.push(format!("https://{host}"));
    }
    origins
}

/// Rejects state-changing browser requests that come from another site.
pub fn cross_origin_problem(
    state: &AppState,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> Option<&'static str> {
    // The JSON API authenticates with a bearer key; a one-click unsubscribe (RFC 8058) is
    // posted by the recipient's mail provider and authenticated by its signed token.
    if !is_state_changing(method) || path.starts_with("/api/v1/") || path.starts_with("/u/") {
        return None;
    }
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if !matches!(site, "same-origin" | "none") {
            return Some("cross-site request refused (Sec-Fetch-Site)");
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let origin = origin.trim_end_matches('/');
        if origin == "null" || !own_origins(state, headers).iter().any(|o| o == origin) {
            return Some("cross-origin request refused (Origin)");
        }
    }
    None
}

pub async fn origin_guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(reason) =
        cross_origin_problem(&state, req.method(), req.uri().path(), req.headers())
    {
        tracing::warn!(reason, "refused cross-origin request");
        return (StatusCode::FORBIDDEN, reason).into_response();
    }
    next.run(req).await
}

/// Paths anyone may reach without signing in.
fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/login" | "/logout" | "/setup" | "/health" | "/metrics" | "/favicon.ico"
    ) || path.starts_with("/pkg/")
        || path.starts_with("/api/")
        || path.starts_with("/srv/")
        || path.starts_with("/l/")
        || path.starts_with("/u/")
        || path
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains('.'))
}

/// Resolves the request's session (`tower-sessions`, see `auth::sessions`) into a
/// [`SessionUser`] request extension, sends visitors to setup while there is no organisation,
/// and signed-out visitors of staff pages to sign-in.
pub async fn session(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let addr = client_addr(&state, &req);
    req.extensions_mut().insert(ClientAddr(addr));
    let user = match req.extensions().get::<Session>() {
        Some(session) => match sessions::user(session, state.clock.now()).await {
            Ok(user) => user,
            Err(err) => {
                tracing::error!(error = %err, "session lookup failed");
                return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response();
            }
        },
        None => None,
    };
    if let Some(user) = &user {
        req.extensions_mut().insert(user.clone());
    }
    let path = req.uri().path().to_string();
    let is_page = matches!(*req.method(), Method::GET | Method::HEAD) && !is_public(&path);
    if is_page || path == "/login" {
        match state.is_configured().await {
            Ok(false) => return Redirect::to("/setup").into_response(),
            Ok(true) => {}
            Err(err) => {
                tracing::error!(error = %err, "could not read organisations");
                return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response();
            }
        }
    }
    if path == "/setup" && *req.method() == Method::GET {
        match state.is_configured().await {
            Ok(true) => {
                return Redirect::to(if user.is_some() { "/" } else { "/login" }).into_response()
            }
            Ok(false) => {}
            Err(err) => {
                tracing::error!(error = %err, "could not read organisations");
                return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response();
            }
        }
    }
    if is_page && user.is_none() {
        let target = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let login = if target == "/" {
            "/login".to_string()
        } else {
            format!("/login?next={}", crate::components::urlencode(target))
        };
        return Redirect::to(&login).into_response();
    }
    next.run(req).await
}

/// The signed-in user of a request, if any.
pub fn current_user(parts: &axum::http::request::Parts) -> Option<SessionUser> {
    parts.extensions.get::<SessionUser>().cloned()
}

/// A path we may send the user back to after sign-in: one of this site's own, never another
/// origin. The path is resolved as a browser would resolve it (after refusing the whitespace,
/// control characters and backslashes browsers drop or turn into slashes: `/\t/evil.com` is
/// `//evil.com` to them), and kept only if it stays on this origin.
pub fn safe_next(next: Option<&str>) -> String {
    const ORIGIN: &str = "http://concierge.invalid";
    let home = || "/".to_string();
    let Some(n) = next else {
        return home();
    };
    if !n.starts_with('/')
        || n.len() > 2_000
        || n.chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return home();
    }
    let Ok(base) = url::Url::parse(ORIGIN) else {
        return home();
    };
    let Ok(resolved) = base.join(n) else {
        return home();
    };
    if resolved.origin() != base.origin() {
        return home();
    }
    let path = &resolved[url::Position::BeforePath..];
    if path.starts_with("//") || path.starts_with("/login") {
        return home();
    }
    path.to_string()
}

/// Server functions answer 500 when their arguments cannot be read (a missing or malformed
/// form field). That is the caller's mistake, not ours: answer 400 instead.
pub async fn server_fn_bad_input(req: Request, next: Next) -> Response {
    let is_server_fn = req.uri().path().starts_with("/srv/");
    let res = next.run(req).await;
    if !is_server_fn || res.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if bytes.starts_with(b"Args|") || bytes.starts_with(b"Deserialization|") {
        parts.status = StatusCode::BAD_REQUEST;
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::{forwarded_client, safe_next};
    use axum::http::{HeaderMap, HeaderValue};

    #[test]
    fn only_the_trusted_proxies_entries_count() {
        let mut headers = HeaderMap::new();
        // The client claims 192.0.2.66; the first proxy saw 203.0.113.9, the second the first.
        headers.append(
            "x-forwarded-for",
            HeaderValue::from_static("192.0.2.66, 203.0.113.9"),
        );
        headers.append("x-forwarded-for", HeaderValue::from_static("10.0.0.2"));
        let at = |hops| forwarded_client(&headers, hops);
        assert_eq!(at(0), None);
        assert_eq!(at(1).as_deref(), Some("10.0.0.2"));
        assert_eq!(at(2).as_deref(), Some("203.0.113.9"));
        assert_eq!(at(3).as_deref(), Some("192.0.2.66"));
        assert_eq!(at(9).as_deref(), Some("192.0.2.66"));
        assert_eq!(forwarded_client(&HeaderMap::new(), 1), None);
    }

    #[test]
    fn next_stays_on_this_site() {
        for (given, expected) in [
            (Some("/clients?q=ada#top"), "/clients?q=ada#top"),
            (Some("/campaigns/1/edit"), "/campaigns/1/edit"),
            (None, "/"),
            (Some("//evil.com"), "/"),
            (Some("/\t/evil.com"), "/"),
            (Some("/\n/evil.com"), "/"),
            (Some("/\\evil.com"), "/"),
            (Some("https://evil.com"), "/"),
            (Some("/%2F/evil.com"), "/%2F/evil.com"),
            (Some("/login?next=/x"), "/"),
            (Some("/./login"), "/"),
            (Some("/a/../../evil"), "/evil"),
            (Some("javascript:alert(1)"), "/"),
        ] {
            assert_eq!(safe_next(given), expected, "{given:?}");
        }
    }
}
