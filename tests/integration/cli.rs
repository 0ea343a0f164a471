//! The `concierge` binary's sub-commands, run as a user would run them.

use crate::common::{spawn_app_with, Backend};
use std::process::Command;

fn concierge(db_url: &str, args: &[&str]) -> (bool, String, String) {
    concierge_with(db_url, &[], args)
}

fn concierge_with(db_url: &str, env: &[(&str, &str)], args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_concierge"))
        .args(args)
        .env("DATABASE_URL", db_url)
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .output()
        .expect("run concierge");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// Makes the organisation `acme` with its admin.
fn acme_admin(db: &str) {
    let (ok, _, err) = concierge(
        db,
        &[
            "create-admin",
            "--org",
            "acme",
            "--email",
            "ada@acme.test",
            "--password",
            "long enough password",
        ],
    );
    assert!(ok, "{err}");
}

#[tokio::test]
async fn admin_and_api_keys_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/nested/folder/cli.db", dir.path().display());

    let (ok, out, _) = concierge(&db, &["migrate"]);
    assert!(ok && out.contains("Migrations applied"), "{out}");

    let (ok, _, err) = concierge(
        &db,
        &[
            "create-admin",
            "--org",
            "acme",
            "--email",
            "not-an-email",
            "--password",
            "long enough password",
        ],
    );
    assert!(!ok);
    assert!(err.contains("email"), "the error names the field: {err}");
    let (ok, _, err) = concierge(
        &db,
        &[
            "create-admin",
            "--org",
            "acme",
            "--email",
            "ada@acme.test",
            "--password",
            "short",
        ],
    );
    assert!(!ok && err.contains("password"), "{err}");
    let (ok, out, err) = concierge(
        &db,
        &[
            "create-admin",
            "--org",
            "acme",
            "--email",
            "ada@acme.test",
            "--password",
            "long enough password",
            "--name",
            "Ada",
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("Acme"), "{out}");

    let (ok, out, err) = concierge(
        &db,
        &["api-key", "create", "--org", "acme", "--name", "crm sync"],
    );
    assert!(ok, "{err}");
    let key = out.lines().last().unwrap().trim().to_string();
    assert!(key.starts_with("ck_") && key.len() > 40, "{key}");
    let (ok, _, err) = concierge(&db, &["api-key", "create", "--org", "nope", "--name", "x"]);
    assert!(!ok && err.contains("nope"), "{err}");

    // Demo data for the organisation; an unknown one is named in the error.
    let (ok, out, err) = concierge(&db, &["seed-demo", "--org", "acme"]);
    assert!(ok, "{err}");
    assert!(out.contains("Seeded acme: 12 people"), "{out}");
    let (ok, _, err) = concierge(&db, &["seed-demo", "--org", "nope"]);
    assert!(!ok && err.contains("nope"), "{err}");

    let (ok, out, _) = concierge(&db, &["api-key", "list", "--org", "acme"]);
    assert!(
        ok && out.contains("crm sync") && out.contains("active"),
        "{out}"
    );
    assert!(!out.contains(&key), "the key itself is never listed");
    let id = out.split_whitespace().next().unwrap().to_string();
    let (ok, _, err) = concierge(
        &db,
        &[
            "api-key",
            "create",
            "--org",
            "acme",
            "--name",
            "dashboard",
            "--read-only",
            "--expires-in-days",
            "30",
        ],
    );
    assert!(ok, "{err}");
    let (_, out, _) = concierge(&db, &["api-key", "list", "--org", "acme"]);
    let dashboard = out.lines().find(|l| l.contains("dashboard")).unwrap();
    assert!(
        dashboard.contains("read-only") && dashboard.contains("expires"),
        "{dashboard}"
    );

    // The key works against the server on the same database, until it is revoked.
    let app = spawn_app_with(Backend::Sqlite, |c| c.database_url = db.clone()).await;
    let list = |key: String| {
        let req = app.client.get(app.url("/api/v1/persons")).bearer_auth(key);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(list(key.clone()).await, 200);
    // The demo is a living portal: clients with dashboards full of things.
    let persons: serde_json::Value = app
        .client
        .get(app.url("/api/v1/persons?q=sarah"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sarah = persons["items"][0]["id"].as_str().unwrap().to_string();
    let dashboard: serde_json::Value = app
        .client
        .get(app.url(&format!("/api/v1/persons/{sarah}/dashboard")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        dashboard["stats"]["total_active_projects"], 1,
        "{dashboard}"
    );
    assert_eq!(dashboard["stats"]["total_conversations"], 1);
    assert_eq!(dashboard["stats"]["total_recommendations"], 1);
    assert_eq!(dashboard["upcoming_dates"].as_array().unwrap().len(), 3);
    assert_eq!(
        dashboard["identities"][0]["address"],
        "sarah.chen@example.com"
    );
    assert_eq!(dashboard["active_projects"][0]["completion_percentage"], 50);
    // A key is revoked within its organisation: another's id is not found there.
    let (ok, _, err) = concierge(
        &db,
        &[
            "create-admin",
            "--org",
            "globex",
            "--email",
            "hank@globex.test",
            "--password",
            "long enough password",
        ],
    );
    assert!(ok, "{err}");
    let (ok, _, err) = concierge(&db, &["api-key", "revoke", "--org", "globex", &id]);
    assert!(!ok && err.contains("no active API key"), "{err}");
    assert_eq!(list(key.clone()).await, 200);
    let (ok, out, _) = concierge(&db, &["api-key", "revoke", "--org", "acme", &id]);
    assert!(ok && out.contains("Revoked"), "{out}");
    assert_eq!(list(key.clone()).await, 401);
    let (ok, _, err) = concierge(&db, &["api-key", "revoke", "--org", "acme", &id]);
    assert!(!ok && err.contains("no active API key"), "{err}");
    app.finish().await;
}

#[tokio::test]
async fn channels_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/channels.db", dir.path().display());
    acme_admin(&db);
    let (ok, out, err) = concierge(
        &db,
        &[
            "channel",
            "set",
            "--org",
            "acme",
            "--channel",
            "webhook",
            "url=https://hooks.example.com/concierge",
            "secret=whsec_c2VjcmV0LXZhbHVl",
        ],
    );
    assert!(ok, "{err}");
    assert!(
        out.contains("url=https://hooks.example.com/concierge"),
        "{out}"
    );
    assert!(out.contains("secrets secret set"), "{out}");
    assert!(
        !out.contains("c2VjcmV0LXZhbHVl"),
        "the secret is never printed: {out}"
    );
    let (ok, _, err) = concierge(
        &db,
        &[
            "channel",
            "set",
            "--org",
            "acme",
            "--channel",
            "webhook",
            "colour=blue",
        ],
    );
    assert!(!ok);
    assert!(err.contains("no setting 'colour'"), "{err}");
    let (ok, _, err) = concierge(
        &db,
        &[
            "channel",
            "set",
            "--org",
            "acme",
            "--channel",
            "pigeon",
            "url=x",
        ],
    );
    assert!(!ok);
    assert!(err.contains("'pigeon' is not a channel"), "{err}");
    let (ok, _, err) = concierge(
        &db,
        &[
            "channel",
            "set",
            "--org",
            "nobody",
            "--channel",
            "webhook",
            "enabled=false",
        ],
    );
    assert!(!ok);
    assert!(err.contains("no organisation 'nobody'"), "{err}");
    let (ok, out, _) = concierge(
        &db,
        &[
            "channel",
            "set",
            "--org",
            "acme",
            "--channel",
            "webhook",
            "enabled=false",
        ],
    );
    assert!(ok && out.contains("is off"), "{out}");
}

/// Stored secrets are sealed with the installation's key (made once, in a file only its
/// owner reads), those stored before are sealed at the next start, and `secrets rotate` seals
/// them all again under a new key, from the key file or from `CONCIERGE_SECRET_KEY`.
#[tokio::test]
async fn secrets_are_sealed_and_rotated() {
    use concierge::server::secrets::{decode_key, Keyring};
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/secrets.db", dir.path().display());
    let key_file = dir.path().join("secret.key");
    acme_admin(&db);
    let (ok, _, err) = concierge(
        &db,
        &[
            "channel",
            "set",
            "--org",
            "acme",
            "--channel",
            "webhook",
            "url=https://hooks.example.com/concierge",
            "secret=whsec_c2VjcmV0LXZhbHVl",
        ],
    );
    assert!(ok, "{err}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only its owner reads the key");
    }
    let raw = || async {
        let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT secrets FROM channel_settings ORDER BY channel")
                .fetch_all(&pool)
                .await
                .unwrap();
        pool.close().await;
        rows.join(" ")
    };
    let stored = raw().await;
    assert!(
        !stored.contains("c2VjcmV0LXZhbHVl") && stored.contains("sealed:v1:"),
        "{stored}"
    );

    // A secret stored before sealing existed is sealed at the next start.
    let pool = sqlx::SqlitePool::connect(&db).await.unwrap();
    sqlx::query(
        "INSERT INTO channel_settings (org_id, channel, enabled, config, secrets, updated_at) \
         SELECT id, 'slack', 1, '{}', '{\"token\":\"xoxb-from-before\"}', created_at FROM organisations",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let (ok, _, err) = concierge(&db, &["migrate"]);
    assert!(ok, "{err}");
    let stored = raw().await;
    assert!(
        !stored.contains("xoxb") && stored.matches("sealed:v1:").count() == 2,
        "{stored}"
    );

    // Rotated: the key file holds a new key, which opens both; the old one opens neither.
    let old = decode_key(&std::fs::read_to_string(&key_file).unwrap(), "old").unwrap();
    let (ok, out, err) = concierge(&db, &["secrets", "rotate"]);
    assert!(ok && out.contains("Sealed 2 stored secrets"), "{out} {err}");
    let new = decode_key(&std::fs::read_to_string(&key_file).unwrap(), "new").unwrap();
    assert_ne!(old, new);
    assert!(!dir.path().join("secret.key.next").exists());
    let opened = |key: [u8; 32]| {
        let db = db.clone();
        async move {
            let pool = concierge::server::db::Db::connect(&db).await.unwrap();
            let org = concierge::server::db::orgs::by_slug(&pool, "acme")
                .await
                .unwrap()
                .unwrap();
            let keys = Keyring::new(&key, &[]);
            let settings = concierge::server::db::channels::settings(&pool, &keys, org.id).await;
            pool.close().await;
            settings.map(|s| {
                (
                    s["webhook"].secrets["secret"].clone(),
                    s["slack"].secrets["token"].clone(),
                )
            })
        }
    };
    assert_eq!(
        opened(new).await.unwrap(),
        (
            "whsec_c2VjcmV0LXZhbHVl".to_string(),
            "xoxb-from-before".to_string()
        )
    );
    assert!(opened(old).await.is_err());

    // With the key in the environment, the new key is given, and set afterwards.
    let env_key = concierge::server::secrets::encode_key(&new);
    let (ok, _, err) = concierge_with(
        &db,
        &[("CONCIERGE_SECRET_KEY", &env_key)],
        &["secrets", "rotate"],
    );
    assert!(!ok && err.contains("--new-key"), "{err}");
    let (ok, third, _) = concierge(&db, &["secrets", "new-key"]);
    assert!(ok);
    let (ok, out, err) = concierge_with(
        &db,
        &[("CONCIERGE_SECRET_KEY", &env_key)],
        &["secrets", "rotate", "--new-key", third.trim()],
    );
    assert!(
        ok && out.contains("Set CONCIERGE_SECRET_KEY"),
        "{out} {err}"
    );
    assert!(opened(decode_key(&third, "third").unwrap()).await.is_ok());
    assert!(opened(new).await.is_err());
}

/// `concierge backup` copies a SQLite database while the server writes to it; the copy passes
/// its integrity check, and a server started on it (the documented restore: the file in the
/// database's place) serves the same data.
#[tokio::test]
async fn backup_while_writing_and_restore() {
    use crate::common::{spawn_app_with, Api, Backend};
    let app = spawn_app_with(Backend::Sqlite, |_| {}).await;
    let api = Api::setup(&app, "acme").await;
    let url = app.state().config.database_url.clone();
    let dir = tempfile::tempdir().unwrap();
    let copies = (dir.path().join("during.db"), dir.path().join("after.db"));

    // People are written the whole time the first copy is made.
    let writing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let writer = {
        let (writing, client, base, key) = (
            writing.clone(),
            app.client.clone(),
            app.base.clone(),
            api.key.clone(),
        );
        tokio::spawn(async move {
            let mut n = 0;
            // At most a page of them, so that one read sees them all.
            while writing.load(std::sync::atomic::Ordering::SeqCst) && n < 150 {
                let res = client
                    .post(format!("{base}/api/v1/persons"))
                    .bearer_auth(&key)
                    .json(&serde_json::json!({ "full_name": format!("Written {n}") }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 201);
                n += 1;
            }
            n
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let during = copies.0.to_str().unwrap().to_string();
    let (ok, out, err) = tokio::task::spawn_blocking({
        let url = url.clone();
        move || concierge(&url, &["backup", &during])
    })
    .await
    .unwrap();
    assert!(ok && out.contains("integrity check passed"), "{out}{err}");
    writing.store(false, std::sync::atomic::Ordering::SeqCst);
    let written = writer.await.unwrap();
    assert!(written > 0);
    // Never over an existing file.
    let (ok, _, err) = concierge(&url, &["backup", copies.0.to_str().unwrap()]);
    assert!(!ok && err.contains("exists already"), "{err}");

    // Restored, the copy made once writing stopped serves exactly what the server holds.
    let (ok, _, err) = concierge(&url, &["backup", copies.1.to_str().unwrap()]);
    assert!(ok, "{err}");
    let (_, live) = api.get("/persons?limit=200").await;
    let restored_url = format!("sqlite://{}", copies.1.display());
    let restored = spawn_app_with(Backend::Sqlite, |c| c.database_url = restored_url).await;
    let there = Api {
        app: &restored,
        key: api.key.clone(),
    };
    let (status, copy) = there.get("/persons?limit=200").await;
    assert_eq!(status, 200, "the API key came along");
    assert_eq!(copy["items"], live["items"]);
    assert_eq!(copy["items"].as_array().unwrap().len(), written);

    // The copy made during the writes holds a consistent prefix of them.
    let during_url = format!("sqlite://{}", copies.0.display());
    let snapshot = spawn_app_with(Backend::Sqlite, |c| c.database_url = during_url).await;
    let at_the_time = Api {
        app: &snapshot,
        key: api.key.clone(),
    };
    let (_, early) = at_the_time.get("/persons?limit=200").await;
    let early = early["items"].as_array().unwrap().len();
    assert!((1..=written).contains(&early), "{early} of {written}");
    snapshot.finish().await;
    restored.finish().await;
    app.finish().await;
}
