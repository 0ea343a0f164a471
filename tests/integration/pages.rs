//! The staff pages as a browser without JavaScript sees them: server-rendered HTML.

use crate::both_backends;
use crate::common::{location, spawn_app, Api, Backend};

async fn clients_directory_end_to_end(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin("acme", "ada@acme.test").await;
    let session = app.session("ada@acme.test").await;

    // A validation error comes back for its field; nothing is saved.
    let res = app
        .server_fn(
            "/srv/clients/save_client",
            Some(&session),
            &[
                ("full_name", "Nina Simone"),
                ("preferred_name", ""),
                ("person_type", "client"),
                ("email", "nina@@example"),
                ("phone", ""),
                ("timezone", ""),
                ("birthday", ""),
                ("tags", "jazz, VIP"),
                ("external_id", ""),
                ("notes", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("Invalid") && body.contains("\"email\""),
        "{body}"
    );

    let res = app
        .server_fn(
            "/srv/clients/save_client",
            Some(&session),
            &[
                ("full_name", "Nina Simone"),
                ("preferred_name", "Nina"),
                ("person_type", "client"),
                ("email", "nina@example.com"),
                ("phone", "+33 1 23 45 67 89"),
                ("timezone", "Europe/Paris"),
                ("birthday", "1933-02-21"),
                ("tags", "jazz, VIP"),
                ("external_id", ""),
                ("notes", "Piano."),
            ],
        )
        .await;
    let id = location(&res).trim_start_matches("/clients/").to_string();
    assert!(
        uuid::Uuid::parse_str(&id).is_ok(),
        "redirects to the new client: {}",
        location(&res)
    );

    let page = app
        .get_with("/clients?q=simone", &session)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Nina Simone"));
    assert!(page.contains(&format!("/clients/{id}")));
    let none = app
        .get_with("/clients?q=nobody-like-this", &session)
        .await
        .text()
        .await
        .unwrap();
    assert!(!none.contains("Nina Simone"));
    assert!(none.contains("No client matches"));

    let profile = app
        .get_with(&format!("/clients/{id}"), &session)
        .await
        .text()
        .await
        .unwrap();
    for text in [
        "Nina Simone",
        "+33123456789",
        "Europe/Paris",
        "21 February 1933",
        "jazz",
    ] {
        assert!(profile.contains(text), "{text} missing from the profile");
    }

    // Pagination: 30 more clients make two pages of 25.
    for i in 0..30 {
        app.server_fn(
            "/srv/clients/save_client",
            Some(&session),
            &[
                ("full_name", &format!("Zed {i:02}")),
                ("preferred_name", ""),
                ("person_type", "contact"),
                ("email", ""),
                ("phone", ""),
                ("timezone", ""),
                ("birthday", ""),
                ("tags", ""),
                ("external_id", ""),
                ("notes", ""),
            ],
        )
        .await;
    }
    let first = app
        .get_with("/clients", &session)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        first.contains("Page 1 of 2") && first.contains("31 in all"),
        "pager"
    );
    let second = app
        .get_with("/clients?page=2", &session)
        .await
        .text()
        .await
        .unwrap();
    assert!(second.contains("Zed 29") && !second.contains("Nina Simone"));
    // Page 2 starts right after page 1 ends (found by the key before it, not by OFFSET).
    assert!(second.contains("Zed 24") && !second.contains("Zed 23"));
    let beyond = app
        .get_with("/clients?page=3", &session)
        .await
        .text()
        .await
        .unwrap();
    assert!(!beyond.contains("Zed 2"), "past the last page: nobody");

    // Soft delete removes the client from the directory.
    let res = app
        .server_fn("/srv/clients/delete_client", Some(&session), &[("id", &id)])
        .await;
    assert_eq!(location(&res), "/clients");
    let page = app
        .get_with("/clients?q=simone", &session)
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("Nina Simone"));
    app.finish().await;
}
both_backends!(clients_directory_end_to_end);

async fn unknown_pages_are_404(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin("acme", "ada@acme.test").await;
    let session = app.session("ada@acme.test").await;
    let res = app.get_with("/no/such/page", &session).await;
    assert_eq!(res.status(), 404);
    app.finish().await;
}
both_backends!(unknown_pages_are_404);

async fn dates_and_reminders_in_the_portal(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin("acme", "ada@acme.test").await;
    let session = app.session("ada@acme.test").await;
    let api = Api {
        app: &app,
        key: app.api_key("acme").await,
    };
    let (_, person) = api
        .post(
            "/persons",
            serde_json::json!({ "full_name": "Grace Hopper", "timezone": "America/New_York" }),
        )
        .await;
    let grace = person["id"].as_str().unwrap().to_string();

    let form = |days0: &'static str, time0: &'static str| {
        vec![
            ("person_id", grace.clone()),
            ("title", "Birthday".to_string()),
            ("date_value", "1985-04-05".to_string()),
            ("recurrence_rule", "FREQ=YEARLY".to_string()),
            ("r0_days", days0.to_string()),
            ("r0_time", time0.to_string()),
            ("r0_audience", "client".to_string()),
            ("r0_channel", "email".to_string()),
            ("r0_message", "Two weeks to go".to_string()),
            ("r1_days", String::new()),
            ("r2_days", "1".to_string()),
            ("r2_time", "08:00".to_string()),
            ("r2_audience", "staff".to_string()),
            ("r2_channel", "portal".to_string()),
        ]
    };
    // A bad rule row is named by the form's own field.
    let bad: Vec<(&str, String)> = form("14", "9 o'clock");
    let pairs: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = app
        .server_fn("/srv/dates/save_date", Some(&session), &pairs)
        .await;
    let body = res.text().await.unwrap();
    assert!(body.contains("\"r0_time\""), "{body}");
    let good = form("14", "09:00");
    let pairs: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = app
        .server_fn("/srv/dates/save_date", Some(&session), &pairs)
        .await;
    assert_eq!(location(&res), format!("/clients/{grace}"));

    // The profile lists the date with its reminders; home shows it coming up.
    let profile = app
        .get_with(&format!("/clients/{grace}"), &session)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        profile.contains("Important dates") && profile.contains("Birthday"),
        "{profile}"
    );
    assert!(
        profile.contains("2 reminders") && profile.contains("in 22 days"),
        "{profile}"
    );
    assert!(profile.contains("1 upcoming date ·"), "{profile}");
    let home = app.get_with("/", &session).await.text().await.unwrap();
    assert!(
        home.contains("Coming up in the next 30 days") && home.contains("Grace Hopper"),
        "{home}"
    );

    // The reminders list, filtered; cancelling moves one to the cancelled tab.
    let pending = app
        .get_with("/reminders?status=pending", &session)
        .await
        .text()
        .await
        .unwrap();
    assert!(pending.contains("22 Mar 2026 09:00 EDT"), "{pending}");
    assert!(pending.contains("4 Apr 2026 08:00 EDT"), "{pending}");
    let (_, list) = api.get("/reminders").await;
    let ids: Vec<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 2);
    let res = app
        .server_fn(
            "/srv/dates/change_reminder",
            Some(&session),
            &[("id", &ids[0]), ("action", "cancel")],
        )
        .await;
    assert_eq!(res.status(), 200);
    let cancelled = app
        .get_with("/reminders?status=cancelled", &session)
        .await
        .text()
        .await
        .unwrap();
    assert!(cancelled.contains("Grace Hopper"), "{cancelled}");
    let res = app
        .server_fn(
            "/srv/dates/change_reminder",
            Some(&session),
            &[("id", &ids[0]), ("action", "retry")],
        )
        .await;
    assert_eq!(res.status(), 409, "a cancelled reminder cannot be retried");

    // The profile counts the reminders not cancelled, and shows each date's next occurrence
    // on the client's clock, also before housekeeping has rolled a passed one forward; a
    // one-off date that has passed says so.
    let (status, _) = api
        .post(
            "/date-items",
            serde_json::json!({ "person_id": grace, "title": "Survey", "date_value": "2026-03-20" }),
        )
        .await;
    assert_eq!(status, 201);
    app.clock
        .set(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 4, 6, 12, 0, 0).unwrap());
    // Three weeks on, the earlier session has lapsed.
    let session = app.session("ada@acme.test").await;
    let profile = app
        .get_with(&format!("/clients/{grace}"), &session)
        .await
        .text()
        .await
        .unwrap();
    assert!(profile.contains(">1 reminder<"), "{profile}");
    assert!(profile.contains("5 Apr 2027 · in 364 days"), "{profile}");
    assert!(profile.contains(">passed<"), "{profile}");
    // The date that has passed is not counted as coming up; next year's birthday is.
    assert!(profile.contains("1 upcoming date ·"), "{profile}");
    app.finish().await;
}
both_backends!(dates_and_reminders_in_the_portal);

/// Every area of the portal renders on the server with real data in it (the demo), showing
/// what it is for; a read-only analyst sees the pages without their buttons to change things.
async fn every_page_renders_with_demo_data(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin("acme", "ada@acme.test").await;
    app.add_staff("acme", "ann@acme.test", concierge::domain::Role::Analyst)
        .await;
    concierge::server::services::demo::seed(app.state(), "acme")
        .await
        .expect("seed the demo");
    let session = app.session("ada@acme.test").await;
    let api = Api {
        app: &app,
        key: app.api_key("acme").await,
    };
    let (_, found) = api.get("/persons?q=sarah").await;
    let sarah = found["items"][0]["id"].as_str().unwrap().to_string();
    let (_, projects) = api.get("/projects?active_only=true").await;
    let project = projects["items"][0]["id"].as_str().unwrap().to_string();
    let (_, conversations) = api.get(&format!("/conversations?person_id={sarah}")).await;
    let conversation = conversations["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, vendors) = api.get("/vendors?q=modern").await;
    let vendor = vendors["items"][0]["id"].as_str().unwrap().to_string();

    let pages = [
        ("/".to_string(), "My tasks"),
        (format!("/clients/{sarah}"), "Sarah Chen"),
        ("/clients?tag=vip".to_string(), "Tomás Alvarez"),
        ("/clients/import".to_string(), "Import clients"),
        ("/projects".to_string(), "celebration"),
        (format!("/projects/{project}"), "Shortlist venues"),
        (format!("/projects/{project}"), "A favourite of ours"),
        ("/projects/new".to_string(), "New project"),
        ("/conversations".to_string(), "Planning ahead"),
        (format!("/conversations/{conversation}"), "no shellfish"),
        ("/vendors".to_string(), "Villa Serbelloni"),
        (format!("/vendors/{vendor}"), "The Modern"),
        ("/calendar?month=2026-03".to_string(), "Sarah Chen"),
        ("/reminders".to_string(), "Reminders"),
        ("/settings".to_string(), "API keys"),
        ("/settings/audit".to_string(), "Audit log"),
        ("/engagement".to_string(), "Run now (dry run)"),
        ("/settings/engagement".to_string(), "Save the policy"),
        ("/clients?segment=active".to_string(), "Sarah Chen"),
    ];
    for (path, expected) in &pages {
        let res = app.get_with(path, &session).await;
        assert_eq!(res.status(), 200, "{path}");
        let html = res.text().await.unwrap();
        assert!(html.contains(expected), "{path} should show {expected}");
    }
    // The profile shows the whole picture.
    let html = app
        .get_with(&format!("/clients/{sarah}"), &session)
        .await
        .text()
        .await
        .unwrap();
    for part in [
        "Active projects",
        "Recent conversations",
        "Recommendations",
        "Ways to reach them",
        "Timeline",
        "The Modern",
        "Engagement",
        "churn risk 0.",
        "last active",
    ] {
        assert!(html.contains(part), "the profile should show {part}");
    }

    let analyst = app.session("ann@acme.test").await;
    let html = app
        .get_with(&format!("/projects/{project}"), &analyst)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Shortlist venues") && !html.contains("Add task"));
    app.finish().await;
}
both_backends!(every_page_renders_with_demo_data);

/// Pages keep rendering while other servers start in the same process. (Starting a server once
/// generated the portal's route list, which switches resource loading off process-wide while
/// it runs: a page rendering elsewhere at that moment waited forever. The list is now made
/// once per process.) The test runs on a runtime of its own, watched from outside, so a page
/// that never renders fails it rather than hanging it.
#[test]
fn pages_render_while_other_servers_start() {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(render_while_starting());
        let _ = done.send(());
    });
    finished
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("pages did not render while other servers started");
}

async fn render_while_starting() {
    let app = spawn_app(Backend::Sqlite).await;
    app.create_admin("acme", "ada@acme.test").await;
    let session = app.session("ada@acme.test").await;
    let api = Api {
        app: &app,
        key: app.api_key("acme").await,
    };
    let (_, p) = api
        .post("/persons", serde_json::json!({ "full_name": "Busy Bee" }))
        .await;
    let profile = format!("/clients/{}", p["id"].as_str().unwrap());
    // Other servers start, one after another, on another thread: each builds its router, as
    // `spawn` does (the database work of a start is left out, so starts come thick and fast).
    let state = app.state().clone();
    let starter = tokio::task::spawn_blocking(move || {
        for _ in 0..40 {
            let _ = concierge::server::build_router(state.clone());
        }
    });
    let mut rendered = 0;
    while !starter.is_finished() || rendered < 16 {
        for path in ["/", "/clients", profile.as_str(), "/messages"] {
            let res = app.get_with(path, &session).await;
            assert_eq!(res.status(), 200, "{path}");
            let body = res.text().await.unwrap();
            assert!(body.contains("Notifications"), "{path}: {body}");
            rendered += 1;
        }
    }
    starter.await.unwrap();
    app.finish().await;
}

/// "Due today" on Home is the organisation's day: at 09:00 on Tuesday in Sydney (22:00 on
/// Monday in UTC), a reminder at 17:00 that Tuesday is due today; one on Wednesday is not.
async fn today_is_the_organisations_day(backend: Backend) {
    let app = spawn_app(backend).await;
    let at: chrono::DateTime<chrono::Utc> = "2026-12-07T22:00:00Z".parse().unwrap();
    app.clock.set(at);
    app.create_admin("acme", "ada@acme.test").await;
    let session = app.session("ada@acme.test").await;
    let api = Api {
        app: &app,
        key: app.api_key("acme").await,
    };
    let org = concierge::server::db::orgs::by_slug(&app.state().db, "acme")
        .await
        .unwrap()
        .unwrap();
    concierge::server::db::orgs::update(
        &app.state().db,
        org.id,
        &org.name,
        "Australia/Sydney",
        None,
        at,
    )
    .await
    .unwrap();
    for (name, day) in [
        ("Grace Hopper", "1985-12-08"),
        ("Alan Turing", "1985-12-09"),
    ] {
        let (_, person) = api
            .post(
                "/persons",
                serde_json::json!({ "full_name": name, "timezone": "Australia/Sydney" }),
            )
            .await;
        let id = person["id"].as_str().unwrap().to_string();
        let pairs = [
            ("person_id", id.as_str()),
            ("title", "Birthday"),
            ("date_value", day),
            ("recurrence_rule", "FREQ=YEARLY"),
            ("r0_days", "0"),
            ("r0_time", "17:00"),
            ("r0_audience", "staff"),
            ("r0_channel", "portal"),
            ("r0_message", "Today"),
        ];
        let res = app
            .server_fn("/srv/dates/save_date", Some(&session), &pairs)
            .await;
        assert_eq!(location(&res), format!("/clients/{id}"));
    }
    let res = app
        .server_fn(
            "/srv/dates/list_reminders",
            Some(&session),
            &[("status", "pending"), ("page", "1"), ("due_today", "true")],
        )
        .await;
    let body = res.text().await.unwrap();
    assert!(body.contains("Grace Hopper"), "due on her Tuesday: {body}");
    assert!(
        !body.contains("Alan Turing"),
        "Wednesday is not today: {body}"
    );
    app.finish().await;
}
both_backends!(today_is_the_organisations_day);
