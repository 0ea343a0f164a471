//! The dispatcher: claims due deliveries under a lease (utility before engagement), checks each
//! engagement message against the policy once more, sends them through their channel with
//! bounded concurrency, and writes the outcomes back in batches.
//!
//! A transient failure is retried with exponential backoff and jitter until the attempts run
//! out; a permanent one fails at once; a hard one also counts against the address. Nothing is
//! ever recorded as sent that did not go out, and no outcome is dropped:
//! - an organisation's channel settings that cannot be read make its deliveries wait and try
//!   again (never fall back to the log);
//! - outcomes that cannot be written (the database is away) are kept, and written once it is
//!   back; while they wait, the dispatcher claims nothing new;
//! - the leases of everything claimed are renewed while the worker holds it, so a claim runs
//!   out only when its worker has died; this worker never hands back its own claims.
//!
//! On shutdown it stops claiming, lets in-flight sends finish for a grace period, writes what
//! it can, and hands back whatever is left.

use crate::domain::delivery::{Delivery, DeliveryKind, DeliveryStatus};
use crate::server::channels::OrgTransports;
use crate::server::db::channels;
use crate::server::db::deliveries::{self as repo, Outcome};
use crate::server::services::deliveries::{attempt, deferred, record};
use crate::server::services::engagement::{recheck, Recheck};
use crate::server::AppState;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinSet;
use uuid::Uuid;

/// How long in-flight sends may take to finish once shutdown begins.
const GRACE: Duration = Duration::from_secs(10);
/// How long outcomes are still tried once shutdown begins (the database may be coming back).
const FLUSH: Duration = Duration::from_secs(30);
/// How long an organisation's channel settings are reused before being read again.
const SETTINGS_TTL: Duration = Duration::from_secs(5);
/// How often leases that ran out are looked for.
const REAP_EVERY: Duration = Duration::from_secs(5);
/// The most deliveries claimed in one go.
const MAX_CLAIM: usize = 256;
/// The most outcomes kept waiting for the database before sends stop being recorded at all
/// (the channel to the recorder then fills, and sends wait for it).
const BACKLOG: usize = 4096;

/// A name for this worker's leases: unique per process run.
pub fn worker_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".into());
    format!("{host}:{}:{}", std::process::id(), Uuid::new_v4().simple())
}

/// The shortest lease that holds: renewed every third of it, a lease outlives a renewal that
/// is late by one round.
pub const MIN_LEASE_SECONDS: i64 = 3;

/// Checks that the delivery settings can keep their promise; refused at start otherwise.
pub fn check_config(cfg: &crate::server::config::DeliveryConfig) -> Result<(), String> {
    if cfg.lease.num_seconds() < MIN_LEASE_SECONDS {
        return Err(format!(
            "DELIVERY_LEASE_SECONDS must be at least {MIN_LEASE_SECONDS}: leases are renewed every \
             third of it, and a shorter one could run out between renewals while its worker is sending"
        ));
    }
    Ok(())
}

struct TransportCache {
    by_org: HashMap<Uuid, (Instant, OrgTransports)>,
}

impl TransportCache {
    /// The organisation's transports; an error when its settings cannot be read (then nothing
    /// of it is sent — sending to the log would record as sent what went nowhere).
    async fn get(&mut self, state: &AppState, org_id: Uuid) -> Result<OrgTransports, sqlx::Error> {
        if let Some((at, t)) = self.by_org.get(&org_id) {
            if at.elapsed() < SETTINGS_TTL {
                return Ok(t.clone());
            }
        }
        let settings = channels::settings(&state.db, &state.keys, org_id).await?;
        let t = state.channels.for_org(&state.db, &state.keys, &settings);
        self.by_org.insert(org_id, (Instant::now(), t.clone()));
        Ok(t)
    }
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

/// What this worker holds: the deliveries it claimed and has not yet written an outcome for
/// (their leases are renewed, and never reaped by this worker), and whether outcomes are
/// waiting for the database.
#[derive(Clone, Default)]
struct Held {
    ids: Arc<Mutex<HashSet<Uuid>>>,
    /// Set while outcomes cannot be written: claim nothing more until they are.
    backlogged: Arc<AtomicBool>,
}

impl Held {
    fn add(&self, ids: impl IntoIterator<Item = Uuid>) {
        self.ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(ids);
    }
    fn remove(&self, ids: impl IntoIterator<Item = Uuid>) {
        let mut held = self.ids.lock().unwrap_or_else(|e| e.into_inner());
        for id in ids {
            held.remove(&id);
        }
    }
    fn snapshot(&self) -> Vec<Uuid> {
        self.ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .copied()
            .collect()
    }
    fn contains(&self, id: &Uuid) -> bool {
        self.ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(id)
    }
}

/// Writes outcomes as they come, in batches: whatever has arrived while the last batch was
/// being written goes in the next one. When the database is away, the outcomes are kept (and
/// claiming stops) until they are written; on shutdown they are tried for a while longer.
/// Returns the ids of outcomes it could not write before stopping.
async fn record_loop(
    state: AppState,
    mut rx: mpsc::Receiver<Outcome>,
    writes: WriteLock,
    held: Held,
) -> Vec<Uuid> {
    let mut backlog: Vec<Outcome> = Vec::new();
    let mut wait = Duration::from_millis(100);
    let mut closed = false;
    let mut flush_until: Option<Instant> = None;
    loop {
        if backlog.is_empty() {
            if closed {
                break;
            }
            match rx.recv().await {
                Some(o) => backlog.push(o),
                None => break,
            }
        }
        while !closed && backlog.len() < BACKLOG {
            match rx.try_recv() {
                Ok(o) => backlog.push(o),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => closed = true,
            }
        }
        let result = {
            let _turn = writes.turn(&state).await;
            record(&state, &backlog).await
        };
        match result {
            Ok(_) => {
                held.remove(backlog.drain(..).map(|o| o.id));
                if held.backlogged.swap(false, Ordering::SeqCst) {
                    tracing::info!("delivery outcomes are being recorded again");
                }
                wait = Duration::from_millis(100);
            }
            Err(err) => {
                if !held.backlogged.swap(true, Ordering::SeqCst) {
                    tracing::warn!(error = %err, count = backlog.len(), "could not record delivery outcomes; keeping them and claiming nothing until they are written");
                }
                if closed {
                    let until = *flush_until.get_or_insert_with(|| Instant::now() + FLUSH);
                    if Instant::now() >= until {
                        // The process is stopping: the leases will run out and the deliveries
                        // be sent again, with the same idempotency keys.
                        tracing::error!(error = %err, count = backlog.len(), "delivery outcomes could not be recorded before stopping");
                        return backlog.iter().map(|o| o.id).collect();
                    }
                }
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(2));
            }
        }
    }
    Vec::new()
}

/// Keeps the leases of everything this worker holds, every third of the lease.
async fn renew_loop(state: AppState, owner: String, held: Held, mut stop: watch::Receiver<bool>) {
    let lease = state.config.delivery.lease;
    let every = (lease / 3).to_std().unwrap_or(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        let ids = held.snapshot();
        if ids.is_empty() {
            continue;
        }
        let until = state.clock.now() + lease;
        if let Err(err) = repo::renew(&state.db, &owner, &ids, until).await {
            tracing::warn!(error = %err, count = ids.len(), "could not renew delivery leases");
        }
    }
}

/// Hands back deliveries whose worker's lease ran out — never those this worker still holds.
async fn reap_except(state: &AppState, held: &Held) -> Result<usize, sqlx::Error> {
    let now = state.clock.now();
    let expired: Vec<Delivery> = repo::expired_leases(&state.db, now, 500)
        .await?
        .into_iter()
        .filter(|d| !held.contains(&d.id))
        .collect();
    if expired.is_empty() {
        return Ok(0);
    }
    let outcomes: Vec<Outcome> = expired
        .into_iter()
        .map(|d| {
            let give_up = d.attempts >= d.max_attempts;
            let mut o = Outcome::of(&d, now);
            o.status = if give_up {
                DeliveryStatus::Failed
            } else {
                DeliveryStatus::Pending
            };
            o.event = "lease_expired";
            o.detail = Some(
                "the worker sending it stopped before it finished; it may have gone out — \
                 a repeat carries the same idempotency key"
                    .into(),
            );
            o.next_attempt_at = Some(now);
            o.identity_id = None;
            o
        })
        .collect();
    let landed = record(state, &outcomes).await?;
    if landed > 0 {
        tracing::warn!(count = landed, "handed back deliveries whose lease ran out");
    }
    Ok(landed)
}

/// Hands back deliveries whose worker's lease ran out (another process's, or one that died).
pub async fn reap(state: &AppState) -> Result<usize, sqlx::Error> {
    reap_except(state, &Held::default()).await
}

/// Checks the engagement messages of a claimed batch against the policy once more: those
/// still allowed come back to be sent; the others are held or suppressed, with outcomes.
async fn screen(state: &AppState, claimed: Vec<Delivery>) -> (Vec<Delivery>, Vec<Outcome>) {
    if claimed.iter().all(|d| d.kind != DeliveryKind::Engagement) {
        return (claimed, Vec::new());
    }
    let now = state.clock.now();
    let verdicts = match recheck(state, &claimed).await {
        Ok(v) => v,
        Err(err) => {
            // Nothing engagement goes without its check: try them again shortly.
            let (send, wait): (Vec<_>, Vec<_>) = claimed
                .into_iter()
                .partition(|d| d.kind != DeliveryKind::Engagement);
            let why = format!("not sent yet: the engagement policy could not be checked ({err})");
            let outcomes = wait
                .iter()
                .map(|d| deferred(state, d, why.clone()))
                .collect();
            return (send, outcomes);
        }
    };
    let mut send = Vec::new();
    let mut outcomes = Vec::new();
    for d in claimed {
        match verdicts.get(&d.id) {
            None | Some(Recheck::Send) => send.push(d),
            Some(Recheck::Hold { until, words }) => {
                let mut o = Outcome::of(&d, now);
                o.status = DeliveryStatus::Pending;
                o.event = "held";
                o.detail = Some(words.clone());
                o.next_attempt_at = Some(*until);
                o.uncount = true;
                outcomes.push(o);
            }
            Some(Recheck::Skip { code, words }) => {
                let mut o = Outcome::of(&d, now);
                o.status = DeliveryStatus::Suppressed;
                o.event = "suppressed";
                o.detail = Some(words.clone());
                o.reason = Some(code.clone());
                o.uncount = true;
                outcomes.push(o);
            }
        }
    }
    (send, outcomes)
}

/// Runs until `stop` turns true.
pub async fn run(state: AppState, owner: String, mut stop: watch::Receiver<bool>) {
    let cfg = state.config.delivery.clone();
    let permits = Arc::new(Semaphore::new(cfg.concurrency.max(1)));
    let batch_at = (cfg.concurrency / 4).max(1);
    let (tx, rx) = mpsc::channel::<Outcome>(cfg.concurrency.max(1) * 4);
    let writes = WriteLock::default();
    let held = Held::default();
    let recorder = tokio::spawn(record_loop(state.clone(), rx, writes.clone(), held.clone()));
    let (renew_stop, renew_rx) = watch::channel(false);
    let renewer = tokio::spawn(renew_loop(
        state.clone(),
        owner.clone(),
        held.clone(),
        renew_rx,
    ));
    let mut inflight: JoinSet<()> = JoinSet::new();
    let mut cache = TransportCache {
        by_org: HashMap::new(),
    };
    let mut last_reap: Option<Instant> = None;
    while !*stop.borrow() {
        while inflight.try_join_next().is_some() {}
        if held.backlogged.load(Ordering::SeqCst) {
            // Outcomes are waiting for the database: claim nothing until they are written.
            tokio::select! {
                _ = tokio::time::sleep(cfg.poll.max(Duration::from_millis(100))) => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        if last_reap.is_none_or(|t| t.elapsed() >= REAP_EVERY) {
            if let Err(err) = reap_except(&state, &held).await {
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
            // claimed wait their turn below under their (renewed) lease.
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
        held.add(claimed.iter().map(|d| d.id));
        let (claimed, screened) = screen(&state, claimed).await;
        for o in screened {
            let _ = tx.send(o).await;
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
            let transports = match cache.get(&state, d.org_id).await {
                Ok(t) => t,
                Err(err) => {
                    tracing::warn!(org = %d.org_id, error = %err, "could not read channel settings");
                    let why =
                        format!("not sent yet: the channel settings could not be read ({err})");
                    let _ = tx.send(deferred(&state, &d, why)).await;
                    continue;
                }
            };
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
    // Those whose outcome could not be written may have gone out: never hand them back as
    // unsent; their leases run out instead, and a repeat carries the same idempotency key.
    let unrecorded = recorder.await.unwrap_or_default();
    let _ = renew_stop.send(true);
    let _ = renewer.await;
    match repo::release(&state.db, &owner, &unrecorded, state.clock.now()).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(count = n, "handed back unfinished deliveries"),
        Err(err) => {
            tracing::warn!(error = %err, "could not hand back unfinished deliveries; their leases will run out")
        }
    }
}
