//! Faults under a running worker: channel settings that cannot be read (nothing may then be
//! "sent" to the log), and PostgreSQL going away for ten seconds in the middle of a batch of
//! sends — a TCP proxy between the real `concierge worker` binary and the database, cut and
//! restored — after which every message has arrived exactly once and is recorded sent.

use crate::both_backends;
use crate::common::{postgres_url, spawn_app_with, Api, Backend, TEST_LIMIT};
use crate::delivery::{configure_webhook, person, verify_signature, wait_status, worker_app};
use crate::fakes::{CutProxy, FakeHttp, Reply};
use chrono::Duration as Span;
use serde_json::json;
use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::Duration;

async fn unreadable_settings_never_send_to_the_log(backend: Backend) {
    let app = worker_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let hook = FakeHttp::start().await;
    configure_webhook(&app, &hook.url).await;
    let p = person(
        &api,
        json!({ "full_name": "Faulty Settings", "timezone": "UTC" }),
    )
    .await;
    // The stored settings stop making sense (as a read that fails would look).
    let sql = "UPDATE channel_settings SET config = '[1]'";
    concierge::on_db!(&app.state().db, pool => sqlx::query(sql).execute(pool).await.map(|_| ()))
        .unwrap();
    let (status, d) = api
        .post(
            "/send-utility",
            json!({ "person_id": p, "channel": "webhook", "body": "Your table is ready" }),
        )
        .await;
    assert_eq!(status, 202, "{d}");
    let id = d["id"].as_str().unwrap().to_string();
    // The worker defers it: pending, its attempt given back, never sent to the log.
    let mut deferred = json!(null);
    for _ in 0..200 {
        let (_, d) = api.get(&format!("/deliveries/{id}")).await;
        let events: Vec<String> = d["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["event"].as_str().unwrap().to_string())
            .collect();
        // The delivery and its events are two reads: wait until both show the deferral.
        if events.contains(&"deferred".to_string()) && d["status"] != "sending" {
            deferred = d;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(deferred["status"], "pending", "{deferred}");
    assert_eq!(deferred["attempts"], 0, "{deferred}");
    assert!(deferred["transport"].is_null(), "{deferred}");
    assert!(
        deferred["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("channel settings could not be read"),
        "{deferred}"
    );
    assert!(hook.requests().is_empty());

    // Readable again: it goes through the webhook, not the log.
    let sql = "DELETE FROM channel_settings";
    concierge::on_db!(&app.state().db, pool => sqlx::query(sql).execute(pool).await.map(|_| ()))
        .unwrap();
    configure_webhook(&app, &hook.url).await;
    app.clock.advance(Span::seconds(10));
    app.state().wake.notify_one();
    let d = wait_status(&api, &id, &["sent"]).await;
    assert_eq!(d["transport"], "webhook", "{d}");
    assert_eq!(hook.wait_for(1, 10).await.len(), 1);
    app.finish().await;
}
both_backends!(unreadable_settings_never_send_to_the_log);

/// The database URL with its host and port replaced by the proxy's.
fn through(url: &str, port: u16) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap();
    let userinfo = authority
        .rsplit_once('@')
        .map(|(u, _)| format!("{u}@"))
        .unwrap_or_default();
    format!("{scheme}://{userinfo}127.0.0.1:{port}/{path}")
}

fn target(url: &str) -> std::net::SocketAddr {
    let rest = url.split_once("://").unwrap().1;
    let authority = rest.split('/').next().unwrap();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:5432")
    };
    use std::net::ToSocketAddrs;
    host.to_socket_addrs().unwrap().next().unwrap()
}

#[tokio::test]
async fn database_cut_mid_batch_each_message_once() {
    if postgres_url().is_none() {
        eprintln!("TEST_POSTGRES_URL is not set: the PostgreSQL outage test cannot run here");
        return;
    }
    tokio::time::timeout(TEST_LIMIT, database_cut(300, 40))
        .await
        .expect("the test did not finish in time");
}

async fn database_cut(total: usize, cut_after: usize) {
    let app = spawn_app_with(Backend::Postgres, |c| c.delivery.allow_loopback = true).await;
    let api = Api::setup(&app, "acme").await;
    let hook = FakeHttp::start().await;
    hook.default_reply(Reply {
        status: 200,
        body: "{}".into(),
        delay: Duration::from_millis(40),
    });
    configure_webhook(&app, &hook.url).await;
    let p = person(
        &api,
        json!({ "full_name": "Outage Test", "timezone": "UTC" }),
    )
    .await;
    for n in 0..total {
        let (status, d) = api
            .post(
                "/send-utility",
                json!({ "person_id": p, "channel": "webhook", "body": format!("message {n}") }),
            )
            .await;
        assert_eq!(status, 202, "{d}");
    }
    let url = app.state().config.database_url.clone();
    let proxy = CutProxy::start(target(&url)).await;
    let mut worker = Command::new(env!("CARGO_BIN_EXE_concierge"))
        .arg("worker")
        .env("DATABASE_URL", through(&url, proxy.port))
        .env("CONCIERGE_ALLOW_LOOPBACK", "1")
        // Shorter than the outage: leases run out in the database's eyes meanwhile.
        .env("DELIVERY_LEASE_SECONDS", "3")
        .env("DELIVERY_CONCURRENCY", "8")
        .env("DELIVERY_TIMEOUT_SECONDS", "10")
        .env("WORKER_POLL_MILLISECONDS", "50")
        .env(
            "RUST_LOG",
            std::env::var("WORKER_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::null())
        .stderr(if std::env::var("WORKER_LOG").is_ok() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .spawn()
        .expect("start concierge worker");

    hook.wait_for(cut_after, 60).await;
    proxy.cut();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let during = hook.requests().len();
    proxy.restore();
    assert!(
        during < total,
        "the outage came in the middle of the batch ({during} of {total} had arrived)"
    );

    // Every delivery ends up sent, in the database the product sees.
    let count = "SELECT COUNT(*) FROM deliveries WHERE status = 'sent'";
    let mut sent: i64 = 0;
    for _ in 0..600 {
        sent = concierge::on_db!(&app.state().db, pool => sqlx::query_scalar(count).fetch_one(pool).await)
            .unwrap();
        if sent == total as i64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sent, total as i64, "every message is recorded sent");

    // … and arrived exactly once.
    let requests = hook.requests();
    let mut per_id: HashMap<String, usize> = HashMap::new();
    for r in &requests {
        verify_signature(r);
        *per_id.entry(r.header("webhook-id").unwrap()).or_default() += 1;
    }
    let twice: Vec<_> = per_id.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");
    assert_eq!(per_id.len(), total);
    assert_eq!(requests.len(), total);
    let (_, list) = api.get("/deliveries?limit=5&status=failed").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "{list}");

    let _ = Command::new("kill")
        .args(["-TERM", &worker.id().to_string()])
        .status();
    for _ in 0..300 {
        if let Some(status) = worker.try_wait().unwrap() {
            assert!(status.success(), "the worker exits cleanly: {status}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = worker.kill();
    app.finish().await;
}

#[tokio::test]
async fn pages_and_api_while_the_database_is_away() {
    if postgres_url().is_none() {
        eprintln!("TEST_POSTGRES_URL is not set: the PostgreSQL outage test cannot run here");
        return;
    }
    tokio::time::timeout(TEST_LIMIT, database_away())
        .await
        .expect("the test did not finish in time");
}

/// PostgreSQL goes away for a while in the middle of page and API traffic: every request
/// answers 503 quickly (problem+json on the API, with `Retry-After`), `/health` says so, and
/// afterwards everything works again without a restart.
async fn database_away() {
    let proxy = CutProxy::start(target(&postgres_url().unwrap())).await;
    let port = proxy.port;
    let app = spawn_app_with(Backend::Postgres, |c| {
        c.database_url = through(&c.database_url, port);
        c.request_timeout = Duration::from_secs(8);
    })
    .await;
    let api = Api::setup(&app, "acme").await;
    let session = app.session("admin@acme.test").await;
    let p = person(&api, json!({ "full_name": "Ada Lovelace" })).await;
    let client_page = format!("/clients/{p}");
    assert_eq!(app.get_with(&client_page, &session).await.status(), 200);

    proxy.cut();
    let away = std::time::Instant::now();
    while away.elapsed() < Duration::from_secs(12) {
        let started = std::time::Instant::now();
        let (status, body, headers) = api
            .send(reqwest::Method::GET, &format!("/persons/{p}"), None)
            .await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(
            headers["content-type"], "application/problem+json",
            "{body}"
        );
        assert!(headers.contains_key("retry-after"));
        assert_eq!(body["status"], 503, "{body}");
        let (status, body) = api
            .post(
                "/persons",
                json!({ "full_name": "Written During The Outage" }),
            )
            .await;
        assert_eq!(status, 503, "{body}");
        let page = app.get_with(&client_page, &session).await;
        assert_eq!(page.status(), 503);
        let health = app.client.get(app.url("/health")).send().await.unwrap();
        assert_eq!(health.status(), 503);
        let health: serde_json::Value = health.json().await.unwrap();
        assert_eq!(health["status"], "unavailable");
        assert!(
            started.elapsed() < Duration::from_secs(25),
            "four requests answered in {:?}",
            started.elapsed()
        );
    }
    proxy.restore();

    // Back without a restart: the same requests succeed, and nothing was half-written.
    let mut back = false;
    for _ in 0..100 {
        if api.get(&format!("/persons/{p}")).await.0 == 200 {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(back, "the API answers again");
    assert_eq!(app.get_with(&client_page, &session).await.status(), 200);
    let health = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let (_, list) = api.get("/persons?q=outage").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "{list}");
    app.finish().await;
}
