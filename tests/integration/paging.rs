//! Long lists page by key: the pages of reminders, messages, conversations and vendors follow one another exactly
//! (each page starts right after the last row of the one before, nothing twice, nothing left
//! out), whatever the filter, with ties on the sort key and rows with no due time.

use crate::both_backends;
use crate::common::{spawn_app, Api, Backend};
use serde_json::{json, Value};

/// Every id of `path` (a list answering `{"items": [...]}`), one page of `size` at a time.
async fn paged(api: &Api<'_>, path: &str, size: usize) -> Vec<String> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut out = Vec::new();
    for page in 0.. {
        let (status, list) = api
            .get(&format!("{path}{sep}limit={size}&skip={}", page * size))
            .await;
        assert_eq!(status, 200, "{path}: {list}");
        let items = list["items"].as_array().unwrap();
        out.extend(items.iter().map(|i| i["id"].as_str().unwrap().to_string()));
        if items.len() < size {
            break;
        }
        assert!(page < 100, "{path} does not end");
    }
    out
}

/// Every id of `path` at once.
async fn whole(api: &Api<'_>, path: &str) -> Vec<String> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let (status, list) = api.get(&format!("{path}{sep}limit=200")).await;
    assert_eq!(status, 200, "{path}: {list}");
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

async fn person(api: &Api<'_>, n: usize) -> String {
    let (status, p) = api
        .post(
            "/persons",
            json!({ "full_name": format!("Guest {n:02}"), "email": format!("guest{n}@example.com") }),
        )
        .await;
    assert_eq!(status, 201, "{p}");
    p["id"].as_str().unwrap().to_string()
}

async fn date(api: &Api<'_>, person: &str, value: &str, recurrence: Option<&str>) -> Value {
    let (status, d) = api
        .post(
            "/date-items",
            json!({
                "person_id": person, "title": format!("Date {value}"), "date_value": value,
                "recurrence_rule": recurrence,
                "reminder_rules": [
                    { "reminder_type": "lead_time", "lead_time_days": 1 },
                    { "reminder_type": "lead_time", "lead_time_days": 7, "audience": "staff" }
                ]
            }),
        )
        .await;
    assert_eq!(status, 201, "{d}");
    d
}

async fn pages_follow_one_another(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let mut people = Vec::new();
    for n in 0..7 {
        let p = person(&api, n).await;
        // Several people share a day, so several reminders share a moment.
        date(
            &api,
            &p,
            &format!("1990-05-{:02}", 10 + n % 3),
            Some("yearly"),
        )
        .await;
        // A date long past that does not repeat: its reminders have no due time.
        date(&api, &p, "2001-01-01", None).await;
        people.push(p);
    }
    // Some cancelled, so the tabs differ.
    let all = whole(&api, "/reminders").await;
    assert_eq!(all.len(), 28);
    for id in all.iter().step_by(5) {
        let (status, r) = api
            .post(&format!("/reminders/{id}/cancel"), json!({}))
            .await;
        assert_eq!(status, 200, "{r}");
    }
    // Messages, all queued at the same moment of the test clock: ties broken by id.
    for p in people.iter().cycle().take(17) {
        let (status, d) = api
            .post(
                "/send-utility",
                json!({ "person_id": p, "type": "appointment_reminder", "channel": "email",
                        "data": { "time": "10am", "service": "fitting" } }),
            )
            .await;
        assert_eq!(status, 202, "{d}");
    }

    // Conversations, some with a message (their latest activity is the message's).
    for (n, p) in people.iter().enumerate() {
        for _ in 0..2 {
            let (status, c) = api
                .post(
                    "/conversations",
                    json!({ "person_id": p, "channel_type": "email", "subject": "Dinner" }),
                )
                .await;
            assert_eq!(status, 201, "{c}");
            if n % 2 == 0 {
                app.clock.advance(chrono::Duration::minutes(1));
                let (status, m) = api
                    .post(
                        &format!("/conversations/{}/messages", c["id"].as_str().unwrap()),
                        json!({ "direction": "in", "body": "Thank you!" }),
                    )
                    .await;
                assert!(status == 201 || status == 200, "{m}");
            }
        }
    }

    // Vendors, some of one name in different cases.
    for (n, name) in [
        "Blooms", "blooms", "BLOOMS", "Atelier", "Zest", "Cellar", "blooms",
    ]
    .iter()
    .enumerate()
    {
        let (status, v) = api
            .post(
                "/vendors",
                json!({ "name": name, "kind": if n % 2 == 0 { "restaurant" } else { "vendor" }, "tags": ["wine"] }),
            )
            .await;
        assert_eq!(status, 201, "{v}");
    }

    for path in [
        "/vendors".to_string(),
        "/vendors?kind=restaurant".into(),
        "/vendors?q=bloo".into(),
        "/conversations".to_string(),
        format!("/conversations?person_id={}", people[4]),
        "/reminders".to_string(),
        "/reminders?status_filter=pending".into(),
        "/reminders?status_filter=cancelled".into(),
        format!("/reminders?person_id={}", people[2]),
        "/deliveries".into(),
        "/deliveries?status=pending".into(),
        format!("/deliveries?person_id={}", people[3]),
    ] {
        let expected = whole(&api, &path).await;
        assert!(!expected.is_empty(), "{path} lists nothing");
        for size in [1, 3, 4] {
            assert_eq!(
                paged(&api, &path, size).await,
                expected,
                "{path} in pages of {size}"
            );
        }
    }
    // Past the end: an empty page, not an error.
    let (status, list) = api.get("/deliveries?skip=500").await;
    assert_eq!((status, list["items"].as_array().unwrap().len()), (200, 0));
    let (status, list) = api.get("/reminders?skip=500").await;
    assert_eq!((status, list["items"].as_array().unwrap().len()), (200, 0));
    app.finish().await;
}

both_backends!(pages_follow_one_another);
