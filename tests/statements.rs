//! How many SQL statements the busiest pages run per request: a fixed number, whatever the
//! size of the organisation (no query per row). A test binary of its own, so that its count of
//! statements — sqlx logs a `sqlx::query` event for every statement it runs — sees only the
//! one server it starts, one request at a time.

#[path = "integration/common.rs"]
#[allow(dead_code)]
mod common;

use common::{postgres_url, spawn_app, Api, Backend, TestApp};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use tracing_subscriber::layer::SubscriberExt;

static STATEMENTS: AtomicUsize = AtomicUsize::new(0);

/// Counts the statements sqlx runs.
struct Count;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Count {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() == "sqlx::query" {
            STATEMENTS.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// The statements one GET of `path` runs, its response checked.
async fn statements(app: &TestApp, session: &str, path: &str) -> usize {
    let before = STATEMENTS.load(Ordering::SeqCst);
    let res = app.get_with(path, session).await;
    let status = res.status();
    let body = res.text().await.unwrap();
    assert_eq!(status, 200, "{path}: {body}");
    STATEMENTS.load(Ordering::SeqCst) - before
}

/// The `n`th yearly date of a person (in mid-March), with a reminder the day before.
async fn add_date(api: &Api<'_>, person: &str, n: usize) {
    let (status, d) = api
        .post(
            "/date-items",
            json!({
                "person_id": person, "title": format!("Date {n}"),
                "date_value": format!("1990-03-{:02}", 15 + n % 10), "recurrence_rule": "yearly",
                "reminder_rules": [{ "reminder_type": "lead_time", "lead_time_days": 1 }]
            }),
        )
        .await;
    assert_eq!(status, 201, "{d}");
}

/// A client with `dates` yearly dates (each with a reminder), a conversation and a queued
/// message; returns their id.
async fn client(api: &Api<'_>, name: &str, dates: usize) -> String {
    let (status, p) = api
        .post(
            "/persons",
            json!({ "full_name": name, "email": format!("{}@example.com", name.to_lowercase().replace(' ', ".")) }),
        )
        .await;
    assert_eq!(status, 201, "{p}");
    let id = p["id"].as_str().unwrap().to_string();
    for n in 0..dates {
        add_date(api, &id, n).await;
    }
    let (status, c) = api
        .post(
            "/conversations",
            json!({ "person_id": id, "channel_type": "email", "subject": "Dinner" }),
        )
        .await;
    assert_eq!(status, 201, "{c}");
    let (status, m) = api
        .post(
            &format!("/conversations/{}/messages", c["id"].as_str().unwrap()),
            json!({ "direction": "out", "body": "Your table for two is booked." }),
        )
        .await;
    assert!(status == 201 || status == 200, "{m}");
    let (status, pr) = api
        .post(
            "/projects",
            json!({ "person_id": id, "title": format!("Weekend for {name}") }),
        )
        .await;
    assert_eq!(status, 201, "{pr}");
    id
}

/// The pages measured, by name.
fn pages(busy: &str) -> Vec<(&'static str, String)> {
    vec![
        ("home", "/".into()),
        ("directory", "/clients".into()),
        ("search", "/clients?q=guest".into()),
        ("profile", format!("/clients/{busy}")),
        ("reminders", "/reminders?status=pending".into()),
        ("reminders all", "/reminders?status=all".into()),
        ("messages", "/messages".into()),
        ("calendar", "/calendar?month=2027-03".into()),
        ("calendar day", "/calendar?day=2027-03-15".into()),
        ("projects", "/projects".into()),
        ("conversations", "/conversations".into()),
    ]
}

async fn measure(app: &TestApp, session: &str, busy: &str) -> BTreeMap<&'static str, usize> {
    let mut out = BTreeMap::new();
    for (name, path) in pages(busy) {
        // The first request of a page may warm caches (the organisation's settings); the second
        // is the one counted.
        statements(app, session, &path).await;
        out.insert(name, statements(app, session, &path).await);
    }
    out
}

async fn fixed_number(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let busy = client(&api, "Guest Busy", 3).await;
    client(&api, "Guest Two", 1).await;
    let session = app.session("admin@acme.test").await;
    let small = measure(&app, &session, &busy).await;

    // Ten times the clients, the busy one with ten times the dates.
    for n in 0..20 {
        client(&api, &format!("Guest {n:02}"), 3).await;
    }
    for n in 3..30 {
        add_date(&api, &busy, n).await;
    }
    let large = measure(&app, &session, &busy).await;
    assert_eq!(
        small, large,
        "statements per page grew with the organisation"
    );
    eprintln!("{backend:?}: statements per page {large:?}");
    let pinned: BTreeMap<&str, usize> = PINNED.iter().copied().collect();
    assert_eq!(large, pinned, "statements per page ({backend:?})");
    app.finish().await;
}

/// The statements each page runs today, the signed-in session and its user included. A change
/// that moves one of these should say why in its commit.
const PINNED: &[(&str, usize)] = &[
    ("calendar", 6),
    ("calendar day", 6),
    ("conversations", 4),
    ("directory", 5),
    ("home", 13),
    ("messages", 4),
    ("profile", 32),
    ("projects", 4),
    ("reminders", 5),
    ("reminders all", 5),
    ("search", 5),
];

#[tokio::test]
async fn busiest_pages_run_a_fixed_number_of_statements() {
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Count))
        .expect("the only subscriber of this test binary");
    fixed_number(Backend::Sqlite).await;
    match postgres_url() {
        Some(_) => fixed_number(Backend::Postgres).await,
        None => eprintln!("TEST_POSTGRES_URL is not set: the PostgreSQL half did not run"),
    }
}
