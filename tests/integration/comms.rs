//! Communication identities, conversations with messages, the vendor catalogue and
//! recommendations, and the client dashboard and timeline that bring them together: happy
//! paths, a 422 naming the field, and the cross-organisation 404 for each.

use crate::both_backends;
use crate::common::{spawn_app, Api, Backend};
use serde_json::{json, Value};

async fn person(api: &Api<'_>, name: &str) -> String {
    let (status, p) = api.post("/persons", json!({ "full_name": name })).await;
    assert_eq!(status, 201, "{p}");
    p["id"].as_str().unwrap().to_string()
}

fn field(problem: &Value) -> Option<&str> {
    problem["field"].as_str()
}

async fn identities(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let other = Api::setup(&app, "globex").await;
    let sarah = person(&api, "Sarah Chen").await;
    let path = format!("/persons/{sarah}/identities");

    let (status, email) = api
        .post(
            &path,
            json!({ "channel": "email", "address": "Sarah@Example.COM", "preferred": true }),
        )
        .await;
    assert_eq!(status, 201, "{email}");
    assert_eq!(email["address"], "Sarah@example.com");
    assert_eq!(
        (email["preferred"].as_bool(), email["opted_out"].as_bool()),
        (Some(true), Some(false))
    );

    // A second preferred identity takes the preference.
    let (status, sms) = api
        .post(
            &path,
            json!({ "channel_type": "sms", "address": "+1 (415) 555-0123", "preferred": true }),
        )
        .await;
    assert_eq!(status, 201, "{sms}");
    assert_eq!(sms["address"], "+14155550123");
    let (_, list) = api.get(&path).await;
    let preferred: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["preferred"] == true)
        .map(|i| i["channel"].as_str().unwrap())
        .collect();
    assert_eq!(preferred, ["sms"]);

    // The same address twice is a conflict; a bad address names the field.
    let (status, problem) = api
        .post(
            &path,
            json!({ "channel": "email", "address": "sarah@example.com" }),
        )
        .await;
    assert_eq!(
        (status, field(&problem)),
        (409, Some("address")),
        "{problem}"
    );
    let (status, problem) = api
        .post(&path, json!({ "channel": "sms", "address": "555-0123" }))
        .await;
    assert_eq!(
        (status, field(&problem)),
        (422, Some("address")),
        "{problem}"
    );
    let (status, problem) = api
        .post(&path, json!({ "channel": "fax", "address": "x" }))
        .await;
    assert_eq!(
        (status, field(&problem)),
        (422, Some("channel")),
        "{problem}"
    );

    // Opting out stamps the moment; opting back in clears it.
    let sms_id = sms["id"].as_str().unwrap();
    let (status, out) = api
        .put(
            &format!("/identities/{sms_id}"),
            json!({ "opted_out": true }),
        )
        .await;
    assert_eq!(status, 200, "{out}");
    assert!(out["opted_out_at"].is_string(), "{out}");
    assert_eq!(out["address"], "+14155550123");
    let (_, back) = api
        .put(
            &format!("/identities/{sms_id}"),
            json!({ "opted_out": false }),
        )
        .await;
    assert!(back["opted_out_at"].is_null());

    // Another organisation sees none of it.
    assert_eq!(other.get(&path).await.0, 404);
    assert_eq!(other.get(&format!("/identities/{sms_id}")).await.0, 404);
    assert_eq!(
        other
            .put(
                &format!("/identities/{sms_id}"),
                json!({ "verified": true })
            )
            .await
            .0,
        404
    );
    assert_eq!(other.delete(&format!("/identities/{sms_id}")).await, 404);

    assert_eq!(api.delete(&format!("/identities/{sms_id}")).await, 204);
    assert_eq!(api.get(&format!("/identities/{sms_id}")).await.0, 404);
    app.finish().await;
}
both_backends!(identities);

async fn conversations(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let other = Api::setup(&app, "globex").await;
    let sarah = person(&api, "Sarah Chen").await;
    let tom = person(&api, "Tom Okafor").await;

    let (status, conv) = api
        .post(
            "/conversations",
            json!({ "person_id": sarah, "channel_type": "slack", "subject": "Anniversary" }),
        )
        .await;
    assert_eq!(status, 201, "{conv}");
    assert_eq!(conv["conversation_id"], conv["id"]);
    assert_eq!(
        (conv["status"].as_str(), conv["message_count"].as_i64()),
        (Some("active"), Some(0))
    );
    let cid = conv["id"].as_str().unwrap().to_string();
    let (_, tom_conv) = api
        .post(
            "/conversations",
            json!({ "person_id": tom, "channel_type": "email" }),
        )
        .await;

    let msgs = format!("/conversations/{cid}/messages");
    let (status, m) = api
        .post(
            &msgs,
            json!({ "direction": "in", "body": "Can you help me plan our anniversary?" }),
        )
        .await;
    assert_eq!(status, 201, "{m}");
    assert_eq!(m["author"], "Sarah Chen");
    let (status, note) = api
        .post(&msgs, json!({ "body": "Prefers Italian.\nNo shellfish." }))
        .await;
    assert_eq!(
        (status, note["direction"].as_str()),
        (201, Some("note")),
        "{note}"
    );

    let (_, thread) = api.get(&msgs).await;
    let directions: Vec<&str> = thread["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["direction"].as_str().unwrap())
        .collect();
    assert_eq!(directions, ["in", "note"]);

    let (_, conv) = api.get(&format!("/conversations/{cid}")).await;
    assert_eq!(conv["message_count"], 2);
    assert_eq!(conv["last_message_preview"], "Prefers Italian.");
    assert!(conv["last_message_at"].is_string());

    // Lists filter by person and status, and say how many there are.
    let (_, mine) = api.get(&format!("/conversations?person_id={sarah}")).await;
    assert_eq!(
        (mine["total"].as_i64(), mine["items"][0]["id"].as_str()),
        (Some(1), Some(cid.as_str()))
    );
    let (status, archived) = api
        .put(
            &format!("/conversations/{}", tom_conv["id"].as_str().unwrap()),
            json!({ "status": "archived" }),
        )
        .await;
    assert_eq!(
        (status, archived["status"].as_str()),
        (200, Some("archived"))
    );
    let (_, active) = api.get("/conversations?status=active").await;
    assert_eq!(active["total"], 1);
    let (_, all) = api.get("/conversations").await;
    assert_eq!(all["total"], 2);
    // A deleted client's conversations leave the lists and their counts.
    assert_eq!(api.delete(&format!("/persons/{tom}")).await, 204);
    let (_, all) = api.get("/conversations").await;
    assert_eq!(
        (
            all["total"].as_i64(),
            all["items"].as_array().unwrap().len()
        ),
        (Some(1), 1)
    );
    let (_, archived) = api.get("/conversations?status=archived").await;
    assert_eq!(archived["total"], 0);

    // Validation names the field.
    let (status, problem) = api
        .post(
            "/conversations",
            json!({ "person_id": sarah, "channel_type": "telegram" }),
        )
        .await;
    assert_eq!((status, field(&problem)), (422, Some("channel_type")));
    let (status, problem) = api.post(&msgs, json!({ "body": "   " })).await;
    assert_eq!((status, field(&problem)), (422, Some("body")));
    let (status, problem) = api.get("/conversations?person_id=nope").await;
    assert_eq!((status, field(&problem)), (422, Some("person_id")));
    let (status, problem) = api.get("/conversations?limit=0").await;
    assert_eq!((status, field(&problem)), (422, Some("limit")));

    // Another organisation can neither read nor write the thread, nor start one for Sarah.
    assert_eq!(other.get(&format!("/conversations/{cid}")).await.0, 404);
    assert_eq!(other.get(&msgs).await.0, 404);
    assert_eq!(other.post(&msgs, json!({ "body": "hi" })).await.0, 404);
    let (status, problem) = other
        .post(
            "/conversations",
            json!({ "person_id": sarah, "channel_type": "sms" }),
        )
        .await;
    assert_eq!((status, field(&problem)), (404, Some("person_id")));
    let (_, theirs) = other.get("/conversations").await;
    assert_eq!(theirs["total"], 0);
    app.finish().await;
}
both_backends!(conversations);

async fn vendors_and_recommendations(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let other = Api::setup(&app, "globex").await;
    let sarah = person(&api, "Sarah Chen").await;

    let (status, modern) = api
        .post(
            "/vendors",
            json!({
                "name": "The Modern", "kind": "restaurant", "location": "New York",
                "price_level": 4, "rating": 4.6, "tags": ["Michelin", "romantic"],
                "website": "https://www.themodernnyc.com"
            }),
        )
        .await;
    assert_eq!(status, 201, "{modern}");
    assert_eq!(modern["vendor_id"], modern["id"]);
    let (_, _) = api
        .post(
            "/vendors",
            json!({ "name": "Blooms & Co", "kind": "vendor", "tags": ["flowers"] }),
        )
        .await;
    let vid = modern["id"].as_str().unwrap().to_string();

    let (_, found) = api.get("/vendors?q=modern").await;
    assert_eq!(found["total"], 1);
    let (_, tagged) = api.get("/vendors?tag=michelin").await;
    assert_eq!(tagged["items"][0]["name"], "The Modern");
    let (_, kinds) = api.get("/vendors?kind=vendor").await;
    assert_eq!(kinds["items"][0]["name"], "Blooms & Co");
    let (status, problem) = api.get("/vendors?kind=spaceship").await;
    assert_eq!((status, field(&problem)), (422, Some("kind")));
    let (status, problem) = api
        .post(
            "/vendors",
            json!({ "name": "X", "kind": "venue", "rating": 6 }),
        )
        .await;
    assert_eq!((status, field(&problem)), (422, Some("rating")));
    let (status, changed) = api
        .put(
            &format!("/vendors/{vid}"),
            json!({ "notes": "Ask for the window table" }),
        )
        .await;
    assert_eq!(
        (status, changed["rating"].as_f64()),
        (200, Some(4.6)),
        "{changed}"
    );

    let (_, project) = api
        .post(
            "/projects",
            json!({ "person_id": sarah, "title": "Anniversary dinner" }),
        )
        .await;
    let (status, rec) = api
        .post(
            "/recommendations",
            json!({
                "vendor_id": vid, "person_id": sarah, "project_id": project["id"],
                "notes": "Michelin-starred, perfect for an anniversary"
            }),
        )
        .await;
    assert_eq!(status, 201, "{rec}");
    assert_eq!(
        (
            rec["venue_name"].as_str(),
            rec["category"].as_str(),
            rec["status"].as_str()
        ),
        (Some("The Modern"), Some("restaurant"), Some("suggested"))
    );
    let rid = rec["id"].as_str().unwrap().to_string();
    let (status, accepted) = api
        .put(
            &format!("/recommendations/{rid}"),
            json!({ "status": "accepted" }),
        )
        .await;
    assert_eq!(
        (status, accepted["status"].as_str()),
        (200, Some("accepted"))
    );
    let (_, for_project) = api
        .get(&format!(
            "/recommendations?project_id={}",
            project["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(for_project["total"], 1);

    let (status, problem) = api
        .post("/recommendations", json!({ "vendor_id": vid }))
        .await;
    assert_eq!((status, field(&problem)), (422, Some("person_id")));
    let (status, problem) = api
        .post(
            "/recommendations",
            json!({ "vendor_id": uuid::Uuid::nil(), "person_id": sarah }),
        )
        .await;
    assert_eq!((status, field(&problem)), (404, Some("vendor_id")));

    // A vendor taken out of the catalogue stays named on what was recommended before.
    assert_eq!(api.delete(&format!("/vendors/{vid}")).await, 204);
    assert_eq!(api.get(&format!("/vendors/{vid}")).await.0, 404);
    let (_, still) = api.get(&format!("/recommendations/{rid}")).await;
    assert_eq!(still["venue_name"], "The Modern");

    // Another organisation: nothing to see, and it cannot recommend to Sarah.
    assert_eq!(other.get(&format!("/recommendations/{rid}")).await.0, 404);
    assert_eq!(
        other
            .put(&format!("/vendors/{vid}"), json!({ "name": "Mine" }))
            .await
            .0,
        404
    );
    let (_, their_vendor) = other
        .post("/vendors", json!({ "name": "Elsewhere", "kind": "venue" }))
        .await;
    let (status, problem) = other
        .post(
            "/recommendations",
            json!({ "vendor_id": their_vendor["id"], "person_id": sarah }),
        )
        .await;
    assert_eq!((status, field(&problem)), (404, Some("person_id")));
    app.finish().await;
}
both_backends!(vendors_and_recommendations);

async fn dashboard_and_timeline(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let other = Api::setup(&app, "globex").await;
    let sarah = person(&api, "Sarah Chen").await;

    let (_, cats) = api.get("/date-categories").await;
    let birthday = cats["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Birthday")
        .unwrap()["id"]
        .clone();
    let (status, date) = api
        .post("/date-items", json!({
            "person_id": sarah, "category_id": birthday, "title": "Sarah's birthday",
            "date_value": "1985-03-15", "recurrence_rule": "FREQ=YEARLY",
            "reminder_rules": [
                { "reminder_type": "lead_time", "lead_time_days": 14, "channel_type": "email", "audience": "staff" },
                { "reminder_type": "lead_time", "lead_time_days": 1, "channel_type": "sms" }
            ]
        }))
        .await;
    assert_eq!(status, 201, "{date}");
    let (_, project) = api
        .post("/projects", json!({ "person_id": sarah, "title": "Plan anniversary dinner", "status": "in_progress" }))
        .await;
    let pid = project["id"].as_str().unwrap();
    for (title, status) in [("Shortlist", "done"), ("Book", "todo")] {
        api.post(
            &format!("/projects/{pid}/tasks"),
            json!({ "title": title, "status": status }),
        )
        .await;
    }
    let (_, conv) = api
        .post(
            "/conversations",
            json!({ "person_id": sarah, "channel_type": "slack" }),
        )
        .await;
    api.post(
        &format!("/conversations/{}/messages", conv["id"].as_str().unwrap()),
        json!({ "direction": "in", "body": "Thank you!" }),
    )
    .await;
    let (_, vendor) = api
        .post(
            "/vendors",
            json!({ "name": "The Modern", "kind": "restaurant" }),
        )
        .await;
    api.post(
        "/recommendations",
        json!({ "vendor_id": vendor["id"], "person_id": sarah }),
    )
    .await;
    api.post(
        "/activity/event",
        json!({ "person_id": sarah, "name": "viewed_menu" }),
    )
    .await;

    let (status, d) = api.get(&format!("/persons/{sarah}/dashboard")).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["person"]["person_id"].as_str(), Some(sarah.as_str()));
    assert_eq!(
        d["recent_conversations"][0]["last_message_preview"],
        "Thank you!"
    );
    assert_eq!(d["recent_conversations"][0]["message_count"], 1);
    assert_eq!(d["upcoming_dates"][0]["title"], "Sarah's birthday");
    assert_eq!(d["upcoming_dates"][0]["category_name"], "Birthday");
    assert_eq!(d["upcoming_dates"][0]["reminder_count"], 2);
    assert!(d["upcoming_dates"][0]["days_until"].is_i64());
    assert_eq!(d["active_projects"][0]["completion_percentage"], 50);
    assert_eq!(d["recent_recommendations"][0]["venue_name"], "The Modern");
    assert_eq!(
        d["stats"],
        json!({ "total_conversations": 1, "total_upcoming_dates": 1,
                "total_active_projects": 1, "total_recommendations": 1 })
    );

    let (status, feed) = api.get(&format!("/persons/{sarah}/activity")).await;
    assert_eq!(status, 200, "{feed}");
    let mut names: Vec<&str> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "date_added",
            "message_received",
            "project_created",
            "recommendation_made",
            "viewed_menu"
        ]
    );
    assert!(feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["type"].is_string() && e["occurred_at"].is_string()));

    assert_eq!(
        other.get(&format!("/persons/{sarah}/dashboard")).await.0,
        404
    );
    assert_eq!(
        other.get(&format!("/persons/{sarah}/activity")).await.0,
        404
    );
    assert_eq!(api.get("/persons/not-an-id/dashboard").await.0, 404);
    app.finish().await;
}
both_backends!(dashboard_and_timeline);

/// The catalogue page shows fifty vendors at a time in name order, with a pager; the rest are
/// on the next page, not cut off.
async fn vendors_page_by_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    for n in 0..55 {
        let (status, v) = api
            .post(
                "/vendors",
                json!({ "name": format!("Vendor {n:02}"), "kind": "venue" }),
            )
            .await;
        assert_eq!(status, 201, "{v}");
    }
    let session = app.session("admin@acme.test").await;
    let first = app
        .get_with("/vendors", &session)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        first.contains("Vendor 00") && first.contains("Vendor 49"),
        "{first}"
    );
    assert!(!first.contains("Vendor 50"));
    assert!(first.contains("rel=\"next\""), "a pager to the rest");
    let second = app
        .get_with("/vendors?page=2", &session)
        .await
        .text()
        .await
        .unwrap();
    assert!(second.contains("Vendor 50") && second.contains("Vendor 54"));
    assert!(!second.contains("Vendor 49"));
    assert!(second.contains("rel=\"prev\"") && !second.contains("rel=\"next\""));
    app.finish().await;
}
both_backends!(vendors_page_by_page);
