//! Builds the whole HTTP application: the Leptos pages and server functions, the JSON API,
//! sign-in and sign-out, `/health`, and the middleware in front of them all.

use super::assets::Assets;
use super::auth::guard::{self, ClientAddr};
use super::error::ServiceError;
use super::services::auth as auth_service;
use super::{AppState, Clock, Config};
use crate::app::{shell, App};
use crate::server::db::Db;
use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::{Extension, Json, Router};
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use tower_http::compression::CompressionLayer;
use tower_sessions::Session;

/// The pages name the built assets under `pkg/<version>/` (see `server::assets`).
fn leptos_options(config: &Config, assets: &Assets) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("concierge")
        .site_root(config.site_root.to_string_lossy().to_string())
        .site_pkg_dir(format!("pkg/{}", assets.version()))
        .site_addr(config.addr)
        .build()
}

/// The portal's routes, generated once per process. Generating them renders the app with
/// resource loading switched off through a process-wide flag (`leptos_server`'s
/// `SuppressResourceLoad`): done again while another server in the process renders a page,
/// that page's resources would wait forever.
fn routes() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// The application with all its routes and middleware, over an opened and migrated database.
pub fn build_router(state: AppState) -> Router {
    let routes = routes();
    let ctx_state = state.clone();
    let context = move || provide_context(ctx_state.clone());
    let options = state.leptos_options.clone();
    Router::new()
        .route("/health", get(health))
        .route("/pkg/{*path}", get(super::assets::serve))
        .route("/metrics", get(super::metrics::render))
        .route("/calendar/{file}", get(calendar_feed))
        .route("/clients/export.csv", get(export_clients))
        .route("/campaigns/{id}/results.csv", get(campaign_results))
        .route("/login", post(sign_in))
        .route("/logout", post(sign_out))
        .route("/api/docs", get(super::rest::reference::page))
        .nest("/api/v1", super::rest::with_layers(state.clone()))
        .merge(super::links::pages::router())
        .leptos_routes_with_context(&state, routes, context.clone(), move || {
            shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, shell))
        .layer(from_fn(guard::server_fn_bad_input))
        .layer(from_fn_with_state(state.clone(), super::ratelimit::portal))
        .layer(from_fn_with_state(state.clone(), guard::session))
        .layer(super::auth::sessions::layer(
            state.db.clone(),
            state.clock.clone(),
            &state.config,
        ))
        .layer(from_fn_with_state(state.clone(), guard::origin_guard))
        .layer(from_fn_with_state(state.clone(), guard::security_headers))
        .layer(from_fn(guard::correlation))
        .layer(from_fn_with_state(state.clone(), deadline))
        .layer(from_fn_with_state(state.clone(), super::metrics::track))
        // Outermost: gzip for pages, JSON and any asset not yet compressed.
        .layer(compression())
        .with_state(state)
}

/// Answers 503 a request that takes longer than `REQUEST_TIMEOUT_SECONDS` (the handler is
/// dropped, which rolls back any unit of work it had begun): problem+json on the API, a short
/// page elsewhere, with `Retry-After`.
async fn deadline(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let api = req.uri().path().starts_with("/api/");
    match tokio::time::timeout(state.config.request_timeout, next.run(req)).await {
        Ok(res) => res,
        Err(_) => {
            tracing::warn!(
                seconds = state.config.request_timeout.as_secs_f64(),
                "a request took too long and was answered 503"
            );
            let detail = "the request took too long; try again shortly";
            let mut res = if api {
                super::rest::ApiError::new(StatusCode::SERVICE_UNAVAILABLE, detail).into_response()
            } else {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Html("<!doctype html><title>Try again shortly</title><p>Concierge could not answer in time. Try again in a moment.</p>"),
                )
                    .into_response()
            };
            res.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(super::error::UNAVAILABLE_RETRY_SECONDS),
            );
            res
        }
    }
}

/// Compression of every response made per request: gzip at level 4. Not brotli: its encoder
/// holds about 10 MB for each response it compresses (its window and hash tables), so 50 people
/// reading pages at once took the server from 120 to 760 MB, where gzip's holds a few hundred
/// KB and is as quick at this level; and the crates' default level for brotli is its slowest,
/// 11, meant for files compressed once. The built assets are compressed once, with brotli at
/// its best, by `assets`, and sent as such.
fn compression() -> CompressionLayer {
    CompressionLayer::new()
        .no_br()
        .quality(tower_http::CompressionLevel::Precise(4))
}

/// The client directory as CSV, for a signed-in staff member.
async fn export_clients(
    State(state): State<AppState>,
    request: axum::extract::Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let Some(user) = guard::current_user(&parts) else {
        return (StatusCode::UNAUTHORIZED, "Sign in to export clients.").into_response();
    };
    let actor = crate::server::auth::Actor::Staff(user);
    match crate::server::services::persons::export_csv(&state, &actor).await {
        Ok(csv) => {
            let date = state.clock.now().format("%Y-%m-%d");
            csv_attachment(&format!("clients-{date}.csv"), csv)
        }
        Err(err) => crate::server::rest::ApiError::from(err).into_response(),
    }
}

/// A CSV file to download as `filename`.
pub(crate) fn csv_attachment(filename: &str, body: String) -> Response {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            // Personal data: kept by no cache on the way.
            (axum::http::header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response()
}

/// A campaign's results per arm as CSV, for a signed-in staff member.
async fn campaign_results(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    request: axum::extract::Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let Some(user) = guard::current_user(&parts) else {
        return (StatusCode::UNAUTHORIZED, "Sign in to download results.").into_response();
    };
    let actor = crate::server::auth::Actor::Staff(user);
    let Ok(id) = uuid::Uuid::parse_str(&id) else {
        return (StatusCode::NOT_FOUND, "There is no such campaign.").into_response();
    };
    match crate::server::services::campaigns::stats_csv(&state, &actor, id).await {
        Ok(csv) => csv_attachment(&format!("campaign-{id}-results.csv"), csv),
        Err(err) => crate::server::rest::ApiError::from(err).into_response(),
    }
}

/// A staff member's private iCalendar feed, `/calendar/<token>.ics`.
async fn calendar_feed(
    State(state): State<AppState>,
    axum::extract::Path(file): axum::extract::Path<String>,
) -> Response {
    let secret = file.strip_suffix(".ics").unwrap_or(&file);
    match crate::server::services::calendar::feed(&state, secret).await {
        Ok(body) => (
            [
                (
                    axum::http::header::CONTENT_TYPE,
                    "text/calendar; charset=utf-8",
                ),
                (axum::http::header::CACHE_CONTROL, "private, max-age=300"),
            ],
            body,
        )
            .into_response(),
        Err(crate::server::error::ServiceError::NotFound) => (
            StatusCode::NOT_FOUND,
            "There is no calendar feed at this address.",
        )
            .into_response(),
        Err(err) => crate::server::rest::ApiError::from(err).into_response(),
    }
}

async fn health(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => Json(serde_json::json!({
            "status": "ok",
            "database": state.db.backend(),
            "time": state.clock.now(),
        }))
        .into_response(),
        Err(err) => {
            tracing::error!(error = %err, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(
                    serde_json::json!({ "status": "unavailable", "database": state.db.backend() }),
                ),
            )
                .into_response()
        }
    }
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

/// `POST /login` from the sign-in form: a new session (never the old one) and back to where
/// the visitor was going; a wrong password returns to the form; too many tries answer 429.
async fn sign_in(
    State(state): State<AppState>,
    Extension(ClientAddr(address)): Extension<ClientAddr>,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let next = guard::safe_next(form.next.as_deref());
    let request = auth_service::SignInRequest {
        email: &form.email,
        password: &form.password,
        address: &address,
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
    };
    match auth_service::sign_in(&state, &session, request).await {
        Ok(user) => {
            tracing::info!(staff = %user.staff_id, "signed in");
            Redirect::to(&next).into_response()
        }
        Err(ServiceError::Unauthorized) => {
            let target = format!(
                "/login?error=invalid&email={}&next={}",
                crate::components::urlencode(form.email.trim()),
                crate::components::urlencode(&next)
            );
            Redirect::to(&target).into_response()
        }
        Err(ServiceError::TooManyRequests { retry_after }) => {
            let minutes = retry_after.div_ceil(60);
            let body = format!(
                "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Too many attempts · Concierge</title>\
                 <link rel=\"stylesheet\" href=\"/pkg/concierge.css\"></head><body><main class=\"auth-card\">\
                 <h1>Too many sign-in attempts</h1><p>For your account's safety, please wait about {minutes} minute(s) \
                 and then <a href=\"/login\">try again</a>.</p></main></body></html>"
            );
            let mut res = (StatusCode::TOO_MANY_REQUESTS, Html(body)).into_response();
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            res
        }
        Err(err) => {
            tracing::error!(error = %err, "sign-in failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "sign-in is unavailable; it has been logged",
            )
                .into_response()
        }
    }
}

async fn sign_out(session: Session) -> Response {
    if let Err(err) = auth_service::sign_out(&session).await {
        tracing::error!(error = %err, "sign-out failed");
    }
    Redirect::to("/login").into_response()
}

/// A server listening on its address, and the handle to stop it.
pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    pub task: tokio::task::JoinHandle<()>,
    /// The background worker, when this process runs one.
    pub worker: Option<super::worker::WorkerHandle>,
}

impl Running {
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(worker) = self.worker.take() {
            worker.shutdown().await;
        }
        let _ = self.task.await;
        self.state.db.close().await;
    }
}

/// Opens and migrates the database, binds `config.addr` (port 0 picks a free port) and serves
/// in a background task.
pub async fn spawn(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Running> {
    let db = Db::connect(&config.database_url).await?;
    db.migrate().await?;
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    let addr = listener.local_addr()?;
    let mut config = config;
    config.addr = addr;
    let assets = Assets::load(&config.site_root.join("pkg"))?;
    let options = leptos_options(&config, &assets);
    let mut state = AppState::new(db, clock, config, options)?;
    seal_stored_secrets(&state).await;
    // The numbering plans load on first use (most of a second): not on a request's time.
    tokio::task::spawn_blocking(|| crate::domain::PhoneNumber::parse("+14155550123").ok());
    state.assets = Arc::new(assets);
    if !state.is_configured().await? {
        let code = auth_service::setup_code(&state)
            .await
            .map_err(|e| anyhow::anyhow!("could not make the setup code: {e}"))?;
        tracing::warn!(
            setup_code = %code,
            "Concierge is not set up yet: open /setup in a browser (from anywhere but this machine, enter the setup code {code})"
        );
    }
    let app = build_router(state.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let worker = state
        .config
        .run_worker
        .then(|| super::worker::spawn(&state));
    // Every response goes out as soon as it is written: with Nagle's algorithm on, a response
    // written in two parts (head, then body) waited for the client's delayed ACK — a flat
    // 40 ms added to most pages.
    let listener = listener.tap_io(|tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(error = %err, "could not set TCP_NODELAY on a connection");
        }
    });
    let task = tokio::spawn(async move {
        let server = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = rx.await;
        });
        if let Err(err) = server.await {
            tracing::error!(error = %err, "server stopped with an error");
        }
    });
    Ok(Running {
        addr,
        state,
        shutdown: Some(tx),
        task,
        worker,
    })
}

/// Seals the stored secrets that are not yet sealed with the installation's current key (those
/// stored before sealing existed); a secret that cannot be opened is left, and said.
pub async fn seal_stored_secrets(state: &AppState) {
    match crate::server::db::secrets::reseal_all(&state.db, &state.keys).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            rows = n,
            "sealed stored secrets with the installation's key"
        ),
        Err(err) => tracing::warn!(error = %err, "could not seal the stored secrets"),
    }
}
