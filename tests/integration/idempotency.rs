//! `Idempotency-Key` on every write of the API: the same key with the same request answers the
//! first response again without doing the work; with another request it is a 422; requests
//! sent together with one key do the work once; keys are per organisation and forgotten
//! after a day.

use crate::both_backends;
use crate::common::{spawn_app, Api, Backend};
use chrono::Duration;
use reqwest::Method;
use serde_json::{json, Value};

/// A request with an Idempotency-Key: status, body, and whether it was a replay.
async fn keyed(
    api: &Api<'_>,
    method: Method,
    path: &str,
    body: Option<Value>,
    key: &str,
) -> (u16, Value, bool) {
    let mut req = api
        .app
        .client
        .request(method, api.app.url(&format!("/api/v1{path}")))
        .bearer_auth(&api.key)
        .header("idempotency-key", key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let replayed = res.headers().get("idempotent-replayed").is_some();
    let text = res.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, value, replayed)
}

async fn people_named(api: &Api<'_>, name: &str) -> usize {
    let (_, list) = api.get(&format!("/persons?q={name}")).await;
    list["items"].as_array().unwrap().len()
}

async fn every_write_honours_idempotency_keys(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let other = Api::setup(&app, "globex").await;
    let ada = json!({ "full_name": "Ada Lovelace" });

    let (status, first, replayed) =
        keyed(&api, Method::POST, "/persons", Some(ada.clone()), "k1").await;
    assert_eq!((status, replayed), (201, false), "{first}");
    let (status, again, replayed) =
        keyed(&api, Method::POST, "/persons", Some(ada.clone()), "k1").await;
    assert_eq!((status, replayed), (201, true));
    assert_eq!(again, first, "the first answer, as it was");
    assert_eq!(people_named(&api, "lovelace").await, 1, "created once");

    // The same key with another request.
    let grace = json!({ "full_name": "Grace Hopper" });
    let (status, refused, _) =
        keyed(&api, Method::POST, "/persons", Some(grace.clone()), "k1").await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["field"], "Idempotency-Key");
    assert_eq!(people_named(&api, "hopper").await, 0);
    // Keys are each organisation's own.
    let (status, _, replayed) = keyed(&other, Method::POST, "/persons", Some(grace), "k1").await;
    assert_eq!((status, replayed), (201, false));

    // PUT and DELETE: the replay of a deletion is its 204, not a 404.
    let id = first["id"].as_str().unwrap();
    let renamed = json!({ "full_name": "Ada King" });
    let (status, _, _) = keyed(
        &api,
        Method::PUT,
        &format!("/persons/{id}"),
        Some(renamed.clone()),
        "k2",
    )
    .await;
    assert_eq!(status, 200);
    let (status, put, replayed) = keyed(
        &api,
        Method::PUT,
        &format!("/persons/{id}"),
        Some(renamed),
        "k2",
    )
    .await;
    assert_eq!((status, replayed), (200, true));
    assert_eq!(put["full_name"], "Ada King");
    assert_eq!(
        keyed(&api, Method::DELETE, &format!("/persons/{id}"), None, "k3")
            .await
            .0,
        204
    );
    let (status, _, replayed) =
        keyed(&api, Method::DELETE, &format!("/persons/{id}"), None, "k3").await;
    assert_eq!((status, replayed), (204, true));
    // Without a key, a second deletion finds nothing.
    assert_eq!(api.delete(&format!("/persons/{id}")).await, 404);

    // A refusal is an answer too.
    let (status, _, _) = keyed(&api, Method::POST, "/persons", Some(json!({})), "k4").await;
    assert_eq!(status, 422);
    let (status, _, replayed) = keyed(&api, Method::POST, "/persons", Some(json!({})), "k4").await;
    assert_eq!((status, replayed), (422, true));

    // Sent together with one key: one person, the same answer to each.
    let body = json!({ "full_name": "Concurrent Caller" });
    let answers = futures::future::join_all(
        (0..6).map(|_| keyed(&api, Method::POST, "/persons", Some(body.clone()), "k5")),
    )
    .await;
    let ids: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|(status, v, _)| {
            assert_eq!(*status, 201, "{v}");
            v["id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(ids.len(), 1, "{answers:?}");
    assert_eq!(
        answers.iter().filter(|a| !a.2).count(),
        1,
        "one did the work"
    );
    assert_eq!(people_named(&api, "concurrent").await, 1);

    // A key that is not plain text of a sane length is named.
    let long = "x".repeat(300);
    let (status, refused, _) =
        keyed(&api, Method::POST, "/persons", Some(ada.clone()), &long).await;
    assert_eq!(status, 422);
    assert_eq!(refused["field"], "Idempotency-Key");

    // A day later housekeeping forgets the keys, and k1 creates afresh.
    app.clock.advance(Duration::hours(25));
    let forgotten = concierge::server::services::idempotency::purge_expired(app.state())
        .await
        .unwrap();
    assert!(forgotten >= 5, "{forgotten}");
    let (status, fresh, replayed) = keyed(&api, Method::POST, "/persons", Some(ada), "k1").await;
    assert_eq!((status, replayed), (201, false));
    assert_ne!(fresh["id"], first["id"]);
    app.finish().await;
}
both_backends!(every_write_honours_idempotency_keys);
