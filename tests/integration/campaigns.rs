//! Campaigns over the API, on both databases: created as drafts with variants, weights and a
//! holdout; read, listed and changed; moved along draft → active ⇄ paused (never completed by
//! hand); their arms fixed once started; bad input named field by field; other
//! organisations' campaigns not found.

use crate::both_backends;
use crate::common::{spawn_app, Api, Backend};
use crate::delivery::person;
use crate::engagement::opted_out_email;
use serde_json::{json, Value};

fn two_variants() -> Value {
    json!({
        "name": "Spring return",
        "channel": "email",
        "audience": { "segments": ["dormant", "at_risk"], "tags": ["vip"], "churn_risk_min": 0.3 },
        "variants": [
            { "name": "Warm", "subject": "We miss you, {{ preferred_name }}",
              "body": "Hi {{ preferred_name }}, come back soon. {{ unsubscribe_link }}", "weight": 1 },
            { "name": "Direct", "subject": "Book again",
              "body": "Book your next {{ service }} today, {{ preferred_name }}.", "weight": 3 }
        ],
        "holdout_percent": 10,
        "send_window_start": "10:00",
        "send_window_end": "18:30",
        "conversion_days": 5
    })
}

/// `two_variants()` with the fields of `patch` replacing its own.
pub(crate) fn campaign(patch: Value) -> Value {
    let mut body = two_variants();
    for (k, v) in patch.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

/// A campaign for everyone, its two variants weighted alike, with no send window; `patch`
/// changes more.
pub(crate) fn for_everyone(patch: Value) -> Value {
    let mut body = campaign(json!({
        "audience": {}, "send_window_start": null, "send_window_end": null
    }));
    body["variants"][1]["weight"] = json!(1);
    for (k, v) in patch.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

/// Creates a campaign from `body` and activates it: the campaign as created.
pub(crate) async fn activated(api: &Api<'_>, body: Value) -> Value {
    let (s, c) = api.post("/campaigns", body).await;
    assert_eq!(s, 201, "{c}");
    let (s, a) = api
        .put(
            &format!("/campaigns/{}", c["id"].as_str().unwrap()),
            json!({ "status": "active" }),
        )
        .await;
    assert_eq!(s, 200, "{a}");
    c
}

async fn campaigns_crud_and_status(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let (status, c) = api.post("/campaigns", two_variants()).await;
    assert_eq!(status, 201, "{c}");
    assert_eq!(c["status"], "draft");
    assert_eq!(c["name"], "Spring return");
    assert_eq!(c["channel"], "email");
    assert_eq!(c["holdout_percent"], 10);
    assert_eq!(c["variants"][0]["key"], "A");
    assert_eq!(c["variants"][1]["key"], "B");
    assert_eq!(c["variants"][1]["weight"], 3);
    assert_eq!(c["send_window_start"], "10:00");
    assert_eq!(c["send_window_end"], "18:30");
    assert_eq!(c["audience"]["segments"], json!(["dormant", "at_risk"]));
    assert_eq!(c["audience"]["has_usable_channel"], true);
    assert_eq!(c["conversion_days"], 5);
    assert!(c["activated_at"].is_null());
    let id = c["id"].as_str().unwrap().to_string();
    let path = format!("/campaigns/{id}");

    let (status, read) = api.get(&path).await;
    assert_eq!(status, 200);
    assert_eq!(read, c);
    let (status, list) = api.get("/campaigns").await;
    assert_eq!(status, 200);
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["id"], c["id"]);
    let (_, drafts) = api.get("/campaigns?status=active").await;
    assert_eq!(drafts["total"], 0);
    let (status, problem) = api.get("/campaigns?status=sleeping").await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["field"], "status");

    // A draft changes freely; absent fields are kept.
    let (status, changed) = api
        .put(
            &path,
            json!({ "name": "Spring welcome back", "holdout_percent": 20 }),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["name"], "Spring welcome back");
    assert_eq!(changed["holdout_percent"], 20);
    assert_eq!(changed["variants"], c["variants"]);

    // Activated, its arms are fixed; its words are not.
    let (status, active) = api.put(&path, json!({ "status": "active" })).await;
    assert_eq!(status, 200, "{active}");
    assert_eq!(active["status"], "active");
    assert!(active["activated_at"].is_string());
    let (status, problem) = api.put(&path, json!({ "holdout_percent": 5 })).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["field"], "holdout_percent");
    let mut variants = active["variants"].clone();
    variants[1]["weight"] = json!(1);
    let (status, problem) = api.put(&path, json!({ "variants": variants })).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["field"], "variants");
    let mut variants = active["variants"].clone();
    variants[0]["body"] = json!("Hello again, {{ preferred_name }}.");
    let (status, reworded) = api.put(&path, json!({ "variants": variants })).await;
    assert_eq!(status, 200, "{reworded}");
    assert_eq!(
        reworded["variants"][0]["body"],
        "Hello again, {{ preferred_name }}."
    );

    // Paused and resumed; never completed by hand, never back to draft.
    let (status, paused) = api.put(&path, json!({ "status": "paused" })).await;
    assert_eq!(status, 200, "{paused}");
    assert_eq!(paused["status"], "paused");
    let (status, problem) = api.put(&path, json!({ "status": "completed" })).await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["field"], "status");
    let (status, problem) = api.put(&path, json!({ "status": "draft" })).await;
    assert_eq!(status, 409, "{problem}");
    let (status, resumed) = api.put(&path, json!({ "status": "active" })).await;
    assert_eq!(status, 200, "{resumed}");
    assert_eq!(resumed["status"], "active");
    assert_eq!(resumed["activated_at"], active["activated_at"]);

    // Another organisation sees none of it.
    let globex = Api::setup(&app, "globex").await;
    assert_eq!(globex.get(&path).await.0, 404);
    assert_eq!(globex.put(&path, json!({ "name": "Mine" })).await.0, 404);
    assert_eq!(globex.get("/campaigns").await.1["total"], 0);
    assert_eq!(api.get("/campaigns/not-an-id").await.0, 404);
    app.finish().await;
}
both_backends!(campaigns_crud_and_status);

async fn bad_campaigns_are_named_field_by_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let with = campaign;
    let cases = [
        (with(json!({ "name": "" })), "name"),
        (with(json!({ "channel": "pigeon" })), "channel"),
        (with(json!({ "variants": [] })), "variants"),
        (
            with(json!({ "variants": [{ "subject": "x" }] })),
            "variants[0].body",
        ),
        (
            with(json!({ "variants": [{ "body": "Hi {{ nickname }}" }] })),
            "variants[0].body",
        ),
        (
            with(json!({ "variants": [{ "body": "a", "key": "A" }, { "body": "b", "key": "A" }] })),
            "variants[1].key",
        ),
        (
            with(json!({ "variants": [{ "body": "a", "weight": 0 }] })),
            "variants[0].weight",
        ),
        (with(json!({ "holdout_percent": 91 })), "holdout_percent"),
        (with(json!({ "holdout_percent": "ten" })), "holdout_percent"),
        (
            with(json!({ "send_window_end": "25:00" })),
            "send_window_end",
        ),
        (
            with(json!({ "audience": { "churn_risk_min": 0.9, "churn_risk_max": 0.2 } })),
            "audience.churn_risk_max",
        ),
        (
            with(json!({ "audience": { "segment": "dormant" } })),
            "audience",
        ),
        (with(json!({ "colour": "blue" })), "colour"),
        (
            with(json!({ "starts_at": "2026-03-01T00:00:00Z", "ends_at": "2026-02-01T00:00:00Z" })),
            "ends_at",
        ),
        (
            with(json!({ "channel": "sms", "variants": [{ "body": "x".repeat(500) }] })),
            "variants[0].body",
        ),
    ];
    for (body, field) in cases {
        let (status, problem) = api.post("/campaigns", body.clone()).await;
        assert_eq!(status, 422, "{body}: {problem}");
        let named: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert!(
            named.contains(&field),
            "{body}: expected {field} in {problem}"
        );
    }
    assert_eq!(
        api.get("/campaigns").await.1["total"],
        0,
        "nothing was stored"
    );
    let (status, _) = api.post("/campaigns", json!(["not", "an", "object"])).await;
    assert_eq!(status, 400);
    app.finish().await;
}
both_backends!(bad_campaigns_are_named_field_by_field);

async fn the_audience_before_activating(backend: Backend) {
    let app = spawn_app(backend).await;
    // Noon in London: no quiet hours in the way.
    app.clock.set(
        chrono::DateTime::parse_from_rfc3339("2026-06-10T11:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc),
    );
    let api = Api::setup(&app, "acme").await;
    let client = |name: &str, extra: Value| {
        let mut body = json!({ "full_name": name, "timezone": "Europe/London", "tags": ["vip"] });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let consenting = json!({ "email": "x@example.com", "marketing_consent": true });
    let ada = person(
        &api,
        client(
            "Ada Ready",
            json!({ "preferred_name": "Ada", "email": "ada@example.com", "marketing_consent": true }),
        ),
    )
    .await;
    person(
        &api,
        client("Bob No-Consent", json!({ "email": "bob@example.com" })),
    )
    .await;
    let cy = person(
        &api,
        client("Cy Opted-Out", json!({ "marketing_consent": true })),
    )
    .await;
    opted_out_email(&api, &cy, "cy@example.com").await;
    person(
        &api,
        client("Dee Unreachable", json!({ "marketing_consent": true })),
    )
    .await;
    let eve = person(&api, client("Eve Active", consenting.clone())).await;
    let mut untagged = client("Fay Untagged", consenting.clone());
    untagged["tags"] = json!([]);
    person(&api, untagged).await;

    // Eight days on, all but Eve are dormant (scored, nothing sent).
    app.clock.advance(chrono::Duration::days(8));
    assert_eq!(
        api.post("/activity/login", json!({ "person_id": eve }))
            .await
            .0,
        201
    );
    let org = concierge::server::db::orgs::by_slug(&app.state().db, "acme")
        .await
        .unwrap()
        .unwrap();
    concierge::server::services::engagement::rescore(app.state(), org.id)
        .await
        .unwrap();

    let body = campaign(json!({
        "audience": { "segments": ["dormant"], "tags": ["VIP"] }, "holdout_percent": 0
    }));
    let (_, c) = api.post("/campaigns", body).await;
    let path = format!("/campaigns/{}/audience", c["id"].as_str().unwrap());
    let (status, a) = api.get(&path).await;
    assert_eq!(status, 200, "{a}");
    // Ada and Bob are in it; Cy (opted out) and Dee (no address) have no usable channel; Eve
    // is active and Fay untagged.
    assert_eq!(a["size"], 2, "{a}");
    assert_eq!(a["without_channel"], 2, "{a}");
    assert_eq!(a["would_send"], 1, "{a}");
    assert_eq!(a["would_hold"], 0, "{a}");
    assert_eq!(a["skipped"]["no_consent"], 1, "{a}");
    assert_eq!(a["arms"]["holdout"], 0, "{a}");
    assert_eq!(
        a["arms"]["A"].as_i64().unwrap() + a["arms"]["B"].as_i64().unwrap(),
        2,
        "{a}"
    );

    // Not asking for a usable channel: they are in the audience and skipped, each with why.
    let id = c["id"].as_str().unwrap();
    let (s, _) = api
        .put(
            &format!("/campaigns/{id}"),
            json!({ "audience": { "segments": ["dormant"], "tags": ["vip"], "has_usable_channel": false } }),
        )
        .await;
    assert_eq!(s, 200);
    let (_, a) = api.get(&path).await;
    assert_eq!(a["size"], 4, "{a}");
    assert_eq!(a["without_channel"], 0, "{a}");
    assert_eq!(a["skipped"]["opted_out"], 1, "{a}");
    assert_eq!(a["skipped"]["no_channel"], 1, "{a}");

    // Everyone in the holdout: nobody would be sent anything.
    let (s, _) = api
        .put(
            &format!("/campaigns/{id}"),
            json!({ "holdout_percent": 90 }),
        )
        .await;
    assert_eq!(s, 200);
    let (_, a) = api.get(&path).await;
    let in_holdout = a["arms"]["holdout"].as_i64().unwrap();
    assert!(in_holdout >= 1, "{a}");
    assert_eq!(
        a["would_send"].as_i64().unwrap()
            + a["would_hold"].as_i64().unwrap()
            + a["skipped"]
                .as_object()
                .unwrap()
                .values()
                .map(|v| v.as_i64().unwrap())
                .sum::<i64>()
            + in_holdout,
        4,
        "{a}"
    );

    // Each variant as Ada would read it, her arm, and what the policy would do now.
    let (status, p) = api
        .get(&format!("/campaigns/{id}/preview?person_id={ada}"))
        .await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["person_name"], "Ada Ready");
    assert_eq!(p["decision"], "sent now");
    assert_eq!(p["channel"], "email");
    assert_eq!(p["variants"][0]["subject"], "We miss you, Ada");
    let body = p["variants"][0]["body"].as_str().unwrap();
    assert!(body.starts_with("Hi Ada, come back soon. http"), "{body}");
    assert!(
        body.contains("/u/"),
        "the unsubscribe link is filled in: {body}"
    );
    assert_eq!(
        p["variants"][1]["body"],
        "Book your next your usual today, Ada.\n\nNo more of these: ".to_string()
            + body.rsplit(' ').next().unwrap()
    );
    assert!(["A", "B", "holdout"].contains(&p["arm"].as_str().unwrap()));
    let (status, problem) = api.get(&format!("/campaigns/{id}/preview")).await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (422, Some("person_id")),
        "{problem}"
    );
    let (status, problem) = api
        .get(&format!(
            "/campaigns/{id}/preview?person_id={}",
            uuid::Uuid::nil()
        ))
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (404, Some("person_id")),
        "{problem}"
    );

    // Narrower criteria: nobody has been inactive for 30 days.
    let (s, _) = api
        .put(
            &format!("/campaigns/{id}"),
            json!({ "audience": { "min_days_inactive": 30 } }),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(api.get(&path).await.1["size"], 0);
    app.finish().await;
}
both_backends!(the_audience_before_activating);

/// An app whose worker does not send (messages are sent one by one with `send_now`), allowed
/// to reach the local fakes; noon in London.
pub(crate) async fn quiet_app(backend: Backend) -> crate::common::TestApp {
    let app = crate::common::spawn_app_with(backend, |c| {
        c.run_worker = false;
        c.delivery.allow_loopback = true;
    })
    .await;
    app.clock.set(
        chrono::DateTime::parse_from_rfc3339("2026-06-10T11:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc),
    );
    app
}

/// `n` new clients who consent, each with an e-mail address; their ids.
pub(crate) async fn clients(api: &Api<'_>, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(
            person(
                api,
                json!({ "full_name": format!("Client {i:03}"), "email": format!("c{i}@example.com"),
                        "timezone": "Europe/London", "marketing_consent": true }),
            )
            .await,
        );
    }
    ids
}

/// Sends one queued message at once, as the dispatcher would.
pub(crate) async fn send(app: &crate::common::TestApp, message: &Value) {
    let org = concierge::server::db::orgs::by_slug(&app.state().db, "acme")
        .await
        .unwrap()
        .unwrap();
    concierge::server::services::deliveries::send_now(
        app.state(),
        org.id,
        message["id"].as_str().unwrap().parse().unwrap(),
    )
    .await
    .unwrap();
}

pub(crate) async fn run(api: &Api<'_>) -> Value {
    let (status, body) = api.post("/cron/run-engagement", json!({})).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The campaign messages queued so far, by person.
pub(crate) async fn campaign_messages(api: &Api<'_>) -> Vec<Value> {
    let (status, list) = api.get("/deliveries?kind=engagement&limit=200").await;
    assert_eq!(status, 200, "{list}");
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["source"] == "campaign")
        .cloned()
        .collect()
}

async fn a_campaign_sends_by_arm_and_completes_when_delivered(backend: Backend) {
    let app = quiet_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let smtp = crate::fakes::FakeSmtp::start().await;
    crate::delivery::configure_smtp(&app, "127.0.0.1", smtp.port).await;
    let people = clients(&api, 40).await;
    let (s, c) = api.post("/campaigns", for_everyone(json!({}))).await;
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_str().unwrap().to_string();
    let campaign: uuid::Uuid = id.parse().unwrap();
    let variants: Vec<concierge::domain::campaigns::Variant> =
        serde_json::from_value(c["variants"].clone()).unwrap();

    // A draft sends nothing.
    run(&api).await;
    assert!(campaign_messages(&api).await.is_empty());

    assert_eq!(
        api.put(&format!("/campaigns/{id}"), json!({ "status": "active" }))
            .await
            .0,
        200
    );
    let report = run(&api).await;
    let counts = &report["campaigns"][&id];
    let holdout = counts["holdout"].as_i64().unwrap();
    assert_eq!(counts["reached"], 40, "{report}");
    assert_eq!(counts["queued"].as_i64().unwrap() + holdout, 40, "{report}");
    let messages = campaign_messages(&api).await;
    assert_eq!(messages.len() as i64, 40 - holdout);

    // Each person is in the arm the assignment gives them; the holdout got nothing.
    let arm =
        |p: &str| concierge::domain::campaigns::assign(campaign, p.parse().unwrap(), 10, &variants);
    for m in &messages {
        let p = m["person_id"].as_str().unwrap();
        assert_eq!(m["campaign_id"], id.as_str());
        assert_eq!(m["variant"], arm(p).key(), "{m}");
        let variant = variants.iter().find(|v| v.key == arm(p).key()).unwrap();
        let first_words = variant.body.split("{{").next().unwrap().trim();
        assert!(m["body"].as_str().unwrap().contains(first_words), "{m}");
    }
    let expected_holdout = people
        .iter()
        .filter(|p| arm(p) == concierge::domain::campaigns::Arm::Holdout)
        .count() as i64;
    assert_eq!(holdout, expected_holdout);

    // A one-off sends once: the next run queues nothing more.
    app.clock.advance(chrono::Duration::hours(2));
    let again = run(&api).await;
    assert!(again["campaigns"].get(&id).is_none(), "{again}");
    assert_eq!(campaign_messages(&api).await.len(), messages.len());

    // Completed only once every message has gone: not while one is still queued.
    let (last, rest) = messages.split_last().unwrap();
    for m in rest {
        send(&app, m).await;
    }
    let (_, now) = api.get(&format!("/campaigns/{id}")).await;
    assert_eq!(
        now["status"], "active",
        "one message is still pending: {now}"
    );
    send(&app, last).await;
    let (_, done) = api.get(&format!("/campaigns/{id}")).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert!(done["completed_at"].is_string());
    assert_eq!(smtp.mails().len(), messages.len());
    app.finish().await;
}
both_backends!(a_campaign_sends_by_arm_and_completes_when_delivered);

async fn caps_hold_across_two_active_campaigns(backend: Backend) {
    let app = quiet_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    clients(&api, 12).await;
    let mut ids = Vec::new();
    for name in ["First", "Second"] {
        let c = activated(
            &api,
            for_everyone(json!({ "name": name, "holdout_percent": 0 })),
        )
        .await;
        ids.push(c["id"].as_str().unwrap().to_string());
    }
    let report = run(&api).await;
    let first = &report["campaigns"][&ids[0]];
    let second = &report["campaigns"][&ids[1]];
    assert_eq!(first["queued"], 12, "{report}");
    assert_eq!(second["queued"], 0, "{report}");
    assert_eq!(second["skipped"]["frequency_cap"], 12, "{report}");
    let messages = campaign_messages(&api).await;
    assert_eq!(
        messages.len(),
        12,
        "one message per person across both campaigns"
    );
    assert!(messages.iter().all(|m| m["campaign_id"] == ids[0].as_str()));
    app.finish().await;
}
both_backends!(caps_hold_across_two_active_campaigns);

async fn the_send_window_holds_messages_on_their_clock(backend: Backend) {
    let app = quiet_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    clients(&api, 3).await;
    // 12:00 in London now; the window opens at 14:00 on their clock (13:00 UTC in June).
    let c = activated(
        &api,
        for_everyone(json!({
            "holdout_percent": 0, "send_window_start": "14:00", "send_window_end": "16:00"
        })),
    )
    .await;
    let id = c["id"].as_str().unwrap().to_string();
    let report = run(&api).await;
    assert_eq!(report["campaigns"][&id]["held"], 3, "{report}");
    for m in campaign_messages(&api).await {
        assert_eq!(m["status"], "pending");
        assert_eq!(m["next_attempt_at"], "2026-06-10T13:00:00Z", "{m}");
    }
    app.finish().await;
}
both_backends!(the_send_window_holds_messages_on_their_clock);

async fn results_are_exact_on_a_constructed_history(backend: Backend) {
    let app = quiet_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let smtp = crate::fakes::FakeSmtp::start().await;
    crate::delivery::configure_smtp(&app, "127.0.0.1", smtp.port).await;
    let people = clients(&api, 30).await;
    let c = activated(
        &api,
        for_everyone(json!({ "holdout_percent": 20, "conversion_days": 7 })),
    )
    .await;
    let id = c["id"].as_str().unwrap().to_string();
    let campaign: uuid::Uuid = id.parse().unwrap();
    let variants: Vec<concierge::domain::campaigns::Variant> =
        serde_json::from_value(c["variants"].clone()).unwrap();
    run(&api).await;
    let arm = |p: &str| {
        concierge::domain::campaigns::assign(campaign, p.parse().unwrap(), 20, &variants)
            .key()
            .to_string()
    };

    // Every message goes; the first of A is delivered, opened and clicked, and a booking
    // comes through the first of B.
    let messages = campaign_messages(&api).await;
    for m in &messages {
        send(&app, m).await;
    }
    let first_of = |key: &str| messages.iter().find(|m| m["variant"] == key).cloned();
    let (a, b) = (
        first_of("A").expect("someone in A"),
        first_of("B").expect("someone in B"),
    );
    let a_id = a["id"].as_str().unwrap();
    for event in ["delivered", "opened", "clicked"] {
        let (s, e) = api
            .post(
                &format!("/deliveries/{a_id}/events"),
                json!({ "event": event }),
            )
            .await;
        assert_eq!(s, 200, "{e}");
    }
    app.clock.advance(chrono::Duration::days(1));
    let b_id = b["id"].as_str().unwrap();
    let b_person = b["person_id"].as_str().unwrap().to_string();
    let (s, e) = api
        .post(
            &format!("/deliveries/{b_id}/events"),
            json!({ "event": "booked" }),
        )
        .await;
    assert_eq!(s, 200, "{e}");

    // Activity: every second person books on day 3 (a conversion); every third signed in an
    // hour before they were assigned (not one); every fifth signs in on day 10 (too late).
    let mut converted: std::collections::HashSet<String> = [b_person].into();
    for p in people.iter().step_by(3) {
        let (s, e) = api
            .post(
                "/activity/event",
                json!({ "person_id": p, "name": "login", "occurred_at": "2026-06-10T10:00:00Z" }),
            )
            .await;
        assert_eq!(s, 201, "{e}");
    }
    app.clock.advance(chrono::Duration::days(2));
    for p in people.iter().step_by(2) {
        let (s, e) = api
            .post(
                "/activity/event",
                json!({ "person_id": p, "name": "booking" }),
            )
            .await;
        assert_eq!(s, 201, "{e}");
        converted.insert(p.clone());
    }
    app.clock.advance(chrono::Duration::days(7));
    for p in people.iter().step_by(5) {
        let (s, _) = api.post("/activity/login", json!({ "person_id": p })).await;
        assert_eq!(s, 201);
    }

    let (status, stats) = api.get(&format!("/campaigns/{id}/stats")).await;
    assert_eq!(status, 200, "{stats}");
    let arms = stats["arms"].as_array().unwrap();
    assert_eq!(
        arms.iter()
            .map(|a| a["arm"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["A", "B", "holdout"]
    );
    let mut rates = std::collections::HashMap::new();
    for a in arms {
        let key = a["arm"].as_str().unwrap();
        let assigned = people.iter().filter(|p| arm(p) == key).count() as i64;
        let conv = people
            .iter()
            .filter(|p| arm(p) == key && converted.contains(*p))
            .count() as i64;
        let sent = if key == "holdout" { 0 } else { assigned };
        let touched = i64::from(key == "A");
        assert_eq!(a["assigned"], assigned, "{key}: {a}");
        assert_eq!(a["sent"], sent, "{key}: {a}");
        assert_eq!(a["delivered"], touched, "{key}: {a}");
        assert_eq!(a["opened"], touched, "{key}: {a}");
        assert_eq!(a["clicked"], touched, "{key}: {a}");
        assert_eq!(a["converted"], conv, "{key}: {a}");
        let rate = conv as f64 / assigned as f64;
        assert!(
            (a["conversion_rate"].as_f64().unwrap() - rate).abs() < 1e-12,
            "{a}"
        );
        let (low, high) = concierge::domain::campaigns::stats::wilson(conv, assigned);
        assert!((a["rate_low"].as_f64().unwrap() - low).abs() < 1e-12, "{a}");
        assert!(
            (a["rate_high"].as_f64().unwrap() - high).abs() < 1e-12,
            "{a}"
        );
        rates.insert(key.to_string(), rate);
    }
    for a in &arms[..2] {
        let key = a["arm"].as_str().unwrap();
        let difference = a["lift"]["difference"].as_f64().unwrap();
        assert!(
            (difference - (rates[key] - rates["holdout"])).abs() < 1e-12,
            "{a}"
        );
    }
    assert!(arms[2]["lift"].is_null());
    let total_sent: i64 = stats["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["sent"].as_i64().unwrap())
        .sum();
    assert_eq!(total_sent, messages.len() as i64);

    // The same numbers as CSV.
    let res = app
        .client
        .get(app.url(&format!("/api/v1/campaigns/{id}/stats.csv")))
        .bearer_auth(&api.key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(
        lines[3].starts_with(&format!(
            "holdout,Holdout (no message),{},0,",
            arms[2]["assigned"]
        )),
        "{csv}"
    );
    app.finish().await;
}
both_backends!(results_are_exact_on_a_constructed_history);

async fn admins_configure_campaigns_in_the_portal(backend: Backend) {
    use concierge::domain::Role;
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    app.add_staff("acme", "cole@acme.test", Role::Concierge)
        .await;
    let admin = app.session("admin@acme.test").await;
    let concierge = app.session("cole@acme.test").await;
    let form = [
        ("name", "Portal campaign"),
        ("channel", "email"),
        ("seg_dormant", "on"),
        ("tags", "vip, gold"),
        ("usable_channel", "on"),
        ("v0_key", "A"),
        ("v0_name", "Warm"),
        ("v0_weight", "2"),
        ("v0_subject", "Hello {{ preferred_name }}"),
        ("v0_body", "We miss you, {{ preferred_name }}."),
        ("v1_key", "B"),
        ("v1_name", ""),
        ("v1_weight", "1"),
        ("v1_subject", ""),
        ("v1_body", "Come back soon."),
        ("holdout_percent", "10"),
        ("send_window_start", "10:00"),
        ("send_window_end", "18:00"),
        ("conversion_days", "5"),
    ];
    // A concierge reads campaigns but does not configure them.
    let res = app
        .server_fn("/srv/campaigns/save_campaign", Some(&concierge), &form)
        .await;
    assert_eq!(res.status(), 403);
    let res = app
        .server_fn("/srv/campaigns/list_campaigns", Some(&concierge), &[])
        .await;
    assert_eq!(res.status(), 200);

    // The admin's form: a bad weight is named; then it saves as the API would.
    let mut bad = form.to_vec();
    bad[7] = ("v0_weight", "two");
    let res = app
        .server_fn("/srv/campaigns/save_campaign", Some(&admin), &bad)
        .await;
    let outcome: Value = res.json().await.unwrap();
    assert!(
        outcome["Invalid"]
            .to_string()
            .contains("variants[0].weight"),
        "{outcome}"
    );
    let res = app
        .server_fn("/srv/campaigns/save_campaign", Some(&admin), &form)
        .await;
    assert!(
        res.status().is_success() || res.status().is_redirection(),
        "{}",
        res.status()
    );
    let (_, list) = api.get("/campaigns").await;
    assert_eq!(list["total"], 1, "{list}");
    let c = &list["items"][0];
    assert_eq!(c["name"], "Portal campaign");
    assert_eq!(c["audience"]["segments"], json!(["dormant"]));
    assert_eq!(c["audience"]["tags"], json!(["vip", "gold"]));
    assert_eq!(c["variants"][0]["weight"], 2);
    assert_eq!(c["variants"][1]["name"], "B");
    assert_eq!(c["send_window_end"], "18:00");
    let id = c["id"].as_str().unwrap();

    // Only the admin moves it along.
    let res = app
        .server_fn(
            "/srv/campaigns/set_campaign_status",
            Some(&concierge),
            &[("id", id), ("status", "active")],
        )
        .await;
    assert_eq!(res.status(), 403);
    let res = app
        .server_fn(
            "/srv/campaigns/set_campaign_status",
            Some(&admin),
            &[("id", id), ("status", "active")],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        api.get(&format!("/campaigns/{id}")).await.1["status"],
        "active"
    );

    // The pages render on the server.
    let page = app
        .get_with(&format!("/campaigns/{id}"), &admin)
        .await
        .text()
        .await
        .unwrap();
    for text in [
        "Portal campaign",
        "Audience now",
        "Preview for a client",
        "Results",
        "results.csv",
    ] {
        assert!(page.contains(text), "{text} missing from the campaign page");
    }
    let csv = app
        .get_with(&format!("/campaigns/{id}/results.csv"), &concierge)
        .await;
    assert_eq!(csv.status(), 200);
    assert!(csv.text().await.unwrap().starts_with("arm,name,assigned"));
    app.finish().await;
}
both_backends!(admins_configure_campaigns_in_the_portal);

async fn the_safety_filter_stops_unsafe_texts(backend: Backend) {
    let app = quiet_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    crate::engagement::set_policy(
        &app,
        "acme",
        json!({ "banned_words": "guarantee, act now" }),
    )
    .await;
    let ada = person(
        &api,
        json!({ "full_name": "Ada Lovelace", "preferred_name": "Ada", "email": "ada@example.com",
                "timezone": "Europe/London", "marketing_consent": true }),
    )
    .await;
    let grace = person(
        &api,
        json!({ "full_name": "Grace Hopper", "email": "grace@example.com",
                "timezone": "Europe/London", "marketing_consent": true }),
    )
    .await;
    let unsafe_words = activated(
        &api,
        for_everyone(
            json!({ "name": "Unsafe", "holdout_percent": 0, "variants": [
            { "body": "We GUARANTEE it, {{ preferred_name }}. Act now!", "weight": 1 },
            { "body": "Book at https://evil.example.net today, {{ preferred_name }}", "weight": 1 }
        ] }),
        ),
    )
    .await;
    let naming = activated(
        &api,
        for_everyone(
            json!({ "name": "Naming", "holdout_percent": 0, "variants": [
            { "body": "Hello {{ preferred_name }}, Grace Hopper says hi (grace@example.com)." }
        ] }),
        ),
    )
    .await;
    let clean = activated(
        &api,
        for_everyone(json!({ "name": "Clean", "holdout_percent": 0, "variants": [
            { "body": "Hello {{ preferred_name }}, see you soon. {{ unsubscribe_link }}" }
        ] })),
    )
    .await;
    let report = run(&api).await;
    let counts = |c: &Value| report["campaigns"][c["id"].as_str().unwrap()].clone();
    assert_eq!(counts(&unsafe_words)["skipped"]["safety"], 2, "{report}");
    assert_eq!(counts(&naming)["skipped"]["safety"], 1, "{report}");
    assert_eq!(
        counts(&naming)["queued"],
        1,
        "Grace's own name is no one else's: {report}"
    );
    assert_eq!(counts(&clean)["queued"], 1, "{report}");
    assert_eq!(counts(&clean)["skipped"]["frequency_cap"], 1, "{report}");

    let messages = campaign_messages(&api).await;
    let of = |c: &Value, p: &str| {
        messages
            .iter()
            .find(|m| m["campaign_id"] == c["id"] && m["person_id"] == p)
            .cloned()
            .unwrap_or_else(|| panic!("no message of {} to {p}", c["name"]))
    };
    let failed = |m: &Value| -> Vec<String> {
        m["safety_checks"]["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["passed"] == false)
            .map(|c| c["check"].as_str().unwrap().to_string())
            .collect()
    };
    for p in [&ada, &grace] {
        let m = of(&unsafe_words, p);
        assert_eq!(m["status"], "suppressed", "{m}");
        assert_eq!(m["suppression_reason"], "safety");
        assert_eq!(m["safety_checks"]["passed"], false);
        let expected = if m["variant"] == "A" {
            "banned_words"
        } else {
            "links"
        };
        assert_eq!(failed(&m), vec![expected], "{m}");
        assert!(
            m["last_error"]
                .as_str()
                .unwrap()
                .contains(if expected == "links" {
                    "evil.example.net"
                } else {
                    "'guarantee', 'act now'"
                }),
            "{m}"
        );
    }
    let to_ada = of(&naming, &ada);
    assert_eq!(to_ada["status"], "suppressed");
    assert_eq!(failed(&to_ada), vec!["other_people"], "{to_ada}");
    assert!(
        to_ada["last_error"]
            .as_str()
            .unwrap()
            .contains("Grace Hopper"),
        "{to_ada}"
    );
    let to_grace = of(&naming, &grace);
    assert_eq!(to_grace["status"], "pending", "{to_grace}");
    assert_eq!(to_grace["safety_checks"]["passed"], true);
    let clean_to_ada = of(&clean, &ada);
    assert_eq!(clean_to_ada["status"], "pending");
    assert_eq!(
        clean_to_ada["safety_checks"]["checks"]
            .as_array()
            .unwrap()
            .len(),
        5
    );

    // The message's page shows each check and why it failed.
    let admin = app.session("admin@acme.test").await;
    let page = app
        .get_with(
            &format!("/messages/{}", to_ada["id"].as_str().unwrap()),
            &admin,
        )
        .await
        .text()
        .await
        .unwrap();
    for text in [
        "Safety checks",
        "other people",
        "names Grace Hopper, another client",
        "banned words",
    ] {
        assert!(page.contains(text), "{text} missing from the message page");
    }
    app.finish().await;
}
both_backends!(the_safety_filter_stops_unsafe_texts);
