//! The delivery engine seen from the portal: channels set up in Settings (secrets never shown
//! back), a test message, a reminder made with the date form reaching the webhook on time, the
//! Messages log and a message's detail, and `/metrics`.

use crate::both_backends;
use crate::common::{Backend, PASSWORD};
use crate::delivery::{verify_signature, worker_app, SECRET};
use crate::fakes::FakeHttp;
use chrono::Duration;
use serde_json::json;

async fn portal_channels_reminders_and_messages(backend: Backend) {
    let app = worker_app(backend).await;
    app.create_admin("acme", "admin@acme.test").await;
    let _ = PASSWORD;
    let session = app.session("admin@acme.test").await;
    let hook = FakeHttp::start().await;

    // Settings → Channels: save the webhook; the page shows the URL and never the secret.
    let res = app
        .server_fn(
            "/srv/messages/save_channel",
            Some(&session),
            &[
                ("channel", "webhook"),
                ("enabled", "on"),
                ("settings[url]", &hook.url),
                ("settings[secret]", SECRET),
            ],
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let res = app
        .server_fn(
            "/srv/messages/save_channel",
            Some(&session),
            &[("channel", "webhook"), ("settings[url]", "ftp://x")],
        )
        .await;
    let body = res.text().await.unwrap();
    assert!(
        body.contains("url") && body.contains("https://"),
        "a bad URL is named: {body}"
    );
    let page = app
        .get_with("/settings/channels", &session)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(&hook.url), "the URL is shown");
    assert!(
        !page.contains(SECRET.trim_start_matches("whsec_")),
        "the secret is not"
    );
    assert!(page.contains("set — leave blank to keep it"));

    // The test button sends through the channel at once.
    let res = app
        .server_fn(
            "/srv/messages/test_channel",
            Some(&session),
            &[("channel", "webhook")],
        )
        .await;
    let text = res.text().await.unwrap();
    assert!(text.contains("Test message sent"), "{text}");
    let got = hook.wait_for(1, 5).await;
    verify_signature(&got[0]);

    // A client and a date with a reminder, through the portal's forms: today (14 March, UTC),
    // 0 days before, at 15:30 — twenty-one minutes after the test clock's 15:09.
    let res = app
        .server_fn(
            "/srv/clients/save_client",
            Some(&session),
            &[
                ("full_name", "Portal Person"),
                ("timezone", "UTC"),
                ("person_type", "client"),
            ],
        )
        .await;
    let saved: serde_json::Value = res.json().await.unwrap();
    let person = saved["Saved"].as_str().expect("client saved").to_string();
    let res = app
        .server_fn(
            "/srv/dates/save_date",
            Some(&session),
            &[
                ("person_id", &person),
                ("title", "Table at Noma"),
                ("date_value", "2026-03-14"),
                ("r0_days", "0"),
                ("r0_time", "15:30"),
                ("r0_audience", "client"),
                ("r0_channel", "webhook"),
                ("r0_message", "Your table is booked for tonight."),
            ],
        )
        .await;
    let saved: serde_json::Value = res.json().await.unwrap();
    assert!(saved["Saved"].is_string(), "{saved}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(hook.requests().len(), 1, "not before its time");
    app.clock.advance(Duration::minutes(21));
    let got = hook.wait_for(2, 10).await;
    verify_signature(&got[1]);
    assert_eq!(got[1].json()["body"], "Your table is booked for tonight.");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(hook.requests().len(), 2, "once");

    // The Messages log, filtered, and the detail with its history.
    let id = got[1].header("webhook-id").unwrap();
    let mut html = String::new();
    for _ in 0..100 {
        html = app
            .get_with("/messages?status=sent", &session)
            .await
            .text()
            .await
            .unwrap();
        if html.contains(&format!("/messages/{id}")) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        html.contains(&format!("/messages/{id}")),
        "the reminder is in the log"
    );
    let detail = app
        .get_with(&format!("/messages/{id}"), &session)
        .await
        .text()
        .await
        .unwrap();
    assert!(detail.contains("Your table is booked for tonight."));
    assert!(detail.contains("queued") && detail.contains("sent"));
    // In a thread, a reply is sent; a message recorded as sent elsewhere is not.
    let res = app
        .server_fn(
            "/srv/comms/start_conversation",
            Some(&session),
            &[
                ("person_id", &person),
                ("channel_type", "email"),
                ("subject", "Dinner"),
            ],
        )
        .await;
    let saved: serde_json::Value = res.json().await.unwrap();
    let conversation = saved["Saved"]
        .as_str()
        .expect("conversation started")
        .to_string();
    for (direction, body) in [
        ("record", "Called them about dinner."),
        ("out", "See you at eight!"),
    ] {
        let res = app
            .server_fn(
                "/srv/comms/add_message",
                Some(&session),
                &[
                    ("conversation_id", &conversation),
                    ("direction", direction),
                    ("body", body),
                ],
            )
            .await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }
    let org = concierge::server::db::orgs::by_slug(&app.state().db, "acme")
        .await
        .unwrap()
        .unwrap();
    let msgs = concierge::server::db::comms::messages(
        &app.state().db,
        org.id,
        conversation.parse().unwrap(),
        0,
        10,
    )
    .await
    .unwrap();
    let recorded = msgs.iter().find(|m| m.body.starts_with("Called")).unwrap();
    let reply = msgs.iter().find(|m| m.body.starts_with("See you")).unwrap();
    assert!(recorded.delivery_id.is_none(), "recorded, not sent");
    assert!(
        reply.delivery_id.is_some(),
        "the reply went out as a delivery"
    );
    let thread = app
        .get_with(&format!("/conversations/{conversation}"), &session)
        .await
        .text()
        .await
        .unwrap();
    assert!(thread.contains(&format!("/messages/{}", reply.delivery_id.unwrap())));

    let notes = app.get_with("/notifications", &session).await;
    assert_eq!(notes.status(), 200, "{:?}", notes.headers().get("location"));

    // Metrics. A method HTTP does not define is counted as "other", not a label of its own.
    let odd = reqwest::Method::from_bytes(b"BREW").unwrap();
    app.client.request(odd, app.url("/")).send().await.unwrap();
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains("concierge_deliveries{status=\"sent\",channel=\"webhook\"} 2"),
        "{text}"
    );
    assert!(text.contains("concierge_delivery_queue_depth 0"), "{text}");
    assert!(text.contains("concierge_worker_lag_seconds"));
    assert!(
        text.contains("method=\"other\"") && !text.contains("BREW"),
        "{text}"
    );
    assert!(
        text.contains("concierge_http_requests_total{area=\"page\",method=\"GET\",status=\"200\"}")
    );
    assert!(
        text.contains("concierge_delivery_attempts_total{channel=\"webhook\",outcome=\"sent\"}")
    );
    // Without METRICS_TOKEN, only this machine: a request a proxy forwarded is refused.
    let forwarded = app
        .client
        .get(app.url("/metrics"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(forwarded.status(), 403);
    let _ = json!({});
    app.finish().await;
}
both_backends!(portal_channels_reminders_and_messages);
