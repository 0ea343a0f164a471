//! Configuration from the environment, with defaults so that nothing is required to start.

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Clone, Debug)]
pub struct Config {
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    pub addr: SocketAddr,
    /// The address users reach the portal at, e.g. `https://concierge.example.com`. When it is
    /// HTTPS, cookies are marked Secure.
    pub public_url: Option<String>,
    /// Where cargo-leptos put the compiled site (`pkg/`, styles, assets).
    pub site_root: PathBuf,
    pub session_idle_minutes: i64,
    pub session_absolute_hours: i64,
    /// How many reverse proxies in front of the server append to `X-Forwarded-For`
    /// (`CONCIERGE_TRUST_PROXY`: a number, or `true` for one). The client address is the entry
    /// that many from the right: those to its left were written by the client and prove
    /// nothing. 0 (the default): the header is ignored.
    pub trusted_proxies: usize,
    pub log_json: bool,
    /// Whether `serve` also runs the background worker (`CONCIERGE_WORKER=0` turns it off, for
    /// web-only processes when workers run apart).
    pub run_worker: bool,
    /// When set, `/metrics` answers only `Authorization: Bearer <METRICS_TOKEN>`.
    pub metrics_token: Option<String>,
    /// How often the worker runs engagement for every organisation
    /// (`ENGAGEMENT_INTERVAL_MINUTES`, default 60; 0 turns the scheduled run off).
    pub engagement_every: std::time::Duration,
    /// How long a request may take before it is answered 503 (`REQUEST_TIMEOUT_SECONDS`,
    /// default 30): a database that has gone away makes a request wait, never hang.
    pub request_timeout: std::time::Duration,
    /// Requests a minute per API key and per staff member (`RATE_LIMIT_PER_MINUTE`, default
    /// 1200), and on the batch routes (`RATE_LIMIT_BATCH_PER_MINUTE`, default 6000); 0 turns
    /// one off.
    pub rate_limits: RateLimits,
    pub delivery: DeliveryConfig,
    pub retention: Retention,
    /// `CONCIERGE_SECRET_KEY`: the key stored secrets are sealed with (base64 of 32 bytes);
    /// unset, it is read from (or first made in) the key file.
    pub secret_key: Option<Hidden>,
    /// `CONCIERGE_SECRET_KEY_FILE`: where the key file is (see `secrets::key_file`).
    pub secret_key_file: Option<PathBuf>,
}

/// A setting that is never written out, not even in a debug print.
#[derive(Clone)]
pub struct Hidden(pub String);

impl std::fmt::Debug for Hidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("(hidden)")
    }
}

impl std::ops::Deref for Hidden {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

/// How long records are kept before housekeeping forgets them, in days; 0 keeps them for
/// good. Sessions end by their own expiry (`SESSION_IDLE_MINUTES`, `SESSION_ABSOLUTE_HOURS`)
/// and are removed then.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// The words, subject, address and metadata of messages that have settled
    /// (`RETAIN_MESSAGE_BODIES_DAYS`, default 180); the message itself, which counts in the
    /// results, stays.
    pub message_bodies_days: u32,
    /// The events of messages: attempts, reports, responses (`RETAIN_DELIVERY_EVENTS_DAYS`,
    /// default 400, so a year's charts stay whole).
    pub delivery_events_days: u32,
    /// The audit log (`RETAIN_AUDIT_DAYS`, default 730).
    pub audit_days: u32,
    /// Finished engagement runs with their decisions (`RETAIN_RUNS_DAYS`, default 90).
    pub runs_days: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            message_bodies_days: 180,
            delivery_events_days: 400,
            audit_days: 730,
            runs_days: 90,
        }
    }
}

impl Retention {
    fn from_env() -> anyhow::Result<Self> {
        let d = Self::default();
        Ok(Self {
            message_bodies_days: whole("RETAIN_MESSAGE_BODIES_DAYS", d.message_bodies_days)?,
            delivery_events_days: whole("RETAIN_DELIVERY_EVENTS_DAYS", d.delivery_events_days)?,
            audit_days: whole("RETAIN_AUDIT_DAYS", d.audit_days)?,
            runs_days: whole("RETAIN_RUNS_DAYS", d.runs_days)?,
        })
    }
}

#[derive(Clone, Copy, Debug)]
pub struct RateLimits {
    pub standard: crate::server::ratelimit::Policy,
    pub batch: crate::server::ratelimit::Policy,
}

impl RateLimits {
    pub fn per_minute(standard: u32, batch: u32) -> Self {
        use crate::server::ratelimit::Policy;
        Self {
            standard: Policy {
                name: "standard",
                per_minute: standard,
            },
            batch: Policy {
                name: "batch",
                per_minute: batch,
            },
        }
    }
}

/// How deliveries are sent and retried.
#[derive(Clone, Debug)]
pub struct DeliveryConfig {
    /// Attempts before a delivery is failed for a person to retry (`DELIVERY_MAX_ATTEMPTS`).
    pub max_attempts: i32,
    /// The first retry waits about this long; each further one twice as long
    /// (`DELIVERY_BACKOFF_SECONDS`).
    pub backoff_base: chrono::Duration,
    /// No retry waits longer (`DELIVERY_BACKOFF_CAP_SECONDS`).
    pub backoff_cap: chrono::Duration,
    /// Hard failures in a row after which an address is disabled (`DELIVERY_DISABLE_AFTER`).
    pub disable_after: i32,
    /// Sends in flight at once per worker (`DELIVERY_CONCURRENCY`).
    pub concurrency: usize,
    /// How long a claimed delivery stays a worker's before another may take it over if the
    /// worker stops renewing it (`DELIVERY_LEASE_SECONDS`, at least 3; renewed every third of
    /// it while the worker holds the delivery).
    pub lease: chrono::Duration,
    /// How often an idle worker looks for due work (`WORKER_POLL_MILLISECONDS`).
    pub poll: std::time::Duration,
    /// The longest one attempt may take (`DELIVERY_TIMEOUT_SECONDS`).
    pub send_timeout: std::time::Duration,
    /// `CONCIERGE_ALLOW_LOOPBACK=1`: channels may reach 127.0.0.1 and ::1.
    pub allow_loopback: bool,
    /// `CONCIERGE_ALLOW_PRIVATE_NETWORKS=1`: channels may reach private networks.
    pub allow_private: bool,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            backoff_base: chrono::Duration::seconds(30),
            backoff_cap: chrono::Duration::hours(1),
            disable_after: 3,
            concurrency: 64,
            lease: chrono::Duration::seconds(120),
            poll: std::time::Duration::from_millis(500),
            send_timeout: std::time::Duration::from_secs(15),
            allow_loopback: false,
            allow_private: false,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: "sqlite://data/concierge.db".into(),
            addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            public_url: None,
            site_root: PathBuf::from("target/site"),
            session_idle_minutes: 120,
            session_absolute_hours: 12,
            trusted_proxies: 0,
            log_json: false,
            run_worker: true,
            metrics_token: None,
            engagement_every: std::time::Duration::from_secs(3600),
            request_timeout: std::time::Duration::from_secs(30),
            rate_limits: RateLimits::per_minute(1200, 6000),
            delivery: DeliveryConfig::default(),
            retention: Retention::default(),
            secret_key: None,
            secret_key_file: None,
        }
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn flag(name: &str) -> bool {
    var(name).is_some_and(|v| matches!(v.trim(), "1" | "true" | "yes" | "on"))
}

/// `CONCIERGE_TRUST_PROXY`: unset or off is 0, on is 1, a number is that many proxies.
fn proxy_hops(value: Option<String>) -> anyhow::Result<usize> {
    let Some(v) = value else { return Ok(0) };
    match v.trim() {
        "" | "0" | "false" | "no" | "off" => Ok(0),
        "true" | "yes" | "on" => Ok(1),
        n => match n.parse::<usize>() {
            Ok(n) if n <= 10 => Ok(n),
            _ => anyhow::bail!(
                "CONCIERGE_TRUST_PROXY must be the number of trusted proxies (0 to 10) or true, not '{v}'"
            ),
        },
    }
}

/// A whole number, 0 included (which turns the setting off).
fn whole(name: &str, default: u32) -> anyhow::Result<u32> {
    match var(name) {
        None => Ok(default),
        Some(v) => v.trim().parse::<u32>().map_err(|_| {
            anyhow::anyhow!("{name} must be a whole number (0 turns it off), not '{v}'")
        }),
    }
}

fn number(name: &str, default: i64) -> anyhow::Result<i64> {
    match var(name) {
        None => Ok(default),
        Some(v) => match v.trim().parse::<i64>() {
            Ok(n) if n > 0 => Ok(n),
            _ => anyhow::bail!("{name} must be a positive whole number, not '{v}'"),
        },
    }
}

impl Config {
    pub fn from_env() -> anyhow::Result<Self> {
        let d = Self::default();
        let addr = match var("CONCIERGE_ADDR") {
            None => d.addr,
            Some(a) => a
                .parse()
                .map_err(|_| anyhow::anyhow!("CONCIERGE_ADDR must be HOST:PORT, not '{a}'"))?,
        };
        Ok(Self {
            database_url: var("DATABASE_URL").unwrap_or(d.database_url),
            addr,
            public_url: var("PUBLIC_URL").map(|u| u.trim_end_matches('/').to_string()),
            site_root: var("LEPTOS_SITE_ROOT")
                .map(PathBuf::from)
                .unwrap_or(d.site_root),
            session_idle_minutes: number("SESSION_IDLE_MINUTES", d.session_idle_minutes)?,
            session_absolute_hours: number("SESSION_ABSOLUTE_HOURS", d.session_absolute_hours)?,
            trusted_proxies: proxy_hops(var("CONCIERGE_TRUST_PROXY"))?,
            log_json: var("LOG_FORMAT").is_some_and(|v| v == "json"),
            run_worker: var("CONCIERGE_WORKER")
                .is_none_or(|v| !matches!(v.trim(), "0" | "false" | "no" | "off")),
            metrics_token: var("METRICS_TOKEN"),
            engagement_every: match var("ENGAGEMENT_INTERVAL_MINUTES") {
                None => d.engagement_every,
                Some(v) => match v.trim().parse::<u64>() {
                    Ok(n) if n <= 7 * 24 * 60 => std::time::Duration::from_secs(n * 60),
                    _ => anyhow::bail!(
                        "ENGAGEMENT_INTERVAL_MINUTES must be a whole number of minutes (0 to 10080), not '{v}'"
                    ),
                },
            },
            request_timeout: std::time::Duration::from_secs(
                number("REQUEST_TIMEOUT_SECONDS", d.request_timeout.as_secs() as i64)? as u64,
            ),
            rate_limits: RateLimits::per_minute(
                whole("RATE_LIMIT_PER_MINUTE", d.rate_limits.standard.per_minute)?,
                whole("RATE_LIMIT_BATCH_PER_MINUTE", d.rate_limits.batch.per_minute)?,
            ),
            delivery: DeliveryConfig::from_env()?,
            retention: Retention::from_env()?,
            secret_key: var("CONCIERGE_SECRET_KEY").map(Hidden),
            secret_key_file: var("CONCIERGE_SECRET_KEY_FILE").map(PathBuf::from),
        })
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    }
}

impl DeliveryConfig {
    pub fn from_env() -> anyhow::Result<Self> {
        let config = Self::read_env()?;
        crate::server::worker::dispatcher::check_config(&config).map_err(anyhow::Error::msg)?;
        Ok(config)
    }

    fn read_env() -> anyhow::Result<Self> {
        let d = Self::default();
        let secs = |name: &str, default: chrono::Duration| -> anyhow::Result<chrono::Duration> {
            Ok(chrono::Duration::seconds(number(
                name,
                default.num_seconds(),
            )?))
        };
        Ok(Self {
            max_attempts: number("DELIVERY_MAX_ATTEMPTS", d.max_attempts.into())?.min(100) as i32,
            backoff_base: secs("DELIVERY_BACKOFF_SECONDS", d.backoff_base)?,
            backoff_cap: secs("DELIVERY_BACKOFF_CAP_SECONDS", d.backoff_cap)?,
            disable_after: number("DELIVERY_DISABLE_AFTER", d.disable_after.into())?.min(1000)
                as i32,
            concurrency: number("DELIVERY_CONCURRENCY", d.concurrency as i64)?.min(1024) as usize,
            lease: secs("DELIVERY_LEASE_SECONDS", d.lease)?,
            poll: std::time::Duration::from_millis(number(
                "WORKER_POLL_MILLISECONDS",
                d.poll.as_millis() as i64,
            )? as u64),
            send_timeout: std::time::Duration::from_secs(number(
                "DELIVERY_TIMEOUT_SECONDS",
                d.send_timeout.as_secs() as i64,
            )? as u64),
            allow_loopback: flag("CONCIERGE_ALLOW_LOOPBACK"),
            allow_private: flag("CONCIERGE_ALLOW_PRIVATE_NETWORKS"),
        })
    }

    pub fn net_policy(&self) -> crate::server::channels::NetPolicy {
        crate::server::channels::NetPolicy {
            allow_loopback: self.allow_loopback,
            allow_private: self.allow_private,
        }
    }
}
