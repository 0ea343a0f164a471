//! Tenants, in depth: every API route that names a record, called by another organisation
//! with the first one's ids, finds nothing (404), changes nothing, and says nothing of it.

use crate::both_backends;
use crate::common::{spawn_app, Api, Backend};
use reqwest::Method;
use serde_json::{json, Value};

async fn another_organisations_ids_are_not_found(backend: Backend) {
    let app = spawn_app(backend).await;
    let acme = Api::setup(&app, "acme").await;
    let globex = Api::setup(&app, "globex").await;
    // Acme has one of everything.
    concierge::server::services::demo::seed(app.state(), "acme")
        .await
        .unwrap();
    let (status, body) = acme.post("/cron/run-engagement", json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = acme
        .post(
            "/webhooks",
            json!({ "url": "https://hooks.example.com/in", "events": ["sent"] }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = acme
        .post(
            "/campaigns",
            json!({ "name": "Spring", "channel": "email", "audience": {},
                    "variants": [{ "name": "A", "subject": "Hi", "body": "Hello {{ unsubscribe_link }}", "weight": 1 }] }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (_, people) = acme.get("/persons?limit=1").await;
    let person = people["items"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = acme
        .post(
            "/send-utility",
            json!({ "person_id": person, "channel": "email", "body": "Your table is ready" }),
        )
        .await;
    assert_eq!(status, 202, "{body}");

    let acme_org = concierge::server::db::orgs::by_slug(&app.state().db, "acme")
        .await
        .unwrap()
        .unwrap()
        .id;
    let mut walked = 0;
    // Every operation of the published document that names a record.
    let document = concierge::server::rest::openapi::document();
    let operations: Vec<(String, String)> = document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(path, _)| path.contains("{id}"))
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| (method.clone(), path.clone()))
        })
        .collect();
    for (method_name, route_path) in &operations {
        let (table, _) = concierge::server::rest::record_of(route_path)
            .unwrap_or_else(|| panic!("{route_path} names a record of no known table"));
        let sql = format!("SELECT id FROM {table} WHERE org_id = $1 ORDER BY id LIMIT 1");
        let id: Option<uuid::Uuid> = concierge::on_db!(&app.state().db, pool =>
            sqlx::query_scalar(&sql).bind(acme_org).fetch_optional(pool).await)
        .unwrap();
        let id = id.unwrap_or_else(|| panic!("acme has no row in {table} for {route_path}"));
        let path = route_path.replace("{id}", &id.to_string());
        let method = Method::from_bytes(method_name.to_uppercase().as_bytes()).unwrap();
        let body = matches!(method_name.as_str(), "post" | "put").then(|| json!({}));
        let (status, answer, _) = globex.send(method.clone(), &path, body).await;
        assert_eq!(
            status, 404,
            "{method_name} {path} answered another organisation: {answer}"
        );
        assert!(
            !answer.to_string().contains(&id.to_string()),
            "{method_name} {path} named the record: {answer}"
        );
        // Acme itself finds it (a read may still want a parameter the walk does not give).
        if method_name == "get" {
            let (status, answer, _) = acme.send(Method::GET, &path, None).await;
            assert!(
                status == 200 || status == 422,
                "acme reads {path}: {status} {answer}"
            );
        }
        walked += 1;
    }
    assert!(walked > 50, "{walked} routes walked");
    // Nothing of Acme's changed hands or disappeared.
    let (_, after) = acme.get(&format!("/persons/{person}")).await;
    assert_eq!(after["id"], Value::String(person));
    app.finish().await;
}
both_backends!(another_organisations_ids_are_not_found);
