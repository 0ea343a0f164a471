//! Tenants, in depth: every API route and every server function that names a record, called by
//! another organisation with the first one's ids, finds nothing (404), changes nothing, and says
//! nothing of it.

use crate::both_backends;
use crate::common::{spawn_app, Api, Backend, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

/// Gives Acme one of everything (the sample data, an engagement run, a webhook, a campaign, a
/// message): its organisation's id, and one of its people.
async fn one_of_everything(app: &TestApp, acme: &Api<'_>) -> (uuid::Uuid, String) {
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
    (acme_org, person)
}

async fn another_organisations_ids_are_not_found(backend: Backend) {
    let app = spawn_app(backend).await;
    let acme = Api::setup(&app, "acme").await;
    let globex = Api::setup(&app, "globex").await;
    let (acme_org, person) = one_of_everything(&app, &acme).await;
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

/// The table whose ids an argument of a server function names (`endpoint` is the function's,
/// as `module/name`), or `None` for an argument that names no record.
fn table_of(endpoint: &str, arg: &str) -> Option<&'static str> {
    let (module, name) = endpoint.split_once('/').unwrap();
    let table = match arg {
        "person_id" | "client" => "persons",
        "project_id" => "projects",
        "vendor_id" => "vendors",
        "conversation_id" => "conversations",
        "category_id" => "date_categories",
        "reminder_id" | "r0_id" | "r1_id" | "r2_id" => "reminder_rules",
        "assigned_staff_id" => "staff",
        "ids" => "deliveries",
        // A client's id in another system, not a record here.
        "external_id" => return None,
        "id" => match (module, name) {
            ("approvals", _) | ("messages", "get_message" | "change_message") => "deliveries",
            ("messages", "mark_read") => "notifications",
            ("campaigns", _) => "campaigns",
            ("clients", _) | ("engagement", "explain_person") => "persons",
            ("engagement", _) => "engagement_runs",
            ("comms", "change_identity") => "comm_identities",
            ("comms", _) => "conversations",
            ("dates", "change_reminder") => "reminder_rules",
            ("dates", _) => "date_items",
            ("projects", "change_task") => "tasks",
            ("projects", _) => "projects",
            ("settings", "revoke_key") => "api_keys",
            ("settings", _) => "date_categories",
            ("staff", _) => "staff",
            ("vendors", "set_recommendation_status") => "recommendations",
            ("vendors", _) => "vendors",
            ("webhooks", _) => "event_subscriptions",
            _ => panic!("the walk does not know what `id` of {endpoint} names: add it"),
        },
        a if a.ends_with("_id") || a.ends_with("ids") => {
            panic!("the walk does not know what `{a}` of {endpoint} names: add it")
        }
        _ => return None,
    };
    Some(table)
}

/// A valid value for an argument that names no record, so that a function gets past checking
/// its input to looking the record up.
fn plain_value(endpoint: &str, arg: &str) -> &'static str {
    match (endpoint, arg) {
        ("comms/set_conversation_status", "status") => "archived",
        ("projects/change_task", "status") => "done",
        ("projects/save_project", "status") => "in_progress",
        ("vendors/set_recommendation_status", "status") => "accepted",
        ("campaigns/set_campaign_status", "status") => "paused",
        ("messages/change_message", "action") => "cancel",
        ("dates/change_reminder", "action") => "cancel",
        ("webhooks/change_webhook", "action") => "disable",
        ("comms/change_identity", "change") => "opt_out",
        ("vendors/save_vendor", "kind") => "restaurant",
        (_, "decision") => "approve",
        (_, "channel" | "channel_type" | "r0_channel") => "email",
        (_, "direction") => "note",
        (_, "timezone") => "UTC",
        (_, "date_value") => "2026-05-01",
        (_, "priority") => "3",
        (_, "active") => "false",
        (_, "new_password") => "another long enough password",
        (_, "person_type") => "client",
        (_, "address") => "walker@example.com",
        (_, "email") => "walker@example.com",
        (_, "position") => "0",
        (_, "churn_risk_min" | "churn_risk_max" | "min_days_inactive") => "",
        (_, "v0_weight" | "v1_weight" | "v2_weight") => "1",
        (_, "holdout_percent") => "0",
        (_, "repeat_days" | "conversion_days") => "7",
        (_, "send_window_start" | "send_window_end") => "",
        (_, "v1_key" | "v1_name" | "v1_subject" | "v1_body" | "v1_prompt") => "",
        (_, "v2_key" | "v2_name" | "v2_subject" | "v2_body" | "v2_prompt") => "",
        (_, "v0_key" | "v0_prompt") => "",
        (_, "price_level") => "2",
        (_, "rating") => "4",
        (_, "color") => "#e4572e",
        (_, "r0_days" | "r1_days" | "r2_days") => "",
        (_, "r0_time" | "r1_time" | "r2_time" | "r0_message" | "r1_message" | "r2_message") => "",
        (_, "r0_audience" | "r1_audience" | "r2_audience") => "client",
        (_, "r1_channel" | "r2_channel") => "email",
        (_, "seg_new" | "seg_active" | "seg_at_risk" | "seg_dormant" | "seg_churned") => "",
        (_, "due_to_rebook" | "usable_channel" | "marketing_consent" | "preferred") => "",
        (_, "recurrence_rule" | "birthday" | "due_date" | "website" | "reason") => "",
        (_, "page") => "0",
        (_, "limit") => "20",
        (_, "days") => "30",
        (_, "status" | "kind" | "outcome" | "q" | "tag" | "segment") => "",
        _ => "Walked",
    }
}

/// Every server function (found in the source, so a new one is walked too) that takes a
/// record's id, called by another organisation's admin with the first one's ids: it answers
/// 404 (or refuses the input), says nothing of the record, and changes nothing.
async fn server_functions_refuse_another_organisations_ids(backend: Backend) {
    let app = spawn_app(backend).await;
    let acme = Api::setup(&app, "acme").await;
    let _globex = Api::setup(&app, "globex").await;
    let (acme_org, _) = one_of_everything(&app, &acme).await;
    // Globex has records of its own, which the walk gives wherever it names a record other
    // than the one it walks.
    concierge::server::services::demo::seed(app.state(), "globex")
        .await
        .unwrap();
    let globex_org = concierge::server::db::orgs::by_slug(&app.state().db, "globex")
        .await
        .unwrap()
        .unwrap()
        .id;
    let db = &app.state().db;
    let first_id = |org: uuid::Uuid, table: &'static str| async move {
        let sql = format!("SELECT id FROM {table} WHERE org_id = $1 ORDER BY id LIMIT 1");
        let id: Option<uuid::Uuid> = concierge::on_db!(db, pool =>
            sqlx::query_scalar(&sql).bind(org).fetch_optional(pool).await)
        .unwrap();
        id
    };
    // What Acme has, to find anything changed afterwards: every write stamps the time, and
    // the clock moves on before the walk.
    let snapshot = || async move {
        let mut rows = Vec::new();
        for table in [
            "persons",
            "comm_identities",
            "date_items",
            "reminder_rules",
            "projects",
            "tasks",
            "conversations",
            "vendors",
            "recommendations",
            "deliveries",
            "campaigns",
            "event_subscriptions",
            "date_categories",
            "staff",
        ] {
            let sql = format!(
                "SELECT COUNT(*), CAST(MAX(updated_at) AS TEXT) FROM {table} WHERE org_id = $1"
            );
            let row: (i64, Option<String>) = concierge::on_db!(db, pool =>
                sqlx::query_as(&sql).bind(acme_org).fetch_one(pool).await)
            .unwrap();
            rows.push((table, row));
        }
        for table in ["messages", "api_keys", "notifications", "engagement_runs"] {
            let sql = format!("SELECT COUNT(*) FROM {table} WHERE org_id = $1");
            let n: i64 = concierge::on_db!(db, pool =>
                sqlx::query_scalar(&sql).bind(acme_org).fetch_one(pool).await)
            .unwrap();
            rows.push((table, (n, None)));
        }
        rows
    };
    let before = snapshot().await;
    app.clock.advance(chrono::Duration::days(1));
    let session = app.session("admin@globex.test").await;

    // The server functions, from their source.
    let pattern = regex::Regex::new(
        r#"(?s)#\[server\(prefix = "/srv", endpoint = "([^"]+)"\)\]\s*pub async fn \w+\s*\((.*?)\)\s*->"#,
    )
    .unwrap();
    let arg = regex::Regex::new(r"(\w+)\s*:").unwrap();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/api");
    let mut functions = Vec::new();
    for file in std::fs::read_dir(dir).unwrap() {
        let source = std::fs::read_to_string(file.unwrap().path()).unwrap();
        for f in pattern.captures_iter(&source) {
            let args: Vec<String> = arg
                .captures_iter(&f[2].replace("#[server(default)]", ""))
                .map(|a| a[1].to_string())
                .collect();
            functions.push((f[1].to_string(), args));
        }
    }
    assert!(
        functions.len() > 80,
        "{} server functions found",
        functions.len()
    );
    let mut walked = 0;
    let mut not_found = 0;
    let mut problems = Vec::new();
    for (endpoint, args) in &functions {
        for named in args.iter().filter(|a| table_of(endpoint, a).is_some()) {
            let table = table_of(endpoint, named).unwrap();
            let Some(id) = first_id(acme_org, table).await else {
                assert_eq!(table, "notifications", "acme has no row in {table}");
                continue;
            };
            let id = id.to_string();
            let mut form: Vec<(String, String)> = Vec::new();
            for a in args {
                let value = if a == named {
                    id.clone()
                } else if let Some(other) = table_of(endpoint, a) {
                    let own = first_id(globex_org, other).await;
                    own.map(|o| o.to_string()).unwrap_or_default()
                } else {
                    plain_value(endpoint, a).to_string()
                };
                // A list goes as its first item.
                let key = if a == "ids" {
                    "ids[0]".to_string()
                } else {
                    a.clone()
                };
                form.push((key, value));
            }
            let form: Vec<(&str, &str)> =
                form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let res = app
                .server_fn(&format!("/srv/{endpoint}"), Some(&session), &form)
                .await;
            let status = res.status().as_u16();
            let answer = res.text().await.unwrap();
            if answer.contains(&id) {
                problems.push(format!(
                    "{endpoint} ({named}) told of the record: {status} {answer}"
                ));
            }
            if !(matches!(status, 404 | 422) || (status == 200 && named != "id")) {
                problems.push(format!("{endpoint} ({named}) answered {status}: {answer}"));
            }
            not_found += usize::from(status == 404);
            walked += 1;
        }
    }
    assert!(
        problems.is_empty(),
        "another organisation's ids:\n{}",
        problems.join("\n")
    );
    assert!(walked > 50, "{walked} arguments walked");
    assert!(not_found > 40, "{not_found} of {walked} were 404");
    assert_eq!(snapshot().await, before, "nothing of Acme's changed");
    app.finish().await;
}
both_backends!(server_functions_refuse_another_organisations_ids);
