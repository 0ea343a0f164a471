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
    /// Read the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_proxy: bool,
    pub log_json: bool,
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
            trust_proxy: false,
            log_json: false,
        }
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn flag(name: &str) -> bool {
    var(name).is_some_and(|v| matches!(v.trim(), "1" | "true" | "yes" | "on"))
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
            trust_proxy: flag("CONCIERGE_TRUST_PROXY"),
            log_json: var("LOG_FORMAT").is_some_and(|v| v == "json"),
        })
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    }
}
