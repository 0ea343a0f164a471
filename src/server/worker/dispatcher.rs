//! The dispatcher: claims due deliveries under a lease (utility before engagement), sends them
//! through their channel with bounded concurrency, and writes the outcomes back in batches.
//! A transient failure is retried with exponential backoff and jitter until the attempts run
//! out; a permanent one fails at once; a hard one also counts against the address. A lease that
//! runs out (its worker died) hands the delivery back, to be sent again with the same
//! idempotency key. On shutdown it stops claiming, lets in-flight sends finish for a grace
//! period, and hands back whatever is left.

use crate::domain::delivery::{backoff, Delivery, DeliveryStatus};
use crate::server::channels::{Failure, OrgTransports, SendError};
use crate::server::db::channels;
use crate::server::db::deliveries::{self as repo, Outcome};
use crate::server::AppState;
use rand::Rng;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinSet;
use uuid::Uuid;

/// How long in-flight sends may take to finish once shutdown begins.
const GRACE: Duration = Duration::from_secs(10);
/// How long an organisation's channel settings are reused before being read again.
const SETTINGS_TTL: Duration = Duration::from_secs(5);
/// How often leases that ran out are looked for.
const REAP_EVERY: Duration = Duration::from_secs(5);
/// The most deliveries claimed in one go.
const MAX_CLAIM: usize = 256;

/// A name for this worker's leases: unique per process run.
pub fn worker_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".into());
    format!("{host}:{}:{}", std::process::id(), Uuid::new_v4().simple())
}

struct TransportCache {
    by_org: HashMap<Uuid, (Instant, OrgTransports)>,
}

impl TransportCache {
    async fn get(&mut self, state: &AppState, org_id: Uuid) -> OrgTransports {
        if let Some((at, t)) = self.by_org.get(&org_id) {
            if at.elapsed() < SETTINGS_TTL {
                return t.clone();
            }
        }
        let settings = match channels::settings(&state.db, org_id).await {
            Ok(s) => s,
            Err(err) => {
                tracing::warn!(org = %org_id, error = %err, "could not read channel settings");
                Default::default()
            }
        };
        let t = state.channels.for_org(&state.db, &settings);
        self.by_org.insert(org_id, (Instant::now(), t.clone()));
        t
    }
}

/// Sends one claimed delivery and says what became of it.
pub async fn attempt(state: &AppState, transports: &OrgTransports, d: Delivery) -> Outcome {
    let transport = transports.get(d.channel);
    let limit = state.config.delivery.send_timeout + Duration::from_secs(5);
    let result = match tokio::time::timeout(limit, transport.send(&d)).await {
        Ok(r) => r,
        Err(_) => Err(SendError::transient(format!(
            "no answer within {} seconds",
            limit.as_secs()
        ))),
    };
    let now = state.clock.now();
    let cfg = &state.config.delivery;
    let mut outcome = Outcome {
        id: d.id,
        org_id: d.org_id,
        owner: d.lease_owner.clone(),
        status: DeliveryStatus::Sent,
        event: "sent",
        attempt: d.attempts,
        detail: None,
        next_attempt_at: d.next_attempt_at,
        transport: Some(transport.name().to_string()),
        provider_message_id: None,
        at: now,
        reminder_rule_id: d.reminder_rule_id,
        identity_id: d.identity_id,
        hard: false,
    };
    let label = match result {
        Ok(sent) => {
            outcome.provider_message_id = sent.provider_message_id;
            "sent"
        }
        Err(err) => {
            outcome.detail = Some(err.message);
            match err.failure {
                Failure::Transient { retry_after } if d.attempts < d.max_attempts => {
                    let jitter = rand::thread_rng().gen::<f64>();
                    let mut wait = backoff(
                        d.attempts.max(1) as u32,
                        cfg.backoff_base,
                        cfg.backoff_cap,
                        jitter,
                    );
                    if let Some(r) = retry_after.and_then(|r| chrono::Duration::from_std(r).ok()) {
                        wait = wait.max(r.min(cfg.backoff_cap));
                    }
                    outcome.status = DeliveryStatus::Pending;
                    outcome.event = "attempt_failed";
                    outcome.next_attempt_at = Some(now + wait);
                    "retry"
                }
                Failure::Transient { .. } | Failure::Permanent => {
                    outcome.status = DeliveryStatus::Failed;
                    outcome.event = "failed";
                    "failed"
                }
                Failure::Hard => {
                    outcome.status = DeliveryStatus::Failed;
                    outcome.event = "bounced";
                    outcome.hard = true;
                    "failed"
                }
            }
        }
    };
    state.metrics.attempt(d.channel.as_str(), label);
    outcome
}

/// SQLite has one writer: the dispatcher's own claims and records take turns in-process
/// instead of meeting in SQLite's busy handler, whose sleeps would dominate. PostgreSQL needs
/// no such turn.
#[derive(Clone, Default)]
struct WriteLock(Arc<tokio::sync::Mutex<()>>);

impl WriteLock {
    async fn turn(&self, state: &AppState) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match state.db {
            crate::server::db::Db::Sqlite(_) => Some(self.0.lock().await),
            crate::server::db::Db::Postgres(_) => None,
        }
    }
}

/// Writes outcomes as they come, in batches: whatever has arrived while the last batch was
/// being written goes in the next one.
async fn record_loop(state: AppState, mut rx: mpsc::Receiver<Outcome>, writes: WriteLock) {
    let disable_after = state.config.delivery.disable_after;
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < 1024 {
            match rx.try_recv() {
                Ok(o) => batch.push(o),
                Err(_) => break,
            }
        }
        let mut tries = 0;
        loop {
            let result = {
                let _turn = writes.turn(&state).await;
                repo::record(&state.db, &batch, disable_after).await
            };
            match result {
                Ok(_) => break,
                Err(err) if tries < 5 => {
                    tries += 1;
                    tracing::warn!(error = %err, tries, "could not record delivery outcomes; trying again");
                    tokio::time::sleep(Duration::from_millis(200 * tries)).await;
                }
                Err(err) => {
                    // The leases will run out and the deliveries be sent again, with the same
                    // idempotency keys.
                    tracing::error!(error = %err, count = batch.len(), "delivery outcomes were not recorded");
                    break;
                }
            }
        }
    }
}

/// Hands back deliveries whose worker's lease ran out.
pub async fn reap(state: &AppState) -> Result<usize, sqlx::Error> {
    let now = state.clock.now();
    let expired = repo::expired_leases(&state.db, now, 500).await?;
    if expired.is_empty() {
        return Ok(0);
    }
    let outcomes: Vec<Outcome> = expired
        .into_iter()
        .map(|d| {
            let give_up = d.attempts >= d.max_attempts;
            Outcome {
                id: d.id,
                org_id: d.org_id,
                owner: d.lease_owner.clone(),
                status: if give_up {
                    DeliveryStatus::Failed
                } else {
                    DeliveryStatus::Pending
                },
                event: "lease_expired",
                attempt: d.attempts,
                detail: Some(
                    "the worker sending it stopped before it finished; it may have gone out — \
                     a repeat carries the same idempotency key"
                        .into(),
                ),
                next_attempt_at: Some(now),
                transport: None,
                provider_message_id: None,
                at: now,
                reminder_rule_id: d.reminder_rule_id,
                identity_id: None,
                hard: false,
            }
        })
        .collect();
    let landed = repo::record(&state.db, &outcomes, state.config.delivery.disable_after).await?;
    if landed > 0 {
        tracing::warn!(count = landed, "handed back deliveries whose lease ran out");
    }
    Ok(landed)
}

/// Runs until `stop` turns true.
pub async fn run(state: AppState, owner: String, mut stop: watch::Receiver<bool>) {
    let cfg = state.config.delivery.clone();
    let permits = Arc::new(Semaphore::new(cfg.concurrency.max(1)));
    let batch_at = (cfg.concurrency / 4).max(1);
    let (tx, rx) = mpsc::channel::<Outcome>(cfg.concurrency.max(1) * 4);
    let writes = WriteLock::default();
    let recorder = tokio::spawn(record_loop(state.clone(), rx, writes.clone()));
    let mut inflight: JoinSet<()> = JoinSet::new();
    let mut cache = TransportCache {
        by_org: HashMap::new(),
    };
    let mut last_reap: Option<Instant> = None;
    while !*stop.borrow() {
        while inflight.try_join_next().is_some() {}
        if last_reap.is_none_or(|t| t.elapsed() >= REAP_EVERY) {
            if let Err(err) = reap(&state).await {
                tracing::warn!(error = %err, "could not look for expired leases");
            }
            last_reap = Some(Instant::now());
        }
        // Claim in batches: with sends in flight, wait until a quarter of the slots are free
        // rather than paying a round trip for every one that finishes.
        let free = permits.available_permits();
        if free == 0 || (free < batch_at && !inflight.is_empty()) {
            tokio::select! {
                _ = inflight.join_next() => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        let now = state.clock.now();
        let lease_until = now + cfg.lease;
        let turn = writes.turn(&state).await;
        let claimed = match repo::claim(
            &state.db,
            &owner,
            now,
            lease_until,
            // A few batches ahead of the free slots: claims cost a round trip each, and the
            // claimed wait their turn below under their lease.
            (cfg.concurrency.max(1) * 4).max(free).min(MAX_CLAIM) as i64,
        )
        .await
        {
            Ok(c) => c,
            Err(err) => {
                tracing::warn!(error = %err, "could not claim deliveries");
                Vec::new()
            }
        };
        drop(turn);
        if claimed.is_empty() {
            tokio::select! {
                _ = state.wake.notified() => {}
                _ = tokio::time::sleep(cfg.poll) => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        for d in claimed {
            // Stopping: whatever is claimed but not started is handed back below.
            let permit = tokio::select! {
                p = permits.clone().acquire_owned() => p,
                _ = stop.changed() => break,
            };
            let Ok(permit) = permit else {
                break;
            };
            let transports = cache.get(&state, d.org_id).await;
            let tx = tx.clone();
            let state = state.clone();
            inflight.spawn(async move {
                let outcome = attempt(&state, &transports, d).await;
                let _ = tx.send(outcome).await;
                drop(permit);
            });
        }
    }
    // Shutting down: no more claims. Let what is in flight finish, then write it all down.
    let finished = tokio::time::timeout(GRACE, async {
        while inflight.join_next().await.is_some() {}
    })
    .await
    .is_ok();
    if !finished {
        inflight.abort_all();
        while inflight.join_next().await.is_some() {}
    }
    drop(tx);
    let _ = recorder.await;
    match repo::release(&state.db, &owner, state.clock.now()).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(count = n, "handed back unfinished deliveries"),
        Err(err) => {
            tracing::warn!(error = %err, "could not hand back unfinished deliveries; their leases will run out")
        }
    }
}
