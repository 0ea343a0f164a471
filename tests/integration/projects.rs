//! Projects and tasks over the API: create, change, list, tasks added, completed and
//! reordered, completion percentage, validation and the cross-organisation 404.

use crate::both_backends;
use crate::common::{spawn_app, Api, Backend};
use serde_json::{json, Value};

fn titles(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap().to_string())
        .collect()
}

async fn projects_and_tasks(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let other = Api::setup(&app, "globex").await;
    let (_, sarah) = api
        .post("/persons", json!({ "full_name": "Sarah Chen" }))
        .await;
    let sarah = sarah["id"].as_str().unwrap().to_string();

    let (status, project) = api
        .post("/projects", json!({
            "person_id": sarah, "title": "Plan anniversary dinner", "priority": 2, "due_date": "2026-06-01"
        }))
        .await;
    assert_eq!(status, 201, "{project}");
    assert_eq!(
        (
            project["status"].as_str(),
            project["completion_percentage"].as_i64()
        ),
        (Some("new"), Some(0))
    );
    assert_eq!(project["project_id"], project["id"]);
    let pid = project["id"].as_str().unwrap().to_string();

    let mut ids = Vec::new();
    for title in ["Shortlist venues", "Book table", "Order flowers"] {
        let (status, task) = api
            .post(&format!("/projects/{pid}/tasks"), json!({ "title": title }))
            .await;
        assert_eq!(status, 201, "{task}");
        ids.push(task["id"].as_str().unwrap().to_string());
    }
    // Inserted at the front.
    let (_, first) = api
        .post(
            &format!("/projects/{pid}/tasks"),
            json!({ "title": "Ask about allergies", "position": 0 }),
        )
        .await;
    assert_eq!(first["position"], 0);
    let (_, list) = api.get(&format!("/projects/{pid}/tasks")).await;
    assert_eq!(
        titles(&list),
        [
            "Ask about allergies",
            "Shortlist venues",
            "Book table",
            "Order flowers"
        ]
    );

    // Reorder: "Order flowers" to second place; complete one.
    let (status, moved) = api
        .put(&format!("/tasks/{}", ids[2]), json!({ "position": 1 }))
        .await;
    assert_eq!(
        (status, moved["position"].as_i64()),
        (200, Some(1)),
        "{moved}"
    );
    let (_, list) = api.get(&format!("/projects/{pid}/tasks")).await;
    assert_eq!(
        titles(&list),
        [
            "Ask about allergies",
            "Order flowers",
            "Shortlist venues",
            "Book table"
        ]
    );
    let positions: Vec<i64> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["position"].as_i64().unwrap())
        .collect();
    assert_eq!(positions, [0, 1, 2, 3]);
    let (_, done) = api
        .put(&format!("/tasks/{}", ids[0]), json!({ "status": "done" }))
        .await;
    assert_eq!(done["completed_at"], "2026-03-14T15:09:26Z");
    let (_, project) = api.get(&format!("/projects/{pid}")).await;
    assert_eq!(
        (
            project["total_tasks"].as_i64(),
            project["completed_tasks"].as_i64(),
            project["completion_percentage"].as_i64()
        ),
        (Some(4), Some(1), Some(25))
    );

    let (status, changed) = api
        .put(
            &format!("/projects/{pid}"),
            json!({ "status": "in_progress" }),
        )
        .await;
    assert_eq!(
        (
            status,
            changed["status"].as_str(),
            changed["priority"].as_i64()
        ),
        (200, Some("in_progress"), Some(2))
    );
    let (_, mine) = api
        .get(&format!("/projects?person_id={sarah}&active_only=true"))
        .await;
    assert_eq!(titles(&mine), ["Plan anniversary dinner"]);
    let (_, completed) = api.get("/projects?status=completed").await;
    assert_eq!(completed["items"], json!([]));

    let cases = [
        (json!({ "title": "" }), "title"),
        (json!({ "title": "x", "priority": 7 }), "priority"),
        (json!({ "title": "x", "status": "paused" }), "status"),
        (json!({ "title": "x", "due_date": "June" }), "due_date"),
        (
            json!({ "title": "x", "person_id": uuid::Uuid::now_v7() }),
            "person_id",
        ),
        (
            json!({ "title": "x", "assigned_staff_id": uuid::Uuid::now_v7() }),
            "assigned_staff_id",
        ),
    ];
    for (body, field) in cases {
        let (status, problem) = api.post("/projects", body.clone()).await;
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
            &format!("/tasks/{}", ids[1]),
            json!({ "status": "finished" }),
        )
        .await;
    assert_eq!((status, problem["field"].as_str()), (422, Some("status")));
    let (status, problem) = api.get("/projects?status=sleeping").await;
    assert_eq!((status, problem["field"].as_str()), (422, Some("status")));

    assert_eq!(other.get(&format!("/projects/{pid}")).await.0, 404);
    assert_eq!(
        other
            .put(&format!("/projects/{pid}"), json!({ "title": "x" }))
            .await
            .0,
        404
    );
    assert_eq!(other.get(&format!("/projects/{pid}/tasks")).await.0, 404);
    assert_eq!(
        other
            .post(&format!("/projects/{pid}/tasks"), json!({ "title": "x" }))
            .await
            .0,
        404
    );
    assert_eq!(
        other
            .put(&format!("/tasks/{}", ids[0]), json!({ "title": "x" }))
            .await
            .0,
        404
    );
    let (_, theirs) = other.get("/projects").await;
    assert_eq!(theirs["items"], json!([]));
    app.finish().await;
}
both_backends!(projects_and_tasks);
