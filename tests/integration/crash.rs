//! Worker processes killed mid-dispatch and stopped with SIGTERM: the real `concierge worker`
//! binary against the test database and a local webhook that never answers the first attempt.
//! Nothing is lost; a repeat carries the same idempotency key; a clean stop hands back what it
//! holds and exits 0. And what a real worker writes to its log holds no message words or
//! addresses.

use crate::both_backends;
use crate::common::{spawn_app, spawn_app_with, Api, Backend, TestApp};
use crate::delivery::{configure_webhook, person, verify_signature, wait_status};
use crate::fakes::{FakeHttp, Reply};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn start_worker(app: &TestApp) -> Child {
    Command::new(env!("CARGO_BIN_EXE_concierge"))
        .arg("worker")
        .env("DATABASE_URL", &app.state().config.database_url)
        .env("CONCIERGE_ALLOW_LOOPBACK", "1")
        .env("DELIVERY_LEASE_SECONDS", "3")
        .env("DELIVERY_TIMEOUT_SECONDS", "60")
        .env("WORKER_POLL_MILLISECONDS", "50")
        .env(
            "RUST_LOG",
            std::env::var("WORKER_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::null())
        .stderr(if std::env::var("WORKER_LOG").is_ok() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .spawn()
        .expect("start concierge worker")
}

async fn statuses(api: &Api<'_>) -> HashMap<String, usize> {
    let (_, list) = api.get("/deliveries?limit=200").await;
    let mut out = HashMap::new();
    for d in list["items"].as_array().unwrap() {
        *out.entry(d["status"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    out
}

async fn killed_mid_dispatch_nothing_lost(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.delivery.allow_loopback = true).await;
    let api = Api::setup(&app, "acme").await;
    let hook = FakeHttp::start().await;
    // The first attempt of each delivery hangs: the worker is mid-dispatch when it dies.
    hook.hang_first_by("webhook-id");
    configure_webhook(&app, &hook.url).await;
    let p = person(
        &api,
        json!({ "full_name": "Crash Test", "timezone": "UTC" }),
    )
    .await;
    let mut ids = Vec::new();
    for n in 0..12 {
        let (status, d) = api
            .post(
                "/send-utility",
                json!({ "person_id": p, "channel": "webhook", "body": format!("message {n}") }),
            )
            .await;
        assert_eq!(status, 202, "{d}");
        ids.push(d["id"].as_str().unwrap().to_string());
    }

    let mut first = start_worker(&app);
    hook.wait_for(12, 30).await;
    first.kill().expect("kill -9 the worker");
    let _ = first.wait();
    assert_eq!(
        statuses(&api).await.get("sending"),
        Some(&12),
        "held by the dead worker"
    );

    // A new worker takes them over once the dead one's leases run out, and sends them again.
    let mut second = start_worker(&app);
    for id in &ids {
        let d = wait_status(&api, id, &["sent"]).await;
        let events: Vec<&str> = d["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["event"].as_str().unwrap())
            .collect();
        assert_eq!(events, ["queued", "lease_expired", "sent"], "{d}");
        assert_eq!(d["attempts"], 2);
    }
    let requests = hook.requests();
    assert_eq!(
        requests.len(),
        24,
        "each delivery was attempted twice, no more"
    );
    let mut per_id: HashMap<String, usize> = HashMap::new();
    for r in &requests {
        verify_signature(r);
        *per_id.entry(r.header("webhook-id").unwrap()).or_default() += 1;
    }
    for id in &ids {
        assert_eq!(
            per_id.get(id),
            Some(&2),
            "the repeat of {id} carries the same idempotency key"
        );
    }

    // SIGTERM: the worker stops cleanly.
    stop(&mut second).await;
    app.finish().await;
}
both_backends!(killed_mid_dispatch_nothing_lost);

/// Sends SIGTERM and waits (without blocking the runtime the fakes answer on).
async fn stop(child: &mut Child) -> std::process::ExitStatus {
    let pid = child.id().to_string();
    let ok = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("send SIGTERM")
        .success();
    assert!(ok);
    for _ in 0..300 {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "the worker exits cleanly: {status}");
            return status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    panic!("the worker did not stop within 15 s of SIGTERM");
}

/// SIGTERM while sends are in flight: they finish (slowly, within the grace period) and are
/// recorded; the worker exits 0 and nothing is left claimed.
async fn sigterm_finishes_in_flight_work(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.delivery.allow_loopback = true).await;
    let api = Api::setup(&app, "acme").await;
    let hook = FakeHttp::start().await;
    hook.default_reply(Reply {
        status: 200,
        body: "{}".into(),
        delay: Duration::from_millis(1500),
    });
    configure_webhook(&app, &hook.url).await;
    let p = person(&api, json!({ "full_name": "Slow Poke", "timezone": "UTC" })).await;
    for n in 0..5 {
        api.post(
            "/send-utility",
            json!({ "person_id": p, "channel": "webhook", "body": format!("slow {n}") }),
        )
        .await;
    }
    let mut worker = start_worker(&app);
    hook.wait_for(5, 30).await;
    stop(&mut worker).await;
    let s = statuses(&api).await;
    assert_eq!(
        s.get("sent"),
        Some(&5),
        "in-flight sends finished and were recorded: {s:?}"
    );
    assert_eq!(hook.requests().len(), 5);
    app.finish().await;
}
both_backends!(sigterm_finishes_in_flight_work);

/// No personal data where it does not belong: a real worker at the `info` level sends a
/// message through the log channel and says that it did — but neither the words nor the
/// address appear in what it writes.
async fn the_log_keeps_no_words_or_addresses(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = Api::setup(&app, "acme").await;
    let p = person(
        &api,
        json!({ "full_name": "Quiet Person", "email": "quiet.person@example.com", "timezone": "UTC" }),
    )
    .await;
    let (status, d) = api
        .post(
            "/send-utility",
            json!({ "person_id": p, "type": "message", "subject": "Marmalade plans",
                    "body": "The secret word is marmalade" }),
        )
        .await;
    assert_eq!(status, 202, "{d}");
    let id = d["id"].as_str().unwrap().to_string();
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut worker = Command::new(env!("CARGO_BIN_EXE_concierge"))
        .arg("worker")
        .env("DATABASE_URL", &app.state().config.database_url)
        .env("WORKER_POLL_MILLISECONDS", "50")
        .env("RUST_LOG", "info")
        .stdout(log.reopen().unwrap())
        .stderr(log.reopen().unwrap())
        .spawn()
        .expect("start concierge worker");
    let sent = wait_status(&api, &id, &["sent"]).await;
    assert_eq!(sent["transport"], "log");
    worker.kill().unwrap();
    worker.wait().unwrap();
    let written = std::fs::read_to_string(log.path()).unwrap();
    assert!(
        written.contains("message recorded") && written.contains(&id),
        "the worker said nothing of the message: {written}"
    );
    for private in [
        "marmalade",
        "Marmalade",
        "quiet.person@example.com",
        "Quiet Person",
    ] {
        assert!(
            !written.contains(private),
            "the log holds '{private}': {written}"
        );
    }
    app.finish().await;
}
both_backends!(the_log_keeps_no_words_or_addresses);

/// A provider's callback that arrives while its delivery is still `sending` (the provider
/// answers the send slowly, and reports delivery before the answer is read) is kept: the
/// delivery is delivered, and the send's own answer, read afterwards, does not undo it.
async fn a_callback_while_sending_is_kept(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.delivery.allow_loopback = true).await;
    let api = Api::setup(&app, "acme").await;
    let hook = FakeHttp::start().await;
    hook.script([Reply {
        delay: Duration::from_secs(3),
        ..Reply::status(200, r#"{"ok":true}"#)
    }]);
    configure_webhook(&app, &hook.url).await;
    let p = person(
        &api,
        json!({ "full_name": "Slow Provider", "timezone": "UTC" }),
    )
    .await;
    let (status, d) = api
        .post(
            "/send-utility",
            json!({ "person_id": p, "channel": "webhook", "body": "hello" }),
        )
        .await;
    assert_eq!(status, 202, "{d}");
    let id = d["id"].as_str().unwrap().to_string();
    let mut worker = start_worker(&app);
    hook.wait_for(1, 30).await;
    wait_status(&api, &id, &["sending"]).await;
    let (status, body) = api
        .post(
            &format!("/deliveries/{id}/events"),
            json!({ "event": "delivered" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "delivered");
    // The send's answer comes back and is read; the callback stands.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (_, d) = api.get(&format!("/deliveries/{id}")).await;
    assert_eq!(d["status"], "delivered", "{d}");
    let events: Vec<&str> = d["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert!(events.contains(&"delivered"), "{d}");
    // …and the send's own facts are kept beside it, its lease given back.
    assert!(events.contains(&"sent"), "{d}");
    assert!(d["sent_at"].is_string(), "when it was sent: {d}");
    assert_eq!(d["transport"], "webhook", "{d}");
    assert_eq!(d["lease_owner"], Value::Null, "{d}");
    assert_eq!(d["lease_expires_at"], Value::Null, "{d}");
    assert_eq!(d["attempts"], 1, "{d}");
    assert_eq!(hook.requests().len(), 1, "sent once");
    worker.kill().unwrap();
    let _ = worker.wait();
    app.finish().await;
}
both_backends!(a_callback_while_sending_is_kept);
