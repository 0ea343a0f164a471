//! Rate limits: a token bucket per API key and per signed-in staff member (the batch routes
//! with their own), 429 problem+json with `Retry-After` past it, the IETF `RateLimit-Policy`
//! and `RateLimit` headers on every answer, and on PostgreSQL one count for every process.

use crate::both_backends;
use crate::common::{spawn_app_with, Api, Backend};
use chrono::Duration;
use concierge::server::config::RateLimits;
use reqwest::Method;

fn header(h: &reqwest::header::HeaderMap, name: &str) -> String {
    h.get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

async fn requests_past_the_limit_wait(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.rate_limits = RateLimits::per_minute(5, 8)).await;
    let api = Api::setup(&app, "acme").await;
    let other = Api::setup(&app, "globex").await;
    for n in 0..5 {
        let (status, _, h) = api.send(Method::GET, "/persons", None).await;
        assert_eq!(status, 200, "request {n}");
        assert_eq!(header(&h, "ratelimit-policy"), "\"standard\";q=5;w=60");
        assert!(
            header(&h, "ratelimit").starts_with(&format!("\"standard\";r={};t=", 4 - n)),
            "{}",
            header(&h, "ratelimit")
        );
    }
    let (status, body, h) = api.send(Method::GET, "/persons", None).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(header(&h, "content-type"), "application/problem+json");
    assert_eq!(header(&h, "retry-after"), "12", "a token every 12 s");
    assert_eq!(header(&h, "ratelimit"), "\"standard\";r=0;t=12");
    // Another key has its own bucket, and the batch route its own.
    assert_eq!(other.get("/persons").await.0, 200);
    let (status, _, h) = api
        .send(
            Method::POST,
            "/activity/events",
            Some(serde_json::json!({ "events": [] })),
        )
        .await;
    assert_ne!(status, 429);
    assert_eq!(header(&h, "ratelimit-policy"), "\"batch\";q=8;w=60");

    // The portal counts per staff member.
    let session = app.session("admin@acme.test").await;
    for _ in 0..5 {
        assert_eq!(app.get_with("/clients", &session).await.status(), 200);
    }
    let page = app.get_with("/clients", &session).await;
    assert_eq!(page.status(), 429);
    assert!(page.headers().contains_key("retry-after"));

    // A token comes back every twelve seconds.
    app.clock.advance(Duration::seconds(13));
    assert_eq!(api.get("/persons").await.0, 200);
    assert_eq!(api.get("/persons").await.0, 429);

    if matches!(backend, Backend::Postgres) {
        // A second web process on the same database counts the same requests.
        let mut config = (*app.state().config).clone();
        config.addr = "127.0.0.1:0".parse().unwrap();
        let second = concierge::server::spawn(config, std::sync::Arc::new(app.clock.clone()))
            .await
            .expect("a second web process starts");
        let res = app
            .client
            .get(format!("http://{}/api/v1/persons", second.addr))
            .bearer_auth(&api.key)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 429, "the same bucket on the other process");
        let res = app
            .client
            .get(format!("http://{}/api/v1/persons", second.addr))
            .bearer_auth(&other.key)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        second.stop().await;
    }
    app.finish().await;
}
both_backends!(requests_past_the_limit_wait);
