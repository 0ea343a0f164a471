//! The OpenAPI document describes exactly the routes the API serves: every route in the
//! routers' source is documented, and every documented route answers (it is not the
//! "no such route" fallback, nor a 405).

use crate::both_backends;
use crate::common::{spawn_app, Api, Backend};
use std::collections::BTreeSet;

/// `(method, path)` of every `.route(...)` and every `#[utoipa::path]` in `src/server/rest/*.rs`.
fn routes_in_source() -> BTreeSet<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/server/rest");
    let route = regex::Regex::new(
        r#"\.route\(\s*"([^"]+)",((?s).*?)\)\s*(?:\.route|\.merge|\.fallback|\n\s*\})"#,
    )
    .unwrap();
    let method = regex::Regex::new(r"(?:^|[\s.:(])(get|post|put|delete|patch)\(").unwrap();
    let annotated = regex::Regex::new(
        r#"#\[utoipa::path\(\s*(get|post|put|delete|patch),\s*path\s*=\s*"([^"]+)""#,
    )
    .unwrap();
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let source = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for c in annotated.captures_iter(&source) {
            out.insert((c[1].to_string(), c[2].to_string()));
        }
        let mut at = 0;
        while let Some(c) = route.captures_at(&source, at) {
            for m in method.captures_iter(&c[2]) {
                out.insert((m[1].to_string(), c[1].to_string()));
            }
            // The next match may start where this one's lookahead (`.route`) began.
            at = c.get(2).unwrap().end();
        }
    }
    out
}

async fn openapi_matches_router(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;

    // The document is public and well-formed.
    let res = reqwest::get(app.url("/api/v1/openapi.json")).await.unwrap();
    assert_eq!(res.status(), 200);
    let doc: serde_json::Value = res.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");

    let mut documented = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            assert!(
                op["summary"].is_string() && op["responses"].is_object(),
                "{method} {path}"
            );
            documented.insert((method.clone(), path.clone()));
        }
    }
    let served = routes_in_source();
    assert!(served.len() > 40, "the source scan found only {served:?}");
    let undocumented: Vec<_> = served.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from the OpenAPI document: {undocumented:?}"
    );
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        unserved.is_empty(),
        "documented routes the router does not have: {unserved:?}"
    );

    // Each documented route is really there.
    let client = reqwest::Client::new();
    for (method, path) in &documented {
        let url = app.url(&format!(
            "/api/v1{}",
            path.replace("{id}", &uuid::Uuid::nil().to_string())
        ));
        let req = match method.as_str() {
            "get" => client.get(&url),
            "post" => client.post(&url),
            "put" => client.put(&url),
            "delete" => client.delete(&url),
            other => panic!("unexpected method {other}"),
        };
        let res = req
            .bearer_auth(&api.key)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let body = res.text().await.unwrap();
        assert_ne!(status, 405, "{method} {path}");
        assert!(
            !body.contains("there is no API route"),
            "{method} {path}: {body}"
        );
        assert!(status < 500, "{method} {path}: {status} {body}");
        // The answer is one the document lists for this operation.
        let listed = &doc["paths"][path.as_str()][method.as_str()]["responses"];
        assert!(
            listed.get(status.to_string()).is_some(),
            "{method} {path} answered {status}, which its document does not list: {body}"
        );
    }

    // The reference page shows every operation, and needs nothing from elsewhere.
    let res = reqwest::get(app.url("/api/docs")).await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    // (minijinja escapes `/` as an entity.)
    let page = res.text().await.unwrap().replace("&#x2f;", "/");
    for (method, path) in &documented {
        let shown = format!("<code>{} {}</code>", method.to_uppercase(), path);
        assert!(page.contains(&shown), "the reference lacks {shown}");
    }
    assert!(page.contains("id=\"schema-Problem\""), "{page}");
    let elsewhere = regex::Regex::new(r#"(?:src|href)="(?:https?:)?//"#).unwrap();
    assert!(
        !elsewhere.is_match(&page),
        "the reference loads something from elsewhere"
    );
    app.finish().await;
}
both_backends!(openapi_matches_router);

/// What the fuzzer found, kept fixed: text with NUL (which PostgreSQL cannot store) is a 422
/// naming the field, not a 500; a whole number written `2.0` is the integer JSON Schema says
/// it is; a method a route does not serve is a 405 even with an `Idempotency-Key`; a limit
/// outside its range is refused, not clamped; a `null` body is no body where one is optional.
async fn fuzzer_findings_stay_fixed(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let (status, body) = api.get("/persons?q=a%00b").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "q");
    let (status, body) = api
        .post(
            "/persons",
            serde_json::json!({ "full_name": "Ada\u{0}Lovelace" }),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "full_name");
    let (status, person) = api
        .post(
            "/persons",
            serde_json::json!({ "full_name": "Ada Lovelace" }),
        )
        .await;
    assert_eq!(status, 201, "{person}");
    let (status, body) = api
        .post(
            "/projects",
            serde_json::json!({ "title": "Gala", "priority": 2.0, "person_id": person["id"] }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["priority"], 2);

    let client = reqwest::Client::new();
    let id = person["id"].as_str().unwrap();
    let res = client
        .post(app.url(&format!("/api/v1/persons/{id}")))
        .bearer_auth(&api.key)
        .header("Idempotency-Key", "one")
        .json(&serde_json::json!({ "full_name": "X" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);

    let (status, body) = api.get(&format!("/persons/{id}/activity?limit=0")).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "limit");

    let res = client
        .post(app.url("/api/v1/cron/run-engagement"))
        .bearer_auth(&api.key)
        .header("content-type", "application/json")
        .body("null")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    app.finish().await;
}
both_backends!(fuzzer_findings_stay_fixed);
