//! The background worker: the reminder scheduler, the engagement run, the dispatcher and
//! housekeeping, as tokio tasks. `concierge serve` runs them beside the web server (unless `CONCIERGE_WORKER=0`);
//! `concierge worker` runs them alone. Several workers may run at once on PostgreSQL: claims
//! skip each other's rows and every delivery has a unique key, so nothing is sent twice.

pub mod dispatcher;
pub mod scheduler;

use crate::server::services::auth as auth_service;
use crate::server::AppState;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often expired sessions are cleared and dates rolled forward.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(600);

/// The running worker, and the way to stop it.
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    pub id: String,
}

impl WorkerHandle {
    /// Stops claiming work, lets in-flight sends finish (or hands them back), and waits.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Starts the scheduler, the dispatcher and housekeeping.
pub fn spawn(state: &AppState) -> WorkerHandle {
    let (stop, rx) = watch::channel(false);
    let id = dispatcher::worker_id();
    let tasks = vec![
        tokio::spawn(scheduler_loop(state.clone(), rx.clone())),
        tokio::spawn(dispatcher::run(state.clone(), id.clone(), rx.clone())),
        tokio::spawn(engagement_loop(state.clone(), rx.clone())),
        tokio::spawn(housekeeping(state.clone(), rx)),
    ];
    tracing::info!(worker = %id, "worker started");
    WorkerHandle { stop, tasks, id }
}

async fn scheduler_loop(state: AppState, mut stop: watch::Receiver<bool>) {
    let every = state.config.delivery.poll;
    while !*stop.borrow() {
        match scheduler::run_once(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(reminders = n, "queued due reminders"),
            Err(err) => tracing::warn!(error = %err, "the reminder scheduler failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => {}
        }
    }
}

/// The scheduled engagement run: one per organisation per interval, whichever worker starts
/// it first. Looks often (a run already done for the interval costs one refused insert), so a
/// new interval starts its run promptly and a restart does not skip one.
async fn engagement_loop(state: AppState, mut stop: watch::Receiver<bool>) {
    let every = state.config.engagement_every;
    if every.is_zero() {
        return;
    }
    let look = every.min(Duration::from_secs(30));
    while !*stop.borrow() {
        if let Err(err) = crate::server::services::engagement::run_scheduled(&state, every).await {
            tracing::warn!(error = %err, "the scheduled engagement run failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(look) => {}
            _ = stop.changed() => {}
        }
    }
}

/// Housekeeping, once per interval across all worker processes: whichever takes the
/// interval's lease does it; the others look again a minute later.
async fn housekeeping(state: AppState, mut stop: watch::Receiver<bool>) {
    let look = HOUSEKEEPING_EVERY.min(Duration::from_secs(60));
    while !*stop.borrow() {
        let now = state.clock.now();
        let until = now + chrono::Duration::from_std(HOUSEKEEPING_EVERY).unwrap_or_default();
        match crate::server::db::leases::take(&state.db, "housekeeping", now, until).await {
            Ok(true) => housekeep(&state).await,
            Ok(false) => {}
            Err(err) => tracing::warn!(error = %err, "taking the housekeeping lease failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(look) => {}
            _ = stop.changed() => {}
        }
    }
}

async fn housekeep(state: &AppState) {
    match auth_service::purge_expired_sessions(state).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(sessions = n, "removed expired sessions"),
        Err(err) => tracing::warn!(error = %err, "housekeeping failed"),
    }
    match crate::server::services::idempotency::purge_expired(state).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(keys = n, "forgot Idempotency-Keys past their day"),
        Err(err) => tracing::warn!(error = %err, "forgetting old Idempotency-Keys failed"),
    }
    if let Err(err) = state.rate_limits.purge(&state.db, state.clock.now()).await {
        tracing::warn!(error = %err, "forgetting idle rate-limit buckets failed");
    }
    if let Err(err) = auth_service::purge_throttle(state).await {
        tracing::warn!(error = %err, "removing old sign-in throttling counters failed");
    }
    match crate::server::services::dates::roll_forward_all(state).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(dates = n, "rolled dates forward to their next occurrence"),
        Err(err) => tracing::warn!(error = %err, "rolling dates forward failed"),
    }
    match crate::server::services::approvals::expire_due(state, state.clock.now()).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(messages = n, "approvals expired unsent"),
        Err(err) => tracing::warn!(error = %err, "expiring approvals failed"),
    }
    match crate::server::services::privacy::apply_retention(state).await {
        Ok(forgotten) => {
            for (what, n) in forgotten.into_iter().filter(|(_, n)| *n > 0) {
                tracing::info!(records = n, what, "forgot records past their retention");
            }
        }
        Err(err) => tracing::warn!(error = %err, "applying retention failed"),
    }
    if let Err(err) = state.db.optimize().await {
        tracing::warn!(error = %err, "refreshing the query planner's statistics failed");
    }
}
