//! Date categories, date items with reminder rules, upcoming dates and reminders over the API,
//! with the clock moved to see dates roll forward. The test clock starts at
//! 2026-03-14T15:09:26Z (11:09 in New York, where summer time began on 8 March).

use crate::both_backends;
use crate::common::{spawn_app, Api, Backend};
use chrono::{Duration, TimeZone, Utc};
use serde_json::{json, Value};

async fn person(api: &Api<'_>, name: &str, tz: &str) -> String {
    let (status, p) = api
        .post("/persons", json!({ "full_name": name, "timezone": tz }))
        .await;
    assert_eq!(status, 201, "{p}");
    p["id"].as_str().unwrap().to_string()
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

async fn categories(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let other = Api::setup(&app, "globex").await;

    let (status, list) = api.get("/date-categories").await;
    assert_eq!(status, 200);
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["category_name"].as_str().unwrap())
        .collect();
    for seeded in [
        "Birthday",
        "Anniversary",
        "Club Renewal",
        "Property Maintenance",
        "School Event",
        "Travel",
    ] {
        assert!(names.contains(&seeded), "{seeded} missing from {names:?}");
    }

    let (status, yacht) = api
        .post(
            "/date-categories",
            json!({ "category_name": "Yacht Survey", "icon": "⛵", "color": "#0077AA" }),
        )
        .await;
    assert_eq!(status, 201, "{yacht}");
    assert_eq!(yacht["color"], "#0077aa");
    assert_eq!(yacht["category_id"], yacht["id"]);
    let (status, dup) = api
        .post("/date-categories", json!({ "name": "yacht survey" }))
        .await;
    assert_eq!(status, 409, "{dup}");
    let (status, bad) = api
        .post("/date-categories", json!({ "name": "X", "color": "blue" }))
        .await;
    assert_eq!(
        (status, bad["field"].as_str()),
        (422, Some("color")),
        "{bad}"
    );
    let (status, renamed) = api
        .put(
            &format!("/date-categories/{}", id(&yacht)),
            json!({ "name": "Boat Survey" }),
        )
        .await;
    assert_eq!(
        (status, renamed["name"].as_str(), renamed["icon"].as_str()),
        (200, Some("Boat Survey"), Some("⛵"))
    );

    // Another organisation cannot see or touch it.
    assert_eq!(
        other
            .get(&format!("/date-categories/{}", id(&yacht)))
            .await
            .0,
        404
    );
    assert_eq!(
        other
            .delete(&format!("/date-categories/{}", id(&yacht)))
            .await,
        404
    );

    // In use: refused; unused: gone.
    let ada = person(&api, "Ada", "Europe/London").await;
    let (status, item) = api
        .post("/date-items", json!({ "person_id": ada, "category_id": id(&yacht), "title": "Survey", "date_value": "2026-06-01" }))
        .await;
    assert_eq!(status, 201, "{item}");
    let (status, refused, _) = api
        .send(
            reqwest::Method::DELETE,
            &format!("/date-categories/{}", id(&yacht)),
            None,
        )
        .await;
    assert_eq!(status, 409, "{refused}");
    assert!(refused["detail"]
        .as_str()
        .unwrap()
        .contains("used by 1 date"));
    assert_eq!(api.delete(&format!("/date-items/{}", id(&item))).await, 204);
    assert_eq!(
        api.delete(&format!("/date-categories/{}", id(&yacht)))
            .await,
        204
    );
    app.finish().await;
}
both_backends!(categories);

async fn dates_with_reminder_rules(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let grace = person(&api, "Grace Hopper", "America/New_York").await;

    // One date, two rules for different audiences, in one request.
    let (status, item) = api
        .post(
            "/date-items",
            json!({
                "person_id": grace, "title": "Grace's birthday", "date_value": "1985-04-05",
                "recurrence_rule": "yearly", "notes": "Loves sailing",
                "reminder_rules": [
                    { "reminder_type": "lead_time", "lead_time_days": 14, "channel_type": "email",
                      "message": "Birthday in two weeks" },
                    { "reminder_type": "lead_time", "lead_time_days": 21, "audience": "staff",
                      "time_of_day": "08:30", "message": "Order flowers" }
                ]
            }),
        )
        .await;
    assert_eq!(status, 201, "{item}");
    assert_eq!(item["recurrence_rule"], "FREQ=YEARLY");
    assert_eq!(item["next_occurrence"], "2026-04-05");
    assert_eq!(item["date_item_id"], item["id"]);
    let rules = item["reminder_rules"].as_array().unwrap();
    assert_eq!(rules.len(), 2);
    // 14 days before 5 April is 22 March, 09:00 EDT (UTC-4).
    assert_eq!(rules[0]["scheduled_datetime"], "2026-03-22T13:00:00Z");
    assert_eq!(rules[0]["occurrence_date"], "2026-04-05");
    assert_eq!(rules[0]["channel_type"], "email");
    assert_eq!(rules[0]["status"], "pending");
    // 21 days before is 15 March, 08:30 EDT, for the assigned staff member in the portal.
    assert_eq!(rules[1]["scheduled_datetime"], "2026-03-15T12:30:00Z");
    assert_eq!(
        (
            rules[1]["audience"].as_str(),
            rules[1]["channel_type"].as_str()
        ),
        (Some("staff"), Some("portal"))
    );
    let item_id = id(&item);

    // The person's dates and upcoming list.
    let (status, list) = api.get(&format!("/persons/{grace}/date-items")).await;
    assert_eq!((status, list["items"].as_array().unwrap().len()), (200, 1));
    let (status, upcoming) = api
        .get(&format!("/persons/{grace}/upcoming?days_ahead=30"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(upcoming["items"][0]["days_until"], 22, "{upcoming}");
    assert_eq!(upcoming["items"][0]["reminder_count"], 2);
    let (_, none) = api
        .get(&format!("/persons/{grace}/upcoming?days_ahead=7"))
        .await;
    assert_eq!(none["items"], json!([]));
    let (status, bad) = api
        .get(&format!("/persons/{grace}/upcoming?days_ahead=999"))
        .await;
    assert_eq!((status, bad["field"].as_str()), (422, Some("days_ahead")));

    // Reminders, listed and filtered.
    let (_, pending) = api.get("/reminders?status_filter=pending").await;
    assert_eq!(pending["items"].as_array().unwrap().len(), 2);
    // Soonest first: the staff reminder on 15 March.
    assert_eq!(pending["items"][0]["audience"], "staff");
    let staff_rule = id(&pending["items"][0]);
    let (status, bad) = api.get("/reminders?status_filter=lost").await;
    assert_eq!(
        (status, bad["field"].as_str()),
        (422, Some("status_filter"))
    );
    let (status, cancelled) = api
        .post(&format!("/reminders/{staff_rule}/cancel"), json!({}))
        .await;
    assert_eq!(
        (status, cancelled["status"].as_str()),
        (200, Some("cancelled"))
    );
    let (_, list) = api.get("/reminders?status_filter=cancelled").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (status, _) = api
        .post(&format!("/reminders/{staff_rule}/retry"), json!({}))
        .await;
    assert_eq!(status, 409, "only a failed reminder can be retried");
    let (status, history) = api.get(&format!("/reminders/{staff_rule}/history")).await;
    assert_eq!(status, 200);
    let actions: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["cancelled"]);

    // Changing a rule moves its moment.
    let client_rule = id(&rules[0]);
    let (status, changed) = api
        .put(
            &format!("/reminders/{client_rule}"),
            json!({ "lead_time_days": 7, "time_of_day": "18:00" }),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["scheduled_datetime"], "2026-03-29T22:00:00Z");
    assert_eq!(
        changed["channel_type"], "email",
        "unchanged fields are kept"
    );

    // A new time zone for the person moves every reminder (Kolkata is UTC+5:30).
    let (status, _) = api
        .put(
            &format!("/persons/{grace}"),
            json!({ "timezone": "Asia/Kolkata" }),
        )
        .await;
    assert_eq!(status, 200);
    let (_, moved) = api.get(&format!("/reminders/{client_rule}")).await;
    assert_eq!(moved["scheduled_datetime"], "2026-03-29T12:30:00Z");

    // Editing the date keeps rules that are not mentioned; replacing them by id keeps identity.
    let (status, edited) = api
        .put(
            &format!("/date-items/{item_id}"),
            json!({ "title": "Birthday (Grace)" }),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["reminder_rules"].as_array().unwrap().len(), 2);
    let (status, edited) = api
        .put(
            &format!("/date-items/{item_id}"),
            json!({
                "reminder_rules": [{ "id": client_rule, "lead_time_days": 1 }]
            }),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["reminder_rules"].as_array().unwrap().len(), 1);
    assert_eq!(
        edited["reminder_rules"][0]["id"].as_str(),
        Some(client_rule.as_str())
    );
    assert_eq!(
        edited["reminder_rules"][0]["scheduled_datetime"],
        "2026-04-04T03:30:00Z"
    );

    // Time passes: once 5 April is over in Kolkata, the date rolls to next year.
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 4, 5, 18, 31, 0).unwrap());
    let (_, got) = api.get(&format!("/date-items/{item_id}")).await;
    assert_eq!(got["next_occurrence"], "2027-04-05");
    let (_, upcoming) = api
        .get(&format!("/persons/{grace}/upcoming?days_ahead=366"))
        .await;
    assert_eq!(
        upcoming["items"][0]["next_occurrence"], "2027-04-05",
        "{upcoming}"
    );
    assert_eq!(upcoming["items"][0]["days_until"], 364);
    app.clock.advance(Duration::days(1));

    assert_eq!(api.delete(&format!("/date-items/{item_id}")).await, 204);
    assert_eq!(api.get(&format!("/date-items/{item_id}")).await.0, 404);
    assert_eq!(
        api.get(&format!("/reminders/{client_rule}")).await.0,
        404,
        "rules go with their date"
    );
    app.finish().await;
}
both_backends!(dates_with_reminder_rules);

async fn leap_days_and_recurrence_rules(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let ada = person(&api, "Ada Lovelace", "Europe/London").await;
    let (status, leap) = api
        .post(
            "/date-items",
            json!({
                "person_id": ada, "title": "Leap birthday", "date_value": "2000-02-29",
                "recurrence_rule": "FREQ=YEARLY",
                "reminder_rules": [{ "lead_time_days": 14 }]
            }),
        )
        .await;
    assert_eq!(status, 201, "{leap}");
    // 2027 is a common year: observed on 28 February; 14 days before at 09:00 GMT.
    assert_eq!(leap["next_occurrence"], "2027-02-28");
    assert_eq!(
        leap["reminder_rules"][0]["scheduled_datetime"],
        "2027-02-14T09:00:00Z"
    );

    let (status, quarterly) = api
        .post(
            "/date-items",
            json!({
                "person_id": ada, "title": "Wine club", "date_value": "2025-01-31",
                "recurrence_rule": "RRULE:FREQ=MONTHLY;INTERVAL=3;COUNT=8"
            }),
        )
        .await;
    assert_eq!(status, 201, "{quarterly}");
    assert_eq!(
        quarterly["recurrence_rule"],
        "FREQ=MONTHLY;INTERVAL=3;COUNT=8"
    );
    assert_eq!(
        quarterly["next_occurrence"], "2026-04-30",
        "31 January, 30 April..."
    );

    let (status, past) = api
        .post(
            "/date-items",
            json!({ "person_id": ada, "title": "Old trip", "date_value": "2025-05-01" }),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(past["next_occurrence"], Value::Null);

    // Bad input names its field, nested rules included.
    let cases = [
        (
            json!({ "person_id": ada, "title": "x", "date_value": "2026-02-30" }),
            "date_value",
        ),
        (
            json!({ "person_id": ada, "title": "x", "date_value": "2026-02-01", "recurrence_rule": "FREQ=HOURLY" }),
            "recurrence_rule",
        ),
        (
            json!({ "person_id": ada, "title": "x", "date_value": "2026-02-01", "recurrence_rule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30" }),
            "recurrence_rule",
        ),
        (
            json!({ "person_id": ada, "date_value": "2026-02-01" }),
            "title",
        ),
        (
            json!({ "person_id": "not-an-id", "title": "x", "date_value": "2026-02-01" }),
            "person_id",
        ),
        (
            json!({ "person_id": ada, "title": "x", "date_value": "2026-02-01", "reminder_rules": [{ "lead_time_days": -3 }] }),
            "reminder_rules[0].lead_time_days",
        ),
        (
            json!({ "person_id": ada, "title": "x", "date_value": "2026-02-01", "reminder_rules": [{ "lead_time_days": 3, "channel_type": "fax" }] }),
            "reminder_rules[0].channel_type",
        ),
        (
            json!({ "person_id": ada, "title": "x", "date_value": "2026-02-01", "colour": "red" }),
            "colour",
        ),
        (
            json!({ "person_id": ada, "title": "x", "date_value": "2026-02-01", "category_id": uuid::Uuid::now_v7() }),
            "category_id",
        ),
    ];
    for (body, field) in cases {
        let (status, problem) = api.post("/date-items", body.clone()).await;
        // A well-formed id that names no record is not found; anything else is invalid.
        let names_nothing = field.ends_with("_id")
            && body[field]
                .as_str()
                .is_some_and(|v| uuid::Uuid::parse_str(v).is_ok());
        let want = if names_nothing { 404 } else { 422 };
        assert_eq!(status, want, "{body} -> {problem}");
        assert_eq!(
            problem["field"].as_str(),
            Some(field),
            "{body} -> {problem}"
        );
    }

    // Standalone reminders: scheduled at an instant for a person; lead-time needs a date.
    let (status, scheduled) = api
        .post("/reminders", json!({
            "person_id": ada, "reminder_type": "scheduled",
            "scheduled_datetime": "2026-03-20T15:00:00+01:00", "channel_type": "sms", "message": "Call the florist"
        }))
        .await;
    assert_eq!(status, 201, "{scheduled}");
    assert_eq!(scheduled["scheduled_datetime"], "2026-03-20T14:00:00Z");
    assert_eq!(scheduled["reminder_rule_id"], scheduled["id"]);
    let (status, problem) = api
        .post(
            "/reminders",
            json!({ "person_id": ada, "lead_time_days": 3 }),
        )
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (422, Some("date_item_id"))
    );
    let (status, problem) = api
        .post(
            "/reminders",
            json!({ "date_item_id": id(&leap), "lead_time_days": 3, "time_of_day": "25:00" }),
        )
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (422, Some("time_of_day"))
    );
    let (status, by_date) = api
        .post(
            "/reminders",
            json!({ "date_item_id": id(&leap), "lead_time_days": 0, "time_of_day": "07:00" }),
        )
        .await;
    assert_eq!(status, 201, "{by_date}");
    assert_eq!(by_date["scheduled_datetime"], "2027-02-28T07:00:00Z");
    let (_, rules) = api
        .get(&format!("/date-items/{}/reminders", id(&leap)))
        .await;
    assert_eq!(rules["items"].as_array().unwrap().len(), 2);
    app.finish().await;
}
both_backends!(leap_days_and_recurrence_rules);

async fn dates_are_private_to_their_organisation(backend: Backend) {
    let app = spawn_app(backend).await;
    let acme = Api::setup(&app, "acme").await;
    let globex = Api::setup(&app, "globex").await;
    let ada = person(&acme, "Ada", "Europe/London").await;
    let (_, item) = acme
        .post(
            "/date-items",
            json!({ "person_id": ada, "title": "Birthday", "date_value": "1990-05-05",
            "recurrence_rule": "yearly", "reminder_rules": [{ "lead_time_days": 3 }] }),
        )
        .await;
    let item_id = id(&item);
    let rule_id = id(&item["reminder_rules"][0]);
    assert_eq!(globex.get(&format!("/date-items/{item_id}")).await.0, 404);
    assert_eq!(
        globex
            .put(&format!("/date-items/{item_id}"), json!({ "title": "x" }))
            .await
            .0,
        404
    );
    assert_eq!(globex.delete(&format!("/date-items/{item_id}")).await, 404);
    assert_eq!(
        globex
            .get(&format!("/date-items/{item_id}/reminders"))
            .await
            .0,
        404
    );
    assert_eq!(
        globex.get(&format!("/persons/{ada}/date-items")).await.0,
        404
    );
    assert_eq!(globex.get(&format!("/persons/{ada}/upcoming")).await.0, 404);
    assert_eq!(globex.get(&format!("/reminders/{rule_id}")).await.0, 404);
    assert_eq!(
        globex
            .put(
                &format!("/reminders/{rule_id}"),
                json!({ "lead_time_days": 1 })
            )
            .await
            .0,
        404
    );
    assert_eq!(
        globex
            .post(&format!("/reminders/{rule_id}/cancel"), json!({}))
            .await
            .0,
        404
    );
    assert_eq!(
        globex.get(&format!("/reminders/{rule_id}/history")).await.0,
        404
    );
    assert_eq!(globex.delete(&format!("/reminders/{rule_id}")).await, 404);
    let (_, list) = globex.get("/reminders").await;
    assert_eq!(list["items"], json!([]));
    // Another organisation's person cannot be given a date.
    let (status, problem) = globex
        .post(
            "/date-items",
            json!({ "person_id": ada, "title": "x", "date_value": "2026-01-01" }),
        )
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (404, Some("person_id"))
    );
    // A soft-deleted person's dates disappear with them.
    assert_eq!(acme.delete(&format!("/persons/{ada}")).await, 204);
    assert_eq!(acme.get(&format!("/date-items/{item_id}")).await.0, 404);
    assert_eq!(acme.get(&format!("/reminders/{rule_id}")).await.0, 404);
    app.finish().await;
}
both_backends!(dates_are_private_to_their_organisation);
