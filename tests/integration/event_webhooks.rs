//! Event webhooks, on both databases, to a local fake endpoint over real HTTP: an
//! organisation subscribes an endpoint (its secret shown once); what happens to its messages —
//! sent, delivered, failed, clicked, booked, unsubscribed — is queued in the outbox in the
//! same unit of work, posted signed per Standard Webhooks (checked here with an HMAC of our
//! own), retried with the same `webhook-id`, visible like any message; events about events are
//! never made; a switched-off subscription is told nothing; another organisation sees none.

use crate::both_backends;
use crate::campaigns::{activated, campaign_messages, for_everyone, quiet_app, send};
use crate::common::{Api, Backend};
use crate::delivery::{configure_smtp, person};
use crate::fakes::{FakeHttp, Recorded, Reply};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};

/// Checks a request's Standard Webhooks signature against `secret`, independently of the
/// product's own signing code.
fn signed_by(r: &Recorded, secret: &str) -> bool {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let id = r.header("webhook-id").unwrap();
    let ts = r.header("webhook-timestamp").unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(&r.body);
    let expected = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    r.header("webhook-signature")
        .unwrap()
        .split(' ')
        .any(|s| s == expected)
}

/// The event deliveries queued so far, oldest first.
async fn events(api: &Api<'_>) -> Vec<Value> {
    let (s, list) = api.get("/deliveries?channel=webhook&limit=200").await;
    assert_eq!(s, 200, "{list}");
    let mut items: Vec<Value> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["source"] == "event")
        .cloned()
        .collect();
    items.reverse();
    items
}

async fn event_webhooks_arrive_signed(backend: Backend) {
    let app = quiet_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let smtp = crate::fakes::FakeSmtp::start().await;
    configure_smtp(&app, "127.0.0.1", smtp.port).await;
    let hook = FakeHttp::start().await;
    hook.default_reply(Reply::status(200, "{}"));

    // Bad input is named field by field.
    let (s, err) = api
        .post(
            "/webhooks",
            json!({ "url": "ftp://hooks.example.com", "events": ["sent", "opened"] }),
        )
        .await;
    assert_eq!(s, 422, "{err}");
    let text = err.to_string();
    assert!(text.contains("url") && text.contains("events[1]"), "{err}");

    let (s, sub) = api
        .post(
            "/webhooks",
            json!({ "url": format!("{}/concierge-events", hook.url), "description": "CRM sync" }),
        )
        .await;
    assert_eq!(s, 201, "{sub}");
    let secret = sub["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(sub["events"].as_array().unwrap().len(), 6);
    let sub_id = sub["id"].as_str().unwrap().to_string();
    let (_, listed) = api.get("/webhooks").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert!(
        !listed.to_string().contains(&secret),
        "the secret is shown once"
    );

    // A message is sent: the subscription is told, signed.
    let ada = person(
        &api,
        json!({ "full_name": "Ada Lovelace", "email": "ada@example.com",
                "timezone": "Europe/London", "marketing_consent": true }),
    )
    .await;
    let (s, d) = api
        .post(
            "/send-utility",
            json!({ "person_id": ada, "type": "appointment_reminder", "channel": "email",
                    "data": { "time": "10am", "service": "fitting" } }),
        )
        .await;
    assert_eq!(s, 202, "{d}");
    let message = d["id"].as_str().unwrap().to_string();
    send(&app, &d).await;
    let queued = events(&api).await;
    assert_eq!(queued.len(), 1, "{queued:?}");
    let sent_event = &queued[0];
    assert_eq!(sent_event["subject"], "delivery.sent");
    assert_eq!(sent_event["channel"], "webhook");
    assert_eq!(sent_event["kind"], "utility");
    assert_eq!(
        sent_event["address"],
        format!("{}/concierge-events", hook.url)
    );
    assert!(sent_event["person_id"].is_null());

    // Carried by the outbox: a first failure is retried with the same webhook-id.
    hook.script([Reply::status(503, "busy")]);
    send(&app, sent_event).await;
    let (_, after_fail) = api
        .get(&format!(
            "/deliveries/{}",
            sent_event["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(after_fail["status"], "pending", "{after_fail}");
    assert_eq!(after_fail["attempts"], 1);
    app.clock.advance(chrono::Duration::minutes(5));
    send(&app, &after_fail).await;
    let got = hook.wait_for(2, 10).await;
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
    let r = &got[1];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/concierge-events");
    assert_eq!(
        r.header("webhook-id").unwrap(),
        sent_event["id"].as_str().unwrap()
    );
    assert!(signed_by(r, &secret), "the signature checks out");
    assert!(!signed_by(
        r,
        "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    ));
    let body = r.json();
    assert_eq!(body["type"], "delivery.sent");
    assert_eq!(body["data"]["delivery_id"], message.as_str());
    assert_eq!(body["data"]["person_id"], ada.as_str());
    assert_eq!(body["data"]["channel"], "email");
    assert!(body["timestamp"].is_string());
    let (_, told) = api
        .get(&format!(
            "/deliveries/{}",
            sent_event["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(told["status"], "sent", "{told}");
    assert_eq!(told["transport"], "event-webhook");
    // Telling is not itself an event.
    assert_eq!(events(&api).await.len(), 1);

    // The provider's reports and the responses: delivered, clicked, booked (each once).
    for event in ["delivered", "clicked", "booked", "clicked"] {
        let (s, r) = api
            .post(
                &format!("/deliveries/{message}/events"),
                json!({ "event": event }),
            )
            .await;
        assert_eq!(s, 200, "{event}: {r}");
    }
    let types: Vec<String> = events(&api)
        .await
        .iter()
        .map(|e| e["subject"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        types,
        [
            "delivery.sent",
            "delivery.delivered",
            "delivery.clicked",
            "delivery.booked"
        ]
    );

    // An unsubscribe through a campaign message's link.
    let c = activated(
        &api,
        for_everyone(json!({ "holdout_percent": 0, "variants": [
            { "body": "Hello {{ preferred_name }}. {{ unsubscribe_link }}" }
        ] })),
    )
    .await;
    let (s, _) = api.post("/cron/run-engagement", json!({})).await;
    assert_eq!(s, 200);
    let m = campaign_messages(&api)
        .await
        .into_iter()
        .find(|m| m["campaign_id"] == c["id"])
        .unwrap();
    let link = m["metadata"]["unsubscribe_url"]
        .as_str()
        .unwrap()
        .to_string();
    let res = reqwest::Client::new().post(&link).send().await.unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let last = events(&api).await.pop().unwrap();
    assert_eq!(last["subject"], "delivery.unsubscribed");
    assert_eq!(
        serde_json::from_str::<Value>(last["body"].as_str().unwrap()).unwrap()["data"]
            ["delivery_id"],
        m["id"]
    );

    // A failure, to a subscription that only wants failures; a switched-off one hears nothing.
    let (s, _) = api
        .put(&format!("/webhooks/{sub_id}"), json!({ "enabled": false }))
        .await;
    assert_eq!(s, 200);
    let (s, only_failed) = api
        .post(
            "/webhooks",
            json!({ "url": format!("{}/failures", hook.url), "events": ["failed"] }),
        )
        .await;
    assert_eq!(s, 201, "{only_failed}");
    let before = events(&api).await.len();
    smtp.reject("grace@example.com");
    let grace = person(
        &api,
        json!({ "full_name": "Grace Hopper", "email": "grace@example.com", "timezone": "Europe/London" }),
    )
    .await;
    let (_, d) = api
        .post(
            "/send-utility",
            json!({ "person_id": grace, "type": "appointment_reminder", "channel": "email",
                    "data": { "time": "11am", "service": "fitting" } }),
        )
        .await;
    send(&app, &d).await;
    let (_, failed) = api
        .get(&format!("/deliveries/{}", d["id"].as_str().unwrap()))
        .await;
    assert_eq!(failed["status"], "failed", "{failed}");
    let now = events(&api).await;
    assert_eq!(now.len(), before + 1, "{now:?}");
    let told = now.last().unwrap();
    assert_eq!(told["subject"], "delivery.failed");
    assert_eq!(told["address"], format!("{}/failures", hook.url));

    // Another organisation sees none of it.
    let other = Api::setup(&app, "globex").await;
    let (s, _) = other.get(&format!("/webhooks/{sub_id}")).await;
    assert_eq!(s, 404);
    let (_, theirs) = other.get("/webhooks").await;
    assert_eq!(theirs["items"].as_array().unwrap().len(), 0);
    app.finish().await;
}
both_backends!(event_webhooks_arrive_signed);

async fn admins_manage_event_webhooks_in_the_portal(backend: Backend) {
    let app = quiet_app(backend).await;
    Api::setup(&app, "acme").await;
    let admin = app.session("admin@acme.test").await;
    let call = |path: &'static str, form: Vec<(&'static str, String)>| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let res = app.server_fn(path, Some(&admin), &form).await;
            (
                res.status().as_u16(),
                res.json::<Value>().await.unwrap_or_default(),
            )
        }
    };
    let (s, bad) = call(
        "/srv/webhooks/create_webhook",
        vec![("url", "not a url".into())],
    )
    .await;
    assert_eq!(s, 200);
    assert!(bad["Invalid"].to_string().contains("url"), "{bad}");
    let (_, made) = call(
        "/srv/webhooks/create_webhook",
        vec![
            ("url", "https://crm.example.com/hooks".into()),
            ("description", "CRM".into()),
            ("ev_failed", "on".into()),
            ("ev_booked", "on".into()),
        ],
    )
    .await;
    let secret = made["Created"]["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{made}");
    let (_, list) = call("/srv/webhooks/list_webhooks", vec![]).await;
    assert_eq!(list[0]["events"], json!(["failed", "booked"]));
    assert!(!list.to_string().contains(&secret));
    let id = list[0]["id"].as_str().unwrap().to_string();
    let page = app
        .get_with("/settings/channels", &admin)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Event webhooks") && page.contains("https://crm.example.com/hooks"));
    assert!(!page.contains(&secret));
    let (s, _) = call(
        "/srv/webhooks/change_webhook",
        vec![("id", id.clone()), ("action", "disable".into())],
    )
    .await;
    assert_eq!(s, 200);
    let (_, list) = call("/srv/webhooks/list_webhooks", vec![]).await;
    assert_eq!(list[0]["enabled"], false);
    let (s, _) = call(
        "/srv/webhooks/change_webhook",
        vec![("id", id.clone()), ("action", "remove".into())],
    )
    .await;
    assert_eq!(s, 200);
    let (_, list) = call("/srv/webhooks/list_webhooks", vec![]).await;
    assert_eq!(list, json!([]));

    // A concierge may not see or change them.
    app.add_staff("acme", "sam@acme.test", concierge::domain::Role::Concierge)
        .await;
    let sam = app.session("sam@acme.test").await;
    let res = app
        .server_fn("/srv/webhooks/list_webhooks", Some(&sam), &[])
        .await;
    assert_eq!(res.status(), 403);
    app.finish().await;
}
both_backends!(admins_manage_event_webhooks_in_the_portal);
