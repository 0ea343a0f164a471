//! Setup, signing in and out, throttling, sessions, the origin guard, roles and headers.

use crate::both_backends;
use crate::common::{location, session_cookie, spawn_app, spawn_app_with, Backend, PASSWORD};
use chrono::Duration;
use concierge::domain::Role;
use concierge::server::Clock;

async fn first_run_setup(backend: Backend) {
    let app = spawn_app(backend).await;
    // With no organisation, every page leads to setup.
    for path in ["/", "/clients", "/login"] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 303, "{path}");
        assert_eq!(location(&res), "/setup", "{path}");
    }
    let page = app.client.get(app.url("/setup")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Create organisation"));

    // A bad submission names each bad field.
    let res = app
        .server_fn(
            "/srv/auth/setup_organisation",
            None,
            &[
                ("org_name", ""),
                ("org_slug", "Bad Slug"),
                ("timezone", "Mars/Base"),
                ("admin_name", "Ada"),
                ("admin_email", "not-an-email"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    for field in [
        "org_name",
        "org_slug",
        "timezone",
        "admin_email",
        "password",
    ] {
        assert!(
            body.contains(&format!("\"{field}\"")),
            "{field} missing in {body}"
        );
    }

    let res = app
        .server_fn(
            "/srv/auth/setup_organisation",
            None,
            &[
                ("org_name", "Acme Concierge"),
                ("org_slug", "acme"),
                ("timezone", "Europe/London"),
                ("admin_name", "Ada Admin"),
                ("admin_email", "ada@acme.test"),
                ("password", PASSWORD),
            ],
        )
        .await;
    let session = session_cookie(res.headers()).expect("setup signs the admin in");
    let home = app.get_with("/", &session).await;
    assert_eq!(home.status(), 200);
    assert!(home.text().await.unwrap().contains("Ada Admin"));

    // Setup happens once.
    let again = app.client.get(app.url("/setup")).send().await.unwrap();
    assert_eq!(location(&again), "/login");
    let res = app
        .server_fn(
            "/srv/auth/setup_organisation",
            None,
            &[
                ("org_name", "Evil"),
                ("org_slug", "evil"),
                ("timezone", "UTC"),
                ("admin_name", "Eve"),
                ("admin_email", "eve@evil.test"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_ne!(res.status(), 200);
    assert!(session_cookie(res.headers()).is_none());
    app.finish().await;
}
both_backends!(first_run_setup);

/// From anywhere but this machine, setup needs the code printed in the log; setups sent all at
/// once make exactly one organisation.
async fn setup_needs_its_code_and_happens_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let setup = |slug: String, code: &'static str, forwarded: bool| {
        let mut req = app
            .client
            .post(app.url("/srv/auth/setup_organisation"))
            .header("accept", "application/json");
        if forwarded {
            req = req.header("x-forwarded-for", "203.0.113.9");
        }
        req.form(&[
            ("org_name", "Acme Concierge"),
            ("org_slug", slug.as_str()),
            ("timezone", "Europe/London"),
            ("admin_name", "Ada Admin"),
            ("admin_email", &format!("ada@{slug}.test")),
            ("password", PASSWORD),
            ("setup_code", code),
        ])
        .send()
    };
    let orgs = || async {
        concierge::on_db!(&app.state().db, pool => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM organisations").fetch_one(pool).await).unwrap()
    };
    for code in ["", "WRONG-CODE0"] {
        let res = setup("acme".into(), code, true).await.unwrap();
        assert!(session_cookie(res.headers()).is_none());
        let body = res.text().await.unwrap();
        assert!(body.contains("\"setup_code\""), "{body}");
    }
    assert_eq!(orgs().await, 0);
    let code = concierge::server::services::auth::setup_code(app.state())
        .await
        .unwrap();
    let code: &'static str = Box::leak(code.to_lowercase().into_boxed_str());

    let answers =
        futures::future::join_all((0..8).map(|n| setup(format!("org-{n}"), code, n % 2 == 0)))
            .await;
    let signed_in = answers
        .iter()
        .filter(|r| session_cookie(r.as_ref().unwrap().headers()).is_some())
        .count();
    assert_eq!(signed_in, 1, "one setup succeeds");
    assert_eq!(orgs().await, 1, "one organisation");
    app.finish().await;
}
both_backends!(setup_needs_its_code_and_happens_once);

async fn sign_in_success_and_failure(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin("acme", "ada@acme.test").await;

    let res = app.sign_in("ADA@acme.test", PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/");
    let set_cookie = res
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(
            set_cookie.contains(attr),
            "{attr} missing from {set_cookie}"
        );
    }
    assert!(
        !set_cookie.contains("Secure"),
        "plain HTTP must not set Secure"
    );
    let session = session_cookie(res.headers()).unwrap();
    // tower-sessions' ids: 128 random bits, URL-safe base64.
    assert_eq!(session.len(), 22, "{session}");
    let home = app.get_with("/", &session).await;
    assert_eq!(home.status(), 200);

    for (email, password) in [
        ("ada@acme.test", "wrong password!!"),
        ("nobody@acme.test", PASSWORD),
    ] {
        let res = app.sign_in(email, password).await;
        assert_eq!(res.status(), 303);
        assert!(
            location(&res).starts_with("/login?error=invalid"),
            "{}",
            location(&res)
        );
        assert!(session_cookie(res.headers()).is_none());
    }

    // Signing out ends the session.
    let res = app
        .client
        .post(app.url("/logout"))
        .header("cookie", format!("concierge_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "/login");
    let cleared = res.headers().get("set-cookie").unwrap().to_str().unwrap();
    assert!(
        cleared.starts_with("concierge_session=;") && cleared.contains("Max-Age=0"),
        "the browser is told to forget the cookie: {cleared}"
    );
    assert_eq!(location(&app.get_with("/", &session).await), "/login");
    app.finish().await;
}
both_backends!(sign_in_success_and_failure);

async fn secure_cookie_behind_https(backend: Backend) {
    let app = spawn_app_with(backend, |c| {
        c.public_url = Some("https://concierge.example".into())
    })
    .await;
    app.create_admin("acme", "ada@acme.test").await;
    let res = app.sign_in("ada@acme.test", PASSWORD).await;
    let set_cookie = res.headers().get("set-cookie").unwrap().to_str().unwrap();
    // The __Host- prefix: Secure, Path=/, no Domain — a sibling host cannot set or read it.
    assert!(
        set_cookie.starts_with("__Host-concierge_session="),
        "{set_cookie}"
    );
    for attr in ["; Secure", "Path=/", "HttpOnly", "SameSite=Strict"] {
        assert!(set_cookie.contains(attr), "{attr} missing: {set_cookie}");
    }
    assert!(!set_cookie.contains("Domain"), "{set_cookie}");
    assert_eq!(
        res.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    let id = set_cookie
        .trim_start_matches("__Host-concierge_session=")
        .split(';')
        .next()
        .unwrap();
    let home = app
        .client
        .get(app.url("/"))
        .header("cookie", format!("__Host-concierge_session={id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), 200);
    // The plain name means nothing on an HTTPS installation.
    assert_eq!(location(&app.get_with("/", id).await), "/login");
    app.finish().await;
}
both_backends!(secure_cookie_behind_https);

async fn throttling(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.trusted_proxies = 1).await;
    app.create_admin("acme", "ada@acme.test").await;
    let attempt = |password: &'static str, from: &'static str| {
        app.client
            .post(app.url("/login"))
            .header("x-forwarded-for", from)
            .form(&[("email", "ada@acme.test"), ("password", password)])
            .send()
    };
    for _ in 0..5 {
        assert_eq!(
            attempt("wrong password!!", "203.0.113.9")
                .await
                .unwrap()
                .status(),
            303
        );
    }
    // Locked for this address, even with the right password.
    let res = attempt(PASSWORD, "203.0.113.9").await.unwrap();
    assert_eq!(res.status(), 429);
    let retry: u64 = res
        .headers()
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry), "retry-after {retry}");
    // Behind one trusted proxy, only the entry it wrote counts: an address the client puts
    // before it changes nothing.
    let res = attempt(PASSWORD, "198.51.100.7, 203.0.113.9")
        .await
        .unwrap();
    assert_eq!(res.status(), 429);

    // The real user, elsewhere, is not locked out.
    let res = attempt(PASSWORD, "198.51.100.7").await.unwrap();
    assert_eq!(res.status(), 303);
    assert!(session_cookie(res.headers()).is_some());

    // Once the pause has passed the attacker's address may try again (and back-off grows).
    app.clock.advance(Duration::seconds(31));
    assert_eq!(
        attempt("wrong password!!", "203.0.113.9")
            .await
            .unwrap()
            .status(),
        303
    );
    app.finish().await;
}
both_backends!(throttling);

/// Guesses sent all at once: each is counted before its password is checked, so no more than
/// the allowance are checked, and the hashing they cause runs a few at a time however many
/// arrive together.
async fn guesses_at_once(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.trusted_proxies = 1).await;
    app.create_admin("acme", "ada@acme.test").await;
    let attempt = |email: String, from: String| {
        app.client
            .post(app.url("/login"))
            .header("x-forwarded-for", from)
            .form(&[("email", email.as_str()), ("password", "wrong password!!")])
            .send()
    };
    let statuses = futures::future::join_all(
        (0..30).map(|_| attempt("ada@acme.test".into(), "203.0.113.9".into())),
    )
    .await;
    let checked = statuses
        .iter()
        .filter(|r| r.as_ref().unwrap().status() == 303)
        .count();
    let refused = statuses
        .iter()
        .filter(|r| r.as_ref().unwrap().status() == 429)
        .count();
    assert_eq!(
        (checked, refused),
        (5, 25),
        "five checked, the rest refused"
    );

    // Forty attempts on as many accounts from as many addresses are all checked, a few at a
    // time.
    let statuses = futures::future::join_all(
        (0..40).map(|n| attempt(format!("nobody{n}@acme.test"), format!("198.51.100.{n}"))),
    )
    .await;
    assert!(statuses.iter().all(|r| r.as_ref().unwrap().status() == 303));
    let most = concierge::server::auth::password::most_at_once();
    assert!(
        (1..=concierge::server::auth::password::at_once()).contains(&most),
        "{most} hashes ran at once"
    );
    app.finish().await;
}
both_backends!(guesses_at_once);

async fn session_rotation_and_expiry(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin("acme", "ada@acme.test").await;
    let first = app.session("ada@acme.test").await;

    // Signing in again with a session cookie present replaces it: the old id stops working.
    let res = app
        .client
        .post(app.url("/login"))
        .header("cookie", format!("concierge_session={first}"))
        .form(&[("email", "ada@acme.test"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let second = session_cookie(res.headers()).unwrap();
    assert_ne!(first, second);
    // The table holds a hash of the id, never the id itself.
    let db = app.state().db.clone();
    let stored = |value: String| {
        let db = db.clone();
        async move {
            let sql = "SELECT COUNT(*) FROM sessions WHERE token_hash = $1";
            concierge::on_db!(&db, pool => sqlx::query_scalar::<_, i64>(sql)
                .bind(value).fetch_one(pool).await)
            .unwrap()
        }
    };
    assert_eq!(stored(second.clone()).await, 0);
    let hash = concierge::server::auth::token::sha256_hex(&second);
    assert_eq!(stored(hash).await, 1);
    assert_eq!(location(&app.get_with("/", &first).await), "/login");
    assert_eq!(app.get_with("/", &second).await.status(), 200);

    // A planted (fixated) id is never adopted.
    let res = app
        .client
        .post(app.url("/login"))
        .header("cookie", "concierge_session=attacker-chosen")
        .form(&[("email", "ada@acme.test"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_ne!(session_cookie(res.headers()).unwrap(), "attacker-chosen");

    // Idle expiry: two hours without a request.
    app.clock.advance(Duration::minutes(121));
    assert_eq!(location(&app.get_with("/", &second).await), "/login");

    // Absolute expiry: active all the time, but 12 hours after sign-in it ends.
    let active = app.session("ada@acme.test").await;
    for _ in 0..7 {
        app.clock.advance(Duration::minutes(100));
        assert_eq!(app.get_with("/", &active).await.status(), 200);
    }
    app.clock.advance(Duration::minutes(21));
    assert_eq!(location(&app.get_with("/", &active).await), "/login");

    // Housekeeping clears sessions that have expired without being used again.
    let _idle = app.session("ada@acme.test").await;
    app.clock.advance(Duration::minutes(200));
    let purged = concierge::server::services::auth::purge_expired_sessions(app.state())
        .await
        .unwrap();
    assert!(purged >= 1, "purged {purged}");
    assert_eq!(
        concierge::server::services::auth::purge_expired_sessions(app.state())
            .await
            .unwrap(),
        0
    );
    app.finish().await;
}
both_backends!(session_rotation_and_expiry);

async fn signed_out_visitor_returns_after_sign_in(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin("acme", "ada@acme.test").await;
    let res = app
        .client
        .get(app.url("/clients?q=ada"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let to = location(&res);
    assert_eq!(to, "/login?next=%2Fclients%3Fq%3Dada");
    let login = app
        .client
        .get(app.url(&to))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        login.contains("value=\"/clients?q=ada\""),
        "next is carried by the form"
    );
    let res = app
        .client
        .post(app.url("/login"))
        .form(&[
            ("email", "ada@acme.test"),
            ("password", PASSWORD),
            ("next", "/clients?q=ada"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "/clients?q=ada");
    // Never off-site, however it is spelt (a browser drops the tab of `/%09/evil.example`).
    for next in [
        "//evil.example/x",
        "/\t/evil.example",
        "/\\evil.example",
        "https://evil.example",
    ] {
        let res = app
            .client
            .post(app.url("/login"))
            .form(&[
                ("email", "ada@acme.test"),
                ("password", PASSWORD),
                ("next", next),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(location(&res), "/", "{next:?}");
    }
    app.finish().await;
}
both_backends!(signed_out_visitor_returns_after_sign_in);

async fn cross_origin_requests_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin("acme", "ada@acme.test").await;
    let session = app.session("ada@acme.test").await;
    let cookie = format!("concierge_session={session}");

    let res = app
        .client
        .post(app.url("/login"))
        .header("origin", "https://evil.example")
        .form(&[("email", "ada@acme.test"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    let res = app
        .client
        .post(app.url("/srv/clients/save_client"))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "cross-site")
        .form(&[("full_name", "Mallory")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    let res = app
        .client
        .post(app.url("/logout"))
        .header("cookie", &cookie)
        .header("origin", "null")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(
        app.get_with("/", &session).await.status(),
        200,
        "the session survived"
    );

    // The same origin is fine.
    let res = app
        .client
        .post(app.url("/srv/auth/current_user"))
        .header("cookie", &cookie)
        .header("origin", app.base.clone())
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    app.finish().await;
}
both_backends!(cross_origin_requests_are_refused);

async fn roles_are_enforced(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin("acme", "ada@acme.test").await;
    app.add_staff("acme", "ann@acme.test", Role::Analyst).await;
    app.add_staff("acme", "cole@acme.test", Role::Concierge)
        .await;
    let admin = app.session("ada@acme.test").await;
    let analyst = app.session("ann@acme.test").await;
    let concierge = app.session("cole@acme.test").await;

    // Analysts read but do not write.
    let res = app
        .server_fn(
            "/srv/clients/save_client",
            Some(&analyst),
            &[("full_name", "Read Only")],
        )
        .await;
    assert_eq!(res.status(), 403);
    let res = app
        .server_fn(
            "/srv/clients/list_clients",
            Some(&analyst),
            &[("q", ""), ("page", "1")],
        )
        .await;
    assert_eq!(res.status(), 200);

    // Only admins manage staff.
    for session in [&analyst, &concierge] {
        let res = app
            .server_fn("/srv/staff/list_staff", Some(session), &[])
            .await;
        assert_eq!(res.status(), 403);
        let res = app
            .server_fn(
                "/srv/staff/add_staff",
                Some(session),
                &[
                    ("email", "x@acme.test"),
                    ("display_name", "X"),
                    ("role", "admin"),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(res.status(), 403);
    }
    let res = app
        .server_fn("/srv/staff/list_staff", Some(&admin), &[])
        .await;
    assert_eq!(res.status(), 200);
    let staff: serde_json::Value = res.json().await.unwrap();
    assert_eq!(staff.as_array().unwrap().len(), 3);

    // Malformed arguments are the caller's mistake: 400, not 500.
    let res = app
        .server_fn(
            "/srv/clients/list_clients",
            Some(&analyst),
            &[("q", ""), ("page", "two")],
        )
        .await;
    assert_eq!(res.status(), 400);

    // No session at all: 401.
    let res = app
        .server_fn(
            "/srv/clients/list_clients",
            None,
            &[("q", ""), ("page", "1")],
        )
        .await;
    assert_eq!(res.status(), 401);

    // An admin adds and deactivates staff; a deactivated account's sessions end at once.
    let res = app
        .server_fn(
            "/srv/staff/add_staff",
            Some(&admin),
            &[
                ("email", "new@acme.test"),
                ("display_name", "New Person"),
                ("role", "concierge"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Saved"));
    let cole_id = staff
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["email"] == "cole@acme.test")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = app
        .server_fn(
            "/srv/staff/set_staff_active",
            Some(&admin),
            &[("id", &cole_id), ("active", "false")],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(location(&app.get_with("/", &concierge).await), "/login");
    let res = app.sign_in("cole@acme.test", PASSWORD).await;
    assert!(location(&res).starts_with("/login?error"));
    app.finish().await;
}
both_backends!(roles_are_enforced);

async fn headers_on_every_response(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_admin("acme", "ada@acme.test").await;
    for path in ["/login", "/health", "/api/v1/persons", "/nowhere"] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        let h = res.headers();
        let csp = h
            .get("content-security-policy")
            .expect("csp")
            .to_str()
            .unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("'nonce-"), "{path}");
        // Not served over HTTPS: no HSTS, which would lock browsers out of plain HTTP.
        assert!(h.get("strict-transport-security").is_none(), "{path}");
        assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff");
        assert!(h.get("referrer-policy").is_some());
        assert!(h.get("x-correlation-id").is_some(), "{path}");
    }
    // The page's inline script carries the nonce the header names.
    let res = app.client.get(app.url("/login")).send().await.unwrap();
    let csp = res
        .headers()
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap()
        .to_string();
    assert!(res
        .text()
        .await
        .unwrap()
        .contains(&format!("nonce=\"{nonce}\"")));

    // A caller's correlation id is echoed; a bad one is replaced.
    let res = app
        .client
        .get(app.url("/health"))
        .header("x-correlation-id", "req-42")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers().get("x-correlation-id").unwrap(), "req-42");
    let res = app
        .client
        .get(app.url("/health"))
        .header("x-correlation-id", "bad id\twith spaces")
        .send()
        .await
        .unwrap();
    assert_ne!(
        res.headers().get("x-correlation-id").unwrap(),
        "bad id\twith spaces"
    );
    app.finish().await;
}
both_backends!(headers_on_every_response);

/// Two web processes on one database (as behind a load balancer): failures counted on either
/// lock the account on both, a session made by one is valid on the other, and periodic work
/// leased by one is not done again by the other in the same interval.
async fn web_processes_share_throttling_sessions_and_leases(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.trusted_proxies = 1).await;
    app.create_admin("acme", "ada@acme.test").await;
    let mut config = (*app.state().config).clone();
    config.addr = "127.0.0.1:0".parse().unwrap();
    let other = concierge::server::spawn(config, std::sync::Arc::new(app.clock.clone()))
        .await
        .expect("a second web process starts");
    let bases = [app.base.clone(), format!("http://{}", other.addr)];
    let attempt = |n: usize, password: &'static str| {
        app.client
            .post(format!("{}/login", bases[n % 2]))
            .header("x-forwarded-for", "203.0.113.9")
            .form(&[("email", "ada@acme.test"), ("password", password)])
            .send()
    };
    // Five failures, alternating between the processes: the account is locked on both.
    for n in 0..5 {
        let res = attempt(n, "wrong password!!").await.unwrap();
        assert_eq!(res.status(), 303, "failure {n}");
    }
    for n in 0..2 {
        let res = attempt(n, PASSWORD).await.unwrap();
        assert_eq!(res.status(), 429, "locked on process {n}");
    }
    // The pause passes; signing in on one process gives a session the other accepts.
    app.clock.advance(Duration::seconds(31));
    let res = attempt(0, PASSWORD).await.unwrap();
    assert_eq!(res.status(), 303);
    let session = session_cookie(res.headers()).expect("a session");
    for base in &bases {
        let res = app
            .client
            .get(format!("{base}/clients"))
            .header("cookie", format!("concierge_session={session}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "the session on {base}");
    }

    // One lease per interval, whichever process asks first.
    let now = app.clock.now();
    let until = now + Duration::minutes(10);
    let leases = concierge::server::db::leases::take;
    assert!(leases(&app.state().db, "job", now, until).await.unwrap());
    assert!(!leases(&other.state.db, "job", now, until).await.unwrap());
    let later = until + Duration::seconds(1);
    assert!(
        leases(&other.state.db, "job", later, later + Duration::minutes(10))
            .await
            .unwrap()
    );
    assert!(!leases(&app.state().db, "job", later, later).await.unwrap());

    // Housekeeping purges counters once their window is over: the sign-in cleared the
    // account's and the pair's; the address's stays until its window ends.
    let purge = concierge::server::auth::throttle::purge;
    assert_eq!(purge(&app.state().db, app.clock.now()).await.unwrap(), 0);
    app.clock.advance(Duration::minutes(16));
    assert_eq!(purge(&app.state().db, app.clock.now()).await.unwrap(), 1);
    other.stop().await;
    app.finish().await;
}
both_backends!(web_processes_share_throttling_sessions_and_leases);

/// Staff change their own password (the current one required; every other session ends, this
/// browser stays signed in), admins reset a colleague's (their sessions end), anyone can sign
/// out everywhere, and API keys can be made read-only and expiring from the Settings page.
async fn passwords_and_sessions(backend: Backend) {
    const NEW: &str = "a brand new passphrase";
    let app = spawn_app(backend).await;
    app.create_admin("acme", "ada@acme.test").await;
    app.add_staff("acme", "cole@acme.test", Role::Concierge)
        .await;
    let admin = app.session("ada@acme.test").await;
    let here = app.session("cole@acme.test").await;
    let elsewhere = app.session("cole@acme.test").await;
    let outcome = |body: serde_json::Value| body.to_string();

    // A wrong current password changes nothing.
    let res = app
        .server_fn(
            "/srv/auth/change_password",
            Some(&here),
            &[("current_password", "not it at all"), ("new_password", NEW)],
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(outcome(body.clone()).contains("current_password"), "{body}");
    assert_eq!(app.get_with("/", &elsewhere).await.status(), 200);

    // The right one: the other session ends, this browser gets a new one.
    let res = app
        .server_fn(
            "/srv/auth/change_password",
            Some(&here),
            &[("current_password", PASSWORD), ("new_password", NEW)],
        )
        .await;
    assert_eq!(res.status(), 200);
    let renewed = session_cookie(res.headers()).expect("a new session for this browser");
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(body.get("Saved").is_some(), "{body}");
    assert_eq!(location(&app.get_with("/", &elsewhere).await), "/login");
    assert_eq!(location(&app.get_with("/", &here).await), "/login");
    assert_eq!(app.get_with("/", &renewed).await.status(), 200);
    assert!(location(&app.sign_in("cole@acme.test", PASSWORD).await).starts_with("/login?error"));
    assert_eq!(app.sign_in("cole@acme.test", NEW).await.status(), 303);

    // An admin resets it: Cole's sessions end, the new one works.
    let res = app
        .server_fn("/srv/staff/list_staff", Some(&admin), &[])
        .await;
    let staff: serde_json::Value = res.json().await.unwrap();
    let id_of = |email: &str| {
        staff
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["email"] == email)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (cole, ada) = (id_of("cole@acme.test"), id_of("ada@acme.test"));
    let res = app
        .server_fn(
            "/srv/staff/reset_staff_password",
            Some(&admin),
            &[("id", &cole), ("new_password", "given by the admin")],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(location(&app.get_with("/", &renewed).await), "/login");
    assert_eq!(
        app.sign_in("cole@acme.test", "given by the admin")
            .await
            .status(),
        303
    );
    // Not one's own, and not by a concierge.
    let res = app
        .server_fn(
            "/srv/staff/reset_staff_password",
            Some(&admin),
            &[("id", &ada), ("new_password", "my own new password")],
        )
        .await;
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(body.get("Invalid").is_some(), "{body}");
    let cole_session = session_cookie(
        app.sign_in("cole@acme.test", "given by the admin")
            .await
            .headers(),
    )
    .unwrap();
    let res = app
        .server_fn(
            "/srv/staff/reset_staff_password",
            Some(&cole_session),
            &[("id", &ada), ("new_password", "taking over the org")],
        )
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(app.sign_in("ada@acme.test", PASSWORD).await.status(), 303);

    // Signing out everywhere ends every session of the account, this one included.
    let other = app.session("ada@acme.test").await;
    let res = app
        .server_fn("/srv/auth/sign_out_everywhere", Some(&admin), &[])
        .await;
    assert!(res.status().is_success() || res.status().is_redirection());
    assert_eq!(location(&app.get_with("/", &admin).await), "/login");
    assert_eq!(location(&app.get_with("/", &other).await), "/login");

    // A read-only key that expires, from the Settings page.
    let admin = app.session("ada@acme.test").await;
    let res = app
        .server_fn(
            "/srv/settings/create_key",
            Some(&admin),
            &[
                ("name", "reporting"),
                ("read_only", "on"),
                ("expires_in_days", "30"),
            ],
        )
        .await;
    let body: serde_json::Value = res.json().await.unwrap();
    let secret = body["Created"]["secret"]
        .as_str()
        .expect("a key")
        .to_string();
    let res = app
        .server_fn("/srv/settings/list_keys", Some(&admin), &[])
        .await;
    let keys: serde_json::Value = res.json().await.unwrap();
    let key = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "reporting")
        .unwrap();
    assert_eq!(key["read_only"], true);
    assert!(key["expires_at"].is_string(), "{key}");
    let res = app
        .client
        .post(app.url("/api/v1/persons"))
        .bearer_auth(&secret)
        .json(&serde_json::json!({ "full_name": "Nope" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = app
        .server_fn(
            "/srv/settings/create_key",
            Some(&admin),
            &[("name", "bad"), ("expires_in_days", "soon")],
        )
        .await;
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(outcome(body.clone()).contains("expires_in_days"), "{body}");
    app.finish().await;
}
both_backends!(passwords_and_sessions);
