//! The one context object handed to every handler, server function and service.

use super::assets::Assets;
use super::{Clock, Config};
use crate::server::channels::Channels;
use crate::server::db::Db;
use crate::server::links::Links;
use crate::server::metrics::Metrics;
use crate::server::secrets::Keyring;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<Config>,
    pub leptos_options: LeptosOptions,
    /// The built style sheet, script and WebAssembly the pages name, by their content's hash.
    pub assets: Arc<Assets>,
    /// Each organisation's number of clients, for Home (an exact count of every client).
    pub client_counts: Arc<CountCache>,
    /// Months of the calendar as last read (SQLite only; see `services::calendar::MonthCache`).
    pub calendar_months: Arc<crate::server::services::calendar::MonthCache>,
    /// The outbound channels' shared HTTP client and network policy.
    pub channels: Arc<Channels>,
    /// Woken when a delivery is queued, so the dispatcher need not wait for its next poll.
    pub wake: Arc<Notify>,
    /// Request and worker counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// The rate limits' buckets (in memory on SQLite; see `ratelimit`).
    pub rate_limits: Arc<crate::server::ratelimit::Limiter>,
    /// The key stored secrets are sealed with.
    pub keys: Arc<Keyring>,
    /// Set once any organisation exists; organisations are never deleted, so it never unsets.
    configured: Arc<AtomicBool>,
    /// The signer of the links messages carry, keyed with the installation's secret (read
    /// from the database the first time it is needed).
    links: Arc<tokio::sync::OnceCell<Links>>,
}

impl AppState {
    /// Fails when the installation's key cannot be read or made (see [`Keyring::load`]).
    pub fn new(
        db: Db,
        clock: Arc<dyn Clock>,
        config: Config,
        leptos_options: LeptosOptions,
    ) -> anyhow::Result<Self> {
        let channels = Channels::new(config.delivery.net_policy(), config.delivery.send_timeout);
        let keys = Arc::new(Keyring::load(&config)?);
        Ok(Self {
            db,
            clock,
            config: Arc::new(config),
            leptos_options,
            assets: Arc::new(Assets::default()),
            client_counts: Arc::new(CountCache::default()),
            calendar_months: Arc::default(),
            channels: Arc::new(channels),
            wake: Arc::new(Notify::new()),
            metrics: Arc::new(Metrics::default()),
            rate_limits: Arc::default(),
            configured: Arc::new(AtomicBool::new(false)),
            links: Arc::new(tokio::sync::OnceCell::new()),
            keys,
        })
    }

    /// Signs and opens the tokens of deep links and unsubscribe links.
    pub async fn links(&self) -> Result<Links, sqlx::Error> {
        self.links
            .get_or_try_init(|| async {
                let key = crate::server::db::secrets::installation_secret(
                    &self.db,
                    &self.keys,
                    "link_key",
                    crate::server::links::new_key,
                    self.clock.now(),
                )
                .await?;
                Ok(Links::new(key.as_bytes()))
            })
            .await
            .cloned()
    }

    /// Whether setup has been done (an organisation exists).
    pub async fn is_configured(&self) -> Result<bool, sqlx::Error> {
        if self.configured.load(Ordering::Relaxed) {
            return Ok(true);
        }
        let yes = crate::server::db::orgs::count(&self.db).await? > 0;
        if yes {
            self.configured.store(true, Ordering::Relaxed);
        }
        Ok(yes)
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// How long a cached count may be used: another process's change shows within this.
const COUNT_TTL: std::time::Duration = std::time::Duration::from_secs(30);

/// Numbers that cost a read of a whole index to count exactly (an organisation's clients, for
/// Home), kept per organisation for [`COUNT_TTL`] and forgotten at once when this process
/// changes what they count.
#[derive(Default)]
pub struct CountCache {
    entries: std::sync::Mutex<std::collections::HashMap<uuid::Uuid, (std::time::Instant, i64)>>,
}

impl CountCache {
    pub fn get(&self, org: uuid::Uuid) -> Option<i64> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(&org)
            .filter(|(at, _)| at.elapsed() < COUNT_TTL)
            .map(|(_, n)| *n)
    }

    pub fn put(&self, org: uuid::Uuid, n: i64) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.insert(org, (std::time::Instant::now(), n));
    }

    pub fn forget(&self, org: uuid::Uuid) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.remove(&org);
    }
}
