//! Activity events over the API: single, login, batch; by person id or external id; each moves
//! the person's `last_active_at`.

use crate::both_backends;
use crate::common::{spawn_app, Api, Backend};
use serde_json::json;

async fn activity_ingestion(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let other = Api::setup(&app, "globex").await;
    let (_, p) = api
        .post(
            "/persons",
            json!({ "full_name": "Sarah Chen", "external_id": "app-42" }),
        )
        .await;
    let id = p["id"].as_str().unwrap().to_string();
    assert_eq!(p["last_active_at"], serde_json::Value::Null);

    let (status, login) = api
        .post("/activity/login", json!({ "external_id": "app-42" }))
        .await;
    assert_eq!(status, 201, "{login}");
    assert_eq!(login["name"], "login");
    assert_eq!(login["occurred_at"], "2026-03-14T15:09:26Z");
    let (status, booked) = api
        .post(
            "/activity/event",
            json!({
                "person_id": id, "event": "booking", "properties": { "service": "spa" },
                "occurred_at": "2026-03-14T16:00:00+01:00"
            }),
        )
        .await;
    assert_eq!(status, 201, "{booked}");
    assert_eq!(booked["properties"]["service"], "spa");
    let (_, person) = api.get(&format!("/persons/{id}")).await;
    assert_eq!(
        person["last_active_at"], "2026-03-14T15:09:26Z",
        "an older event does not move it back"
    );

    let (status, batch) = api
        .post("/activity/events", json!({ "events": [
            { "external_id": "app-42", "name": "viewed_menu", "occurred_at": "2026-03-14T15:10:00Z" },
            { "person_id": id, "name": "booking" }
        ]}))
        .await;
    assert_eq!(
        (status, batch["accepted"].as_u64()),
        (201, Some(2)),
        "{batch}"
    );
    let (_, person) = api.get(&format!("/persons/{id}")).await;
    assert_eq!(person["last_active_at"], "2026-03-14T15:10:00Z");
    let (_, feed) = api.get(&format!("/persons/{id}/activity")).await;
    let names: Vec<&str> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    // Newest first; of two at the same moment, the one reported later.
    assert_eq!(names, vec!["viewed_menu", "booking", "login", "booking"]);

    // A batch naming a person who is not found writes nothing and names the event.
    let (status, problem) = api
        .post(
            "/activity/events",
            json!({ "events": [
                { "person_id": id, "name": "ok" },
                { "external_id": "nobody", "name": "booking" }
            ]}),
        )
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (404, Some("events[1].external_id")),
        "{problem}"
    );
    let cases = [
        (json!({ "name": "x" }), "person_id"),
        (json!({ "person_id": id }), "name"),
        (
            json!({ "person_id": id, "name": "x", "occurred_at": "2030-01-01T00:00:00Z" }),
            "occurred_at",
        ),
        (
            json!({ "person_id": id, "name": "x", "properties": [1, 2] }),
            "properties",
        ),
        (
            json!({ "person_id": id, "name": "x", "colour": "red" }),
            "colour",
        ),
    ];
    for (body, field) in cases {
        let (status, problem) = api.post("/activity/event", body.clone()).await;
        assert_eq!(
            (status, problem["field"].as_str()),
            (422, Some(field)),
            "{body} -> {problem}"
        );
    }
    let (_, feed) = api.get(&format!("/persons/{id}/activity")).await;
    assert_eq!(feed["items"].as_array().unwrap().len(), 4);

    // Another organisation can neither report for this person nor read their activity.
    let (status, problem) = other
        .post("/activity/event", json!({ "person_id": id, "name": "x" }))
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (404, Some("person_id"))
    );
    assert_eq!(other.get(&format!("/persons/{id}/activity")).await.0, 404);
    app.finish().await;
}
both_backends!(activity_ingestion);
