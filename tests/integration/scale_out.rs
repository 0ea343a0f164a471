//! The scale-out path: two web processes (`concierge serve` with the worker off) and two
//! `concierge worker` processes — the real binaries — on one PostgreSQL database, as behind any
//! HTTP load balancer. Page traffic and a stream of reminders and utility messages go to both
//! web processes at once; every delivery is sent, and sent once (a repeat would carry the same
//! idempotency key); a session made on one web process is good on the other; sign-in failures
//! count across both; housekeeping and the scheduled engagement run happen once per interval.

use crate::common::{postgres_url, session_cookie, spawn_app_with, Api, Backend, PASSWORD};
use crate::delivery::{configure_webhook, person};
use crate::fakes::FakeHttp;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A child process killed when the test ends, however it ends.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn concierge(database_url: &str, args: &[&str], worker: bool) -> Process {
    let log = std::env::var("SCALE_LOG").ok();
    let child = Command::new(env!("CARGO_BIN_EXE_concierge"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("CONCIERGE_WORKER", if worker { "1" } else { "0" })
        .env("CONCIERGE_ALLOW_LOOPBACK", "1")
        .env("CONCIERGE_TRUST_PROXY", "1")
        .env("WORKER_POLL_MILLISECONDS", "50")
        .env("ENGAGEMENT_INTERVAL_MINUTES", "60")
        .env("RUST_LOG", log.clone().unwrap_or_else(|| "warn".into()))
        .stdout(Stdio::null())
        .stderr(if log.is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .spawn()
        .expect("start concierge");
    Process(child)
}

/// A web process on a free port, once it answers `/health`.
async fn web(database_url: &str) -> (Process, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let process = concierge(database_url, &["serve", "--addr", &addr], false);
    let base = format!("http://{addr}");
    for _ in 0..300 {
        if let Ok(res) = reqwest::get(format!("{base}/health")).await {
            if res.status().is_success() {
                return (process, base);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the web process at {base} did not start");
}

#[tokio::test]
async fn two_web_and_two_worker_processes_on_one_postgres() {
    if postgres_url().is_none() {
        eprintln!("TEST_POSTGRES_URL is not set: the scale-out test needs PostgreSQL");
        return;
    }
    tokio::time::timeout(Duration::from_secs(240), scale_out())
        .await
        .expect("the scale-out test did not finish in time");
}

async fn scale_out() {
    // The in-process app makes the database, the organisation and its key; the binaries do
    // the rest.
    let app = spawn_app_with(Backend::Postgres, |c| c.delivery.allow_loopback = true).await;
    let api = Api::setup(&app, "acme").await;
    let hook = FakeHttp::start().await;
    configure_webhook(&app, &hook.url).await;
    let client_id = person(&api, json!({ "full_name": "Scale Out", "timezone": "UTC" })).await;
    let url = app.state().config.database_url.clone();
    let (_web_a, a) = web(&url).await;
    let (_web_b, b) = web(&url).await;
    let bases = [a, b];
    let _workers = [
        concierge(&url, &["worker"], true),
        concierge(&url, &["worker"], true),
    ];
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // Sign-in failures count across both web processes.
    let attempt = |n: usize, password: &'static str| {
        http.post(format!("{}/login", bases[n % 2]))
            .header("x-forwarded-for", "203.0.113.50")
            .form(&[("email", "admin@acme.test"), ("password", password)])
            .send()
    };
    for n in 0..5 {
        assert_eq!(attempt(n, "not the password").await.unwrap().status(), 303);
    }
    for n in 0..2 {
        assert_eq!(
            attempt(n, PASSWORD).await.unwrap().status(),
            429,
            "locked on web {n}"
        );
    }
    // A session from one web process is good on the other.
    let res = http
        .post(format!("{}/login", bases[0]))
        .form(&[("email", "admin@acme.test"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let session = session_cookie(res.headers()).expect("a session");

    // Page traffic on both web processes while the messages flow.
    let pages = {
        let (http, bases, session) = (http.clone(), bases.clone(), session.clone());
        tokio::spawn(async move {
            let mut served = 0;
            for round in 0..12 {
                for path in ["/", "/clients", "/reminders", "/messages", "/calendar"] {
                    let res = http
                        .get(format!("{}{path}", bases[round % 2]))
                        .header("cookie", format!("concierge_session={session}"))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(res.status(), 200, "{path} on web {}", round % 2);
                    served += 1;
                }
            }
            served
        })
    };

    // Reminders due a few seconds from now (the binaries' clock is the real one) and utility
    // messages, half through each web process.
    let post = |n: usize, path: &str, body: Value| {
        http.post(format!("{}/api/v1{path}", bases[n % 2]))
            .bearer_auth(&api.key)
            .json(&body)
            .send()
    };
    let soon = chrono::Utc::now() + chrono::Duration::seconds(4);
    for n in 0..20 {
        let at = (soon + chrono::Duration::milliseconds(100 * n as i64)).to_rfc3339();
        let res = post(
            n,
            "/reminders",
            json!({ "person_id": client_id, "reminder_type": "scheduled", "channel": "webhook",
                    "scheduled_datetime": at, "audience": "client", "message": format!("reminder {n}") }),
        )
        .await
        .unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    }
    for n in 0..30 {
        let res = post(
            n,
            "/send-utility",
            json!({ "person_id": client_id, "channel": "webhook", "body": format!("utility {n}") }),
        )
        .await
        .unwrap();
        assert_eq!(res.status(), 202, "{}", res.text().await.unwrap());
    }
    assert_eq!(pages.await.unwrap(), 60, "every page answered");

    // Every delivery sent, each to the webhook once.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let deliveries = loop {
        let (status, list) = api.get("/deliveries?limit=200").await;
        assert_eq!(status, 200);
        let items = list["items"].as_array().unwrap().clone();
        let sent = items.iter().filter(|d| d["status"] == "sent").count();
        if items.len() == 50 && sent == 50 {
            break items;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} deliveries, {sent} sent: {list}",
            items.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let mut by_key: HashMap<String, usize> = HashMap::new();
    for request in hook.requests() {
        *by_key
            .entry(request.header("webhook-id").expect("an id"))
            .or_default() += 1;
    }
    assert_eq!(
        by_key.len(),
        50,
        "each delivery reached the webhook under its own key"
    );
    let repeated: Vec<_> = by_key.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.is_empty(), "sent more than once: {repeated:?}");
    assert_eq!(deliveries.len(), 50);

    // Periodic work once per interval: one housekeeping lease, at most one scheduled run.
    let concierge::server::db::Db::Postgres(pool) = &app.state().db else {
        unreachable!("a PostgreSQL test")
    };
    let leases: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM work_leases WHERE task = 'housekeeping'")
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(leases, 1);
    let runs: Vec<(String, i64)> = sqlx::query_as(
        "SELECT slot, COUNT(*) FROM engagement_runs WHERE started_by = 'schedule' GROUP BY slot",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(
        runs.iter().all(|(_, n)| *n == 1),
        "one run per interval: {runs:?}"
    );
    app.finish().await;
}
