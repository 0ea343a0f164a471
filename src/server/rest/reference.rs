//! The API reference for people, at `/api/docs`: the OpenAPI document rendered as one page of
//! plain HTML on the server, so it reads the same with no internet access (no script, no
//! fonts or styles from elsewhere), and cannot drift from the document it is made from.

use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::LazyLock;

#[derive(Serialize)]
struct Param {
    name: String,
    place: String,
    required: bool,
    kind: String,
    description: String,
}

#[derive(Serialize)]
struct Answer {
    status: String,
    description: String,
    kind: String,
}

#[derive(Serialize)]
struct Operation {
    anchor: String,
    method: String,
    path: String,
    summary: String,
    params: Vec<Param>,
    body: Option<String>,
    answers: Vec<Answer>,
}

#[derive(Serialize)]
struct Field {
    name: String,
    kind: String,
    required: bool,
    description: String,
}

#[derive(Serialize)]
struct Schema {
    name: String,
    description: String,
    fields: Vec<Field>,
    composed_of: Vec<String>,
}

/// A schema in a few words: `Person`, `array of Person`, `string (uuid)`, `one of a, b`.
fn kind(schema: &Value) -> String {
    if let Some(r) = schema["$ref"].as_str() {
        return r.rsplit('/').next().unwrap_or(r).to_string();
    }
    if let Some(values) = schema["enum"].as_array() {
        let words: Vec<String> = values
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .collect();
        return format!("one of {}", words.join(", "));
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(parts) = schema[key].as_array() {
            let kinds: Vec<String> = parts.iter().map(kind).filter(|k| k != "null").collect();
            return kinds.join(" or ");
        }
    }
    let types: Vec<String> = match &schema["type"] {
        Value::String(t) => vec![t.clone()],
        Value::Array(ts) => ts
            .iter()
            .filter_map(|t| t.as_str())
            .filter(|t| *t != "null")
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    let mut out = match types.first().map(String::as_str) {
        Some("array") => format!("array of {}", kind(&schema["items"])),
        Some(t) => t.to_string(),
        None => "any".to_string(),
    };
    if let Some(format) = schema["format"].as_str() {
        out.push_str(&format!(" ({format})"));
    }
    out
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}

fn operations(doc: &Value) -> BTreeMap<String, Vec<Operation>> {
    let mut by_tag: BTreeMap<String, Vec<Operation>> = BTreeMap::new();
    let Some(paths) = doc["paths"].as_object() else {
        return by_tag;
    };
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            continue;
        };
        for (method, op) in item {
            let params = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| Param {
                    name: text(&p["name"]),
                    place: text(&p["in"]),
                    required: p["required"].as_bool().unwrap_or(false),
                    kind: kind(&p["schema"]),
                    description: text(&p["description"]),
                })
                .collect();
            let body = op["requestBody"]["content"]
                .as_object()
                .and_then(|c| c.values().next())
                .map(|c| kind(&c["schema"]));
            let answers = op["responses"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(status, r)| Answer {
                    status: status.clone(),
                    description: text(&r["description"]),
                    kind: r["content"]
                        .as_object()
                        .and_then(|c| c.values().next())
                        .map(|c| kind(&c["schema"]))
                        .unwrap_or_default(),
                })
                .collect();
            let tag = op["tags"][0].as_str().unwrap_or("Other").to_string();
            by_tag.entry(tag).or_default().push(Operation {
                anchor: text(&op["operationId"]),
                method: method.to_uppercase(),
                path: path.clone(),
                summary: text(&op["summary"]),
                params,
                body,
                answers,
            });
        }
    }
    by_tag
}

fn schemas(doc: &Value) -> Vec<Schema> {
    let Some(all) = doc["components"]["schemas"].as_object() else {
        return Vec::new();
    };
    all.iter()
        .map(|(name, schema)| {
            let parts: Vec<&Value> = match schema["allOf"].as_array() {
                Some(parts) => parts.iter().collect(),
                None => vec![schema],
            };
            let mut fields = Vec::new();
            let mut composed_of = Vec::new();
            for part in parts {
                if part.get("$ref").is_some() {
                    composed_of.push(kind(part));
                    continue;
                }
                let required: Vec<&str> = part["required"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                for (field, s) in part["properties"].as_object().into_iter().flatten() {
                    fields.push(Field {
                        name: field.clone(),
                        kind: kind(s),
                        required: required.contains(&field.as_str()),
                        description: text(&s["description"]),
                    });
                }
            }
            Schema {
                name: name.clone(),
                description: text(&schema["description"]),
                fields,
                composed_of,
            }
        })
        .collect()
}

const TEMPLATE: &str = r##"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} reference</title>
<link rel="stylesheet" href="/pkg/concierge.css"></head>
<body><main class="reference">
<h1>{{ title }}, version {{ version }}</h1>
<p>{{ description }}</p>
<p>Base address: <code>{{ base }}</code>. The machine-readable document:
<a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p>
<nav><h2>Contents</h2><ul>
{% for tag, ops in tags|items %}<li><a href="#tag-{{ tag|lower }}">{{ tag }}</a> ({{ ops|length }})</li>
{% endfor %}<li><a href="#schemas">Schemas</a></li></ul></nav>
{% for tag, ops in tags|items %}
<section id="tag-{{ tag|lower }}"><h2>{{ tag }}</h2>
{% for op in ops %}
<article id="{{ op.anchor }}"><h3><code>{{ op.method }} {{ op.path }}</code></h3>
<p>{{ op.summary }}</p>
{% if op.params %}<table><caption>Parameters</caption>
<tr><th>Name</th><th>In</th><th>Type</th><th>Required</th><th>Description</th></tr>
{% for p in op.params %}<tr><td><code>{{ p.name }}</code></td><td>{{ p.place }}</td><td>{{ p.kind }}</td><td>{{ "yes" if p.required else "no" }}</td><td>{{ p.description }}</td></tr>
{% endfor %}</table>{% endif %}
{% if op.body %}<p>Body: <a href="#schema-{{ op.body }}">{{ op.body }}</a> (application/json)</p>{% endif %}
<table><caption>Answers</caption><tr><th>Status</th><th>Meaning</th><th>Body</th></tr>
{% for a in op.answers %}<tr><td>{{ a.status }}</td><td>{{ a.description }}</td><td>{{ a.kind }}</td></tr>
{% endfor %}</table></article>
{% endfor %}</section>
{% endfor %}
<section id="schemas"><h2>Schemas</h2>
{% for s in schemas %}<article id="schema-{{ s.name }}"><h3>{{ s.name }}</h3>
{% if s.description %}<p>{{ s.description }}</p>{% endif %}
{% if s.composed_of %}<p>Has every field of {{ s.composed_of|join(", ") }}, and:</p>{% endif %}
{% if s.fields %}<table><tr><th>Field</th><th>Type</th><th>Required</th><th>Description</th></tr>
{% for f in s.fields %}<tr><td><code>{{ f.name }}</code></td><td>{{ f.kind }}</td><td>{{ "yes" if f.required else "no" }}</td><td>{{ f.description }}</td></tr>
{% endfor %}</table>{% endif %}</article>
{% endfor %}</section>
</main></body></html>
"##;

fn render() -> String {
    let doc = super::openapi::document();
    let mut env = minijinja::Environment::new();
    // The name ends in .html, so every value is escaped.
    env.add_template("reference.html", TEMPLATE)
        .expect("the reference template parses");
    let tags = operations(doc);
    env.get_template("reference.html")
        .and_then(|t| {
            t.render(minijinja::context! {
                title => text(&doc["info"]["title"]),
                version => text(&doc["info"]["version"]),
                description => text(&doc["info"]["description"]),
                base => text(&doc["servers"][0]["url"]),
                tags => tags,
                schemas => schemas(doc),
            })
        })
        .expect("the reference renders")
}

static PAGE: LazyLock<String> = LazyLock::new(render);

/// `GET /api/docs`: the reference page (public, like the document it shows).
pub async fn page() -> Response {
    let mut res = Html(PAGE.as_str()).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("public, max-age=300"),
    );
    res
}
