//! What is held about a person: all of it exported for them, erased when they are deleted
//! (keeping what counts their messages), and forgotten by retention once it is old.

use crate::both_backends;
use crate::common::{spawn_app, Api, Backend, TestApp};
use chrono::{Duration, TimeZone, Utc};
use concierge::on_db;
use serde_json::{json, Value};

async fn count(app: &TestApp, sql: &str) -> i64 {
    on_db!(&app.state().db, pool => sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Every text column that may hold something a person told us or we sent them.
const PERSONAL: &[(&str, &str)] = &[
    ("persons", "full_name"),
    ("persons", "email"),
    ("persons", "phone"),
    ("persons", "notes"),
    ("persons", "tags"),
    ("persons", "search_text"),
    ("persons", "sort_name"),
    ("persons", "external_id"),
    ("comm_identities", "address"),
    ("conversations", "subject"),
    ("messages", "body"),
    ("deliveries", "address"),
    ("deliveries", "subject"),
    ("deliveries", "body"),
    ("deliveries", "metadata"),
    ("delivery_events", "detail"),
    ("activity_events", "properties"),
    ("date_items", "title"),
    ("date_items", "notes"),
    ("reminder_rules", "message"),
    ("notifications", "title"),
    ("notifications", "body"),
    ("audit_log", "detail"),
];

/// Where `needle` is still found, as `table.column`.
async fn found(app: &TestApp, needle: &str) -> Vec<String> {
    let mut at = Vec::new();
    for (table, column) in PERSONAL {
        let sql = format!(
            "SELECT COUNT(*) FROM {table} WHERE LOWER(CAST({column} AS TEXT)) LIKE '%{}%'",
            needle.to_lowercase()
        );
        if count(app, &sql).await > 0 {
            at.push(format!("{table}.{column}"));
        }
    }
    at
}

/// Sets up a person with something of everything; returns their id.
async fn grace(api: &Api<'_>) -> String {
    let (status, p) = api
        .post(
            "/persons",
            json!({
                "full_name": "Grace Hopper", "email": "grace@navy.test", "phone": "+14155550199",
                "notes": "Prefers the window seat", "tags": ["admiral"], "external_id": "gh-1906",
                "timezone": "UTC",
            }),
        )
        .await;
    assert_eq!(status, 201, "{p}");
    let id = p["id"].as_str().unwrap().to_string();
    let (status, i) = api
        .post(
            &format!("/persons/{id}/identities"),
            json!({ "channel": "email", "address": "grace@navy.test", "preferred": true }),
        )
        .await;
    assert_eq!(status, 201, "{i}");
    let (status, d) = api
        .post(
            "/date-items",
            json!({
                "person_id": id, "title": "Grace's retirement", "date_value": "2026-08-14",
                "notes": "Cake from the navy", "recurrence_rule": "FREQ=YEARLY",
                "reminder_rules": [{ "reminder_type": "lead_time", "lead_time_days": 7,
                                     "message": "Call Grace about the cake" }],
            }),
        )
        .await;
    assert_eq!(status, 201, "{d}");
    let (status, c) = api
        .post(
            "/conversations",
            json!({ "person_id": id, "channel_type": "email", "subject": "Grace's trip" }),
        )
        .await;
    assert_eq!(status, 201, "{c}");
    let (status, m) = api
        .post(
            &format!("/conversations/{}/messages", c["id"].as_str().unwrap()),
            json!({ "direction": "in", "body": "My itinerary: Lisbon, then Porto" }),
        )
        .await;
    assert_eq!(status, 201, "{m}");
    let (status, a) = api
        .post(
            "/activity/event",
            json!({ "person_id": id, "name": "booking", "properties": { "service": "itinerary" } }),
        )
        .await;
    assert!(status == 201 || status == 200, "{a}");
    let (status, d) = api
        .post(
            "/send-utility",
            json!({ "person_id": id, "channel": "email", "subject": "Your itinerary",
                    "body": "Grace, your itinerary for Lisbon is ready" }),
        )
        .await;
    assert_eq!(status, 202, "{d}");
    id
}

async fn export_and_erasure(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let other = Api::setup(&app, "globex").await;
    let id = grace(&api).await;

    // Everything held about her, in one document, not to be cached on the way.
    let res = app
        .client
        .get(app.url(&format!("/api/v1/persons/{id}/export")))
        .bearer_auth(&api.key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let export: Value = res.json().await.unwrap();
    assert_eq!(export["person"]["full_name"], "Grace Hopper", "{export}");
    let len = |k: &str| export[k].as_array().map_or(0, Vec::len);
    for (k, n) in [
        ("identities", 1),
        ("dates", 1),
        ("reminder_rules", 1),
        ("conversations", 1),
        ("messages", 1),
        ("deliveries", 1),
        ("activity", 1),
    ] {
        assert_eq!(len(k), n, "{k}: {export}");
    }
    assert_eq!(
        export["deliveries"][0]["body"],
        "Grace, your itinerary for Lisbon is ready"
    );
    assert_eq!(export["identities"][0]["address"], "grace@navy.test");
    // Another organisation cannot have it, and the export is audited.
    let (status, _) = other.get(&format!("/persons/{id}/export")).await;
    assert_eq!(status, 404);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'export' AND entity = 'person'"
        )
        .await,
        1
    );

    // Deleted: nothing of what she told us or what we sent her is left anywhere…
    assert!(!found(&app, "grace").await.is_empty());
    assert_eq!(api.delete(&format!("/persons/{id}")).await, 204);
    for needle in [
        "grace",
        "hopper",
        "navy",
        "itinerary",
        "lisbon",
        "window seat",
        "admiral",
        "gh-1906",
        "5550199",
        "cake",
    ] {
        assert_eq!(found(&app, needle).await, Vec::<String>::new(), "{needle}");
    }
    let (status, _) = api.get(&format!("/persons/{id}/export")).await;
    assert_eq!(status, 404);
    // …but her message still counts, as a cancelled one without its words.
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM deliveries WHERE status = 'cancelled' AND body = ''"
        )
        .await,
        1
    );
    app.finish().await;
}
both_backends!(export_and_erasure);

/// Old records are forgotten by housekeeping as the settings say, and not before.
async fn retention_forgets_old_records(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let id = grace(&api).await;
    let (_, list) = api.get(&format!("/deliveries?person_id={id}")).await;
    let delivery = list["items"][0]["id"].as_str().unwrap().to_string();
    // One settled (cancelled) message, one still queued.
    let (status, d) = api
        .post(&format!("/deliveries/{delivery}/cancel"), json!({}))
        .await;
    assert_eq!(status, 200, "{d}");
    let (status, d) = api
        .post(
            "/send-utility",
            json!({ "person_id": id, "channel": "email", "body": "Still queued for Porto" }),
        )
        .await;
    assert_eq!(status, 202, "{d}");
    let (status, run) = api.post("/cron/run-engagement", json!({})).await;
    assert!(status == 200 || status == 202, "{run}");
    let runs = "SELECT COUNT(*) FROM engagement_runs WHERE finished_at IS NOT NULL";
    assert_eq!(count(&app, runs).await, 1);
    let audit = count(&app, "SELECT COUNT(*) FROM audit_log").await;
    let events = count(&app, "SELECT COUNT(*) FROM delivery_events").await;
    assert!(audit > 0 && events > 0);
    let start = Utc.with_ymd_and_hms(2026, 3, 14, 15, 9, 26).unwrap();
    let forget = || concierge::server::services::privacy::apply_retention(app.state());

    // A day short of 180 days: nothing goes but the finished run (kept 90 days).
    app.clock.set(start + Duration::days(89));
    forget().await.unwrap();
    assert_eq!(count(&app, runs).await, 1);
    app.clock.set(start + Duration::days(179));
    forget().await.unwrap();
    assert_eq!(count(&app, runs).await, 0);
    assert_eq!(
        found(&app, "lisbon").await,
        ["messages.body", "deliveries.body"]
    );

    // After 180 days the settled message's words go; the queued one's stay.
    app.clock.set(start + Duration::days(181));
    let forgotten = forget().await.unwrap();
    assert!(forgotten.contains(&("message bodies", 1)), "{forgotten:?}");
    // (A conversation is the client's record, not a message sent: it stays.)
    assert_eq!(found(&app, "lisbon").await, ["messages.body"]);
    assert_eq!(
        found(&app, "porto").await,
        ["messages.body", "deliveries.body"]
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM deliveries").await, 2);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM delivery_events").await,
        events
    );

    // After 400 days the messages' events go; after 730, the audit log.
    app.clock.set(start + Duration::days(401));
    forget().await.unwrap();
    assert_eq!(count(&app, "SELECT COUNT(*) FROM delivery_events").await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM audit_log").await, audit);
    app.clock.set(start + Duration::days(731));
    forget().await.unwrap();
    assert_eq!(count(&app, "SELECT COUNT(*) FROM audit_log").await, 0);
    app.finish().await;
}
both_backends!(retention_forgets_old_records);
