//! The OpenAPI 3.1 description of `/api/v1`, served at `/api/v1/openapi.json`.
//!
//! It is derived from the code: each handler's `#[utoipa::path]` gives its parameters, body
//! and answers, and the types' `ToSchema` their schemas ([`super::api`] collects them with
//! the routes themselves, so a route cannot be served undocumented). What every operation
//! shares because the API's layers do it for all of them — the bearer key, rate limits,
//! idempotency keys, conditional reads, the body limit and problem+json errors — is written
//! once, in [`finish`].

use serde_json::{json, Value};
use std::sync::LazyLock;

/// A problem+json answer.
fn problem(description: &str) -> Value {
    json!({ "description": description, "content": { "application/problem+json": {
        "schema": { "$ref": "#/components/schemas/Problem" } } } })
}

fn header_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/headers/{name}") })
}

/// What every operation shares, written once: a stable `operationId`, the idempotency key on
/// writes, `If-None-Match` and `304` on reads, the rate-limit headers on every answer, and the
/// problem+json answers of the layers in front of every handler.
fn finish(path: &str, method: &str, op: &mut Value) {
    let meta = path == "/openapi.json";
    op["operationId"] = format!(
        "{method}_{}",
        path.trim_start_matches('/')
            .replace(['/', '-', '.'], "_")
            .replace(['{', '}'], "")
    )
    .into();
    let writes = matches!(method, "post" | "put" | "patch" | "delete");
    let mut parameters = op["parameters"].as_array().cloned().unwrap_or_default();
    if writes {
        parameters.push(json!({
            "name": "Idempotency-Key", "in": "header", "required": false,
            "description": "Any text up to 255 characters, new for each new request. Sent again with \
                the same request within 24 hours, it answers with the first response (marked \
                Idempotent-Replayed: true) without doing the work again; with another request it is a 422.",
            "schema": { "type": "string", "minLength": 1, "maxLength": 255 }
        }));
    }
    if method == "get" {
        parameters.push(json!({
            "name": "If-None-Match", "in": "header", "required": false,
            "description": "The ETag of an earlier answer: when the answer is the same, it is a 304 with no body.",
            "schema": { "type": "string" }
        }));
    }
    op["parameters"] = Value::Array(parameters);
    let has_query = op["parameters"]
        .as_array()
        .is_some_and(|p| p.iter().any(|p| p["in"] == "query"));
    let has_body = op.get("requestBody").is_some();

    let responses = op["responses"]
        .as_object_mut()
        .expect("every operation answers");
    if method == "get" {
        responses.insert(
            "304".into(),
            json!({ "description": "Not modified: the answer has the ETag sent in If-None-Match" }),
        );
    }
    if !meta {
        responses.insert(
            "401".into(),
            problem("No API key, or one unknown, revoked or expired"),
        );
        responses.insert(
            "429".into(),
            problem("Too many requests for this API key; see Retry-After and RateLimit"),
        );
        responses.insert(
            "503".into(),
            problem("The database cannot be reached just now, or the request took too long; see Retry-After"),
        );
        if path.contains('{') || writes {
            responses.insert(
                "404".into(),
                problem(
                    "No such record in this organisation (`field` names one the body refers to)",
                ),
            );
        }
        if writes {
            responses.insert("403".into(), problem("The API key is read-only"));
            responses.insert(
                "409".into(),
                problem("A conflict (`field` names it), or a request with this Idempotency-Key is still being answered"),
            );
            responses.insert(
                "422".into(),
                problem("A field is invalid (`field` names it), or the Idempotency-Key was used for another request"),
            );
        }
        if has_query {
            responses.insert(
                "422".into(),
                problem("A field or query parameter is invalid; `field` names it"),
            );
        }
        if has_body {
            responses.insert("400".into(), problem("The body is not a JSON object"));
            responses.insert("413".into(), problem("The body is larger than 1 MiB"));
            responses.insert(
                "415".into(),
                problem("The body was not sent as Content-Type: application/json"),
            );
        }
    }
    for (status, response) in responses.iter_mut() {
        let headers = response
            .as_object_mut()
            .expect("a response is an object")
            .entry("headers")
            .or_insert_with(|| json!({}));
        if !meta {
            headers["RateLimit-Policy"] = header_ref("RateLimit-Policy");
            headers["RateLimit"] = header_ref("RateLimit");
        }
        if matches!(status.as_str(), "429" | "503") {
            headers["Retry-After"] = header_ref("Retry-After");
        }
        if method == "get" && status == "200" {
            headers["ETag"] = header_ref("ETag");
        }
        if writes {
            headers["Idempotent-Replayed"] = header_ref("Idempotent-Replayed");
        }
    }
    if meta {
        op["security"] = json!([]);
    }
}

fn build() -> Value {
    let mut doc = serde_json::to_value(super::api().into_openapi())
        .expect("the generated document serialises");
    let paths = doc["paths"]
        .as_object_mut()
        .expect("the document has paths");
    for (path, item) in paths.iter_mut() {
        for (method, op) in item.as_object_mut().expect("a path item is an object") {
            finish(path, method, op);
        }
    }
    partial_put_bodies(&mut doc);
    one_of_required(&mut doc);
    doc["openapi"] = "3.1.0".into();
    doc["info"] = json!({
        "title": "Concierge API",
        "version": "1",
        "description": "The integration API of Concierge. Authenticate with `Authorization: Bearer <api key>`; \
            errors are application/problem+json (RFC 9457). Records carry `id` and the original \
            prototype's name for it (`person_id`, `date_item_id` …). Every write takes an \
            `Idempotency-Key`; every answer carries the IETF `RateLimit-Policy` and `RateLimit` headers.",
    });
    doc["servers"] = json!([{ "url": "/api/v1" }]);
    doc["security"] = json!([{ "apiKey": [] }]);
    let components = doc
        .as_object_mut()
        .expect("the document is an object")
        .entry("components")
        .or_insert_with(|| json!({}));
    components["securitySchemes"] = json!({ "apiKey": { "type": "http", "scheme": "bearer" } });
    let schemas = components
        .as_object_mut()
        .expect("components is an object")
        .entry("schemas")
        .or_insert_with(|| json!({}));
    let mut problem_schemas = vec![(
        "Problem".to_string(),
        <super::problem::Problem as utoipa::PartialSchema>::schema(),
    )];
    <super::problem::Problem as utoipa::ToSchema>::schemas(&mut problem_schemas);
    for (name, schema) in problem_schemas {
        schemas[name] = serde_json::to_value(schema).expect("a schema serialises");
    }
    components["headers"] = json!({
        "RateLimit-Policy": { "description": "The rate limit that applies (IETF draft): `\"standard\";q=<requests>;w=60`", "schema": { "type": "string" } },
        "RateLimit": { "description": "What is left of it: `\"standard\";r=<remaining>;t=<seconds until full>`", "schema": { "type": "string" } },
        "Retry-After": { "description": "Seconds to wait before trying again", "schema": { "type": "integer", "minimum": 0 } },
        "ETag": { "description": "A weak tag of this answer, for If-None-Match", "schema": { "type": "string" } },
        "Idempotent-Replayed": { "description": "`true` when this is the first answer to this Idempotency-Key, sent again", "schema": { "type": "string", "enum": ["true"] } },
    });
    doc
}

/// A `PUT` changes the fields it names and keeps the rest (`services::merge_patch`), so its
/// body is its type with nothing required: `PersonInput` becomes `PersonInputChanges`.
fn partial_put_bodies(doc: &mut Value) {
    let mut partial = Vec::new();
    for item in doc["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|p| p.values_mut())
    {
        let Some(schema) = item
            .get_mut("put")
            .and_then(|op| op.pointer_mut("/requestBody/content/application~1json/schema"))
        else {
            continue;
        };
        let Some(name) = schema["$ref"]
            .as_str()
            .and_then(|r| r.rsplit('/').next())
            .map(str::to_string)
        else {
            continue;
        };
        let changes = format!("{name}Changes");
        *schema = json!({ "$ref": format!("#/components/schemas/{changes}") });
        partial.push((name.to_string(), changes));
    }
    let schemas = &mut doc["components"]["schemas"];
    for (name, changes) in partial {
        let mut schema = schemas[&name].clone();
        if let Some(object) = schema.as_object_mut() {
            object.remove("required");
            object.insert(
                "description".into(),
                "The fields to change: each field present replaces the current value (null clears it); the others stay.".into(),
            );
        }
        schemas[changes] = schema;
    }
}

/// What a type's fields cannot say: a body names its person (or project) by one of two
/// fields, and `POST /activity/event` needs the event's `name` (the login route names it).
const ONE_OF: &[(&str, [&str; 2])] = &[
    ("ActivityInput", ["person_id", "external_id"]),
    ("SendUtilityInput", ["person_id", "external_id"]),
    ("InboundInput", ["person_id", "external_id"]),
    ("RecommendationInput", ["person_id", "project_id"]),
];

fn one_of_required(doc: &mut Value) {
    let present = |field: &str| {
        let schema = if field.ends_with("_id") && field != "external_id" {
            json!({ "type": "string", "format": "uuid" })
        } else {
            json!({ "type": "string", "pattern": "\\S" })
        };
        json!({ "required": [field], "properties": { field: schema } })
    };
    for (schema, [a, b]) in ONE_OF {
        doc["components"]["schemas"][*schema]["anyOf"] = json!([present(a), present(b)]);
    }
    if let Some(body) = doc
        .pointer_mut("/paths/~1activity~1event/post/requestBody/content/application~1json/schema")
    {
        *body = json!({ "allOf": [body.clone(), present("name")] });
    }
    if let Some(items) = doc.pointer_mut("/components/schemas/Batch/properties/events/items") {
        *items = json!({ "allOf": [items.clone(), present("name")] });
    }
}

static DOCUMENT: LazyLock<Value> = LazyLock::new(build);

/// Whether the document has an operation for `method` on `path` (a route template such as
/// `/persons/{id}`).
pub fn serves(path: &str, method: &axum::http::Method) -> bool {
    document()["paths"]
        .get(path)
        .and_then(|item| item.get(method.as_str().to_ascii_lowercase()))
        .is_some()
}

/// The whole document (built once).
pub fn document() -> &'static Value {
    &DOCUMENT
}

#[utoipa::path(get, path = "/openapi.json", tag = "Meta", summary = "This document",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object)))]
pub async fn serve() -> axum::Json<Value> {
    axum::Json(document().clone())
}
