//! The staff pages as a browser without JavaScript sees them: server-rendered HTML.

use crate::both_backends;
use crate::common::{location, spawn_app, Backend};

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
