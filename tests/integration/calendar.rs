//! The calendar: a month of occurrences across clients, and each staff member's private
//! iCalendar feed of the dates of the clients they look after.

use crate::both_backends;
use crate::common::{spawn_app, Api, Backend};
use concierge::domain::Role;
use serde_json::{json, Value};

async fn add_dated_person(api: &Api<'_>, name: &str, staff: Option<&str>, date: &str, title: &str) {
    let (status, p) = api
        .post(
            "/persons",
            json!({ "full_name": name, "assigned_staff_id": staff }),
        )
        .await;
    assert_eq!(status, 201, "{p}");
    let (status, d) = api
        .post("/date-items", json!({
            "person_id": p["id"], "title": title, "date_value": date, "recurrence_rule": "FREQ=YEARLY",
            "reminder_rules": [{ "reminder_type": "lead_time", "lead_time_days": 7 }]
        }))
        .await;
    assert_eq!(status, 201, "{d}");
}

async fn calendar_month_and_feed(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    app.add_staff("acme", "sam@acme.test", Role::Concierge)
        .await;
    let org = concierge::server::db::orgs::by_slug(&app.state().db, "acme")
        .await
        .unwrap()
        .unwrap();
    let staff = concierge::server::db::staff::list(&app.state().db, org.id)
        .await
        .unwrap();
    let id_of = |email: &str| {
        staff
            .iter()
            .find(|s| s.email == email)
            .unwrap()
            .id
            .to_string()
    };
    let (ada, sam) = (id_of("admin@acme.test"), id_of("sam@acme.test"));

    // The test clock stands in March 2026 (see common.rs).
    add_dated_person(
        &api,
        "Grace Hopper",
        Some(&ada),
        "1906-12-09",
        "Grace's birthday",
    )
    .await;
    add_dated_person(&api, "Alan Turing", None, "1912-06-23", "Alan's birthday").await;
    add_dated_person(
        &api,
        "Linus Pauling",
        Some(&sam),
        "1901-02-28",
        "Linus's birthday",
    )
    .await;

    let session = app.session("admin@acme.test").await;
    let res = app
        .server_fn(
            "/srv/calendar/calendar_month",
            Some(&session),
            &[("month", "2026-12")],
        )
        .await;
    assert_eq!(res.status(), 200);
    let december: Value = res.json().await.unwrap();
    let entries = &december["entries"];
    assert_eq!(entries.as_array().unwrap().len(), 1, "{december}");
    assert_eq!(
        (
            entries[0]["date"].as_str(),
            entries[0]["reminder_count"].as_i64()
        ),
        (Some("2026-12-09"), Some(1))
    );
    // Its reminder (a week before, 09:00 on the person's clock) is on the calendar too.
    let reminders = &december["reminders"];
    assert_eq!(reminders.as_array().unwrap().len(), 1, "{december}");
    assert_eq!(
        (
            reminders[0]["date"].as_str(),
            reminders[0]["time"].as_str(),
            reminders[0]["person_name"].as_str()
        ),
        (Some("2026-12-02"), Some("09:00 UTC"), Some("Grace Hopper"))
    );
    // With no month, this month on the server's clock.
    let res = app
        .server_fn("/srv/calendar/calendar_month", Some(&session), &[])
        .await;
    let this: Value = res.json().await.unwrap();
    assert_eq!(
        (this["first"].as_str(), this["today"].as_str()),
        (Some("2026-03-01"), Some("2026-03-14"))
    );
    let res = app
        .server_fn(
            "/srv/calendar/calendar_month",
            Some(&session),
            &[("month", "2026-13")],
        )
        .await;
    assert_eq!(res.status(), 422);
    // Months far from now are refused, not followed to a month after the last one there is.
    for month in ["0999-12", "+262143-12", "262142-12"] {
        let res = app
            .server_fn(
                "/srv/calendar/calendar_month",
                Some(&session),
                &[("month", month)],
            )
            .await;
        assert_eq!(res.status(), 422, "{month}");
    }
    let res = app
        .server_fn(
            "/srv/calendar/calendar_day",
            Some(&session),
            &[("day", "+262143-12-31")],
        )
        .await;
    assert_eq!(res.status(), 422);

    // Ada's feed: her client and the unassigned one, not Sam's.
    let res = app
        .server_fn("/srv/calendar/new_calendar_feed", Some(&session), &[])
        .await;
    assert_eq!(res.status(), 200);
    let path: String = res.json().await.unwrap();
    assert!(
        path.starts_with("/calendar/") && path.ends_with(".ics"),
        "{path}"
    );
    let res = reqwest::get(app.url(&path)).await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/calendar"));
    let ics = res.text().await.unwrap();
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\n"), "{ics}");
    assert!(ics.contains("DTSTART;VALUE=DATE:20261209"), "{ics}");
    assert!(ics.contains("SUMMARY:Grace's birthday — Grace Hopper"));
    assert!(ics.contains("SUMMARY:Alan's birthday — Alan Turing"));
    assert!(!ics.contains("Linus"), "{ics}");
    assert_eq!(ics.matches("BEGIN:VEVENT").count(), 2);

    // A new address retires the old one; a made-up one is not found.
    let res = app
        .server_fn("/srv/calendar/new_calendar_feed", Some(&session), &[])
        .await;
    let newer: String = res.json().await.unwrap();
    assert_ne!(newer, path);
    assert_eq!(reqwest::get(app.url(&path)).await.unwrap().status(), 404);
    assert_eq!(reqwest::get(app.url(&newer)).await.unwrap().status(), 200);
    assert_eq!(
        reqwest::get(app.url("/calendar/guess.ics"))
            .await
            .unwrap()
            .status(),
        404
    );
    // Signed out, there is no feed to make.
    assert_eq!(
        app.server_fn("/srv/calendar/new_calendar_feed", None, &[])
            .await
            .status(),
        401
    );
    app.finish().await;
}
both_backends!(calendar_month_and_feed);

/// A month shows every change at once, whatever made it (on SQLite a month is reused while none
/// of its rows changed): a staff member's edit, a client renamed, a reminder the worker sent, a
/// client deleted.
async fn month_follows_every_change(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    add_dated_person(&api, "Grace Hopper", None, "1906-04-09", "Grace's birthday").await;
    let session = std::cell::RefCell::new(app.session("admin@acme.test").await);
    let month = || async {
        let session = session.borrow().clone();
        let res = app
            .server_fn(
                "/srv/calendar/calendar_month",
                Some(&session),
                &[("month", "2026-04")],
            )
            .await;
        assert_eq!(res.status(), 200);
        res.json::<Value>().await.unwrap()
    };
    let april = month().await;
    assert_eq!(april["entries"][0]["title"], "Grace's birthday", "{april}");
    assert_eq!(april["reminders"][0]["status"], "pending", "{april}");
    assert_eq!(month().await, april, "read again, the same month");

    // Edited through the API.
    let (_, found) = api.get("/persons?q=grace").await;
    let grace = found["items"][0]["id"].as_str().unwrap().to_string();
    let (_, items) = api.get(&format!("/persons/{grace}/date-items")).await;
    let item = items["items"][0]["id"].as_str().unwrap().to_string();
    let (status, d, _) = api
        .send(
            reqwest::Method::PUT,
            &format!("/date-items/{item}"),
            Some(json!({ "title": "Grace's 120th" })),
        )
        .await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(month().await["entries"][0]["title"], "Grace's 120th");
    let (status, p, _) = api
        .send(
            reqwest::Method::PUT,
            &format!("/persons/{grace}"),
            Some(json!({ "full_name": "Rear Admiral Hopper" })),
        )
        .await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(
        month().await["entries"][0]["person_name"],
        "Rear Admiral Hopper"
    );

    // Sent by the reminder scheduler (a week before, 2 April 09:00): the reminder moves on to
    // next year's occurrence, out of this April.
    app.clock
        .set(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 4, 2, 10, 0, 0).unwrap());
    let queued = concierge::server::worker::scheduler::run_once(app.state())
        .await
        .unwrap();
    assert_eq!(queued, 1);
    // (Weeks later: signed in again.)
    *session.borrow_mut() = app.session("admin@acme.test").await;
    let after = month().await;
    assert_eq!(after["reminders"], json!([]), "{after}");

    // Deleted: gone from the month.
    let (status, _, _) = api
        .send(reqwest::Method::DELETE, &format!("/persons/{grace}"), None)
        .await;
    assert_eq!(status, 204);
    assert_eq!(month().await["entries"], json!([]));
    app.finish().await;
}
both_backends!(month_follows_every_change);

/// A busy day shows its first few dates and reminders in the month and all of them on its own
/// page; every kind of rule is found (yearly by its key, a leap birthday on 28 February, a
/// monthly date expanded, a one-off only in its year).
async fn busy_days_and_every_rule(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    for n in 0..6 {
        add_dated_person(&api, &format!("Guest {n}"), None, "1990-12-09", "Birthday").await;
    }
    let (_, p) = api
        .post("/persons", json!({ "full_name": "Zoe Rule" }))
        .await;
    for (title, date, rule) in [
        ("Leap birthday", "2000-02-29", Some("yearly")),
        ("Monthly massage", "2026-01-15", Some("FREQ=MONTHLY")),
        ("Gala", "2026-12-20", None),
        ("Last year's gala", "2025-12-21", None),
    ] {
        let (status, d) = api
            .post(
                "/date-items",
                json!({ "person_id": p["id"], "title": title, "date_value": date, "recurrence_rule": rule }),
            )
            .await;
        assert_eq!(status, 201, "{d}");
    }
    let session = app.session("admin@acme.test").await;
    let month = |m: &'static str| {
        let (app, session) = (&app, session.clone());
        async move {
            let res = app
                .server_fn(
                    "/srv/calendar/calendar_month",
                    Some(&session),
                    &[("month", m)],
                )
                .await;
            assert_eq!(res.status(), 200);
            res.json::<Value>().await.unwrap()
        }
    };
    let december = month("2026-12").await;
    let on = |v: &Value, key: &str, day: &str| -> Vec<String> {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["date"] == day)
            .map(|e| {
                e["title"]
                    .as_str()
                    .or(e["person_name"].as_str())
                    .unwrap_or_default()
                    .to_string()
            })
            .collect()
    };
    assert_eq!(
        on(&december, "entries", "2026-12-09").len(),
        4,
        "{december}"
    );
    assert_eq!(
        on(&december, "reminders", "2026-12-02").len(),
        3,
        "{december}"
    );
    assert_eq!(on(&december, "entries", "2026-12-15"), ["Monthly massage"]);
    assert_eq!(on(&december, "entries", "2026-12-20"), ["Gala"]);
    assert!(
        on(&december, "entries", "2026-12-21").is_empty(),
        "{december}"
    );
    assert_eq!(december["more"], json!(["2026-12-02", "2026-12-09"]));
    let february = month("2027-02").await;
    assert_eq!(on(&february, "entries", "2027-02-28"), ["Leap birthday"]);
    assert_eq!(february["more"], json!([]));

    // The day itself has them all.
    let day = |d: &'static str| {
        let (app, session) = (&app, session.clone());
        async move {
            app.server_fn("/srv/calendar/calendar_day", Some(&session), &[("day", d)])
                .await
        }
    };
    let ninth: Value = day("2026-12-09").await.json().await.unwrap();
    assert_eq!(ninth["entries"].as_array().unwrap().len(), 6, "{ninth}");
    assert_eq!(ninth["more"], false);
    let second: Value = day("2026-12-02").await.json().await.unwrap();
    assert_eq!(second["reminders"].as_array().unwrap().len(), 6, "{second}");
    assert_eq!(day("2026-12-32").await.status(), 422);
    // And the page links to it.
    let html = app
        .get_with("/calendar?month=2026-12", &session)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("/calendar?day=2026-12-09"), "{html}");
    let html = app
        .get_with("/calendar?day=2026-12-09", &session)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(html.matches(">Guest ").count(), 6, "{html}");
    app.finish().await;
}
both_backends!(busy_days_and_every_rule);
