//! `spawn_app` and helpers shared by the integration tests.

use chrono::{TimeZone, Utc};
use concierge::domain::Role;
use concierge::server::{spawn, Config, Running, TestClock};
use reqwest::header::{HeaderMap, SET_COOKIE};
use reqwest::redirect::Policy;
use serde_json::Value;
use std::sync::Arc;

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// How long one test may take before it fails instead of holding up the whole run.
pub const TEST_LIMIT: std::time::Duration = std::time::Duration::from_secs(180);

/// Runs a test body once per backend: always on SQLite, and on PostgreSQL when
/// TEST_POSTGRES_URL is set. A body that hangs fails after [`TEST_LIMIT`].
#[macro_export]
macro_rules! both_backends {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                tokio::time::timeout(
                    $crate::common::TEST_LIMIT,
                    super::$name($crate::common::Backend::Sqlite),
                )
                .await
                .expect("the test did not finish in time")
            }
            #[tokio::test]
            async fn postgres() {
                if $crate::common::postgres_url().is_some() {
                    tokio::time::timeout(
                        $crate::common::TEST_LIMIT,
                        super::$name($crate::common::Backend::Postgres),
                    )
                    .await
                    .expect("the test did not finish in time")
                } else {
                    eprintln!("TEST_POSTGRES_URL is not set: PostgreSQL run not possible here");
                }
            }
        }
    };
}

pub fn postgres_url() -> Option<String> {
    std::env::var("TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub clock: TestClock,
    pub running: Running,
    _dir: tempfile::TempDir,
    pg_database: Option<(String, String)>,
}

pub const PASSWORD: &str = "correct horse battery staple";

pub async fn fresh_postgres() -> (String, (String, String)) {
    let admin_url = postgres_url().expect("TEST_POSTGRES_URL");
    let name = format!("concierge_test_{}", uuid::Uuid::new_v4().simple());
    let pool = sqlx::PgPool::connect(&admin_url)
        .await
        .expect("connect to TEST_POSTGRES_URL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&pool)
        .await
        .expect("create test database");
    pool.close().await;
    let (base, _) = admin_url
        .rsplit_once('/')
        .expect("TEST_POSTGRES_URL has a database name");
    (format!("{base}/{name}"), (admin_url.clone(), name))
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let (database_url, pg_database) = match backend {
        Backend::Sqlite => (format!("sqlite://{}/test.db", dir.path().display()), None),
        Backend::Postgres => {
            let (url, db) = fresh_postgres().await;
            (url, Some(db))
        }
    };
    let mut config = Config {
        database_url,
        addr: "127.0.0.1:0".parse().unwrap(),
        site_root: dir.path().join("site"),
        // Tests that need the worker turn it on; the others keep their data still.
        run_worker: false,
        // Tests that need scheduled engagement runs turn them on, too.
        engagement_every: std::time::Duration::ZERO,
        ..Config::default()
    };
    tweak(&mut config);
    let clock = TestClock::new(Utc.with_ymd_and_hms(2026, 3, 14, 15, 9, 26).unwrap());
    let running = spawn(config, Arc::new(clock.clone()))
        .await
        .expect("app starts");
    let client = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    TestApp {
        base: format!("http://{}", running.addr),
        client,
        clock,
        running,
        _dir: dir,
        pg_database,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn state(&self) -> &concierge::server::AppState {
        &self.running.state
    }

    /// Stops the server and drops its PostgreSQL database.
    pub async fn finish(self) {
        self.running.stop().await;
        if let Some((admin_url, name)) = self.pg_database {
            if let Ok(pool) = sqlx::PgPool::connect(&admin_url).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&pool)
                    .await;
                pool.close().await;
            }
        }
    }

    /// Creates an organisation (if new) with an admin, through the same service the CLI uses.
    pub async fn create_admin(&self, org: &str, email: &str) {
        concierge::server::services::auth::create_admin(
            self.state(),
            org,
            email,
            PASSWORD,
            Some("Ada Admin"),
        )
        .await
        .expect("create admin");
    }

    /// Adds a staff member with `role` to the organisation `org_slug` as its first admin would.
    pub async fn add_staff(&self, org_slug: &str, email: &str, role: Role) {
        let org = concierge::server::db::orgs::by_slug(&self.state().db, org_slug)
            .await
            .unwrap()
            .unwrap();
        let email = concierge::domain::EmailAddress::parse(email).unwrap();
        concierge::server::services::auth::add_staff(
            self.state(),
            org.id,
            &email,
            "Sam Staff",
            role,
            PASSWORD,
        )
        .await
        .expect("add staff");
    }

    pub async fn api_key(&self, org: &str) -> String {
        concierge::server::services::api_keys::create(self.state(), org, "tests")
            .await
            .expect("api key")
            .1
    }

    /// Signs in through the form and returns the session cookie's value.
    pub async fn sign_in(&self, email: &str, password: &str) -> reqwest::Response {
        self.client
            .post(self.url("/login"))
            .form(&[("email", email), ("password", password)])
            .send()
            .await
            .unwrap()
    }

    pub async fn session(&self, email: &str) -> String {
        let res = self.sign_in(email, PASSWORD).await;
        assert_eq!(res.status(), 303, "sign-in should redirect");
        session_cookie(res.headers()).expect("a session cookie")
    }

    pub async fn get_with(&self, path: &str, session: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .header("cookie", format!("concierge_session={session}"))
            .send()
            .await
            .unwrap()
    }

    /// Calls a server function as the hydrated page would (form-encoded in, JSON out).
    pub async fn server_fn(
        &self,
        path: &str,
        session: Option<&str>,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut req = self
            .client
            .post(self.url(path))
            .header("accept", "application/json")
            .form(form);
        if let Some(s) = session {
            req = req.header("cookie", format!("concierge_session={s}"));
        }
        req.send().await.unwrap()
    }
}

/// The session token a response sets, if it sets one.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("concierge_session="))
        .map(|v| v.split(';').next().unwrap_or_default().to_string())
        .filter(|v| !v.is_empty())
}

pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// An API client for one organisation, with its key.
pub struct Api<'a> {
    pub app: &'a TestApp,
    pub key: String,
}

impl<'a> Api<'a> {
    /// Creates the organisation with an admin and an API key.
    pub async fn setup(app: &'a TestApp, org: &str) -> Api<'a> {
        app.create_admin(org, &format!("admin@{org}.test")).await;
        Api {
            app,
            key: app.api_key(org).await,
        }
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let mut req = self
            .app
            .client
            .request(method, self.app.url(&format!("/api/v1{path}")))
            .bearer_auth(&self.key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value, headers)
    }
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let (s, v, _) = self.send(reqwest::Method::GET, path, None).await;
        (s, v)
    }
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let (s, v, _) = self.send(reqwest::Method::POST, path, Some(body)).await;
        (s, v)
    }
    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        let (s, v, _) = self.send(reqwest::Method::PUT, path, Some(body)).await;
        (s, v)
    }
    pub async fn delete(&self, path: &str) -> u16 {
        self.send(reqwest::Method::DELETE, path, None).await.0
    }
}
