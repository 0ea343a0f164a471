//! Engagement end to end, on both databases: the run over dormant and due clients with
//! consent, channels, caps and quiet hours deciding; held messages released at 09:00 on the
//! client's clock; utility messages going through regardless; deep links and one-click
//! unsubscribe; responses within the conversion window; and the SQL formulas held to the
//! domain's.

use crate::both_backends;
use crate::common::{spawn_app_with, Api, Backend, TestApp};
use crate::delivery::{configure_smtp, person, wait_status};
use crate::fakes::FakeSmtp;
use chrono::{DateTime, Duration, TimeZone, Utc};
use concierge::domain::engagement::PolicyInput;
use concierge::server::auth::Actor;
use concierge::server::Clock;
use serde_json::{json, Value};

/// An app whose worker sends (when `worker`), allowed to reach the local fakes.
async fn app(backend: Backend, worker: bool) -> TestApp {
    spawn_app_with(backend, |c| {
        c.run_worker = worker;
        c.delivery.poll = std::time::Duration::from_millis(25);
        c.delivery.allow_loopback = true;
    })
    .await
}

/// The first admin of `org` as an actor, to change the policy as Settings would.
async fn admin(app: &TestApp, org: &str) -> Actor {
    let o = concierge::server::db::orgs::by_slug(&app.state().db, org)
        .await
        .unwrap()
        .unwrap();
    let s = concierge::server::db::staff::list(&app.state().db, o.id)
        .await
        .unwrap()
        .into_iter()
        .next()
        .unwrap();
    Actor::Staff(concierge::domain::SessionUser {
        staff_id: s.id,
        org_id: o.id,
        org_name: o.name,
        email: s.email,
        display_name: s.display_name,
        role: s.role,
    })
}

pub async fn set_policy(app: &TestApp, org: &str, fields: Value) {
    let mut map = serde_json::Map::new();
    for (k, v) in fields.as_object().unwrap() {
        let text = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        map.insert(k.clone(), Value::String(text));
    }
    let input: PolicyInput = serde_json::from_value(Value::Object(map)).unwrap();
    concierge::server::services::engagement::update_policy(
        app.state(),
        &admin(app, org).await,
        &input,
    )
    .await
    .expect("the policy saves");
}

/// Gives `person` a preferred e-mail `address` that they have opted out of.
pub async fn opted_out_email(api: &Api<'_>, person: &str, address: &str) {
    let (s, identity) = api
        .post(
            &format!("/persons/{person}/identities"),
            json!({ "channel": "email", "address": address, "preferred": true }),
        )
        .await;
    assert_eq!(s, 201, "{identity}");
    let (s, out) = api
        .put(
            &format!("/identities/{}", identity["id"].as_str().unwrap()),
            json!({ "opted_out": true }),
        )
        .await;
    assert_eq!(s, 200, "{out}");
}

async fn run(api: &Api<'_>, dry_run: bool) -> Value {
    let path = if dry_run {
        "/cron/run-engagement?dry_run=true"
    } else {
        "/cron/run-engagement"
    };
    let (status, body) = api.post(path, json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_adds_up(&body);
    body
}

/// The summary's counts add up.
fn assert_adds_up(s: &Value) {
    let n = |k: &str| s[k].as_i64().unwrap_or_else(|| panic!("{k} in {s}"));
    let skipped: i64 = s["skipped"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_i64().unwrap())
        .sum();
    assert_eq!(n("eligible"), n("queued") + n("held"), "{s}");
    assert_eq!(n("candidates"), n("eligible") + skipped, "{s}");
    let segments: i64 = s["segments"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_i64().unwrap())
        .sum();
    assert_eq!(n("evaluated"), segments, "{s}");
    for key in [
        "no_consent",
        "opted_out",
        "no_channel",
        "frequency_cap",
        "quiet_hours",
    ] {
        assert!(s["skipped"][key].is_i64(), "skipped.{key} is reported: {s}");
    }
}

async fn engagement_deliveries(api: &Api<'_>, person: &str) -> Vec<Value> {
    let (status, list) = api
        .get(&format!(
            "/deliveries?person_id={person}&kind=engagement&limit=50"
        ))
        .await;
    assert_eq!(status, 200, "{list}");
    list["items"].as_array().unwrap().clone()
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn dormant_consenting_person_gets_one_message(backend: Backend) {
    let app = app(backend, false).await;
    // Noon in London: no quiet hours in the way.
    app.clock.set(at("2026-06-10T11:00:00Z"));
    let api = Api::setup(&app, "acme").await;
    let ada = person(
        &api,
        json!({ "full_name": "Ada Lovelace", "preferred_name": "Ada", "email": "ada@example.com",
                "timezone": "Europe/London", "marketing_consent": true }),
    )
    .await;
    let bob = person(
        &api,
        json!({ "full_name": "Bob No-Consent", "email": "bob@example.com", "timezone": "Europe/London" }),
    )
    .await;
    let cy = person(
        &api,
        json!({ "full_name": "Cy Opted-Out", "email": "cy@example.com", "timezone": "Europe/London",
                "marketing_consent": true }),
    )
    .await;
    opted_out_email(&api, &cy, "cy@example.com").await;
    let dee = person(
        &api,
        json!({ "full_name": "Dee Unreachable", "timezone": "Europe/London", "marketing_consent": true }),
    )
    .await;
    let eve = person(
        &api,
        json!({ "full_name": "Eve Active", "email": "eve@example.com", "timezone": "Europe/London",
                "marketing_consent": true }),
    )
    .await;

    // Eight days later: everyone is dormant but Eve, who just signed in.
    app.clock.advance(Duration::days(8));
    let (s, _) = api
        .post("/activity/login", json!({ "person_id": eve }))
        .await;
    assert_eq!(s, 201);
    let first = run(&api, false).await;
    assert_eq!(first["evaluated"], 5, "{first}");
    assert_eq!(first["dormant"], 4, "{first}");
    assert_eq!(first["candidates"], 4, "{first}");
    assert_eq!(first["queued"], 1, "{first}");
    assert_eq!(first["held"], 0, "{first}");
    assert_eq!(first["skipped"]["no_consent"], 1, "{first}");
    assert_eq!(first["skipped"]["opted_out"], 1, "{first}");
    assert_eq!(first["skipped"]["no_channel"], 1, "{first}");
    let words: Vec<(&str, &str)> = first["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["person_name"].as_str().unwrap(),
                d["words"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        words.contains(&("Bob No-Consent", "skipped — no marketing consent")),
        "{words:?}"
    );
    assert!(
        words.contains(&("Cy Opted-Out", "skipped — opted out of E-mail")),
        "{words:?}"
    );
    assert!(
        words.contains(&(
            "Dee Unreachable",
            "skipped — no E-mail address for this person"
        )),
        "{words:?}"
    );

    let sent = engagement_deliveries(&api, &ada).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let d = &sent[0];
    assert_eq!(d["kind"], "engagement");
    assert_eq!(d["source"], "engagement");
    assert_eq!(d["status"], "pending");
    assert_eq!(d["address"], "ada@example.com");
    assert_eq!(d["subject"], "We miss you, Ada");
    let body = d["body"].as_str().unwrap();
    assert!(body.contains("8 days"), "{body}");
    assert!(body.contains(&format!("{}/u/", app.base)), "{body}");
    for p in [&bob, &cy, &dee, &eve] {
        assert!(engagement_deliveries(&api, p).await.is_empty());
    }

    // A second run in the same stretch of inactivity queues nothing new.
    let second = run(&api, false).await;
    assert_eq!(second["queued"], 0, "{second}");
    assert_eq!(second["candidates"], 0, "{second}");
    assert_eq!(second["already_decided"], 4, "{second}");
    assert_eq!(engagement_deliveries(&api, &ada).await.len(), 1);

    // The run is stored with its summary.
    let (_, runs) = api.get("/engagement/runs").await;
    let items = runs["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{runs}");
    assert_eq!(items[1]["summary"]["queued"], 1, "{runs}");
    let (s, detail) = api
        .get(&format!(
            "/engagement/runs/{}",
            items[1]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(s, 200, "{detail}");
    assert_eq!(detail["decisions"].as_array().unwrap().len(), 4, "{detail}");

    // Segments and churn risk are on the person, explained on request.
    let (_, p) = api.get(&format!("/persons/{ada}")).await;
    assert_eq!(p["segment"], "dormant", "{p}");
    assert!(p["churn_risk"].as_f64().unwrap() > 0.5, "{p}");
    let (_, e) = api.get(&format!("/persons/{ada}/engagement")).await;
    let why = e["explanation"].as_str().unwrap();
    assert!(
        why.starts_with(
            "dormant — no activity yet; added 8 days ago (dormant after 7 days); churn risk 0."
        ),
        "{why}"
    );
    assert!(why.contains("recency 0.28"), "{why}");
    assert!(
        e["last_decision"].as_str().unwrap().contains("queued"),
        "{e}"
    );
    let (_, e) = api.get(&format!("/persons/{bob}/engagement")).await;
    assert!(
        e["last_decision"]
            .as_str()
            .unwrap()
            .contains("no marketing consent"),
        "{e}"
    );
    let (_, e) = api.get(&format!("/persons/{eve}")).await;
    assert_eq!(e["segment"], "active", "{e}");
    // The directory and the API filter by segment.
    let (_, dormant) = api.get("/persons?segment=dormant").await;
    assert_eq!(dormant["items"].as_array().unwrap().len(), 4, "{dormant}");
    let (s, bad) = api.get("/persons?segment=sleepy").await;
    assert_eq!(s, 422, "{bad}");
    assert_eq!(bad["field"], "segment");

    // Consent given later: the next run decides about Bob afresh.
    let (s, _) = api
        .put(
            &format!("/persons/{bob}"),
            json!({ "marketing_consent": true }),
        )
        .await;
    assert_eq!(s, 200);
    let third = run(&api, false).await;
    assert_eq!(third["candidates"], 1, "{third}");
    assert_eq!(third["queued"], 1, "{third}");
    assert_eq!(engagement_deliveries(&api, &bob).await.len(), 1);
    // What a run does after a bulk write (ANALYZE on PostgreSQL) works on both databases.
    app.state()
        .db
        .refresh_statistics(&["deliveries", "delivery_events"])
        .await
        .expect("statistics refreshed");
    // The directory counts a segment from its index, less the people deleted since.
    let session = app.session("admin@acme.test").await;
    let count = |session: String| {
        let app = &app;
        async move {
            let res = app
                .server_fn(
                    "/srv/clients/list_clients",
                    Some(&session),
                    &[("segment", "dormant")],
                )
                .await;
            let page: Value = res.json().await.unwrap();
            (
                page["total"].as_i64(),
                page["items"].as_array().map(Vec::len),
            )
        }
    };
    let (_, dormant) = api.get("/persons?segment=dormant").await;
    let before = dormant["items"].as_array().unwrap().len() as i64;
    assert!(before > 0, "{dormant}");
    let gone = dormant["items"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        count(session.clone()).await,
        (Some(before), Some(before as usize))
    );
    assert_eq!(api.delete(&format!("/persons/{gone}")).await, 204);
    assert_eq!(
        count(session.clone()).await,
        (Some(before - 1), Some(before as usize - 1))
    );
    app.finish().await;
}
both_backends!(dormant_consenting_person_gets_one_message);

async fn dry_run_changes_nothing(backend: Backend) {
    let app = app(backend, false).await;
    app.clock.set(at("2026-06-10T11:00:00Z"));
    let api = Api::setup(&app, "acme").await;
    let ada = person(
        &api,
        json!({ "full_name": "Ada Lovelace", "email": "ada@example.com", "timezone": "UTC",
                "marketing_consent": true }),
    )
    .await;
    app.clock.advance(Duration::days(10));
    let dry = run(&api, true).await;
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["queued"], 1, "{dry}");
    assert_eq!(dry["dormant"], 1, "{dry}");
    let d = &dry["decisions"][0];
    assert_eq!(d["outcome"], "queued", "{dry}");
    assert!(d["body"].as_str().unwrap().contains("10 days"), "{dry}");
    // Nothing written: no message, no run, no segment.
    assert!(engagement_deliveries(&api, &ada).await.is_empty());
    let (_, runs) = api.get("/engagement/runs").await;
    assert!(runs["items"].as_array().unwrap().is_empty(), "{runs}");
    let (_, p) = api.get(&format!("/persons/{ada}")).await;
    assert_eq!(p["segment"], "new", "{p}");
    // A dry run as a body, too; and a bad flag is named.
    let (s, body) = api
        .post("/cron/run-engagement", json!({ "dry_run": true }))
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["dry_run"], true);
    let (s, bad) = api
        .post("/cron/run-engagement?dry_run=maybe", json!({}))
        .await;
    assert_eq!(s, 422, "{bad}");
    assert_eq!(bad["field"], "dry_run");
    let (s, bad) = api
        .post("/cron/run-engagement", json!({ "dry": true }))
        .await;
    assert_eq!(s, 422, "{bad}");
    // The real run agrees with the dry one.
    let real = run(&api, false).await;
    assert_eq!(real["queued"], 1, "{real}");
    assert_eq!(engagement_deliveries(&api, &ada).await.len(), 1);
    app.finish().await;
}
both_backends!(dry_run_changes_nothing);

async fn quiet_hours_hold_until_nine_then_send(backend: Backend) {
    let app = app(backend, true).await;
    let smtp = FakeSmtp::start().await;
    app.clock.set(at("2026-12-01T15:00:00Z"));
    let api = Api::setup(&app, "acme").await;
    configure_smtp(&app, "127.0.0.1", smtp.port).await;
    let ny = person(
        &api,
        json!({ "full_name": "Nora York", "email": "nora@example.com", "timezone": "America/New_York",
                "marketing_consent": true }),
    )
    .await;
    // 23:00 in New York (04:00 UTC), nine days later.
    app.clock.set(at("2026-12-10T04:00:00Z"));
    let s = run(&api, false).await;
    assert_eq!(s["held"], 1, "{s}");
    assert_eq!(s["queued"], 0, "{s}");
    let words = s["decisions"][0]["words"].as_str().unwrap();
    assert_eq!(
        words,
        "held until 09:00 on their clock (Thu 10 Dec) — quiet hours"
    );
    let d = &engagement_deliveries(&api, &ny).await[0];
    let id = d["id"].as_str().unwrap().to_string();
    assert_eq!(d["next_attempt_at"], "2026-12-10T14:00:00Z", "{d}");
    let (_, detail) = api.get(&format!("/deliveries/{id}")).await;
    assert!(
        detail["explanation"]
            .as_str()
            .unwrap()
            .starts_with("held until 09:00 on their clock"),
        "{detail}"
    );
    // 08:59 on their clock: still held.
    app.clock.set(at("2026-12-10T13:59:00Z"));
    app.state().wake.notify_one();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(smtp.mails().is_empty());
    // 09:00: it goes.
    app.clock.set(at("2026-12-10T14:00:00Z"));
    app.state().wake.notify_one();
    let d = wait_status(&api, &id, &["sent"]).await;
    assert_eq!(d["sent_at"], "2026-12-10T14:00:00Z", "{d}");
    let mails = smtp.wait_for(1, 10).await;
    assert!(
        mails[0].data.contains("List-Unsubscribe: <"),
        "{}",
        mails[0].data
    );
    assert!(
        mails[0]
            .data
            .contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
        "{}",
        mails[0].data
    );

    // Across the night the clocks go forward in London (28 March 2027, 01:00 UTC).
    app.clock.set(at("2027-03-20T12:00:00Z"));
    let lon = person(
        &api,
        json!({ "full_name": "Lon Don", "email": "lon@example.com", "timezone": "Europe/London",
                "marketing_consent": true }),
    )
    .await;
    app.clock.set(at("2027-03-27T23:30:00Z"));
    let s = run(&api, false).await;
    assert_eq!(s["held"], 1, "{s}");
    let d = &engagement_deliveries(&api, &lon).await[0];
    // 09:00 BST on Sunday 28 March 2027 is 08:00 UTC.
    assert_eq!(d["next_attempt_at"], "2027-03-28T08:00:00Z", "{d}");
    app.finish().await;
}
both_backends!(quiet_hours_hold_until_nine_then_send);

/// Writes an engagement message another source (a campaign, say) already sent or queued.
async fn prior_message(app: &TestApp, person: &str, status: &str, sent_at: Option<DateTime<Utc>>) {
    let org = concierge::server::db::orgs::by_slug(&app.state().db, "acme")
        .await
        .unwrap()
        .unwrap();
    let now = app.clock.now();
    let id = uuid::Uuid::now_v7();
    let d = concierge::domain::delivery::Delivery {
        id,
        org_id: org.id,
        person_id: Some(uuid::Uuid::parse_str(person).unwrap()),
        staff_id: None,
        identity_id: None,
        kind: concierge::domain::delivery::DeliveryKind::Engagement,
        source: concierge::domain::delivery::DeliverySource::Campaign,
        channel: concierge::domain::dates::Channel::Email,
        address: Some("x@example.com".into()),
        subject: Some("Spring offers".into()),
        body: "Spring offers".into(),
        metadata: json!({}),
        status: concierge::domain::delivery::DeliveryStatus::parse(status).unwrap(),
        suppression_reason: None,
        priority: 10,
        attempts: 0,
        max_attempts: 5,
        next_attempt_at: Some(now + Duration::days(3)),
        lease_owner: None,
        lease_expires_at: None,
        last_error: None,
        transport: None,
        provider_message_id: None,
        idempotency_key: format!("campaign:test:{id}"),
        correlation_id: None,
        reminder_rule_id: None,
        occurrence: None,
        conversation_id: None,
        campaign_id: None,
        variant: None,
        template: None,
        prompt_version: None,
        model: None,
        safety_checks: json!({}),
        response: None,
        response_at: None,
        sent_at,
        delivered_at: None,
        failed_at: None,
        created_at: now,
        updated_at: now,
        approval_expires_at: None,
    };
    assert!(
        concierge::server::db::deliveries::insert(&app.state().db, &d, "queued")
            .await
            .unwrap()
    );
}

async fn caps_count_across_sources_at_their_boundaries(backend: Backend) {
    let app = app(backend, false).await;
    app.clock.set(at("2026-06-01T11:00:00Z"));
    let api = Api::setup(&app, "acme").await;
    let new = |name: &'static str| {
        let api = &api;
        async move {
            person(
                api,
                json!({ "full_name": name, "email": format!("{}@example.com", name.to_lowercase()),
                        "timezone": "UTC", "marketing_consent": true }),
            )
            .await
        }
    };
    let day = new("Daycap").await;
    let week = new("Weekcap").await;
    let queued = new("Queued").await;
    let edge = new("Edge").await;
    app.clock.set(at("2026-06-10T12:00:00Z"));
    let now = app.clock.now();
    // Sent 23 h 59 m ago by a campaign: the daily cap is full.
    prior_message(
        &app,
        &day,
        "sent",
        Some(now - Duration::hours(24) + Duration::minutes(1)),
    )
    .await;
    // Three in the last seven days (none in the last day): the weekly cap is full.
    for days in [2, 4, 6] {
        prior_message(&app, &week, "sent", Some(now - Duration::days(days))).await;
    }
    // A campaign message still queued counts too.
    prior_message(&app, &queued, "pending", None).await;
    // Exactly 24 hours ago: the window has room again.
    prior_message(&app, &edge, "sent", Some(now - Duration::hours(24))).await;

    let s = run(&api, false).await;
    assert_eq!(s["candidates"], 4, "{s}");
    assert_eq!(s["skipped"]["frequency_cap"], 3, "{s}");
    assert_eq!(s["queued"], 1, "{s}");
    let words = |name: &str| {
        s["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["person_name"] == name)
            .map(|d| d["words"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(words("Daycap"), "skipped — 1 per 24 h cap");
    assert_eq!(words("Weekcap"), "skipped — 3 per 7 days cap");
    assert_eq!(words("Queued"), "skipped — 1 per 24 h cap");
    assert_eq!(words("Edge"), "sent now");

    // Two minutes on, the daily cap has room: the next run decides about Daycap again.
    app.clock.advance(Duration::minutes(2));
    let s = run(&api, false).await;
    assert_eq!(s["queued"], 1, "{s}");
    assert_eq!(s["decisions"][0]["person_name"], "Daycap", "{s}");
    // Caps count the dormancy nudges themselves: Daycap now has one queued.
    assert_eq!(engagement_deliveries(&api, &day).await.len(), 2);
    app.finish().await;
}
both_backends!(caps_count_across_sources_at_their_boundaries);

async fn utility_goes_in_quiet_hours_and_over_the_cap(backend: Backend) {
    let app = app(backend, true).await;
    let smtp = FakeSmtp::start().await;
    app.clock.set(at("2026-06-01T12:00:00Z"));
    let api = Api::setup(&app, "acme").await;
    configure_smtp(&app, "127.0.0.1", smtp.port).await;
    let p = person(
        &api,
        json!({ "full_name": "Night Owl", "email": "owl@example.com", "timezone": "Europe/Paris" }),
    )
    .await;
    // 02:00 in Paris, caps long exhausted, no marketing consent.
    app.clock.set(at("2026-06-10T00:00:00Z"));
    for h in 1..5 {
        prior_message(&app, &p, "sent", Some(app.clock.now() - Duration::hours(h))).await;
    }
    let (s, d) = api
        .post(
            "/send-utility",
            json!({ "person_id": p, "type": "appointment_reminder", "data": { "time": "10am" } }),
        )
        .await;
    assert_eq!(s, 202, "{d}");
    let d = wait_status(&api, d["id"].as_str().unwrap(), &["sent"]).await;
    assert_eq!(d["kind"], "utility");
    assert_eq!(smtp.wait_for(1, 10).await.len(), 1);
    app.finish().await;
}
both_backends!(utility_goes_in_quiet_hours_and_over_the_cap);

async fn event(api: &Api<'_>, person: &str, name: &str, props: Value, when: DateTime<Utc>) {
    let (s, body) = api
        .post(
            "/activity/event",
            json!({ "person_id": person, "name": name, "properties": props, "occurred_at": when.to_rfc3339() }),
        )
        .await;
    assert_eq!(s, 201, "{body}");
}

async fn rebooking_deep_link_and_unsubscribe(backend: Backend) {
    let app = app(backend, false).await;
    app.clock.set(at("2026-05-01T10:00:00Z"));
    let api = Api::setup(&app, "acme").await;
    set_policy(
        &app,
        "acme",
        json!({ "booking_url": "https://book.example.com/new?src=concierge" }),
    )
    .await;
    let p = person(
        &api,
        json!({ "full_name": "Mia Massage", "preferred_name": "Mia", "email": "mia@example.com",
                "timezone": "UTC", "marketing_consent": true }),
    )
    .await;
    // Bookings every 14 days; the last on 1 June.
    let now = at("2026-06-20T12:00:00Z");
    app.clock.set(now);
    for days in [47, 33, 19] {
        event(
            &api,
            &p,
            "booking",
            json!({ "service": "Deep tissue massage" }),
            now - Duration::days(days) + Duration::hours(2),
        )
        .await;
    }
    // Active yesterday: not dormant, but due to rebook (14 days + 2 of grace have passed).
    event(&api, &p, "login", json!({}), now - Duration::days(1)).await;
    let s = run(&api, false).await;
    assert_eq!(s["due_to_rebook"], 1, "{s}");
    assert_eq!(s["dormant"], 0, "{s}");
    assert_eq!(s["queued"], 1, "{s}");
    assert_eq!(s["decisions"][0]["nudge"], "rebook", "{s}");
    let (_, e) = api.get(&format!("/persons/{p}/engagement")).await;
    assert_eq!(e["due_to_rebook"], true, "{e}");
    assert!(
        e["cadence"]
            .as_str()
            .unwrap()
            .starts_with("books Deep tissue massage about every 14 days"),
        "{e}"
    );
    let d = engagement_deliveries(&api, &p).await.remove(0);
    assert_eq!(d["subject"], "Time for your next Deep tissue massage?");
    let link = d["metadata"]["deep_link"].as_str().unwrap().to_string();
    assert!(link.starts_with(&format!("{}/l/", app.base)), "{link}");
    assert!(d["body"].as_str().unwrap().contains(&link));
    let id = d["id"].as_str().unwrap().to_string();

    // Following it records the click and redirects to the booking, pre-filled.
    let res = app.client.get(&link).send().await.unwrap();
    assert!(res.status().is_redirection(), "{}", res.status());
    let to = res.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(
        to,
        format!("https://book.example.com/new?src=concierge&service=Deep+tissue+massage&ref={id}")
    );
    let (_, detail) = api.get(&format!("/deliveries/{id}")).await;
    assert_eq!(detail["response"], "clicked", "{detail}");
    assert!(detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["event"] == "clicked"));
    let (_, timeline) = api.get(&format!("/persons/{p}/activity")).await;
    assert!(
        timeline["items"]
            .as_array()
            .unwrap_or_else(|| timeline.as_array().unwrap())
            .iter()
            .any(|e| e["name"] == "clicked"),
        "{timeline}"
    );

    // A tampered link is a 404; one that is not ours at all too; neither a 500.
    let mut forged = link.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    for bad in [
        forged,
        format!("{}/l/nonsense", app.base),
        format!("{}/l/{}", app.base, "x".repeat(400)),
    ] {
        let res = app.client.get(&bad).send().await.unwrap();
        assert_eq!(res.status(), 404, "{bad}");
        assert!(res
            .text()
            .await
            .unwrap()
            .contains("This link does not work"));
    }
    // 49 hours later it has expired: a friendly page with a way on.
    app.clock.advance(Duration::hours(49));
    let res = app.client.get(&link).send().await.unwrap();
    assert_eq!(res.status(), 410);
    let page = res.text().await.unwrap();
    assert!(page.contains("This link has expired"), "{page}");
    assert!(
        page.contains("href=\"https://book.example.com/new?src=concierge\""),
        "{page}"
    );

    // A booking within 72 hours of the message marks it booked.
    // (It was never sent here — no worker — so mark it sent as a provider would.)
    let sent_at = app.clock.now() - Duration::hours(10);
    let sql = "UPDATE deliveries SET status = 'sent', sent_at = $1 WHERE kind = 'engagement'";
    concierge::on_db!(&app.state().db, pool => sqlx::query(sql).bind(sent_at).execute(pool).await.map(|_| ())).unwrap();
    let sql = "UPDATE person_engagement SET last_nudge_s = $1, unanswered = 1";
    concierge::on_db!(&app.state().db, pool => sqlx::query(sql).bind(sent_at.timestamp()).execute(pool).await.map(|_| ())).unwrap();
    event(
        &api,
        &p,
        "booking",
        json!({ "service": "Deep tissue massage" }),
        app.clock.now(),
    )
    .await;
    let (_, detail) = api.get(&format!("/deliveries/{id}")).await;
    assert_eq!(detail["response"], "booked", "{detail}");
    // The numbers the Engagement page's and Home's charts draw count it, day by day.
    let (s, stats) = api.get("/engagement/stats?days=7").await;
    assert_eq!(s, 200, "{stats}");
    assert_eq!(stats["sent"], 1, "{stats}");
    assert_eq!(stats["booked"], 1, "{stats}");
    assert!(stats["clicked"].as_i64().unwrap() >= 1, "{stats}");
    let days = stats["days"].as_array().unwrap();
    for field in ["sent", "clicked", "booked"] {
        let sum: i64 = days.iter().map(|d| d[field].as_i64().unwrap()).sum();
        assert_eq!(sum, stats[field].as_i64().unwrap(), "{field}: {stats}");
    }

    // Unsubscribe: a confirmation page, then one click withdraws consent at once.
    let unsub = d["metadata"]["unsubscribe_url"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(unsub.starts_with(&format!("{}/u/", app.base)), "{unsub}");
    let page = app.client.get(&unsub).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Unsubscribe?") && html.contains("m••••@example.com"),
        "{html}"
    );
    // RFC 8058: the mail provider posts, from its own origin.
    let res = app
        .client
        .post(&unsub)
        .header("origin", "https://mail.example.net")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("You are unsubscribed"));
    let (_, person) = api.get(&format!("/persons/{p}")).await;
    assert_eq!(person["marketing_consent"], false, "{person}");
    assert_eq!(person["consent_source"], "unsubscribe link", "{person}");
    let audit = concierge::server::db::audit::for_entity(
        &app.state().db,
        uuid::Uuid::parse_str(person["org_id"].as_str().unwrap()).unwrap(),
        "person",
        uuid::Uuid::parse_str(&p).unwrap(),
    )
    .await
    .unwrap();
    assert!(
        audit.iter().any(|a| a.action == "withdraw_consent"),
        "{audit:?}"
    );
    let (_, timeline) = api.get(&format!("/persons/{p}/activity")).await;
    assert!(timeline.to_string().contains("unsubscribed"), "{timeline}");
    // Again: harmless. A tampered one: 404.
    let res = app.client.post(&unsub).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = app.client.post(format!("{unsub}x")).send().await.unwrap();
    assert_eq!(res.status(), 404);

    // The next run (a new booking cycle is due later) skips for consent.
    app.clock.advance(Duration::days(20));
    let s = run(&api, false).await;
    assert_eq!(s["skipped"]["no_consent"], 1, "{s}");
    assert_eq!(s["queued"], 0, "{s}");
    app.finish().await;
}
both_backends!(rebooking_deep_link_and_unsubscribe);

async fn scheduled_runs_once_per_interval(backend: Backend) {
    let app = app(backend, false).await;
    app.clock.set(at("2026-06-10T11:00:00Z"));
    let _api = Api::setup(&app, "acme").await;
    let every = std::time::Duration::from_secs(3600);
    let state = app.state();
    // Two workers at once: one run per organisation for the interval.
    let (a, b) = tokio::join!(
        concierge::server::services::engagement::run_scheduled(state, every),
        concierge::server::services::engagement::run_scheduled(state, every)
    );
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    assert_eq!(
        concierge::server::services::engagement::run_scheduled(state, every)
            .await
            .unwrap(),
        0
    );
    app.clock.advance(Duration::hours(1));
    assert_eq!(
        concierge::server::services::engagement::run_scheduled(state, every)
            .await
            .unwrap(),
        1
    );
    app.finish().await;
}
both_backends!(scheduled_runs_once_per_interval);

/// The run's SQL computes the same segments, churn risk and labels as the documented formula.
async fn sql_formulas_match_the_domain(backend: Backend) {
    use concierge::domain::engagement::score::{score, window_of, Rollup, Thresholds, DAY};
    let app = app(backend, false).await;
    let api = Api::setup(&app, "acme").await;
    let now = Utc.with_ymd_and_hms(2026, 7, 1, 6, 30, 0).unwrap();
    app.clock.set(now - Duration::days(400));
    let mut ids = Vec::new();
    for i in 0..60 {
        ids.push(person(&api, json!({ "full_name": format!("P{i:02}") })).await);
    }
    let org = concierge::server::db::orgs::by_slug(&app.state().db, "acme")
        .await
        .unwrap()
        .unwrap();
    // Varied roll-ups, written straight in.
    let n = now.timestamp();
    let mut expected = std::collections::BTreeMap::new();
    for (i, id) in ids.iter().enumerate() {
        let i = i as i64;
        let r = Rollup {
            person_id: uuid::Uuid::parse_str(id).unwrap(),
            org_id: org.id,
            joined_s: n - (i * 3 + 1) * DAY - i * 977,
            last_active_s: (i % 5 != 0).then(|| n - (i * i % 120) * DAY - i * 3607),
            events: i * 3,
            window_no: window_of(n) - (i % 4),
            recent: i % 11,
            previous: (i * 7) % 13,
            night_recent: (i % 11) / 2 + i % 2,
            night_previous: i % 3,
            unanswered: i % 6,
            ..Default::default()
        };
        let sql = "UPDATE person_engagement SET joined_s = $2, last_active_s = $3, window_no = $4, \
                   recent = $5, previous = $6, night_recent = $7, night_previous = $8, unanswered = $9 \
                   WHERE person_id = $1";
        concierge::on_db!(&app.state().db, pool => sqlx::query(sql)
            .bind(r.person_id).bind(r.joined_s).bind(r.last_active_s).bind(r.window_no)
            .bind(r.recent).bind(r.previous).bind(r.night_recent).bind(r.night_previous)
            .bind(r.unanswered).execute(pool).await.map(|_| ()))
        .unwrap();
        expected.insert(r.person_id, r);
    }
    for (dormant, churned) in [(7, 90), (3, 30), (14, 60)] {
        let t = Thresholds {
            dormant_days: dormant,
            churned_days: churned,
        };
        for at in [now, now + Duration::hours(13), now + Duration::days(17)] {
            let rows =
                concierge::server::db::engagement::formula_preview(&app.state().db, org.id, t, at)
                    .await
                    .unwrap();
            assert_eq!(rows.len(), 60);
            for (id, segment, points, labels) in rows {
                let s = score(&expected[&id], t, at.timestamp());
                assert_eq!(segment, s.segment.as_str(), "{id} at {at} {t:?}");
                assert_eq!(points, s.churn_points, "{id} at {at} {t:?}");
                assert_eq!(labels, s.labels.join(","), "{id} at {at} {t:?}");
            }
        }
    }
    app.finish().await;
}
both_backends!(sql_formulas_match_the_domain);
