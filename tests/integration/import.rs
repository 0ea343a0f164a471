//! Clients in and out as CSV: the preview checks every row without saving, the import answers
//! for each row (created, updated through its external id, or why not), and the export reads
//! back the same people.

use crate::both_backends;
use crate::common::{spawn_app, Api, Backend};
use serde_json::{json, Value};

const FILE: &str = "name,email,phone,timezone,birthday,tags,external_id,consent\n\
Ada Lovelace,ada@example.com,+44 20 7946 0018,Europe/London,1985-12-10,vip; engines,crm-1,yes\n\
Grace Hopper,grace@example,,America/New_York,,,crm-2,\n\
Alan Turing,,,Europe/London,1912-06-23,,crm-3,no\n";

async fn csv_import_and_export(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let other = Api::setup(&app, "globex").await;
    let session = app.session("admin@acme.test").await;
    // Alan is already known by his external id: the import updates him.
    let (_, alan) = api
        .post(
            "/persons",
            json!({ "full_name": "A. Turing", "external_id": "crm-3" }),
        )
        .await;

    let res = app
        .server_fn(
            "/srv/clients/preview_import",
            Some(&session),
            &[("csv", FILE)],
        )
        .await;
    assert_eq!(res.status(), 200);
    let preview: Value = res.json().await.unwrap();
    let errors = preview["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 3);
    assert!(errors[0].is_null() && errors[2].is_null(), "{preview}");
    assert!(errors[1].as_str().unwrap().contains("email"), "{preview}");
    // Nothing saved by the preview.
    let (_, list) = api.get("/persons").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    let res = app
        .server_fn(
            "/srv/clients/import_rows",
            Some(&session),
            &[("rows_json", &preview["rows"].to_string())],
        )
        .await;
    assert_eq!(res.status(), 200);
    let outcomes: Value = res.json().await.unwrap();
    let summary: Vec<(u64, bool, bool)> = outcomes
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["line"].as_u64().unwrap(),
                o["error"].is_null(),
                o["created"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [(2, true, true), (3, false, false), (4, true, false)]
    );
    let (_, alan) = api
        .get(&format!("/persons/{}", alan["id"].as_str().unwrap()))
        .await;
    assert_eq!(alan["full_name"], "Alan Turing");
    assert_eq!(alan["birthday"], "1912-06-23");
    let (_, ada) = api.get("/persons?q=lovelace").await;
    let ada = &ada["items"][0];
    assert_eq!(
        (ada["phone"].as_str(), ada["marketing_consent"].as_bool()),
        (Some("+442079460018"), Some(true))
    );
    assert_eq!(ada["tags"], json!(["vip", "engines"]));

    // A file Concierge cannot read is refused whole, naming the column.
    let res = app
        .server_fn(
            "/srv/clients/preview_import",
            Some(&session),
            &[("csv", "name,shoe size\nAda,5\n")],
        )
        .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("shoe size"));

    // The export holds this organisation's people only, and reads back.
    let res = app.get_with("/clients/export.csv", &session).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("clients-2026-03-14.csv"));
    assert_eq!(res.headers()["cache-control"], "no-store");
    let csv = res.text().await.unwrap();
    let rows = concierge::domain::csv_io::parse_clients(&csv).unwrap();
    let names: Vec<_> = rows
        .iter()
        .map(|r| r.input.full_name.clone().unwrap())
        .collect();
    assert_eq!(names, ["Ada Lovelace", "Alan Turing"]);
    assert_eq!(
        rows[0].input.tags,
        Some(vec!["vip".to_string(), "engines".to_string()])
    );
    other
        .post("/persons", json!({ "full_name": "Someone Else" }))
        .await;
    let csv = app
        .get_with("/clients/export.csv", &session)
        .await
        .text()
        .await
        .unwrap();
    assert!(!csv.contains("Someone Else"));
    // Each export is in the audit log.
    let audit = app
        .get_with("/settings/audit", &session)
        .await
        .text()
        .await
        .unwrap();
    assert!(audit.contains("export"), "the export is audited");
    let res = reqwest::get(app.url("/clients/export.csv")).await.unwrap();
    assert!(
        matches!(res.status().as_u16(), 401 | 303),
        "{}",
        res.status()
    );
    app.finish().await;
}
both_backends!(csv_import_and_export);
