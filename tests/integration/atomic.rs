//! Every operation lands whole or not at all. The database is made to refuse one write half-way
//! through an operation (a trigger, the way a full disk or a lost connection would stop it),
//! and nothing of the operation may be found afterwards; with the trigger gone, the same
//! request does all of it.

use crate::both_backends;
use crate::common::{spawn_app, Api, Backend, TestApp};
use concierge::on_db;
use serde_json::{json, Value};

/// Runs statements as they are (a PostgreSQL function body has `$$` in it).
async fn exec(app: &TestApp, sql: &str) {
    on_db!(&app.state().db, pool => sqlx::raw_sql(sql).execute(pool).await.map(|_| ()))
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    on_db!(&app.state().db, pool => sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The writes the database can be made to refuse: name, event, table, and when.
const REFUSALS: &[(&str, &str, &str, &str)] = &[
    ("audit", "INSERT", "audit_log", "TRUE"),
    ("moving", "UPDATE", "reminder_rules", "TRUE"),
    ("cy", "INSERT", "persons", "NEW.full_name = 'Cy Third'"),
    (
        "poisoned",
        "INSERT",
        "deliveries",
        "NEW.subject = 'Reminder: Poisoned'",
    ),
];

/// Installs the [`REFUSALS`], each off until [`refuse`] turns it on: triggers that refuse a
/// write while their name is in `test_refusals`. They are made once, before the test's
/// requests; made and dropped between requests, SQLite's other connections could meet the
/// schema while it changed.
async fn install(app: &TestApp) {
    exec(app, "CREATE TABLE test_refusals (name TEXT PRIMARY KEY)").await;
    if app.state().db.backend() == "postgres" {
        exec(
            app,
            "CREATE FUNCTION refused_by_the_test() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
               IF EXISTS (SELECT 1 FROM test_refusals WHERE name = TG_ARGV[0]) THEN \
                 RAISE EXCEPTION 'refused by the test'; \
               END IF; \
               RETURN NEW; \
             END $$",
        )
        .await;
        for (name, event, table, when) in REFUSALS {
            exec(app, &format!("CREATE TRIGGER refuse_{name} BEFORE {event} ON {table} FOR EACH ROW WHEN ({when}) EXECUTE FUNCTION refused_by_the_test('{name}')")).await;
        }
    } else {
        for (name, event, table, when) in REFUSALS {
            exec(
                app,
                &format!(
                    "CREATE TRIGGER refuse_{name} BEFORE {event} ON {table} FOR EACH ROW \
                WHEN ({when}) AND EXISTS (SELECT 1 FROM test_refusals WHERE name = '{name}') \
                BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
                ),
            )
            .await;
        }
    }
}

/// Makes the database refuse the writes of the refusal `name` (see [`REFUSALS`]).
async fn refuse(app: &TestApp, name: &str) {
    exec(
        app,
        &format!("INSERT INTO test_refusals (name) VALUES ('{name}')"),
    )
    .await;
}

async fn allow(app: &TestApp, name: &str) {
    exec(
        app,
        &format!("DELETE FROM test_refusals WHERE name = '{name}'"),
    )
    .await;
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// When each of a person's reminders is due, in order.
async fn schedule(app: &TestApp, person: &str) -> Vec<Option<chrono::DateTime<chrono::Utc>>> {
    let person: uuid::Uuid = person.parse().unwrap();
    let sql =
        "SELECT scheduled_datetime FROM reminder_rules WHERE person_id = $1 ORDER BY position";
    on_db!(&app.state().db, pool => sqlx::query_scalar(sql).bind(person).fetch_all(pool).await)
        .unwrap()
}

async fn operations_land_whole_or_not_at_all(backend: Backend) {
    let app = spawn_app(backend).await;
    install(&app).await;
    let api = Api::setup(&app, "acme").await;
    let audited = "SELECT COUNT(*) FROM audit_log WHERE entity IN ('person', 'date_item')";

    // A person and its audit entry (and its engagement row).
    refuse(&app, "audit").await;
    let (status, body) = api
        .post("/persons", json!({ "full_name": "Half Done" }))
        .await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM persons").await, 0);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM person_engagement").await,
        0
    );
    allow(&app, "audit").await;
    let (status, grace) = api
        .post(
            "/persons",
            json!({ "full_name": "Grace Hopper", "timezone": "America/New_York" }),
        )
        .await;
    assert_eq!(status, 201, "{grace}");
    let grace = id(&grace);

    // A date with its rules and its audit entry.
    let date = json!({
        "person_id": grace, "title": "Birthday", "date_value": "1985-04-05",
        "recurrence_rule": "yearly",
        "reminder_rules": [
            { "reminder_type": "lead_time", "lead_time_days": 14, "message": "In two weeks" },
            { "reminder_type": "lead_time", "lead_time_days": 1, "message": "Tomorrow" }
        ]
    });
    refuse(&app, "audit").await;
    let (status, body) = api.post("/date-items", date.clone()).await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM date_items").await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM reminder_rules").await, 0);
    allow(&app, "audit").await;
    let (status, item) = api.post("/date-items", date).await;
    assert_eq!(status, 201, "{item}");
    let planned = schedule(&app, &grace).await;
    assert_eq!(planned.len(), 2);
    let entries = count(&app, audited).await;

    // A person's new time zone with their reminders moved to it: the reminders cannot move,
    // so the time zone does not change either, and nothing is audited.
    refuse(&app, "moving").await;
    let tokyo = json!({ "full_name": "Grace Hopper", "timezone": "Asia/Tokyo" });
    let (status, body) = api.put(&format!("/persons/{grace}"), tokyo.clone()).await;
    assert_eq!(status, 500, "{body}");
    let (_, read) = api.get(&format!("/persons/{grace}")).await;
    assert_eq!(read["timezone"], "America/New_York");
    assert_eq!(schedule(&app, &grace).await, planned);
    assert_eq!(count(&app, audited).await, entries);
    allow(&app, "moving").await;
    let (status, body) = api.put(&format!("/persons/{grace}"), tokyo).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["timezone"], "Asia/Tokyo");
    let moved = schedule(&app, &grace).await;
    assert_ne!(moved, planned, "the reminders follow the new time zone");
    assert_eq!(count(&app, audited).await, entries + 1);

    // A deletion, with the person leaving engagement and its audit entry.
    refuse(&app, "audit").await;
    assert_eq!(api.delete(&format!("/persons/{grace}")).await, 500);
    let (status, _) = api.get(&format!("/persons/{grace}")).await;
    assert_eq!(status, 200, "the person is still there");
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM person_engagement").await,
        1
    );
    allow(&app, "audit").await;
    assert_eq!(api.delete(&format!("/persons/{grace}")).await, 204);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM person_engagement").await,
        0
    );
    app.finish().await;
}
both_backends!(operations_land_whole_or_not_at_all);

const CHUNK: &str = "name,email,phone,timezone,birthday,tags,external_id,consent\n\
Ann First,ann@example.com,,Europe/London,,,crm-1,yes\n\
Ann Renamed,ann@example.com,,Europe/London,,,crm-1,\n\
Cy Third,,,Europe/London,,,crm-3,\n";

async fn an_import_chunk_lands_whole(backend: Backend) {
    let app = spawn_app(backend).await;
    install(&app).await;
    let api = Api::setup(&app, "acme").await;
    let session = app.session("admin@acme.test").await;
    let res = app
        .server_fn(
            "/srv/clients/preview_import",
            Some(&session),
            &[("csv", CHUNK)],
        )
        .await;
    assert_eq!(res.status(), 200);
    let preview: Value = res.json().await.unwrap();
    let rows = preview["rows"].to_string();

    // The third row cannot be written: the first two are not kept either, and the chunk can
    // be sent again.
    refuse(&app, "cy").await;
    let res = app
        .server_fn(
            "/srv/clients/import_rows",
            Some(&session),
            &[("rows_json", &rows)],
        )
        .await;
    assert_eq!(res.status(), 500, "{}", res.text().await.unwrap());
    assert_eq!(count(&app, "SELECT COUNT(*) FROM persons").await, 0);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE entity = 'person'"
        )
        .await,
        0
    );

    allow(&app, "cy").await;
    let res = app
        .server_fn(
            "/srv/clients/import_rows",
            Some(&session),
            &[("rows_json", &rows)],
        )
        .await;
    assert_eq!(res.status(), 200);
    let outcomes: Value = res.json().await.unwrap();
    let summary: Vec<(bool, bool)> = outcomes
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["error"].is_null(), o["created"].as_bool().unwrap()))
        .collect();
    // The second row has the first one's external id: it updates the person the first row
    // created in the same unit of work.
    assert_eq!(
        summary,
        [(true, true), (true, false), (true, true)],
        "{outcomes}"
    );
    let (_, list) = api.get("/persons").await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["full_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Ann Renamed", "Cy Third"]);
    app.finish().await;
}
both_backends!(an_import_chunk_lands_whole);

/// Reminders that cannot be queued (more than a whole batch of them, due first) hold back
/// none behind them, in their organisation or another; they are tried again next time, and
/// queued once they can be.
async fn the_scheduler_moves_past_reminders_it_cannot_queue(backend: Backend) {
    use concierge::server::worker::scheduler::run_once;
    let app = spawn_app(backend).await;
    install(&app).await;
    let acme = Api::setup(&app, "acme").await;
    let other = Api::setup(&app, "globex").await;
    let (_, poison) = acme
        .post("/persons", json!({ "full_name": "Poison Ivy" }))
        .await;
    // 11 dates with 20 reminders each, due 12 to 31 May: more than a batch of 200.
    let rules: Vec<Value> = (1..=20)
        .map(|days| json!({ "reminder_type": "lead_time", "lead_time_days": days }))
        .collect();
    for _ in 0..11 {
        let (status, d) = acme
            .post(
                "/date-items",
                json!({
                    "person_id": poison["id"], "title": "Poisoned", "date_value": "2026-06-01",
                    "recurrence_rule": "FREQ=YEARLY", "reminder_rules": rules,
                }),
            )
            .await;
        assert_eq!(status, 201, "{d}");
    }
    // Due 13 June, after all of those: one in the same organisation, one in another.
    for api in [&acme, &other] {
        let (_, p) = api
            .post("/persons", json!({ "full_name": "Good Guy" }))
            .await;
        let (status, d) = api
            .post(
                "/date-items",
                json!({
                    "person_id": p["id"], "title": "Fine", "date_value": "2026-06-20",
                    "recurrence_rule": "FREQ=YEARLY",
                    "reminder_rules": [{ "reminder_type": "lead_time", "lead_time_days": 7 }],
                }),
            )
            .await;
        assert_eq!(status, 201, "{d}");
    }
    app.clock
        .set(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 6, 15, 12, 0, 0).unwrap());
    refuse(&app, "poisoned").await;
    assert_eq!(run_once(app.state()).await.unwrap(), 2);
    let subjects = "SELECT COUNT(*) FROM deliveries WHERE subject = 'Reminder: Fine'";
    assert_eq!(count(&app, subjects).await, 2);
    let waiting = "SELECT COUNT(*) FROM reminder_rules WHERE status = 'pending' \
                   AND scheduled_datetime < '2026-06-01'";
    assert_eq!(count(&app, waiting).await, 220, "still due, not lost");
    // Tried again, still refused: nothing else happens.
    assert_eq!(run_once(app.state()).await.unwrap(), 0);
    allow(&app, "poisoned").await;
    assert_eq!(run_once(app.state()).await.unwrap(), 220);
    assert_eq!(count(&app, waiting).await, 0);
    app.finish().await;
}
both_backends!(the_scheduler_moves_past_reminders_it_cannot_queue);
