//! `concierge bench pages`: the portal and the API under load at the size of a large
//! organisation.
//!
//! 1. Generates the organisation ([`super::orgdata`]: bulk inserts, not timed) and refreshes
//!    the planner's statistics as housekeeping would.
//! 2. Starts the real server — this same binary, `concierge serve`, as a child process with
//!    the worker off — and signs `sessions` staff sessions in through the sign-in form.
//! 3. For each page in turn: a warm-up round, then `requests` requests from `sessions`
//!    concurrent clients (each its own session, pausing `think_ms` between its requests as a
//!    person reading would; 0 for none), each timed from sending to the last byte of the body. A page that takes longer than `seconds` stops early and says so.
//! 4. Prints p50 / p95 / p99, requests per second and size per page, and the server's peak
//!    resident memory (its `VmHWM`).

use super::orgdata::{self, RARE};
use super::setup;
use crate::server::services;
use chrono::Utc;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const EMAIL: &str = "bench@bench.test";
const PASSWORD: &str = "benchmark password 1";

/// The benchmark's knobs.
pub struct Options {
    pub clients: usize,
    pub dates: usize,
    pub deliveries: usize,
    pub sessions: usize,
    pub requests: usize,
    pub seconds: u64,
    /// Each session's pause between its requests (a person reading the page), in ms.
    pub think_ms: u64,
    pub database_url: Option<String>,
    /// Only pages whose label contains this.
    pub only: Option<String>,
}

/// A page to measure: what the report calls it, and its path.
struct Target {
    label: String,
    path: String,
    api: bool,
}

fn targets(data: &orgdata::OrgData) -> Vec<Target> {
    let page = |label: &str, path: String| Target {
        label: label.to_string(),
        path,
        api: false,
    };
    let api = |label: &str, path: &str| Target {
        label: label.to_string(),
        path: path.to_string(),
        api: true,
    };
    let mut out = vec![
        page("home", "/".into()),
        page("clients: first page", "/clients".into()),
        page("clients: page 50", "/clients?page=50".into()),
        // Halfway through 100,000 clients: how far a numbered page (OFFSET) still holds.
        page("clients: page 1000", "/clients?page=1000".into()),
        page("clients: search common", "/clients?q=smith".into()),
        page(
            "clients: search rare",
            format!("/clients?q={}", RARE.to_lowercase()),
        ),
        page("clients: segment", "/clients?segment=dormant".into()),
        page("clients: tag", "/clients?tag=golf".into()),
        page("client profile", format!("/clients/{}", data.busy_client)),
        page("calendar month", "/calendar".into()),
    ];
    for status in ["pending", "sent", "failed", "cancelled", "all"] {
        out.push(page(
            &format!("reminders: {status}"),
            format!("/reminders?status={status}"),
        ));
    }
    // Deep in the long lists (found by key: the key before the page, then the page).
    out.push(page(
        "reminders: all, page 1000",
        "/reminders?status=all&page=1000".into(),
    ));
    for status in [
        "all",
        "pending",
        "sent",
        "delivered",
        "failed",
        "suppressed",
        "cancelled",
    ] {
        out.push(page(
            &format!("messages: {status}"),
            format!("/messages?status={status}"),
        ));
    }
    out.extend([
        page(
            "messages: all, page 1000",
            "/messages?status=all&page=1000".into(),
        ),
        page("messages: sms", "/messages?status=all&channel=sms".into()),
        page(
            "messages: engagement",
            "/messages?status=all&kind=engagement".into(),
        ),
        page("conversations", "/conversations".into()),
        page("conversations: page 100", "/conversations?page=100".into()),
        page(
            "conversation",
            format!("/conversations/{}", data.conversation),
        ),
        page("projects", "/projects".into()),
        page("project", format!("/projects/{}", data.project)),
        page("vendors", "/vendors".into()),
        page("engagement", "/engagement".into()),
        api("api: persons", "/api/v1/persons"),
        api("api: persons search", "/api/v1/persons?q=smith"),
        api("api: deliveries", "/api/v1/deliveries"),
        api("api: reminders", "/api/v1/reminders"),
        api("api: projects", "/api/v1/projects"),
        api("api: conversations", "/api/v1/conversations"),
    ]);
    out
}

/// The server as a child process, stopped on drop.
struct Server {
    child: Child,
}

impl Server {
    /// A figure of its `/proc/<pid>/status` in MB (NaN if it cannot be read).
    fn status_mb(&self, field: &str) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|status| super::status_mb(&status, field))
            .unwrap_or(f64::NAN)
    }

    /// Its resident memory now and at its peak (`VmRSS`, `VmHWM`), in MB.
    fn rss_mb(&self) -> (f64, f64) {
        (self.status_mb("VmRSS"), self.status_mb("VmHWM"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// What one page measured.
struct Measured {
    times_ms: Vec<f64>,
    wall: Duration,
    bytes: usize,
    errors: usize,
    first_error: Option<String>,
    requested: usize,
}

async fn fetch(
    client: &reqwest::Client,
    url: &str,
    auth: &(&'static str, String),
) -> Result<usize, String> {
    let res = client
        .get(url)
        .header(auth.0, &auth.1)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = res.status();
    let encoding = res
        .headers()
        .get(reqwest::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = res.bytes().await.map_err(|e| e.to_string())?;
    if status.is_success() {
        Ok(body.len())
    } else {
        let body = decoded(encoding.as_deref(), &body);
        Err(format!(
            "{status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        ))
    }
}

/// An error's body as text, for the report.
fn decoded(encoding: Option<&str>, body: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    let read = match encoding {
        Some("br") => brotli::Decompressor::new(body, 4096).read_to_end(&mut out),
        Some("gzip") => flate2::read::GzDecoder::new(body).read_to_end(&mut out),
        _ => return body.to_vec(),
    };
    match read {
        Ok(_) => out,
        Err(_) => body.to_vec(),
    }
}

async fn measure(
    client: &reqwest::Client,
    url: &str,
    auths: &[(&'static str, String)],
    requests: usize,
    budget: Duration,
    think: Duration,
) -> Measured {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + budget;
    let mut tasks = tokio::task::JoinSet::new();
    for auth in auths {
        let (client, url, next, auth) =
            (client.clone(), url.to_string(), next.clone(), auth.clone());
        tasks.spawn(async move {
            let mut out = (Vec::new(), 0usize, 0usize, None::<String>);
            // People do not all press Enter at the same instant: each session starts somewhere
            // in the first pause (without this, the first round is one burst of every session).
            if !think.is_zero() {
                tokio::time::sleep(think.mul_f64(rand::random::<f64>())).await;
            }
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < requests
                && Instant::now() < deadline
            {
                let t = Instant::now();
                match fetch(&client, &url, &auth).await {
                    Ok(n) => {
                        out.0.push(t.elapsed().as_secs_f64() * 1000.0);
                        out.1 = n;
                    }
                    Err(e) => {
                        out.2 += 1;
                        out.3.get_or_insert(e);
                    }
                }
                if !think.is_zero() {
                    // Between half and one and a half times the pause, so sessions drift apart.
                    let jitter = rand::random::<f64>() + 0.5;
                    tokio::time::sleep(think.mul_f64(jitter)).await;
                }
            }
            out
        });
    }
    let mut m = Measured {
        times_ms: Vec::new(),
        wall: Duration::ZERO,
        bytes: 0,
        errors: 0,
        first_error: None,
        requested: requests,
    };
    while let Some(done) = tasks.join_next().await {
        if let Ok((times, bytes, errors, first)) = done {
            m.times_ms.extend(times);
            m.bytes = m.bytes.max(bytes);
            m.errors += errors;
            m.first_error = m.first_error.or(first);
        }
    }
    m.wall = started.elapsed();
    m.times_ms.sort_by(|a, b| a.total_cmp(b));
    m
}

/// Generates the organisation, starts the server and measures every page.
pub async fn run(opts: Options) -> anyhow::Result<()> {
    let explain = |e: crate::server::error::ServiceError| anyhow::anyhow!("{e}");
    let (state, dir) = setup(opts.database_url.clone()).await?;
    let database_url = state.config.database_url.clone();
    let (org, staff_id) =
        services::auth::create_admin(&state, "bench", EMAIL, PASSWORD, Some("Benchmark"))
            .await
            .map_err(explain)?;
    let (_, api_key) = services::api_keys::create(&state, "bench", "benchmark")
        .await
        .map_err(explain)?;
    println!(
        "pages: generating {} clients, {} dates and {} deliveries ({} database)…",
        opts.clients,
        opts.dates,
        opts.deliveries,
        state.db.backend()
    );
    let generating = Instant::now();
    let data = orgdata::generate(
        &state.db,
        org.id,
        staff_id,
        opts.clients,
        opts.dates,
        opts.deliveries,
        Utc::now(),
    )
    .await?;
    // Statistics for the planner, as housekeeping keeps them (here all at once, after the
    // bulk load; PostgreSQL also clears the load's row versions as autovacuum would).
    let analyze = match state.db {
        crate::server::db::Db::Postgres(_) => "VACUUM ANALYZE",
        crate::server::db::Db::Sqlite(_) => "ANALYZE",
    };
    crate::on_db!(&state.db, pool => sqlx::query(analyze).execute(pool).await.map(|_| ()))?;
    println!(
        "pages: generated in {:.1} s (not measured)",
        generating.elapsed().as_secs_f64()
    );
    state.db.close().await;

    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let log = std::fs::File::create(format!("{}/server.log", dir.path()))?;
    let server = Server {
        child: Command::new(std::env::current_exe()?)
            .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
            .env("DATABASE_URL", &database_url)
            .env("CONCIERGE_WORKER", "false")
            .env("ENGAGEMENT_INTERVAL_MINUTES", "0")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?,
    };
    // Asking for compressed answers, as browsers do (the size reported is what went over the
    // wire; the body is not decoded).
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::ACCEPT_ENCODING,
        reqwest::header::HeaderValue::from_static("gzip, deflate, br, zstd"),
    );
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(opts.sessions * 2)
        .timeout(Duration::from_secs(120))
        .build()?;
    let ready = Instant::now();
    while client
        .get(format!("{base}/health"))
        .send()
        .await
        .map(|r| !r.status().is_success())
        .unwrap_or(true)
    {
        if ready.elapsed() > Duration::from_secs(60) {
            anyhow::bail!(
                "the server did not answer /health within 60 s (see {}/server.log)",
                dir.path()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut sessions = Vec::with_capacity(opts.sessions);
    for _ in 0..opts.sessions.max(1) {
        let res = client
            .post(format!("{base}/login"))
            .form(&[("email", EMAIL), ("password", PASSWORD)])
            .send()
            .await?;
        let cookie = res
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.contains("concierge_session="))
            .and_then(|v| v.split(';').next())
            .map(str::to_string)
            .ok_or_else(|| anyhow::anyhow!("signing in gave no session ({})", res.status()))?;
        sessions.push(("cookie", cookie));
    }
    let keys: Vec<(&'static str, String)> = (0..sessions.len())
        .map(|_| ("authorization", format!("Bearer {api_key}")))
        .collect();
    println!(
        "pages: {} concurrent sessions pausing {} ms between requests, {} requests per page after a warm-up round ({} database)",
        sessions.len(),
        opts.think_ms,
        opts.requests,
        state.db.backend()
    );
    let (now, peak) = server.rss_mb();
    println!(
        "pages: server RSS {now:.0} MB after start-up and sign-in, {:.0} MB of it files such as its own code (peak so far {peak:.0} MB)",
        server.status_mb("RssFile")
    );
    // The last column is the server's peak RSS once the page is done: where it grows is the
    // page that took it there.
    println!(
        "{:<26} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}  errors",
        "page", "p50 ms", "p95 ms", "p99 ms", "req/s", "KB", "peak MB"
    );
    let budget = Duration::from_secs(opts.seconds);
    let mut worst: Option<(String, f64)> = None;
    for t in targets(&data) {
        if opts
            .only
            .as_ref()
            .is_some_and(|o| !t.label.contains(o.as_str()))
        {
            continue;
        }
        let auths = if t.api { &keys } else { &sessions };
        let url = format!("{base}{}", t.path);
        measure(&client, &url, auths, auths.len(), budget, Duration::ZERO).await;
        let think = Duration::from_millis(opts.think_ms);
        let m = measure(&client, &url, auths, opts.requests, budget, think).await;
        let p = |q: f64| super::percentile(&m.times_ms, q);
        let done = m.times_ms.len();
        println!(
            "{:<26} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>8.0}  {}{}",
            t.label,
            p(0.50),
            p(0.95),
            p(0.99),
            done as f64 / m.wall.as_secs_f64(),
            m.bytes as f64 / 1024.0,
            server.rss_mb().1,
            m.errors,
            match (&m.first_error, done + m.errors < m.requested) {
                (Some(e), _) => format!(" (first: {e})"),
                (None, true) => format!(" (stopped after {} s: {done} done)", opts.seconds),
                _ => String::new(),
            }
        );
        if worst.as_ref().is_none_or(|(_, w)| p(0.95) > *w) {
            worst = Some((t.label.clone(), p(0.95)));
        }
    }
    if let Some((label, p95)) = worst {
        println!("pages: slowest p95 {p95:.1} ms ({label})");
    }
    let (now, peak) = server.rss_mb();
    println!("pages: server peak RSS {peak:.0} MB (now {now:.0} MB)");
    drop(server);
    Ok(())
}
