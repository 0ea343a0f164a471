//! How many SQL statements the busiest pages run per request: a fixed number, whatever the
//! size of the organisation (no query per row); and how the database plans each of them: every
//! read of a large table goes through an index (`EXPLAIN QUERY PLAN` on SQLite, `EXPLAIN` of
//! the generic plan on PostgreSQL). A test binary of its own, so that what it sees of the
//! statements — sqlx logs a `sqlx::query` event with the text of every statement it runs — is
//! only the one server it starts, one request at a time.

#[path = "integration/common.rs"]
#[allow(dead_code)]
mod common;

use chrono::TimeZone;
use chrono::Utc;
use common::{postgres_url, spawn_app, Api, Backend, TestApp};
use concierge::server::Clock;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use tracing_subscriber::layer::SubscriberExt;

static STATEMENTS: AtomicUsize = AtomicUsize::new(0);
/// The text of every statement run, in order.
static TEXTS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Counts the statements sqlx runs and keeps their text.
struct Count;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Count {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() == "sqlx::query" {
            STATEMENTS.fetch_add(1, Ordering::SeqCst);
            let mut text = Text::default();
            event.record(&mut text);
            // sqlx gives the whole text in `db.statement`, or leaves it empty when the summary
            // is the whole statement.
            let sql = if text.statement.trim().is_empty() {
                text.summary
            } else {
                text.statement
            };
            TEXTS.lock().unwrap().push(sql.trim().to_string());
        }
    }
}

#[derive(Default)]
struct Text {
    summary: String,
    statement: String,
}

impl tracing::field::Visit for Text {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        match field.name() {
            "summary" => self.summary = value.to_string(),
            "db.statement" => self.statement = value.to_string(),
            _ => {}
        }
    }
    fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
}

/// The statements one GET of `path` runs (how many, and their texts), its response checked.
async fn statements(app: &TestApp, session: &str, path: &str) -> (usize, Vec<String>) {
    let before = STATEMENTS.load(Ordering::SeqCst);
    let first = TEXTS.lock().unwrap().len();
    let res = app.get_with(path, session).await;
    let status = res.status();
    let body = res.text().await.unwrap();
    assert_eq!(status, 200, "{path}: {body}");
    let texts = TEXTS.lock().unwrap()[first..].to_vec();
    (STATEMENTS.load(Ordering::SeqCst) - before, texts)
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

/// Each page's statements: how many, and their texts.
type Measured = BTreeMap<&'static str, (usize, Vec<String>)>;

async fn measure(app: &TestApp, session: &str, busy: &str) -> Measured {
    let mut out = BTreeMap::new();
    for (name, path) in pages(busy) {
        // The first request of a page may warm caches (the organisation's settings, a month of
        // the calendar on SQLite); the second is the one counted. Both are planned.
        let (_, mut texts) = statements(app, session, &path).await;
        let (n, again) = statements(app, session, &path).await;
        texts.extend(again);
        out.insert(name, (n, texts));
    }
    out
}

fn counts(measured: &Measured) -> BTreeMap<&'static str, usize> {
    measured.iter().map(|(name, (n, _))| (*name, *n)).collect()
}

async fn fixed_number(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let busy = client(&api, "Guest Busy", 3).await;
    client(&api, "Guest Two", 1).await;
    let session = app.session("admin@acme.test").await;
    let small = counts(&measure(&app, &session, &busy).await);

    // Ten times the clients, the busy one with ten times the dates.
    for n in 0..20 {
        client(&api, &format!("Guest {n:02}"), 3).await;
    }
    for n in 3..30 {
        add_date(&api, &busy, n).await;
    }
    let measured = measure(&app, &session, &busy).await;
    let large = counts(&measured);
    assert_eq!(
        small, large,
        "statements per page grew with the organisation"
    );
    eprintln!("{backend:?}: statements per page {large:?}");
    let mut pinned: BTreeMap<&str, usize> = PINNED.iter().copied().collect();
    if matches!(backend, Backend::Postgres) {
        // One more on PostgreSQL: the staff member's rate-limit bucket, kept in the database
        // so that every web process counts the same requests (SQLite's is in memory).
        for n in pinned.values_mut() {
            *n += 1;
        }
    }
    if matches!(backend, Backend::Sqlite) {
        // A month is reused on SQLite while nothing of it changed: the session, its user and
        // the organisation's clock. Read afresh after a write, it is the six of PostgreSQL.
        pinned.insert("calendar", 3);
        add_date(&api, &busy, 31).await;
        let path = "/calendar?month=2027-03";
        assert_eq!(
            statements(&app, &session, path).await.0,
            6,
            "a month after a write"
        );
        assert_eq!(
            statements(&app, &session, path).await.0,
            3,
            "the same month again"
        );
    }
    assert_eq!(large, pinned, "statements per page ({backend:?})");

    plans_at_scale(&app).await;
    app.finish().await;
}

/// Every read the busiest pages make goes through an index, as the planner sees it with an
/// organisation of thousands of clients and fresh statistics (the tiny organisation above would
/// let a full scan look cheapest).
async fn plans_at_scale(app: &TestApp) {
    let db = &app.state().db;
    app.create_admin("big", "admin@big.test").await;
    let org = concierge::server::db::orgs::by_slug(db, "big")
        .await
        .unwrap()
        .unwrap();
    let staff = concierge::server::db::staff::list(db, org.id)
        .await
        .unwrap()[0]
        .id;
    let data = concierge::server::bench::orgdata::generate(
        db,
        org.id,
        staff,
        5_000,
        20_000,
        5_000,
        app.clock.now(),
    )
    .await
    .expect("the organisation is generated");
    plans::analyze(db).await;
    let session = app.session("admin@big.test").await;
    let mut measured = measure(app, &session, &data.busy_client.to_string()).await;
    // Pages deep in the long lists: each found by its key (the key before it read from an
    // index, then the rows after it).
    for (name, path) in [
        ("directory page 40", "/clients?page=40"),
        ("messages page 40", "/messages?page=40"),
        ("messages failed page 3", "/messages?status=failed&page=3"),
        ("reminders all page 100", "/reminders?status=all&page=100"),
        (
            "reminders pending page 100",
            "/reminders?status=pending&page=100",
        ),
        ("reminders sent page 2", "/reminders?status=sent&page=2"),
        ("conversations page 3", "/conversations?page=3"),
        ("vendors page 10", "/vendors?page=10"),
    ] {
        statements(app, &session, path).await;
        measured.insert(name, statements(app, &session, path).await);
    }

    let large = plans::large_tables(db).await;
    assert!(
        large.len() >= 8,
        "the generated organisation fills the large tables: {large:?}"
    );
    let mut unindexed = Vec::new();
    let mut planned = 0;
    for (page, (_, texts)) in &measured {
        for sql in texts.iter().filter(|sql| is_read(sql)) {
            let plan = plans::plan(db, sql).await;
            planned += 1;
            if std::env::var("SHOW_PLANS").is_ok() {
                eprintln!("{page}: {sql}\n  {}\n", plan.join("\n  "));
            }
            if let Some(why) = plans::full_scan(page, &plan, &large) {
                unindexed.push(format!("{page}: {why}\n  {sql}\n  {}", plan.join("\n  ")));
            }
        }
    }
    assert!(planned >= 40, "only {planned} reads were planned");
    assert!(
        unindexed.is_empty(),
        "reads of a large table without an index ({}):\n{}",
        db.backend(),
        unindexed.join("\n\n")
    );
}

/// A statement that reads (the writes of a page are its session's touch, by primary key).
fn is_read(sql: &str) -> bool {
    let head = sql.trim_start().to_ascii_uppercase();
    head.starts_with("SELECT") || head.starts_with("WITH")
}

#[path = "statements/plans.rs"]
mod plans;

/// The statements each page runs today, the signed-in session and its user included. A change
/// that moves one of these should say why in its commit.
const PINNED: &[(&str, usize)] = &[
    ("calendar", 6),
    ("calendar day", 6),
    ("conversations", 4),
    ("directory", 5),
    ("home", 12),
    ("messages", 4),
    ("profile", 25),
    ("projects", 4),
    ("reminders", 5),
    ("reminders all", 5),
    ("search", 4),
];

#[tokio::test]
async fn busiest_pages_run_a_fixed_number_of_statements() {
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Count))
        .expect("the only subscriber of this test binary");
    fixed_number(Backend::Sqlite).await;
    scheduler_batch(Backend::Sqlite).await;
    match postgres_url() {
        Some(_) => {
            fixed_number(Backend::Postgres).await;
            scheduler_batch(Backend::Postgres).await;
        }
        None => eprintln!("TEST_POSTGRES_URL is not set: the PostgreSQL half did not run"),
    }
}

/// The statements one run of the reminder scheduler makes, split into reads and writes.
async fn scheduler_run(app: &TestApp) -> (u64, Vec<String>, Vec<String>) {
    let first = TEXTS.lock().unwrap().len();
    let queued = concierge::server::worker::scheduler::run_once(app.state())
        .await
        .unwrap();
    // Only the statements on the scheduler's tables: the server's own background tasks may
    // run one meanwhile.
    let texts: Vec<String> = TEXTS.lock().unwrap()[first..]
        .iter()
        .filter(|sql| {
            let sql = sql.to_ascii_lowercase();
            [
                "reminder_rules",
                "persons",
                "date_items",
                "comm_identities",
                "staff",
                "channel_settings",
                "deliveries",
                "delivery_events",
            ]
            .iter()
            .any(|table| sql.contains(table))
        })
        .cloned()
        .collect();
    let (reads, writes) = texts.into_iter().partition(|sql| is_read(sql));
    (queued, reads, writes)
}

/// The reminder scheduler reads a batch in a fixed number of statements, however many
/// reminders are due in it (it used to read the person, the date, the addresses and the staff
/// once per reminder); its writes are one insert for the batch's deliveries and one update
/// per rule moved on.
async fn scheduler_batch(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let at = |day: u32| Utc.with_ymd_and_hms(2026, 3, day, 12, 0, 0).unwrap();
    // Dates on 15 and 16 March a year, each with a reminder the day before at 09:00.
    let person = |name: &'static str| {
        let api = &api;
        async move {
            let (status, p) = api
                .post("/persons", json!({ "full_name": name, "email": format!("{}@example.com", name.to_lowercase().replace(' ', ".")) }))
                .await;
            assert_eq!(status, 201, "{p}");
            p["id"].as_str().unwrap().to_string()
        }
    };
    app.clock.set(at(1));
    let few = [person("Ada One").await, person("Ada Two").await];
    for p in &few {
        add_date(&api, p, 0).await;
    }
    app.clock.set(at(14) + chrono::Duration::hours(1));
    let (queued, small_reads, small_writes) = scheduler_run(&app).await;
    assert_eq!(queued, 2, "{small_writes:#?}");

    let mut many = Vec::new();
    for n in 0..12 {
        many.push(person(["Bea", "Cy", "Di", "Ed"][n % 4]).await);
    }
    for p in &many {
        add_date(&api, p, 1).await;
    }
    app.clock.set(at(15) + chrono::Duration::hours(1));
    let (queued, large_reads, large_writes) = scheduler_run(&app).await;
    assert_eq!(queued, 12, "{large_writes:#?}");
    assert_eq!(
        small_reads.len(),
        large_reads.len(),
        "reads per batch grew with its reminders: {large_reads:#?}"
    );
    // One update per rule moved on, and a fixed number of others (the deliveries and their
    // first events, the transactions around them).
    let updates = |w: &[String]| {
        w.iter()
            .filter(|sql| {
                sql.to_ascii_uppercase()
                    .starts_with("UPDATE REMINDER_RULES")
            })
            .count()
    };
    assert_eq!((updates(&small_writes), updates(&large_writes)), (2, 12));
    assert_eq!(
        small_writes.len() - 2,
        large_writes.len() - 12,
        "writes other than the rules' grew: {large_writes:#?}"
    );
    eprintln!(
        "{backend:?}: the scheduler reads a batch in {} statements",
        large_reads.len()
    );
    // Each reminder became one delivery, and a second run finds nothing due.
    let (queued, _, _) = scheduler_run(&app).await;
    assert_eq!(queued, 0);
    let (status, list) = api.get("/deliveries?limit=100").await;
    assert_eq!(status, 200, "{list}");
    let items = list.as_array().or(list["items"].as_array()).unwrap();
    assert_eq!(items.len(), 14, "{list}");
    app.finish().await;
}
