//! AI-written campaign text, on both databases, against a local fake OpenAI-compatible server
//! over real HTTP: a good answer is sent (model, prompt version and correlation id recorded);
//! a slow answer past the timeout, an error and an unsafe text each fall back to the
//! variant's template, recorded with why; editing a prompt makes a new version while old
//! messages keep theirs; without a model everything is written from templates; the model's
//! key is never shown back.

use crate::both_backends;
use crate::campaigns::{activated, campaign_messages, clients, for_everyone, quiet_app, run, send};
use crate::common::{Api, Backend, TestApp};
use crate::delivery::person;
use crate::fakes::{FakeHttp, Reply};
use concierge::server::Clock;
use serde_json::{json, Value};
use std::time::Duration;

/// A chat completion whose first choice says `content`.
fn completion(content: &str) -> Reply {
    Reply::status(
        200,
        &json!({
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": "test-model",
            "choices": [{ "index": 0, "finish_reason": "stop",
                          "message": { "role": "assistant", "content": content } }]
        })
        .to_string(),
    )
}

/// Sets up the organisation's model through Settings → Engagement, as an admin would.
async fn set_model(app: &TestApp, admin: &str, fields: &[(&str, &str)]) -> Value {
    let res = app
        .server_fn("/srv/engagement/save_model", Some(admin), fields)
        .await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// A campaign for everyone with one variant written from `prompt` (its template the fall-back).
fn prompted(name: &str, prompt: &str) -> Value {
    for_everyone(json!({ "name": name, "holdout_percent": 0, "variants": [{
        "subject": "We miss you, {{ preferred_name }}",
        "body": "Hello {{ preferred_name }}, the template speaks.",
        "prompt": prompt,
    }] }))
}

/// The campaign's messages.
async fn messages_of(api: &Api<'_>, c: &Value) -> Vec<Value> {
    campaign_messages(api)
        .await
        .into_iter()
        .filter(|m| m["campaign_id"] == c["id"])
        .collect()
}

async fn the_model_writes_and_falls_back_to_templates(backend: Backend) {
    let app = quiet_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let admin = app.session("admin@acme.test").await;
    crate::engagement::set_policy(
        &app,
        "acme",
        json!({ "cap_per_day": 20, "cap_per_week": 50, "banned_words": "guarantee" }),
    )
    .await;
    let ada = person(
        &api,
        json!({ "full_name": "Ada Lovelace", "preferred_name": "Ada", "email": "ada@example.com",
                "timezone": "Europe/London", "marketing_consent": true }),
    )
    .await;
    clients(&api, 2).await;
    let model = FakeHttp::start().await;

    // Without a model, a variant with a prompt is written from its template.
    let c0 = activated(&api, prompted("No model", "Write to {{ preferred_name }}.")).await;
    run(&api).await;
    let sent = messages_of(&api, &c0).await;
    assert_eq!(sent.len(), 3);
    for m in &sent {
        assert!(
            m["body"].as_str().unwrap().contains("the template speaks"),
            "{m}"
        );
        assert_eq!(m["metadata"]["generation"]["written_by"], "fallback", "{m}");
        assert!(m["model"].is_null());
        assert_eq!(m["prompt_version"], "1");
    }
    assert!(model.requests().is_empty());

    let saved = set_model(
        &app,
        &admin,
        &[
            ("enabled", "true"),
            ("base_url", &format!("{}/v1/", model.url)),
            ("model", "test-model"),
            ("timeout_seconds", "0.5"),
            ("api_key", "sk-test-secret"),
        ],
    )
    .await;
    assert!(saved["Saved"].is_string(), "{saved}");

    // A good answer is what is sent, with the unsubscribe link added.
    model.default_reply(completion(
        "{\"subject\": \"Your table awaits\", \"body\": \"Dear friend, your favourite table is free on Friday.\"}",
    ));
    let good = activated(
        &api,
        prompted(
            "Good",
            "Invite {{ preferred_name }} back after {{ days_inactive }} days.",
        ),
    )
    .await;
    run(&api).await;
    let asked = model.requests();
    assert_eq!(asked.len(), 3, "one request per message");
    let sent = messages_of(&api, &good).await;
    assert_eq!(sent.len(), 3);
    for m in &sent {
        assert_eq!(m["status"], "pending", "{m}");
        assert_eq!(m["subject"], "Your table awaits");
        let body = m["body"].as_str().unwrap();
        assert!(body.starts_with("Dear friend, your favourite table"), "{m}");
        assert!(
            body.contains("/u/"),
            "the unsubscribe link is added: {body}"
        );
        assert_eq!(m["model"], "test-model");
        assert_eq!(m["prompt_version"], "1");
        assert_eq!(m["metadata"]["generation"]["written_by"], "model");
        assert_eq!(m["safety_checks"]["passed"], true);
        let correlation = m["correlation_id"].as_str().unwrap();
        let request = asked
            .iter()
            .find(|r| r.header("x-correlation-id").as_deref() == Some(correlation))
            .unwrap_or_else(|| panic!("no request carries {correlation}"));
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/v1/chat/completions");
        assert_eq!(
            request.header("authorization").as_deref(),
            Some("Bearer sk-test-secret")
        );
        let sent_body = request.json();
        assert_eq!(sent_body["model"], "test-model");
        assert_eq!(sent_body["messages"][0]["role"], "system");
        assert_eq!(sent_body["messages"][1]["role"], "user");
    }
    let to_ada = sent
        .iter()
        .find(|m| m["person_id"] == ada.as_str())
        .unwrap();
    let request = asked
        .iter()
        .find(|r| r.header("x-correlation-id").as_deref() == to_ada["correlation_id"].as_str())
        .unwrap();
    let user = request.json()["messages"][1]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(user.starts_with("Invite Ada back after"), "{user}");

    // The preview asks the model too, and screens its words.
    let (s, preview) = api
        .get(&format!(
            "/campaigns/{}/preview?person_id={ada}",
            good["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(s, 200, "{preview}");
    let v = &preview["variants"][0];
    assert!(
        v["body"].as_str().unwrap().starts_with("Dear friend"),
        "{v}"
    );
    assert_eq!(
        v["written_by"],
        "Written by test-model from prompt version 1."
    );
    assert_eq!(v["safety"]["passed"], true);

    // A slow answer: the template writes it, and says why.
    model.default_reply(Reply {
        delay: Duration::from_secs(3),
        ..completion("{\"body\": \"Too late.\"}")
    });
    let slow = activated(&api, prompted("Slow", "Write to {{ preferred_name }}.")).await;
    let started = std::time::Instant::now();
    run(&api).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the run does not wait for a slow model"
    );
    for m in messages_of(&api, &slow).await {
        assert!(
            m["body"].as_str().unwrap().contains("the template speaks"),
            "{m}"
        );
        assert_eq!(m["status"], "pending");
        let g = &m["metadata"]["generation"];
        assert_eq!(g["written_by"], "fallback", "{m}");
        assert!(
            g["reason"]
                .as_str()
                .unwrap()
                .contains("did not answer within 0.5 s"),
            "{m}"
        );
        assert!(m["model"].is_null());
    }

    // An error answer.
    model.default_reply(Reply::status(
        500,
        "{\"error\": {\"message\": \"overloaded\"}}",
    ));
    let failing = activated(&api, prompted("Error", "Write to {{ preferred_name }}.")).await;
    run(&api).await;
    for m in messages_of(&api, &failing).await {
        assert!(m["body"].as_str().unwrap().contains("the template speaks"));
        let reason = m["metadata"]["generation"]["reason"].as_str().unwrap();
        assert!(
            reason.contains("HTTP 500") && reason.contains("overloaded"),
            "{m}"
        );
    }

    // An unsafe text is never sent: the template writes the message, the refused text is kept.
    model.default_reply(completion(
        "We GUARANTEE a free spa day, claim it at https://evil.example.net/win",
    ));
    let risky = activated(&api, prompted("Unsafe", "Write to {{ preferred_name }}.")).await;
    run(&api).await;
    let sent = messages_of(&api, &risky).await;
    assert_eq!(sent.len(), 3);
    for m in &sent {
        let body = m["body"].as_str().unwrap();
        assert!(!body.contains("evil.example.net") && !body.contains("GUARANTEE"));
        assert!(body.contains("the template speaks"), "{m}");
        assert_eq!(m["safety_checks"]["passed"], true);
        let reason = m["metadata"]["generation"]["reason"].as_str().unwrap();
        assert!(reason.contains("failed the safety filter"), "{m}");
        let refused = &m["metadata"]["refused_draft"];
        assert!(refused["text"]
            .as_str()
            .unwrap()
            .contains("evil.example.net"));
        assert_eq!(refused["safety_checks"]["passed"], false);
    }
    let to_ada = sent
        .iter()
        .find(|m| m["person_id"] == ada.as_str())
        .unwrap();
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
        "Written by",
        "failed the safety filter",
        "s text, refused",
        "evil.example.net",
        "Prompt, version 1",
    ] {
        assert!(page.contains(text), "{text} missing from the message page");
    }
    app.finish().await;
}
both_backends!(the_model_writes_and_falls_back_to_templates);

async fn editing_a_prompt_makes_a_new_version(backend: Backend) {
    let app = quiet_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let admin = app.session("admin@acme.test").await;
    clients(&api, 1).await;
    let model = FakeHttp::start().await;
    model.default_reply(completion("{\"body\": \"Written by the model.\"}"));
    set_model(
        &app,
        &admin,
        &[
            ("enabled", "true"),
            ("base_url", &format!("{}/v1", model.url)),
            ("model", "local-llama"),
        ],
    )
    .await;
    let body = for_everyone(json!({ "name": "Versions", "holdout_percent": 0,
        "repeat_days": 1, "variants": [{
            "body": "Hello {{ preferred_name }}.", "prompt": "First prompt for {{ preferred_name }}."
        }] }));
    let c = activated(&api, body).await;
    let id = c["id"].as_str().unwrap();
    assert_eq!(c["variants"][0]["prompt_version"], 1);
    run(&api).await;
    let first = messages_of(&api, &c).await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0]["prompt_version"], "1");
    assert_eq!(first[0]["model"], "local-llama");
    assert!(
        model.requests()[0].header("authorization").is_none(),
        "no key, no Authorization header"
    );

    // The same prompt saved again keeps its version; a changed one is the next.
    let mut variants = c["variants"].clone();
    let (s, same) = api
        .put(&format!("/campaigns/{id}"), json!({ "variants": variants }))
        .await;
    assert_eq!(s, 200, "{same}");
    assert_eq!(same["variants"][0]["prompt_version"], 1);
    variants[0]["prompt"] = json!("Second prompt for {{ preferred_name }}.");
    let (s, changed) = api
        .put(&format!("/campaigns/{id}"), json!({ "variants": variants }))
        .await;
    assert_eq!(s, 200, "{changed}");
    assert_eq!(changed["variants"][0]["prompt_version"], 2);

    // The next round is asked with version 2; the first message keeps version 1.
    let smtp = crate::fakes::FakeSmtp::start().await;
    crate::delivery::configure_smtp(&app, "127.0.0.1", smtp.port).await;
    send(&app, &first[0]).await;
    app.clock.advance(chrono::Duration::days(2));
    run(&api).await;
    let all = messages_of(&api, &c).await;
    assert_eq!(all.len(), 2, "{all:?}");
    let versions: Vec<&str> = all
        .iter()
        .map(|m| m["prompt_version"].as_str().unwrap())
        .collect();
    assert!(
        versions.contains(&"1") && versions.contains(&"2"),
        "{versions:?}"
    );
    let asked = model.requests();
    let last = asked.last().unwrap().json();
    assert!(last["messages"][1]["content"]
        .as_str()
        .unwrap()
        .starts_with("Second prompt for"));
    let (s, old) = api
        .get(&format!("/deliveries/{}", first[0]["id"].as_str().unwrap()))
        .await;
    assert_eq!(s, 200);
    assert_eq!(old["prompt_version"], "1");
    assert!(
        old["prompt"].as_str().unwrap().starts_with("First prompt"),
        "{old}"
    );

    // A prompt with an unknown variable is named.
    variants[0]["prompt"] = json!("Hi {{ nickname }}");
    let (s, err) = api
        .put(&format!("/campaigns/{id}"), json!({ "variants": variants }))
        .await;
    assert_eq!(s, 422, "{err}");
    assert!(err.to_string().contains("variants[0].prompt"), "{err}");
    app.finish().await;
}
both_backends!(editing_a_prompt_makes_a_new_version);

async fn model_settings_are_checked_and_the_key_never_shown(backend: Backend) {
    let app = quiet_app(backend).await;
    Api::setup(&app, "acme").await;
    let admin = app.session("admin@acme.test").await;
    let bad = set_model(
        &app,
        &admin,
        &[
            ("base_url", "ftp://models.example.com"),
            ("model", ""),
            ("timeout_seconds", "ten"),
        ],
    )
    .await;
    let errors = bad["Invalid"].to_string();
    for field in ["base_url", "model", "timeout_seconds"] {
        assert!(errors.contains(field), "{field} not named: {bad}");
    }
    let ok = set_model(
        &app,
        &admin,
        &[
            ("enabled", "true"),
            ("base_url", "https://api.openai.com/v1"),
            ("model", "gpt-4o-mini"),
            ("api_key", "sk-very-secret"),
        ],
    )
    .await;
    assert!(ok["Saved"].is_string(), "{ok}");
    // A blank key keeps the stored one.
    set_model(
        &app,
        &admin,
        &[
            ("enabled", "true"),
            ("base_url", "https://api.openai.com/v1"),
            ("model", "gpt-4o"),
            ("api_key", ""),
        ],
    )
    .await;
    let res = app
        .server_fn("/srv/engagement/get_model", Some(&admin), &[])
        .await;
    let text = res.text().await.unwrap();
    assert!(!text.contains("sk-very-secret"), "{text}");
    let shown: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(shown["model"], "gpt-4o");
    assert_eq!(shown["has_key"], true);
    assert_eq!(shown["timeout_ms"], 10_000);
    let page = app
        .get_with("/settings/engagement", &admin)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("AI writing") && page.contains("A key is stored"));
    assert!(!page.contains("sk-very-secret"));

    // Concierges may not see or change it.
    app.add_staff("acme", "sam@acme.test", concierge::domain::Role::Concierge)
        .await;
    let sam = app.session("sam@acme.test").await;
    let res = app
        .server_fn("/srv/engagement/get_model", Some(&sam), &[])
        .await;
    assert_ne!(res.status(), 200);
    app.finish().await;
}
both_backends!(model_settings_are_checked_and_the_key_never_shown);

async fn the_approval_queue_approves_edits_rejects_and_expires(backend: Backend) {
    let app = quiet_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let admin = app.session("admin@acme.test").await;
    crate::engagement::set_policy(
        &app,
        "acme",
        json!({ "cap_per_day": 20, "cap_per_week": 50, "banned_words": "guarantee" }),
    )
    .await;
    let smtp = crate::fakes::FakeSmtp::start().await;
    crate::delivery::configure_smtp(&app, "127.0.0.1", smtp.port).await;
    clients(&api, 4).await;
    let model = FakeHttp::start().await;
    model.default_reply(completion(
        "{\"subject\": \"A seat for you\", \"body\": \"Your favourite seat is free this week.\"}",
    ));
    let saved = set_model(
        &app,
        &admin,
        &[
            ("enabled", "true"),
            ("base_url", &format!("{}/v1", model.url)),
            ("model", "test-model"),
            ("require_approval", "true"),
            ("approval_hours", "24"),
        ],
    )
    .await;
    assert!(saved["Saved"].is_string(), "{saved}");
    let c = activated(&api, prompted("Reviewed", "Write to {{ preferred_name }}.")).await;
    let report = run(&api).await;
    let counts = &report["campaigns"][c["id"].as_str().unwrap()];
    assert_eq!(counts["awaiting_approval"], 4, "{report}");
    // SQLite's table definition was edited in place (migration 0013): the file is sound, and
    // the status check still refuses what it never allowed.
    if let concierge::server::db::Db::Sqlite(pool) = &app.state().db {
        let check: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(check, "ok");
        let bad =
            sqlx::query("UPDATE deliveries SET status = 'lost' WHERE status = 'awaiting_approval'")
                .execute(pool)
                .await;
        assert!(bad.is_err(), "an unknown status is refused");
    }
    assert_eq!(counts["queued"], 0, "{report}");

    let (s, queue) = api.get("/approvals").await;
    assert_eq!(s, 200, "{queue}");
    assert_eq!(queue["total"], 4);
    let items = queue["items"].as_array().unwrap().clone();
    for m in &items {
        assert_eq!(m["status"], "awaiting_approval", "{m}");
        assert_eq!(m["approval_expires_at"], "2026-06-11T11:00:00Z");
        assert!(m["explanation"]
            .as_str()
            .unwrap()
            .starts_with("awaiting approval"));
    }
    let id = |i: usize| items[i]["id"].as_str().unwrap().to_string();
    // Waiting messages count against the caps, and keep their campaign from completing.
    crate::engagement::set_policy(&app, "acme", json!({ "cap_per_day": 1 })).await;
    let other = activated(
        &api,
        for_everyone(json!({ "name": "Other", "holdout_percent": 0, "variants": [
            { "body": "Hello {{ preferred_name }}." }
        ] })),
    )
    .await;
    let report = run(&api).await;
    let counts = &report["campaigns"][other["id"].as_str().unwrap()];
    assert_eq!(counts["skipped"]["frequency_cap"], 4, "{report}");
    crate::engagement::set_policy(&app, "acme", json!({ "cap_per_day": 20 })).await;
    let (_, still) = api
        .get(&format!("/campaigns/{}", c["id"].as_str().unwrap()))
        .await;
    assert_eq!(still["status"], "active", "{still}");
    // Nothing awaiting approval is sent.
    let org = concierge::server::db::orgs::by_slug(&app.state().db, "acme")
        .await
        .unwrap()
        .unwrap();
    concierge::server::services::deliveries::send_now(app.state(), org.id, id(0).parse().unwrap())
        .await
        .unwrap();
    assert!(smtp.mails().is_empty());

    // The navigation counts them; the queue page lists them.
    let page = app
        .get_with("/approvals", &admin)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("4 awaiting approval"),
        "no count in the navigation"
    );
    assert!(page.contains("Your favourite seat is free this week."));

    // An edit the safety filter refuses changes nothing; a clean one is kept, still awaiting.
    let (s, err) = api
        .put(
            &format!("/approvals/{}", id(0)),
            json!({ "body": "We guarantee a free upgrade." }),
        )
        .await;
    assert_eq!(s, 422, "{err}");
    assert!(err.to_string().contains("banned"), "{err}");
    let (s, edited) = api
        .put(
            &format!("/approvals/{}", id(0)),
            json!({ "subject": "Your seat", "body": "We kept your seat for Friday." }),
        )
        .await;
    assert_eq!(s, 200, "{edited}");
    assert_eq!(edited["status"], "awaiting_approval");
    assert_eq!(edited["subject"], "Your seat");
    let body = edited["body"].as_str().unwrap();
    assert!(body.starts_with("We kept your seat for Friday."));
    assert!(body.contains("/u/"), "the unsubscribe link stays: {body}");
    assert!(edited["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["event"] == "edited"));

    // Approved from the portal (as the ticked boxes of the queue send it): it goes.
    let res = app
        .server_fn(
            "/srv/approvals/review",
            Some(&admin),
            &[("ids[0]", id(0).as_str()), ("decision", "approve")],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), 1);
    let (_, approved) = api.get(&format!("/deliveries/{}", id(0))).await;
    assert_eq!(approved["status"], "pending", "{approved}");
    crate::campaigns::send(&app, &approved).await;
    let mails = smtp.wait_for(1, 10).await;
    assert!(mails[0].data.contains("We kept your seat for Friday."));

    // Rejected over the API, with a reason: never sent.
    let (s, rejected) = api
        .post(
            "/approvals/reject",
            json!({ "ids": [id(1)], "reason": "too pushy" }),
        )
        .await;
    assert_eq!(s, 200, "{rejected}");
    assert_eq!(rejected["decided"], json!([id(1)]));
    let (_, r) = api.get(&format!("/deliveries/{}", id(1))).await;
    assert_eq!(r["status"], "cancelled");
    assert_eq!(r["suppression_reason"], "rejected");
    assert!(
        r["last_error"].as_str().unwrap().contains("too pushy"),
        "{r}"
    );

    // In bulk: what was decided already is skipped, the rest approved.
    let (s, bulk) = api
        .post("/approvals/approve", json!({ "ids": [id(1), id(2)] }))
        .await;
    assert_eq!(s, 200, "{bulk}");
    assert_eq!(bulk["decided"], json!([id(2)]));
    assert_eq!(bulk["skipped"], json!([id(1)]));
    let (s, none) = api.post("/approvals/approve", json!({ "ids": [] })).await;
    assert_eq!(s, 422, "{none}");

    // The last one waits too long and expires unsent.
    app.clock.advance(chrono::Duration::hours(25));
    let expired = concierge::server::services::approvals::expire_due(app.state(), app.clock.now())
        .await
        .unwrap();
    assert_eq!(expired, 1);
    let (_, e) = api.get(&format!("/deliveries/{}", id(3))).await;
    assert_eq!(e["status"], "suppressed", "{e}");
    assert_eq!(e["suppression_reason"], "approval_expired");
    assert!(e["explanation"]
        .as_str()
        .unwrap()
        .contains("nobody approved it in time"));
    let (_, queue) = api.get("/approvals").await;
    assert_eq!(queue["total"], 0);

    // A message the template wrote (the model failed) does not wait.
    model.default_reply(Reply::status(503, "{}"));
    let c2 = activated(&api, prompted("Fallback", "Write to {{ preferred_name }}.")).await;
    let report = run(&api).await;
    let counts = &report["campaigns"][c2["id"].as_str().unwrap()];
    assert_eq!(counts["awaiting_approval"], 0, "{report}");
    assert_eq!(counts["queued"], 4, "{report}");
    app.finish().await;
}
both_backends!(the_approval_queue_approves_edits_rejects_and_expires);
