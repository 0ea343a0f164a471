//! The delivery engine end to end, against local fakes over real HTTP and SMTP: reminders
//! reaching a webhook (signed), an SMTP server and a Slack-style API once; retries with backoff
//! under the test clock; permanent and hard failures; utility ahead of engagement; two workers
//! racing; utility messages, provider callbacks and inbound messages over the API.

use crate::both_backends;
use crate::common::{spawn_app_with, Api, Backend, TestApp};
use crate::fakes::{FakeHttp, FakeSmtp, Reply};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use concierge::server::services::channels::set_for_org;
use concierge::server::Clock;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// An app whose worker runs, polling often, allowed to reach the local fakes.
pub async fn worker_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |c| {
        c.run_worker = true;
        c.delivery.poll = std::time::Duration::from_millis(25);
        c.delivery.allow_loopback = true;
        c.delivery.max_attempts = 3;
    })
    .await
}

pub async fn configure(app: &TestApp, org: &str, channel: &str, pairs: &[(&str, &str)]) {
    let map: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    set_for_org(app.state(), org, channel, &map, Some(true))
        .await
        .expect("channel settings");
}

/// The acme organisation's webhook, signed with [`SECRET`].
pub async fn configure_webhook(app: &TestApp, url: &str) {
    configure(app, "acme", "webhook", &[("url", url), ("secret", SECRET)]).await;
}

/// The acme organisation's e-mail, through a plain-text local SMTP server.
pub async fn configure_smtp(app: &TestApp, host: &str, port: u16) {
    let port = port.to_string();
    configure(
        app,
        "acme",
        "email",
        &[
            ("host", host),
            ("port", &port),
            ("tls", "none"),
            ("from", "concierge@acme.test"),
        ],
    )
    .await;
}

pub async fn person(api: &Api<'_>, body: Value) -> String {
    let (status, p) = api.post("/persons", body).await;
    assert_eq!(status, 201, "{p}");
    p["id"].as_str().unwrap().to_string()
}

/// Polls a delivery until its status is one of `statuses`.
pub async fn wait_status(api: &Api<'_>, id: &str, statuses: &[&str]) -> Value {
    for _ in 0..400 {
        let (status, d) = api.get(&format!("/deliveries/{id}")).await;
        assert_eq!(status, 200, "{d}");
        if statuses.contains(&d["status"].as_str().unwrap_or_default()) {
            return d;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("delivery {id} never reached {statuses:?}");
}

/// Checks a Standard Webhooks signature as a receiver would.
pub fn verify_signature(req: &crate::fakes::Recorded) {
    let id = req.header("webhook-id").expect("webhook-id");
    let ts = req.header("webhook-timestamp").expect("webhook-timestamp");
    let sig = req.header("webhook-signature").expect("webhook-signature");
    let key = base64::engine::general_purpose::STANDARD
        .decode(SECRET.trim_start_matches("whsec_"))
        .unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(&req.body);
    let expected = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    assert!(
        sig.split(' ').any(|s| s == expected),
        "signature {sig} does not verify"
    );
    let now = Utc::now().timestamp();
    let ts: i64 = ts.parse().unwrap();
    assert!((now - ts).abs() < 300, "timestamp {ts} is not current");
}

async fn deliveries(api: &Api<'_>, query: &str) -> Vec<Value> {
    let (status, list) = api.get(&format!("/deliveries?{query}")).await;
    assert_eq!(status, 200, "{list}");
    list["items"].as_array().unwrap().clone()
}

fn at(v: &Value, field: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v[field].as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

/// A reminder created like the portal's form creates it reaches a signed webhook, an SMTP
/// server and a Slack-style API, once each, when its moment comes — and not before.
async fn reminders_reach_every_channel_once(backend: Backend) {
    let app = worker_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let hook = FakeHttp::start().await;
    let slack = FakeHttp::start().await;
    slack.default_reply(Reply::status(200, r#"{"ok":true,"ts":"1700000000.0001"}"#));
    let smtp = FakeSmtp::start().await;
    configure(
        &app,
        "acme",
        "webhook",
        &[("url", &format!("{}/hooks", hook.url)), ("secret", SECRET)],
    )
    .await;
    configure(
        &app,
        "acme",
        "slack",
        &[
            ("base_url", &format!("{}/api", slack.url)),
            ("token", "xoxb-test"),
        ],
    )
    .await;
    configure_smtp(&app, "127.0.0.1", smtp.port).await;

    let ada = person(
        &api,
        json!({ "full_name": "Ada Lovelace", "preferred_name": "Ada", "timezone": "Europe/London",
                "email": "ada@example.com" }),
    )
    .await;
    let (status, _) = api
        .post(
            &format!("/persons/{ada}/identities"),
            json!({ "channel": "slack", "address": "U024BE7LH" }),
        )
        .await;
    assert_eq!(status, 201);
    // The test clock reads 2026-03-14 15:09 UTC. A birthday on 17 March, reminded 2 days
    // before at 09:00 London time, by e-mail, Slack and webhook.
    let (status, item) = api
        .post(
            "/date-items",
            json!({
                "person_id": ada, "title": "Ada's birthday", "date": "1990-03-17", "recurrence": "yearly",
                "reminder_rules": [
                    { "reminder_type": "lead_time", "lead_time_days": 2, "channel": "email", "audience": "client" },
                    { "reminder_type": "lead_time", "lead_time_days": 2, "channel": "slack", "audience": "client", "message": "Happy almost-birthday!" },
                    { "reminder_type": "lead_time", "lead_time_days": 2, "channel": "webhook", "audience": "client" }
                ]
            }),
        )
        .await;
    assert_eq!(status, 201, "{item}");
    // Nothing is due yet (15 March 09:00 London).
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(hook.requests().is_empty() && slack.requests().is_empty() && smtp.mails().is_empty());

    app.clock.advance(Duration::hours(18)); // 2026-03-15 09:09 UTC
    let hooks = hook.wait_for(1, 10).await;
    let posts = slack.wait_for(1, 10).await;
    let mails = smtp.wait_for(1, 10).await;

    verify_signature(&hooks[0]);
    assert_eq!(hooks[0].method, "POST");
    let payload = hooks[0].json();
    assert_eq!(payload["kind"], "utility");
    assert_eq!(payload["person"]["id"], ada.as_str());
    assert!(payload["body"].as_str().unwrap().contains("Ada's birthday"));
    assert_eq!(
        hooks[0].header("webhook-id"),
        hooks[0].header("idempotency-key")
    );

    assert_eq!(posts[0].path, "/api/chat.postMessage");
    assert_eq!(
        posts[0].header("authorization").unwrap(),
        "Bearer xoxb-test"
    );
    assert_eq!(posts[0].json()["channel"], "U024BE7LH");
    assert!(posts[0].json()["text"]
        .as_str()
        .unwrap()
        .contains("Happy almost-birthday!"));

    assert_eq!(mails[0].to, vec!["ada@example.com".to_string()]);
    assert_eq!(mails[0].from, "concierge@acme.test");
    assert!(
        mails[0].data.contains("Subject: Reminder: Ada's birthday"),
        "{}",
        mails[0].data
    );

    // Each occurrence once: more time and more polls change nothing.
    app.clock.advance(Duration::hours(1));
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(hook.requests().len(), 1);
    assert_eq!(slack.requests().len(), 1);
    assert_eq!(smtp.mails().len(), 1);

    let sent = deliveries(&api, &format!("person_id={ada}&status=sent")).await;
    assert_eq!(sent.len(), 3, "{sent:?}");
    for d in &sent {
        assert_eq!(d["source"], "reminder");
        assert_eq!(d["occurrence"], "2026-03-17");
        assert_eq!(d["explanation"], "sent");
    }
    // The rules moved on to next year's birthday.
    let (_, rules) = api
        .get(&format!(
            "/date-items/{}/reminders",
            item["id"].as_str().unwrap()
        ))
        .await;
    for r in rules["items"].as_array().unwrap() {
        assert_eq!(r["status"], "pending", "{r}");
        assert_eq!(r["occurrence_date"], "2027-03-17", "{r}");
        assert_eq!(r["last_sent_occurrence"], "2026-03-17", "{r}");
    }
    app.finish().await;
}
both_backends!(reminders_reach_every_channel_once);

/// A staff reminder becomes a note in the assigned concierge's portal, and e-mail when the
/// organisation sends e-mail.
async fn staff_reminders_notify_in_the_portal(backend: Backend) {
    let app = worker_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    app.add_staff("acme", "cleo@acme.test", concierge::domain::Role::Concierge)
        .await;
    let smtp = FakeSmtp::start().await;
    configure_smtp(&app, "localhost", smtp.port).await;
    let org = concierge::server::db::orgs::by_slug(&app.state().db, "acme")
        .await
        .unwrap()
        .unwrap();
    let cleo = concierge::server::db::staff::list(&app.state().db, org.id)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.email == "cleo@acme.test")
        .unwrap();
    let grace = person(
        &api,
        json!({ "full_name": "Grace Hopper", "timezone": "America/New_York",
                "assigned_staff_id": cleo.id }),
    )
    .await;
    let (status, r) = api
        .post(
            "/reminders",
            json!({ "person_id": grace, "reminder_type": "scheduled",
                    "scheduled_datetime": "2026-03-14T15:10:00Z", "channel": "portal",
                    "audience": "staff", "message": "Order the flowers" }),
        )
        .await;
    assert_eq!(status, 201, "{r}");
    app.clock.advance(Duration::minutes(2));
    let mail = smtp.wait_for(1, 10).await;
    assert_eq!(mail[0].to, vec!["cleo@acme.test".to_string()]);
    let list = deliveries(&api, &format!("person_id={grace}")).await;
    let portal = list
        .iter()
        .find(|d| d["channel"] == "portal")
        .expect("portal delivery");
    wait_status(&api, portal["id"].as_str().unwrap(), &["sent"]).await;
    let session = app.session("cleo@acme.test").await;
    let page = app.get_with("/notifications", &session).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Order the flowers"),
        "the note is on Cleo's page"
    );
    app.finish().await;
}
both_backends!(staff_reminders_notify_in_the_portal);

/// 503, 503, then 200: retried with exponential backoff under the test clock, every attempt
/// carrying the same idempotency key; a 400 fails at once and can be retried by a person.
async fn retries_back_off_and_permanent_failures_stop(backend: Backend) {
    let app = worker_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let hook = FakeHttp::start().await;
    configure_webhook(&app, &hook.url).await;
    let p = person(
        &api,
        json!({ "full_name": "Alan Turing", "timezone": "Europe/London" }),
    )
    .await;

    hook.script([Reply::status(503, "busy"), Reply::status(503, "busy")]);
    let (status, d) = api
        .post(
            "/send-utility",
            json!({ "person_id": p, "type": "appointment_reminder", "channel": "webhook",
                    "data": { "time": "10am", "service": "fitting" } }),
        )
        .await;
    assert_eq!(status, 202, "{d}");
    let id = d["id"].as_str().unwrap().to_string();
    hook.wait_for(1, 10).await;
    let d1 = wait_status(&api, &id, &["pending"]).await;
    // Wait until the failure is recorded (attempts 1, a next attempt in the future).
    let mut d1 = d1;
    for _ in 0..200 {
        if d1["attempts"] == 1 && d1["last_error"].is_string() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        d1 = api.get(&format!("/deliveries/{id}")).await.1;
    }
    let now = app.clock.now();
    let wait = at(&d1, "next_attempt_at") - now;
    assert!(
        wait >= Duration::seconds(15) && wait <= Duration::seconds(30),
        "first retry after {wait} (expected 15–30 s: half to all of the 30 s base)"
    );
    assert!(
        d1["explanation"]
            .as_str()
            .unwrap()
            .contains("attempt 1 of 3 failed: HTTP 503"),
        "{d1}"
    );
    // Not before its time.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(hook.requests().len(), 1);
    app.clock.advance(Duration::seconds(31));
    hook.wait_for(2, 10).await;
    let mut d2 = api.get(&format!("/deliveries/{id}")).await.1;
    for _ in 0..200 {
        if d2["attempts"] == 2 && d2["status"] == "pending" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        d2 = api.get(&format!("/deliveries/{id}")).await.1;
    }
    let wait = at(&d2, "next_attempt_at") - app.clock.now();
    assert!(
        wait >= Duration::seconds(30) && wait <= Duration::seconds(60),
        "second retry after {wait} (expected 30–60 s)"
    );
    app.clock.advance(Duration::seconds(61));
    let reqs = hook.wait_for(3, 10).await;
    let done = wait_status(&api, &id, &["sent"]).await;
    assert_eq!(done["attempts"], 3);
    let keys: Vec<_> = reqs
        .iter()
        .map(|r| r.header("webhook-id").unwrap())
        .collect();
    assert!(
        keys.iter().all(|k| k == &id),
        "every attempt carries the delivery id: {keys:?}"
    );
    let events: Vec<&str> = done["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        ["queued", "attempt_failed", "attempt_failed", "sent"]
    );

    // A 400 is not worth retrying: failed at once, then retried by a person.
    hook.script([Reply::status(400, r#"{"error":"bad payload"}"#)]);
    let (_, d) = api
        .post(
            "/send-utility",
            json!({ "person_id": p, "body": "Your car is ready.", "channel": "webhook" }),
        )
        .await;
    let id = d["id"].as_str().unwrap().to_string();
    let failed = wait_status(&api, &id, &["failed"]).await;
    assert_eq!(failed["attempts"], 1);
    assert!(
        failed["explanation"]
            .as_str()
            .unwrap()
            .starts_with("failed — HTTP 400"),
        "{failed}"
    );
    let (status, again) = api
        .post(&format!("/deliveries/{id}/retry"), json!({}))
        .await;
    assert_eq!(status, 200, "{again}");
    wait_status(&api, &id, &["sent"]).await;
    let (status, conflict) = api
        .post(&format!("/deliveries/{id}/retry"), json!({}))
        .await;
    assert_eq!(status, 409, "{conflict}");
    app.finish().await;
}
both_backends!(retries_back_off_and_permanent_failures_stop);

/// A mailbox that bounces three times is disabled, shown to staff, and skipped after that.
async fn hard_bounces_disable_the_address(backend: Backend) {
    let app = worker_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let smtp = FakeSmtp::start().await;
    smtp.reject("gone@example.com");
    configure_smtp(&app, "127.0.0.1", smtp.port).await;
    let p = person(
        &api,
        json!({ "full_name": "Bounce Bob", "timezone": "UTC" }),
    )
    .await;
    let (_, identity) = api
        .post(
            &format!("/persons/{p}/identities"),
            json!({ "channel": "email", "address": "gone@example.com" }),
        )
        .await;
    for n in 0..3 {
        let (_, d) = api
            .post(
                "/send-utility",
                json!({ "person_id": p, "body": format!("Message {n}") }),
            )
            .await;
        let failed = wait_status(&api, d["id"].as_str().unwrap(), &["failed"]).await;
        assert_eq!(failed["attempts"], 1, "a hard bounce is not retried");
        assert!(
            failed["last_error"].as_str().unwrap().contains("SMTP 550"),
            "{failed}"
        );
    }
    let (_, ids) = api.get(&format!("/persons/{p}/identities")).await;
    let email = ids["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == identity["id"])
        .unwrap()
        .clone();
    assert!(email["disabled_at"].is_string(), "{email}");
    assert!(email["disabled_reason"]
        .as_str()
        .unwrap()
        .contains("3 hard failures"));
    let (_, d) = api
        .post(
            "/send-utility",
            json!({ "person_id": p, "body": "Anyone there?" }),
        )
        .await;
    assert_eq!(d["status"], "suppressed", "{d}");
    assert_eq!(d["suppression_reason"], "identity_disabled");
    let (_, detail) = api
        .get(&format!("/deliveries/{}", d["id"].as_str().unwrap()))
        .await;
    assert!(detail["explanation"]
        .as_str()
        .unwrap()
        .contains("disabled after repeated hard failures"));
    // Staff enable it again (say, after the client fixed their mailbox).
    let (status, enabled) = api
        .put(
            &format!("/identities/{}", identity["id"].as_str().unwrap()),
            json!({ "disabled": false }),
        )
        .await;
    assert_eq!(status, 200, "{enabled}");
    assert!(
        enabled["disabled_at"].is_null() && enabled["hard_failures"] == 0,
        "{enabled}"
    );
    app.finish().await;
}
both_backends!(hard_bounces_disable_the_address);

/// With one send at a time and a queue of engagement messages, a utility message queued last
/// still goes next.
async fn utility_goes_ahead_of_engagement(backend: Backend) {
    use concierge::domain::delivery::{DeliveryKind, DeliverySource};
    use concierge::server::services::deliveries::{queue, NewDelivery};
    let app = spawn_app_with(backend, |c| {
        c.delivery.allow_loopback = true;
        c.delivery.concurrency = 1;
        c.delivery.poll = std::time::Duration::from_millis(25);
    })
    .await;
    let api = Api::setup(&app, "acme").await;
    let hook = FakeHttp::start().await;
    configure_webhook(&app, &hook.url).await;
    let org = concierge::server::db::orgs::by_slug(&app.state().db, "acme")
        .await
        .unwrap()
        .unwrap()
        .id;
    let now = app.clock.now();
    for (n, kind) in (0..20)
        .map(|n| (n, DeliveryKind::Engagement))
        .chain([(99, DeliveryKind::Utility)])
    {
        queue(
            app.state(),
            NewDelivery {
                org_id: org,
                person: None,
                staff_id: None,
                kind,
                source: if kind == DeliveryKind::Utility {
                    DeliverySource::Api
                } else {
                    DeliverySource::Campaign
                },
                channel: Some(concierge::domain::dates::Channel::Webhook),
                address: None,
                subject: None,
                body: format!("message {n}"),
                metadata: json!({}),
                idempotency_key: format!("order-test-{n}"),
                correlation_id: None,
                reminder_rule_id: None,
                occurrence: None,
                conversation_id: None,
                due_at: now - Duration::minutes(30 - n.min(29)),
            },
        )
        .await
        .unwrap();
    }
    let worker = concierge::server::worker::spawn(app.state());
    let reqs = hook.wait_for(21, 20).await;
    assert_eq!(
        reqs[0].json()["body"],
        "message 99",
        "the utility message goes first"
    );
    assert_eq!(reqs[0].json()["kind"], "utility");
    worker.shutdown().await;
    let _ = api;
    app.finish().await;
}
both_backends!(utility_goes_ahead_of_engagement);

/// Three workers with their own connections race over the same outbox and the same due
/// reminders: every delivery is sent exactly once and each occurrence is queued once.
async fn racing_workers_send_each_delivery_once(backend: Backend) {
    use concierge::server::{AppState, Config};
    let app = spawn_app_with(backend, |c| {
        c.delivery.allow_loopback = true;
    })
    .await;
    let api = Api::setup(&app, "acme").await;
    let hook = FakeHttp::start().await;
    configure_webhook(&app, &hook.url).await;
    let p = person(
        &api,
        json!({ "full_name": "Race Condition", "timezone": "UTC" }),
    )
    .await;
    for n in 0..40 {
        let (status, r) = api
            .post(
                "/reminders",
                json!({ "person_id": p, "reminder_type": "scheduled", "channel": "webhook",
                        "scheduled_datetime": format!("2026-03-14T15:{:02}:00Z", 10 + n % 40),
                        "audience": "client", "message": format!("reminder {n}") }),
            )
            .await;
        assert_eq!(status, 201, "{r}");
    }
    for n in 0..60 {
        let (status, d) = api
            .post(
                "/send-utility",
                json!({ "person_id": p, "channel": "webhook", "body": format!("utility {n}") }),
            )
            .await;
        assert_eq!(status, 202, "{d}");
    }
    app.clock.advance(Duration::hours(1));
    let url = app.state().config.database_url.clone();
    let mut workers = Vec::new();
    let mut states = Vec::new();
    for _ in 0..3 {
        let db = concierge::server::db::Db::connect(&url).await.unwrap();
        let mut config = Config {
            database_url: url.clone(),
            ..Config::default()
        };
        config.delivery.allow_loopback = true;
        config.delivery.concurrency = 8;
        config.delivery.poll = std::time::Duration::from_millis(10);
        let state = AppState::new(
            db,
            std::sync::Arc::new(app.clock.clone()),
            config,
            app.state().leptos_options.clone(),
        )
        .unwrap();
        workers.push(concierge::server::worker::spawn(&state));
        states.push(state);
    }
    let reqs = hook.wait_for(100, 30).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    for w in workers {
        w.shutdown().await;
    }
    let reqs = if hook.requests().len() > reqs.len() {
        hook.requests()
    } else {
        reqs
    };
    let mut ids: Vec<String> = reqs
        .iter()
        .map(|r| r.header("webhook-id").unwrap())
        .collect();
    ids.sort();
    let before = ids.len();
    ids.dedup();
    assert_eq!(
        before, 100,
        "100 sends for 40 reminders and 60 utility messages"
    );
    assert_eq!(ids.len(), 100, "no delivery was sent twice");
    let all = deliveries(&api, &format!("person_id={p}&limit=200")).await;
    assert_eq!(all.len(), 100);
    assert!(all.iter().all(|d| d["status"] == "sent"));
    for s in states {
        s.db.close().await;
    }
    app.finish().await;
}
both_backends!(racing_workers_send_each_delivery_once);

/// Utility messages over the API: 202 with the delivery, Idempotency-Key honoured, errors
/// naming the field, another organisation's delivery a 404; provider callbacks; inbound
/// messages threaded into the conversation.
async fn utility_api_callbacks_and_inbound(backend: Backend) {
    let app = worker_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let other = Api::setup(&app, "globex").await;
    let p = person(
        &api,
        json!({ "full_name": "Mary Somerville", "timezone": "Europe/London", "email": "mary@example.com",
                "external_id": "crm-7" }),
    )
    .await;
    // No channel configured: the message goes to the log, and the log says so.
    let send = |key: &'static str| {
        let api = &api;
        async move {
            let mut req = api
                .app
                .client
                .post(api.app.url("/api/v1/send-utility"))
                .bearer_auth(&api.key)
                .json(&json!({ "external_id": "crm-7", "type": "appointment_reminder", "data": { "time": "10am" } }));
            if !key.is_empty() {
                req = req.header("Idempotency-Key", key);
            }
            let res = req.send().await.unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let (status, first) = send("booking-42").await;
    assert_eq!(status, 202, "{first}");
    assert_eq!(first["kind"], "utility");
    assert_eq!(first["channel"], "email");
    assert_eq!(first["address"], "mary@example.com");
    assert_eq!(
        first["body"],
        "Hi Mary Somerville, this is a reminder of your appointment — 10am."
    );
    let (status, again) = send("booking-42").await;
    assert_eq!(status, 202);
    assert_eq!(
        again["id"], first["id"],
        "the same key answers with the same delivery"
    );
    let id = first["id"].as_str().unwrap().to_string();
    let sent = wait_status(&api, &id, &["sent"]).await;
    assert_eq!(sent["transport"], "log");
    assert!(
        sent["explanation"]
            .as_str()
            .unwrap()
            .contains("not configured"),
        "{sent}"
    );

    let (status, bad) = api
        .post("/send-utility", json!({ "person_id": p, "type": "party" }))
        .await;
    assert_eq!(status, 422, "{bad}");
    assert!(bad.to_string().contains("type"));
    let (status, bad) = api
        .post(
            "/send-utility",
            json!({ "person_id": p, "type": "appointment_reminder" }),
        )
        .await;
    assert_eq!(status, 422);
    assert!(bad.to_string().contains("data.time"), "{bad}");
    let (status, _) = api
        .post(
            "/send-utility",
            json!({ "person_id": p, "body": "x", "channel": "pigeon" }),
        )
        .await;
    assert_eq!(status, 422);
    let (status, _) = other.get(&format!("/deliveries/{id}")).await;
    assert_eq!(status, 404, "another organisation's delivery is not there");
    let (status, _) = other
        .post(
            &format!("/deliveries/{id}/events"),
            json!({ "event": "delivered" }),
        )
        .await;
    assert_eq!(status, 404);

    // Provider callbacks.
    let (status, d) = api
        .post(
            &format!("/deliveries/{id}/events"),
            json!({ "event": "delivered" }),
        )
        .await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["status"], "delivered");
    let (status, d) = api
        .post(
            &format!("/deliveries/{id}/events"),
            json!({ "event": "clicked" }),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(d["response"], "clicked");
    let (status, bad) = api
        .post(
            &format!("/deliveries/{id}/events"),
            json!({ "event": "exploded" }),
        )
        .await;
    assert_eq!(status, 422, "{bad}");
    let filtered = deliveries(&api, "status=delivered&kind=utility").await;
    assert_eq!(filtered.len(), 1);
    let (status, _) = api.get("/deliveries?status=lost").await;
    assert_eq!(status, 422);

    // Inbound: found by the sender's address, threaded, and the delivery marked replied.
    let (status, inbound) = api
        .post(
            "/inbound",
            json!({ "channel": "email", "from": "MARY@example.com", "body": "Thank you, see you at 10!",
                    "in_reply_to": id }),
        )
        .await;
    assert_eq!(status, 201, "{inbound}");
    let conversation = inbound["conversation_id"].as_str().unwrap().to_string();
    let (_, again) = api
        .post(
            "/inbound",
            json!({ "channel": "email", "person_id": p, "body": "One more thing." }),
        )
        .await;
    assert_eq!(
        again["conversation_id"],
        conversation.as_str(),
        "the same thread"
    );
    let (_, msgs) = api
        .get(&format!("/conversations/{conversation}/messages"))
        .await;
    assert_eq!(msgs["items"].as_array().unwrap().len(), 2);
    let (_, d) = api.get(&format!("/deliveries/{id}")).await;
    assert_eq!(d["response"], "replied");
    let (status, bad) = api
        .post(
            "/inbound",
            json!({ "channel": "email", "from": "nobody@example.com", "body": "hi" }),
        )
        .await;
    assert_eq!(status, 422);
    assert!(bad.to_string().contains("from"), "{bad}");

    // A staff reply in the thread goes out through the conversation's channel.
    let (status, reply) = api
        .post(
            &format!("/conversations/{conversation}/messages"),
            json!({ "direction": "out", "body": "Noted — see you then." }),
        )
        .await;
    assert_eq!(status, 201, "{reply}");
    let delivery = reply["delivery_id"]
        .as_str()
        .expect("the reply has a delivery")
        .to_string();
    let d = wait_status(&api, &delivery, &["sent"]).await;
    assert_eq!(d["address"], "mary@example.com");
    assert_eq!(d["source"], "manual");
    app.finish().await;
}
both_backends!(utility_api_callbacks_and_inbound);

async fn messages_queued_for_a_deleted_client_are_cancelled(backend: Backend) {
    let app = crate::campaigns::quiet_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let p = person(
        &api,
        json!({ "full_name": "Alan Turing", "email": "alan@example.com", "timezone": "Europe/London" }),
    )
    .await;
    let (status, d) = api
        .post(
            "/send-utility",
            json!({ "person_id": p, "type": "appointment_reminder", "channel": "email",
                    "data": { "time": "10am", "service": "fitting" } }),
        )
        .await;
    assert_eq!(status, 202, "{d}");
    assert_eq!(api.delete(&format!("/persons/{p}")).await, 204);
    let (_, after) = api
        .get(&format!("/deliveries/{}", d["id"].as_str().unwrap()))
        .await;
    assert_eq!(after["status"], "cancelled", "{after}");
    assert_eq!(after["suppression_reason"], "person_deleted");
    assert_eq!(after["explanation"], "cancelled — the person was deleted");
    app.finish().await;
}
both_backends!(messages_queued_for_a_deleted_client_are_cancelled);
