//! Settings through the portal's server functions: the organisation, API keys shown once and
//! revoked, date categories, and the audit log — admins only.

use crate::both_backends;
use crate::common::{spawn_app, Api, Backend};
use concierge::domain::Role;
use serde_json::{json, Value};

async fn settings_for_admins(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    app.add_staff("acme", "sam@acme.test", Role::Concierge)
        .await;
    let admin = app.session("admin@acme.test").await;
    let sam = app.session("sam@acme.test").await;

    // The organisation: renamed, with a checked time zone.
    let res = app
        .server_fn(
            "/srv/settings/save_organisation",
            Some(&admin),
            &[("name", "Acme Concierge"), ("timezone", "Mars/Olympus")],
        )
        .await;
    let outcome: Value = res.json().await.unwrap();
    assert!(
        outcome["Invalid"].to_string().contains("timezone"),
        "{outcome}"
    );
    let res = app
        .server_fn(
            "/srv/settings/save_organisation",
            Some(&admin),
            &[("name", "Acme Concierge"), ("timezone", "Europe/London")],
        )
        .await;
    assert!(res.json::<Value>().await.unwrap()["Saved"].is_string());
    let org: Value = app
        .server_fn("/srv/settings/get_organisation", Some(&admin), &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (org["name"].as_str(), org["timezone"].as_str()),
        (Some("Acme Concierge"), Some("Europe/London"))
    );

    // A key is shown once, works, is listed without its secret, and stops working when revoked.
    let made: Value = app
        .server_fn(
            "/srv/settings/create_key",
            Some(&admin),
            &[("name", "client app")],
        )
        .await
        .json()
        .await
        .unwrap();
    let secret = made["Created"]["secret"].as_str().unwrap().to_string();
    let res = reqwest::Client::new()
        .get(app.url("/api/v1/persons"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let keys: Value = app
        .server_fn("/srv/settings/list_keys", Some(&admin), &[])
        .await
        .json()
        .await
        .unwrap();
    assert!(!keys.to_string().contains(&secret));
    let id = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "client app")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = app
        .server_fn("/srv/settings/revoke_key", Some(&admin), &[("id", &id)])
        .await;
    assert_eq!(res.status(), 200);
    let res = reqwest::Client::new()
        .get(app.url("/api/v1/persons"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let empty: Value = app
        .server_fn("/srv/settings/create_key", Some(&admin), &[("name", " ")])
        .await
        .json()
        .await
        .unwrap();
    assert!(empty["Invalid"].to_string().contains("name"), "{empty}");

    // Categories: added; one in use cannot be deleted.
    let res = app
        .server_fn(
            "/srv/settings/save_category",
            Some(&admin),
            &[
                ("name", "Yacht Charter"),
                ("icon", "⛵"),
                ("color", "#336699"),
            ],
        )
        .await;
    let saved: Value = res.json().await.unwrap();
    let category = saved["Saved"].as_str().unwrap().to_string();
    let (_, p) = api
        .post("/persons", json!({ "full_name": "Sarah Chen" }))
        .await;
    let (status, _) = api
        .post("/date-items", json!({ "person_id": p["id"], "category_id": category, "title": "Charter", "date_value": "2026-07-01" }))
        .await;
    assert_eq!(status, 201);
    let res = app
        .server_fn(
            "/srv/settings/delete_category",
            Some(&admin),
            &[("id", &category)],
        )
        .await;
    assert_eq!(res.status(), 409);
    // Renamed in place.
    let res = app
        .server_fn(
            "/srv/settings/save_category",
            Some(&admin),
            &[
                ("id", &category),
                ("name", "Charters"),
                ("icon", "⛵"),
                ("color", "#336699"),
            ],
        )
        .await;
    let saved: Value = res.json().await.unwrap();
    assert_eq!(saved["Saved"].as_str(), Some(category.as_str()), "{saved}");
    let (_, renamed) = api.get(&format!("/date-categories/{category}")).await;
    assert_eq!(renamed["name"], "Charters");

    // Concierges do not reach settings.
    for path in ["/srv/settings/list_keys", "/srv/settings/audit_log"] {
        assert_eq!(
            app.server_fn(path, Some(&sam), &[]).await.status(),
            403,
            "{path}"
        );
    }
    let res = app
        .server_fn("/srv/settings/create_key", Some(&sam), &[("name", "mine")])
        .await;
    assert_eq!(res.status(), 403);

    // The audit log names who did what, newest first.
    let log: Value = app
        .server_fn("/srv/settings/audit_log", Some(&admin), &[])
        .await
        .json()
        .await
        .unwrap();
    let actions: Vec<String> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["action"].as_str().unwrap(),
                e["entity"].as_str().unwrap()
            )
        })
        .collect();
    for expected in [
        "create date_item",
        "create date_category",
        "revoke api_key",
        "create api_key",
        "update organisation",
    ] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} missing from {actions:?}"
        );
    }
    assert_eq!(
        (log[0]["action"].as_str(), log[0]["entity"].as_str()),
        (Some("update"), Some("date_category"))
    );
    app.finish().await;
}
both_backends!(settings_for_admins);

/// Phone numbers follow each country's numbering plan: in international form always, and in
/// the national form of the organisation's country once it has one.
async fn phone_numbers_by_country(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let admin = app.session("admin@acme.test").await;
    let save = |region: &'static str| {
        let admin = admin.clone();
        let app = &app;
        async move {
            let res = app
                .server_fn(
                    "/srv/settings/save_organisation",
                    Some(&admin),
                    &[
                        ("name", "Acme"),
                        ("timezone", "Europe/London"),
                        ("phone_region", region),
                    ],
                )
                .await;
            res.json::<Value>().await.unwrap()
        }
    };
    let phone = |number: &'static str| {
        let api = &api;
        async move {
            api.post(
                "/persons",
                json!({ "full_name": format!("Caller {number}"), "phone": number }),
            )
            .await
        }
    };
    // No country yet: a national number is refused, naming the field; an international one
    // must be a real number of its country.
    let (status, problem) = phone("020 7946 0958").await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (422, Some("phone")),
        "{problem}"
    );
    assert!(
        problem.to_string().contains("international format"),
        "{problem}"
    );
    let (status, problem) = phone("+1 099 555 0123").await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (422, Some("phone")),
        "{problem}"
    );
    let (status, p) = phone("+1 (415) 555-0123").await;
    assert_eq!(
        (status, p["phone"].as_str()),
        (201, Some("+14155550123")),
        "{p}"
    );

    // A country that has no numbering plan is refused; Great Britain is taken.
    let outcome = save("XX").await;
    assert!(
        outcome["Invalid"].to_string().contains("phone_region"),
        "{outcome}"
    );
    assert!(save("gb").await["Saved"].is_string());
    let org: Value = app
        .server_fn("/srv/settings/get_organisation", Some(&admin), &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(org["phone_region"], "GB");

    // Now national numbers are read as British ones, and held in E.164.
    let (status, p) = phone("020 7946 0958").await;
    assert_eq!(
        (status, p["phone"].as_str()),
        (201, Some("+442079460958")),
        "{p}"
    );
    let (status, problem) = phone("020 7946 095").await;
    assert_eq!(status, 422, "{problem}");
    assert!(
        problem
            .to_string()
            .contains("not a valid phone number in GB"),
        "{problem}"
    );
    let id = p["id"].as_str().unwrap();
    let (status, sms) = api
        .post(
            &format!("/persons/{id}/identities"),
            json!({ "channel": "sms", "address": "07911 123456" }),
        )
        .await;
    assert_eq!(
        (status, sms["address"].as_str()),
        (201, Some("+447911123456")),
        "{sms}"
    );
    // An international number stays itself.
    let (status, p) = phone("+33 1 23 45 67 89").await;
    assert_eq!(
        (status, p["phone"].as_str()),
        (201, Some("+33123456789")),
        "{p}"
    );
    // Blank: no country again.
    assert!(save("").await["Saved"].is_string());
    let (status, _) = phone("020 7946 0000").await;
    assert_eq!(status, 422);
    app.finish().await;
}
both_backends!(phone_numbers_by_country);

/// Secrets are sealed in the database itself (a channel's token, a webhook subscription's
/// signing secret), opened again with the installation's key, and sealed anew under another
/// key by a rotation, after which only the new key opens them.
async fn secrets_are_sealed_in_the_database(backend: Backend) {
    use concierge::server::db::{channels, secrets as stored};
    use concierge::server::secrets::{generate_key, Keyring};
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let state = app.state();
    let (updates, enabled) = concierge::domain::channels::parse_assignments(&[
        "url=https://hooks.example.com/concierge".to_string(),
        "secret=whsec_c2VjcmV0LXZhbHVl".to_string(),
    ])
    .unwrap();
    concierge::server::services::channels::set_for_org(state, "acme", "webhook", &updates, enabled)
        .await
        .unwrap();
    let (status, sub) = api
        .post(
            "/webhooks",
            json!({ "url": "https://hooks.example.com/in", "events": ["sent"] }),
        )
        .await;
    assert_eq!(status, 201, "{sub}");
    let signing = sub["secret"].as_str().unwrap().to_string();
    let raw = || async {
        let sql = "SELECT CAST(secrets AS TEXT) FROM channel_settings \
                   UNION ALL SELECT secret FROM event_subscriptions";
        let rows: Vec<String> = concierge::on_db!(&state.db, pool =>
            sqlx::query_scalar(sql).fetch_all(pool).await)
        .unwrap();
        rows.join(" ")
    };
    let stored_text = raw().await;
    assert!(
        !stored_text.contains("c2VjcmV0LXZhbHVl") && !stored_text.contains(&signing),
        "{stored_text}"
    );
    assert_eq!(
        stored_text.matches("sealed:v1:").count(),
        2,
        "{stored_text}"
    );
    let org = concierge::server::db::orgs::by_slug(&state.db, "acme")
        .await
        .unwrap()
        .unwrap()
        .id;
    let token = |keys: Keyring| async move {
        channels::settings(&state.db, &keys, org)
            .await
            .map(|s| s["webhook"].secrets["secret"].clone())
    };
    assert_eq!(
        token(Keyring::load(&state.config).unwrap()).await.unwrap(),
        "whsec_c2VjcmV0LXZhbHVl"
    );

    // Rotated: sealed again under the new key, which alone opens them now.
    let new = generate_key();
    let rotated = Keyring::load(&state.config).unwrap().with_current(&new);
    assert!(stored::reseal_all(&state.db, &rotated).await.unwrap() >= 2);
    assert_eq!(
        token(Keyring::new(&new, &[])).await.unwrap(),
        "whsec_c2VjcmV0LXZhbHVl"
    );
    assert!(token(Keyring::load(&state.config).unwrap()).await.is_err());
    let opened = concierge::server::db::webhooks::secret(
        &state.db,
        &Keyring::new(&new, &[]),
        org,
        sub["id"].as_str().unwrap().parse().unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(opened.as_deref(), Some(signing.as_str()));
    app.finish().await;
}
both_backends!(secrets_are_sealed_in_the_database);
