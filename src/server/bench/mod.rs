//! `concierge bench`: measures the delivery engine on generated data and prints the numbers.
//!
//! - `dispatch`: N deliveries queued to the webhook channel, sent by one worker to a local
//!   HTTP sink; deliveries per second from the first claim until every status is written.
//! - `reminders`: M scheduled reminders due over the next seconds; how late each one was
//!   sent (the sink's receipt minus its due time), as p50 / p99 / max.
//!
//! - `engagement`: a generated organisation of people and activity; whole engagement runs
//!   timed end to end, phase by phase (see [`engagement`]).
//!
//! - `pages`: a generated organisation of a hundred thousand clients; every staff page and
//!   the main API lists under concurrent sessions against the real server (see [`pages`]).
//!
//! Each run uses a fresh database: a temporary SQLite file, or `--database-url` (a PostgreSQL
//! database that will be filled with benchmark data).

pub mod engagement;
pub mod orgdata;
pub mod pages;

use super::db::Db;
use super::services::channels::set_for_org;
use super::services::deliveries::{queue, NewDelivery};
use super::{AppState, Config, SystemClock};
use crate::domain::dates::Channel;
use crate::domain::delivery::{DeliveryKind, DeliverySource};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A delivery id and when the sink received it.
type Receipt = (String, DateTime<Utc>);

/// What the sink saw.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<Receipt>>>);

async fn start_sink() -> anyhow::Result<(String, Sink)> {
    let sink = Sink::default();
    let seen = sink.clone();
    let app = axum::Router::new().fallback(move |headers: axum::http::HeaderMap| {
        let seen = seen.clone();
        async move {
            let id = headers
                .get("webhook-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            seen.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((id, Utc::now()));
            "{}"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/sink", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((url, sink))
}

pub(crate) async fn setup(
    database_url: Option<String>,
) -> anyhow::Result<(AppState, tempfile_dir::Dir)> {
    let dir = tempfile_dir::Dir::new()?;
    let url = database_url.unwrap_or_else(|| format!("sqlite://{}/bench.db", dir.path()));
    let db = Db::connect(&url).await?;
    db.migrate().await?;
    let mut config = Config {
        database_url: url,
        ..Config::default()
    };
    config.delivery.allow_loopback = true;
    let options = leptos::config::LeptosOptions::builder()
        .output_name("concierge")
        .build();
    let state = AppState::new(db, Arc::new(SystemClock), config, options)?;
    Ok((state, dir))
}

/// An organisation whose webhook posts to the sink, and its admin as the actor.
async fn org_with_webhook(
    state: &AppState,
    slug: &str,
    sink: &str,
) -> anyhow::Result<(uuid::Uuid, super::auth::Actor)> {
    let explain = |e: super::error::ServiceError| anyhow::anyhow!("{e}");
    let (org, staff_id) = super::services::auth::create_admin(
        state,
        slug,
        &format!("bench@{slug}.test"),
        "benchmark password 1",
        None,
    )
    .await
    .map_err(explain)?;
    let settings: BTreeMap<String, String> = [
        ("url".to_string(), sink.to_string()),
        (
            "secret".to_string(),
            "whsec_YmVuY2htYXJrLXNlY3JldA==".to_string(),
        ),
    ]
    .into();
    set_for_org(state, slug, "webhook", &settings, Some(true))
        .await
        .map_err(explain)?;
    let actor = super::auth::Actor::Staff(crate::domain::SessionUser {
        staff_id,
        org_id: org.id,
        org_name: org.name.clone(),
        email: format!("bench@{slug}.test"),
        display_name: "Benchmark".into(),
        role: crate::domain::Role::Admin,
    });
    Ok((org.id, actor))
}

async fn count_status(state: &AppState, status: &str) -> anyhow::Result<i64> {
    let sql = "SELECT COUNT(*) FROM deliveries WHERE status = $1";
    Ok(
        crate::on_db!(&state.db, pool => sqlx::query_scalar(sql).bind(status).fetch_one(pool).await)?,
    )
}

/// This process's peak resident memory in MB.
pub(crate) fn rss_mb() -> Option<f64> {
    status_mb(&std::fs::read_to_string("/proc/self/status").ok()?, "VmHWM")
}

/// A memory figure (`VmHWM`, `VmRSS`, …) of a `/proc/<pid>/status`, in MB.
fn status_mb(status: &str, field: &str) -> Option<f64> {
    let line = status.lines().find(|l| {
        l.strip_prefix(field)
            .is_some_and(|rest| rest.starts_with(':'))
    })?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// The `p` quantile (0–1) of `sorted` by the nearest-rank method; NaN when empty.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted
        .get(((sorted.len() as f64 * p).ceil() as usize).saturating_sub(1))
        .copied()
        .unwrap_or(f64::NAN)
}

/// Dispatcher throughput to a local HTTP sink.
pub async fn dispatch(
    count: usize,
    concurrency: usize,
    database_url: Option<String>,
    outbox_only: bool,
) -> anyhow::Result<()> {
    let (mut state, _dir) = setup(database_url).await?;
    let (sink_url, sink) = start_sink().await?;
    let (org, _) = org_with_webhook(&state, "bench", &sink_url).await?;
    if outbox_only {
        // Without the webhook, deliveries go to the log channel: the outbox's own cost.
        crate::server::db::channels::remove(&state.db, org, "webhook").await?;
    }
    let mut config = (*state.config).clone();
    config.delivery.concurrency = concurrency;
    state.config = Arc::new(config);
    println!(
        "dispatch: queueing {count} deliveries ({} database)…",
        state.db.backend()
    );
    let now = Utc::now();
    for n in 0..count {
        queue(
            &state,
            NewDelivery {
                org_id: org,
                person: None,
                staff_id: None,
                kind: DeliveryKind::Utility,
                source: DeliverySource::Api,
                channel: Some(Channel::Webhook),
                address: None,
                subject: Some("Benchmark".into()),
                body: format!("Benchmark message {n}: your appointment is at 10am."),
                metadata: serde_json::json!({}),
                idempotency_key: format!("bench:{n}"),
                correlation_id: None,
                reminder_rule_id: None,
                occurrence: None,
                conversation_id: None,
                due_at: now,
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let started = Instant::now();
    let worker = super::worker::spawn(&state);
    loop {
        let sent = count_status(&state, "sent").await? as usize;
        if sent >= count {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            anyhow::bail!("only {sent} of {count} were sent in 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    worker.shutdown().await;
    let received = sink.0.lock().unwrap_or_else(|e| e.into_inner()).len();
    println!(
        "dispatch: {count} deliveries sent and recorded in {elapsed:.2} s = {:.0} deliveries/s \
         (concurrency {concurrency}; the sink received {received}; peak RSS {:.0} MB)",
        count as f64 / elapsed,
        rss_mb().unwrap_or(0.0)
    );
    state.db.close().await;
    Ok(())
}

/// How late due reminders are sent.
pub async fn reminders(
    count: usize,
    spread_secs: u64,
    database_url: Option<String>,
) -> anyhow::Result<()> {
    use crate::domain::dates::ReminderRuleInput;
    let (state, _dir) = setup(database_url).await?;
    let (sink_url, sink) = start_sink().await?;
    let (_, actor) = org_with_webhook(&state, "bench", &sink_url).await?;
    let person = super::services::persons::create(
        &state,
        &actor,
        &crate::domain::PersonInput {
            full_name: Some("Benchmark Person".into()),
            timezone: Some("Europe/London".into()),
            ..Default::default()
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    // Due times spread evenly over the coming seconds, starting once everything is written.
    let lead = Duration::from_secs(2 + count as u64 / 500);
    let first_due = Utc::now() + chrono::Duration::from_std(lead)?;
    println!(
        "reminders: creating {count} reminders due over {spread_secs} s ({} database)…",
        state.db.backend()
    );
    let mut due = BTreeMap::new();
    for n in 0..count {
        let at = first_due
            + chrono::Duration::milliseconds(
                (spread_secs as i64 * 1000 * n as i64) / count.max(1) as i64,
            );
        let rule = super::services::reminders::create(
            &state,
            &actor,
            &ReminderRuleInput {
                person_id: Some(person.id.to_string()),
                reminder_type: Some("scheduled".into()),
                scheduled_datetime: Some(at.to_rfc3339()),
                channel_type: Some("webhook".into()),
                audience: Some("client".into()),
                message: Some(format!("Reminder {n}")),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        due.insert(rule.id, at);
    }
    if Utc::now() > first_due {
        println!(
            "reminders: note — creating them took longer than the lead time; early ones start late"
        );
    }
    let worker = super::worker::spawn(&state);
    let deadline = Instant::now() + Duration::from_secs(spread_secs + 60);
    while count_status(&state, "sent").await? < count as i64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    worker.shutdown().await;
    // Match each receipt to its reminder through the delivery.
    let sql = "SELECT id, reminder_rule_id FROM deliveries WHERE reminder_rule_id IS NOT NULL";
    let rows: Vec<(uuid::Uuid, uuid::Uuid)> =
        crate::on_db!(&state.db, pool => sqlx::query_as(sql).fetch_all(pool).await)?;
    let rule_of: BTreeMap<String, uuid::Uuid> =
        rows.into_iter().map(|(d, r)| (d.to_string(), r)).collect();
    let mut late: Vec<f64> = sink
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter_map(|(id, at)| {
            let due = due.get(rule_of.get(id)?)?;
            Some((*at - *due).num_milliseconds() as f64 / 1000.0)
        })
        .collect();
    late.sort_by(|a, b| a.total_cmp(b));
    if late.len() < count {
        println!("reminders: only {} of {count} arrived", late.len());
    }
    let pct = |p: f64| percentile(&late, p);
    println!(
        "reminders: {} sent; lateness p50 {:.3} s, p99 {:.3} s, max {:.3} s (worker poll {} ms; peak RSS {:.0} MB)",
        late.len(),
        pct(0.50),
        pct(0.99),
        late.last().copied().unwrap_or(f64::NAN),
        state.config.delivery.poll.as_millis(),
        rss_mb().unwrap_or(0.0)
    );
    state.db.close().await;
    Ok(())
}

/// A temporary folder removed on drop, without a dependency for it.
mod tempfile_dir {
    pub struct Dir(std::path::PathBuf);

    impl Dir {
        pub fn new() -> std::io::Result<Self> {
            let path = std::env::temp_dir()
                .join(format!("concierge-bench-{}", uuid::Uuid::new_v4().simple()));
            std::fs::create_dir_all(&path)?;
            Ok(Self(path))
        }

        pub fn path(&self) -> String {
            self.0.display().to_string()
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
