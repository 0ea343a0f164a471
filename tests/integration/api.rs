//! `/api/v1/persons` and `/health` over HTTP with API keys.

use crate::both_backends;
use crate::common::{spawn_app, Api, Backend};
use serde_json::{json, Value};

async fn persons_crud(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;

    let (status, created) = api
        .post("/persons", json!({
            "full_name": "Grace Hopper", "preferred_name": "Grace", "person_type": "client",
            "email": "Grace@Navy.MIL", "phone": "+1 (212) 555-0100", "timezone": "America/New_York",
            "birthday": "1906-12-09", "tags": ["VIP", "vip", "sailing"], "notes": "Prefers e-mail."
        }))
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["person_id"], created["id"]);
    assert_eq!(created["email"], "Grace@navy.mil");
    assert_eq!(created["phone"], "+12125550100");
    assert_eq!(created["tags"], json!(["VIP", "sailing"]));
    assert_eq!(created["birthday"], "1906-12-09");

    let (status, got) = api.get(&format!("/persons/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(got["full_name"], "Grace Hopper");

    // Partial update: only the given fields change; null clears.
    let (status, updated) = api
        .put(
            &format!("/persons/{id}"),
            json!({ "preferred_name": "Amazing Grace", "notes": null }),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["preferred_name"], "Amazing Grace");
    assert_eq!(updated["notes"], Value::Null);
    assert_eq!(updated["email"], "Grace@navy.mil");

    assert_eq!(api.delete(&format!("/persons/{id}")).await, 204);
    assert_eq!(api.get(&format!("/persons/{id}")).await.0, 404);
    assert_eq!(api.delete(&format!("/persons/{id}")).await, 404);
    app.finish().await;
}
both_backends!(persons_crud);

async fn list_search_and_cursor(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    for name in [
        "Eve Adams",
        "bob brown",
        "Carol Chen",
        "Dan Diaz",
        "Alice Archer",
        "Frank 50% Off",
    ] {
        assert_eq!(
            api.post("/persons", json!({ "full_name": name, "tags": ["golf"] }))
                .await
                .0,
            201
        );
    }
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/persons?limit=2&cursor={c}"),
            None => "/persons?limit=2".into(),
        };
        let (status, page) = api.get(&path).await;
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        names.extend(
            items
                .iter()
                .map(|p| p["full_name"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(
        names,
        [
            "Alice Archer",
            "bob brown",
            "Carol Chen",
            "Dan Diaz",
            "Eve Adams",
            "Frank 50% Off"
        ]
    );

    let (_, found) = api.get("/persons?q=CHEN").await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    let (_, found) = api.get("/persons?q=50%25").await;
    assert_eq!(found["items"][0]["full_name"], "Frank 50% Off");
    let (_, found) = api.get("/persons?q=_").await;
    assert_eq!(
        found["items"].as_array().unwrap().len(),
        0,
        "LIKE wildcards are literal"
    );
    let (_, found) = api.get("/persons?q=golf&limit=200").await;
    assert_eq!(
        found["items"].as_array().unwrap().len(),
        6,
        "tags are searched"
    );
    let (_, skipped) = api.get("/persons?skip=4&limit=10").await;
    assert_eq!(skipped["items"].as_array().unwrap().len(), 2);
    app.finish().await;
}
both_backends!(list_search_and_cursor);

async fn validation_errors_name_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let cases = [
        (json!({}), "full_name"),
        (json!({ "full_name": "X", "email": "nope" }), "email"),
        (json!({ "full_name": "X", "phone": "555-0100" }), "phone"),
        (
            json!({ "full_name": "X", "timezone": "Europe/Atlantis" }),
            "timezone",
        ),
        (
            json!({ "full_name": "X", "birthday": "31/12/1990" }),
            "birthday",
        ),
        (
            json!({ "full_name": "X", "person_type": "robot" }),
            "person_type",
        ),
        (json!({ "full_name": "X", "tags": 5 }), "tags"),
        (json!({ "full_name": "X", "shoe_size": 9 }), "shoe_size"),
    ];
    for (body, field) in cases {
        let (status, value, headers) = api
            .send(reqwest::Method::POST, "/persons", Some(body.clone()))
            .await;
        assert_eq!(status, 422, "{body} -> {value}");
        assert_eq!(
            headers.get("content-type").unwrap(),
            "application/problem+json"
        );
        assert_eq!(value["status"], 422);
        assert_eq!(value["field"], field, "{body} -> {value}");
    }
    for (path, field) in [
        ("/persons?limit=0", "limit"),
        ("/persons?limit=abc", "limit"),
        ("/persons?cursor=zzz", "cursor"),
    ] {
        let (status, value) = api.get(path).await;
        assert_eq!(status, 422, "{path} -> {value}");
        assert_eq!(value["field"], field, "{path} -> {value}");
    }
    // Malformed JSON is a 400, not a 422 or a 500.
    let res = app
        .client
        .post(app.url("/api/v1/persons"))
        .bearer_auth(&api.key)
        .header("content-type", "application/json")
        .body("{\"full_name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.headers().get("content-type").unwrap(),
        "application/problem+json"
    );
    // A body past the limit is a 413, whether it says its length or not.
    let notes = "x".repeat(concierge::server::rest::BODY_LIMIT + 1);
    let (status, value, headers) = api
        .send(
            reqwest::Method::POST,
            "/persons",
            Some(json!({ "full_name": "Big", "notes": notes })),
        )
        .await;
    assert_eq!(status, 413, "{value}");
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(value["status"], 413);
    let chunks = futures::stream::iter(
        [
            "{\"full_name\": \"Big\", \"notes\": \"".to_string(),
            notes,
            "\"}".into(),
        ]
        .map(Ok::<_, std::io::Error>),
    );
    let res = app
        .client
        .post(app.url("/api/v1/persons"))
        .bearer_auth(&api.key)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let (_, list) = api.get("/persons").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    app.finish().await;
}
both_backends!(validation_errors_name_the_field);

async fn upsert_by_external_id(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let (status, first) = api
        .post(
            "/persons",
            json!({ "full_name": "Lin Wu", "external_id": "app-7" }),
        )
        .await;
    assert_eq!(status, 201);
    let (status, second) = api
        .post(
            "/persons",
            json!({ "full_name": "Lin Wu-Park", "external_id": "app-7" }),
        )
        .await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(first["id"], second["id"]);
    assert_eq!(second["full_name"], "Lin Wu-Park");
    let (_, all) = api.get("/persons").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 1);

    // Giving another person the same external id is a conflict.
    let (_, other) = api.post("/persons", json!({ "full_name": "Other" })).await;
    let (status, problem) = api
        .put(
            &format!("/persons/{}", other["id"].as_str().unwrap()),
            json!({ "external_id": "app-7" }),
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["field"], "external_id");
    app.finish().await;
}
both_backends!(upsert_by_external_id);

async fn other_organisations_records_are_not_found(backend: Backend) {
    let app = spawn_app(backend).await;
    let acme = Api::setup(&app, "acme").await;
    let globex = Api::setup(&app, "globex").await;
    let (_, person) = acme
        .post(
            "/persons",
            json!({ "full_name": "Acme Client", "external_id": "shared-1" }),
        )
        .await;
    let id = person["id"].as_str().unwrap();

    assert_eq!(globex.get(&format!("/persons/{id}")).await.0, 404);
    assert_eq!(
        globex
            .put(&format!("/persons/{id}"), json!({ "full_name": "Stolen" }))
            .await
            .0,
        404
    );
    assert_eq!(globex.delete(&format!("/persons/{id}")).await, 404);
    let (_, list) = globex.get("/persons?q=acme").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    // The same external id in another organisation is another person.
    let (status, theirs) = globex
        .post(
            "/persons",
            json!({ "full_name": "Globex Client", "external_id": "shared-1" }),
        )
        .await;
    assert_eq!(status, 201);
    assert_ne!(theirs["id"], person["id"]);
    assert_eq!(
        acme.get(&format!("/persons/{id}")).await.1["full_name"],
        "Acme Client"
    );
    // Ids that are not UUIDs are simply not found.
    assert_eq!(globex.get("/persons/not-a-uuid").await.0, 404);
    app.finish().await;
}
both_backends!(other_organisations_records_are_not_found);

async fn api_keys_authenticate(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let res = app
        .client
        .get(app.url("/api/v1/persons"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers().get("content-type").unwrap(),
        "application/problem+json"
    );
    let res = app
        .client
        .get(app.url("/api/v1/persons"))
        .bearer_auth("ck_made_up")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(api.get("/persons").await.0, 200);

    let keys = concierge::server::services::api_keys::list(app.state(), "acme")
        .await
        .unwrap();
    concierge::server::services::api_keys::revoke(app.state(), "acme", keys[0].id)
        .await
        .unwrap();
    assert_eq!(api.get("/persons").await.0, 401);
    // Unknown API routes answer problem+json 404.
    let (status, _, headers) = api.send(reqwest::Method::GET, "/nothing-here", None).await;
    assert_eq!(status, 404);
    assert_eq!(
        headers.get("content-type").unwrap(),
        "application/problem+json"
    );
    app.finish().await;
}
both_backends!(api_keys_authenticate);

async fn health_checks_the_database(backend: Backend) {
    let app = spawn_app(backend).await;
    let res = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    let expected = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(body["database"], expected);
    app.state().db.close().await;
    let res = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(res.status(), 503);
    app.finish().await;
}
both_backends!(health_checks_the_database);

async fn people_complete(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let other = Api::setup(&app, "globex").await;
    let (_, client) = api
        .post("/persons", json!({ "full_name": "Sarah Chen" }))
        .await;
    let org_id: uuid::Uuid = client["org_id"].as_str().unwrap().parse().unwrap();
    let staff = concierge::server::db::staff::list(&app.state().db, org_id)
        .await
        .unwrap();
    let admin_id = staff[0].id.to_string();
    let (_, stranger) = other
        .post("/persons", json!({ "full_name": "Stranger" }))
        .await;

    let (status, spouse) = api
        .post(
            "/persons",
            json!({
                "full_name": "Michael Chen", "person_type": "family_member",
                "related_person_id": client["id"], "relationship": "spouse",
                "locale": "en_gb", "assigned_staff_id": admin_id, "marketing_consent": true
            }),
        )
        .await;
    assert_eq!(status, 201, "{spouse}");
    assert_eq!(spouse["locale"], "en-GB");
    assert_eq!(spouse["related_person_id"], client["id"]);
    assert_eq!(spouse["relationship"], "spouse");
    assert_eq!(
        spouse["assigned_staff_id"].as_str(),
        Some(admin_id.as_str())
    );
    assert_eq!(spouse["marketing_consent"], true);
    assert_eq!(spouse["consent_at"], "2026-03-14T15:09:26Z");
    assert_eq!(spouse["consent_source"], "api");
    let id = spouse["id"].as_str().unwrap().to_string();

    // Unrelated changes keep the consent stamp; withdrawing it stamps it anew.
    app.clock.advance(chrono::Duration::hours(1));
    let (_, same) = api
        .put(
            &format!("/persons/{id}"),
            json!({ "notes": "Golf on Sundays" }),
        )
        .await;
    assert_eq!(same["consent_at"], "2026-03-14T15:09:26Z");
    assert_eq!(same["relationship"], "spouse");
    let (_, withdrawn) = api
        .put(
            &format!("/persons/{id}"),
            json!({ "marketing_consent": false, "consent_source": "phone call" }),
        )
        .await;
    assert_eq!(withdrawn["marketing_consent"], false);
    assert_eq!(withdrawn["consent_at"], "2026-03-14T16:09:26Z");
    assert_eq!(withdrawn["consent_source"], "phone call");

    let cases = [
        (
            json!({ "full_name": "X", "related_person_id": stranger["id"] }),
            "related_person_id",
        ),
        (
            json!({ "full_name": "X", "relationship": "cousin" }),
            "relationship",
        ),
        (
            json!({ "full_name": "X", "assigned_staff_id": uuid::Uuid::now_v7() }),
            "assigned_staff_id",
        ),
        (
            json!({ "full_name": "X", "assigned_staff_id": "nobody" }),
            "assigned_staff_id",
        ),
        (
            json!({ "full_name": "X", "locale": "the queen's english" }),
            "locale",
        ),
        (
            json!({ "full_name": "X", "marketing_consent": "yes please" }),
            "marketing_consent",
        ),
    ];
    for (body, field) in cases {
        let (status, problem) = api.post("/persons", body.clone()).await;
        // A well-formed id that names no record is not found; anything else is invalid.
        let names_nothing = body[field]
            .as_str()
            .is_some_and(|v| uuid::Uuid::parse_str(v).is_ok());
        assert_eq!(
            (status, problem["field"].as_str()),
            (if names_nothing { 404 } else { 422 }, Some(field)),
            "{body} -> {problem}"
        );
    }
    let (status, problem) = api
        .put(
            &format!("/persons/{id}"),
            json!({ "related_person_id": id }),
        )
        .await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (422, Some("related_person_id")),
        "{problem}"
    );
    app.finish().await;
}
both_backends!(people_complete);

/// The search index finds any part of a name, e-mail, phone, external id or tag, stays in
/// step as people change or go, ranks the best matches first, and offers close names when
/// nothing matches exactly.
async fn search_through_the_index(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let mut ids = std::collections::BTreeMap::new();
    for (name, email, phone, external, tags) in [
        (
            "Ada Quillfeather",
            "ada@quill.example",
            "+447911123456",
            "crm-0042",
            vec!["vip"],
        ),
        (
            "Olivia Smith",
            "olivia@example.com",
            "+447911123457",
            "crm-0043",
            vec![],
        ),
        (
            "John Smith",
            "john@example.com",
            "+12025550100",
            "crm-0044",
            vec!["golf"],
        ),
        (
            "Smithers Burns",
            "smithers@example.com",
            "+12025550101",
            "crm-0045",
            vec![],
        ),
        (
            "Ann Goldsmith",
            "ann@example.com",
            "+12025550102",
            "crm-0046",
            vec![],
        ),
    ] {
        let (status, p) = api
            .post(
                "/persons",
                json!({ "full_name": name, "email": email, "phone": phone, "external_id": external, "tags": tags }),
            )
            .await;
        assert_eq!(status, 201, "{p}");
        ids.insert(name, p["id"].as_str().unwrap().to_string());
    }
    let names = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["full_name"].as_str().unwrap().to_string())
            .collect()
    };
    for (q, expected) in [
        ("quill", vec!["Ada Quillfeather"]),
        ("QUILL.EXAMPLE", vec!["Ada Quillfeather"]),
        ("123457", vec!["Olivia Smith"]),
        ("crm-0044", vec!["John Smith"]),
        ("golf", vec!["John Smith"]),
        ("li", vec!["Olivia Smith"]),
        ("smith john", vec!["John Smith"]),
        ("nobody", vec![]),
    ] {
        let (status, found) = api.get(&format!("/persons?q={q}")).await;
        assert_eq!(status, 200, "{found}");
        assert_eq!(names(&found), expected, "searching for {q}");
    }
    // The directory ranks: names that start with the word, then a name's word that does, then
    // the rest.
    let session = app.session("admin@acme.test").await;
    let res = app
        .server_fn(
            "/srv/clients/list_clients",
            Some(&session),
            &[("q", "smith")],
        )
        .await;
    let page: Value = res.json().await.unwrap();
    assert_eq!(
        names(&page),
        [
            "Smithers Burns",
            "John Smith",
            "Olivia Smith",
            "Ann Goldsmith"
        ]
    );
    assert_eq!(
        (page["total"].as_i64(), page["more_than"].as_bool()),
        (Some(4), Some(false))
    );
    // A page past the last match still says how many there are.
    let res = app
        .server_fn(
            "/srv/clients/list_clients",
            Some(&session),
            &[("q", "smith"), ("page", "2")],
        )
        .await;
    let page: Value = res.json().await.unwrap();
    assert_eq!(names(&page), Vec::<String>::new());
    assert_eq!(page["total"].as_i64(), Some(4));
    // A name half remembered: nothing matches, close names are offered.
    let res = app
        .server_fn(
            "/srv/clients/list_clients",
            Some(&session),
            &[("q", "quilfeather")],
        )
        .await;
    let page: Value = res.json().await.unwrap();
    assert_eq!(names(&page), Vec::<String>::new());
    let close: Vec<&str> = page["close"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["full_name"].as_str().unwrap())
        .collect();
    assert_eq!(close, ["Ada Quillfeather"], "{page}");
    let html = app
        .get_with("/clients?q=quilfeather", &session)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Close matches"), "{html}");
    // The index follows a change of name and a deletion.
    let ada = &ids["Ada Quillfeather"];
    let (status, _) = api
        .put(
            &format!("/persons/{ada}"),
            json!({ "full_name": "Ada Lovelace" }),
        )
        .await;
    assert_eq!(status, 200);
    let (_, found) = api.get("/persons?q=lovel").await;
    assert_eq!(names(&found), ["Ada Lovelace"]);
    let (_, found) = api.get("/persons?q=quillfeather").await;
    assert_eq!(names(&found), Vec::<String>::new());
    assert_eq!(
        api.delete(&format!("/persons/{}", ids["John Smith"])).await,
        204
    );
    let (_, found) = api.get("/persons?q=smith").await;
    assert_eq!(
        names(&found),
        ["Ann Goldsmith", "Olivia Smith", "Smithers Burns"]
    );
    app.finish().await;
}
both_backends!(search_through_the_index);

/// A key made to read only reads, and every write is a 403; a key with an expiry stops at it.
async fn read_only_and_expiring_keys(backend: Backend) {
    use concierge::server::services::api_keys::{create_with, Access};
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let (_, reader) = create_with(
        app.state(),
        "acme",
        "dashboard",
        Access {
            read_only: true,
            expires_in_days: None,
        },
    )
    .await
    .unwrap();
    let reader = Api {
        app: &app,
        key: reader,
    };
    assert_eq!(reader.get("/persons").await.0, 200);
    let (status, body) = reader
        .post("/persons", json!({ "full_name": "Nope" }))
        .await;
    assert_eq!(status, 403, "{body}");
    let (_, list) = api.get("/persons").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);

    let (_, temporary) = create_with(
        app.state(),
        "acme",
        "a day's import",
        Access {
            read_only: false,
            expires_in_days: Some(1),
        },
    )
    .await
    .unwrap();
    let temporary = Api {
        app: &app,
        key: temporary,
    };
    assert_eq!(temporary.get("/persons").await.0, 200);
    app.clock.advance(chrono::Duration::hours(25));
    let (status, body) = temporary.get("/persons").await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("expired"),
        "{body}"
    );
    assert_eq!(
        api.get("/persons").await.0,
        200,
        "a key without expiry goes on"
    );
    let refused = create_with(
        app.state(),
        "acme",
        "forever",
        Access {
            read_only: false,
            expires_in_days: Some(0),
        },
    )
    .await;
    assert!(refused.is_err());
    app.finish().await;
}
both_backends!(read_only_and_expiring_keys);
