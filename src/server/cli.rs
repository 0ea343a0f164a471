//! The `concierge` command line: serve, worker, migrate, create-admin, api-key, channel and
//! seed-demo.

use super::{services, AppState, Config, SystemClock};
use crate::server::db::Db;
use crate::server::error::ServiceError;
use crate::server::secrets;
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::sync::Arc;

#[derive(Parser, Debug)]
#[command(
    name = "concierge",
    version,
    about = "Concierge: look after your clients and every date that matters to them"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the web portal and API (the default).
    Serve {
        /// Address to listen on, HOST:PORT (default 127.0.0.1:3000, or CONCIERGE_ADDR).
        #[arg(long)]
        addr: Option<SocketAddr>,
    },
    /// Run the background worker alone: reminders, deliveries and housekeeping (scale out
    /// with several of these on PostgreSQL).
    Worker,
    /// Apply database migrations and exit.
    Migrate,
    /// Write a consistent copy of the (SQLite) database to PATH while the server runs, and
    /// check it.
    Backup { path: std::path::PathBuf },
    /// Create an admin account (and its organisation, if it does not exist).
    CreateAdmin {
        #[arg(long)]
        org: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
        #[arg(long)]
        name: Option<String>,
    },
    /// Manage API keys.
    #[command(subcommand)]
    ApiKey(ApiKeyCommand),
    /// Configure an organisation's outbound channels.
    #[command(subcommand)]
    Channel(ChannelCommand),
    /// The installation's key for secrets at rest.
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// Measure the delivery engine on generated data and print the numbers.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Fill an organisation with realistic sample data (families, dates all through the year,
    /// projects, conversations, vendors).
    SeedDemo {
        #[arg(long)]
        org: String,
    },
}

#[derive(Subcommand, Debug)]
enum BenchCommand {
    /// Dispatcher throughput: N deliveries to a local HTTP sink through the webhook channel.
    Dispatch {
        #[arg(long, default_value_t = 20_000)]
        count: usize,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// A database to fill (default: a temporary SQLite file).
        #[arg(long)]
        database_url: Option<String>,
        /// Send to the log channel instead of over HTTP: the outbox's own cost.
        #[arg(long)]
        outbox_only: bool,
    },
    /// Engagement runs over a generated organisation of P people with E activity events.
    Engagement {
        #[arg(long, default_value_t = 100_000)]
        people: usize,
        #[arg(long, default_value_t = 300_000)]
        events: usize,
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Staff pages and API lists under concurrent sessions, at the size of a large
    /// organisation (generated first), against the real server.
    Pages {
        #[arg(long, default_value_t = 100_000)]
        clients: usize,
        #[arg(long, default_value_t = 1_000_000)]
        dates: usize,
        #[arg(long, default_value_t = 1_000_000)]
        deliveries: usize,
        /// Concurrent signed-in sessions.
        #[arg(long, default_value_t = 50)]
        sessions: usize,
        /// Requests per page (after a warm-up round).
        #[arg(long, default_value_t = 500)]
        requests: usize,
        /// The most time one page may take before it stops early.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Each session's pause between requests in ms (0: none, the server saturated).
        #[arg(long, default_value_t = 0)]
        think_ms: u64,
        /// Only pages whose name contains this (e.g. "messages").
        #[arg(long)]
        only: Option<String>,
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Reminder lateness: M scheduled reminders due over S seconds.
    Reminders {
        #[arg(long, default_value_t = 2_000)]
        count: usize,
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        #[arg(long)]
        database_url: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum SecretsCommand {
    /// Print a new random key, for CONCIERGE_SECRET_KEY.
    NewKey,
    /// Seal every stored secret again under a new key. With the key file, the new key takes
    /// the old one's place (the old one is gone: keep it with backups made before). With
    /// CONCIERGE_SECRET_KEY, give the new key and then set it in the old one's place on every
    /// process. Other processes cannot open what the new key sealed until they restart with
    /// it: stop them first.
    Rotate {
        /// The new key (base64 of 32 bytes, as `secrets new-key` prints it); made at random
        /// when the key is in a file and none is given.
        #[arg(long, env = "CONCIERGE_NEW_SECRET_KEY", hide_env_values = true)]
        new_key: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum ChannelCommand {
    /// Set a channel's settings, e.g. `--channel webhook url=https://… secret=whsec_…`
    /// (`enabled=false` switches it off). Secrets are stored and never printed.
    Set {
        #[arg(long)]
        org: String,
        #[arg(long)]
        channel: String,
        /// KEY=VALUE pairs.
        #[arg(required = true)]
        settings: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
enum ApiKeyCommand {
    /// Create a key; it is printed once, as the last line.
    Create {
        #[arg(long)]
        org: String,
        #[arg(long)]
        name: String,
        /// The key may read but not write.
        #[arg(long)]
        read_only: bool,
        /// The key stops working this many days from now (1 to 3650).
        #[arg(long)]
        expires_in_days: Option<i64>,
    },
    /// List an organisation's keys (never the keys themselves).
    List {
        #[arg(long)]
        org: String,
    },
    /// Revoke one of an organisation's keys by its id.
    Revoke {
        #[arg(long)]
        org: String,
        id: uuid::Uuid,
    },
}

fn explain(err: ServiceError) -> anyhow::Error {
    match err {
        ServiceError::Invalid(errors) => anyhow::anyhow!("{errors}"),
        ServiceError::Internal(e) => e,
        other => anyhow::anyhow!("{other}"),
    }
}

async fn open(config: &Config) -> anyhow::Result<AppState> {
    let db = Db::connect(&config.database_url).await?;
    db.migrate().await?;
    let options = leptos::config::LeptosOptions::builder()
        .output_name("concierge")
        .build();
    let state = AppState::new(db, Arc::new(SystemClock), config.clone(), options)?;
    super::http::seal_stored_secrets(&state).await;
    Ok(state)
}

pub async fn run() -> anyhow::Result<()> {
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    let mut config = Config::from_env()?;
    super::telemetry::init(config.log_json);
    match cli.command.unwrap_or(Command::Serve { addr: None }) {
        Command::Serve { addr } => {
            if let Some(addr) = addr {
                config.addr = addr;
            }
            serve(config).await
        }
        Command::Worker => worker(config).await,
        Command::Bench(BenchCommand::Dispatch {
            count,
            concurrency,
            database_url,
            outbox_only,
        }) => super::bench::dispatch(count, concurrency, database_url, outbox_only).await,
        Command::Bench(BenchCommand::Engagement {
            people,
            events,
            database_url,
        }) => super::bench::engagement::run(people, events, database_url).await,
        Command::Bench(BenchCommand::Pages {
            clients,
            dates,
            deliveries,
            sessions,
            requests,
            seconds,
            think_ms,
            only,
            database_url,
        }) => {
            super::bench::pages::run(super::bench::pages::Options {
                clients,
                dates,
                deliveries,
                sessions,
                requests,
                seconds,
                think_ms,
                database_url,
                only,
            })
            .await
        }
        Command::Bench(BenchCommand::Reminders {
            count,
            seconds,
            database_url,
        }) => super::bench::reminders(count, seconds, database_url).await,
        Command::Channel(ChannelCommand::Set {
            org,
            channel,
            settings,
        }) => {
            let state = open(&config).await?;
            let (updates, enabled) = crate::domain::channels::parse_assignments(&settings)
                .map_err(|e| anyhow::anyhow!(e))?;
            let v = services::channels::set_for_org(&state, &org, &channel, &updates, enabled)
                .await
                .map_err(explain)?;
            let values: Vec<String> = v.values.iter().map(|(k, v)| format!("{k}={v}")).collect();
            println!(
                "The {channel} channel of {org} is {} ({}{}).",
                if v.enabled { "on" } else { "off" },
                values.join(" "),
                if v.secrets_set.is_empty() {
                    String::new()
                } else {
                    format!(" and secrets {} set", v.secrets_set.join(", "))
                }
            );
            Ok(())
        }
        Command::Secrets(SecretsCommand::NewKey) => {
            println!("{}", secrets::encode_key(&secrets::generate_key()));
            Ok(())
        }
        Command::Secrets(SecretsCommand::Rotate { new_key }) => rotate(&config, new_key).await,
        Command::Migrate => {
            let state = open(&config).await?;
            println!("Migrations applied ({}).", state.db.backend());
            Ok(())
        }
        Command::Backup { path } => {
            // The database as it is: a backup neither migrates nor changes anything.
            let db = Db::connect(&config.database_url).await?;
            let bytes = db.backup(&path).await;
            db.close().await;
            println!(
                "Backed up to {} ({} bytes); its integrity check passed.",
                path.display(),
                bytes?
            );
            Ok(())
        }
        Command::CreateAdmin {
            org,
            email,
            password,
            name,
        } => {
            let state = open(&config).await?;
            let (org, id) =
                services::auth::create_admin(&state, &org, &email, &password, name.as_deref())
                    .await
                    .map_err(explain)?;
            println!(
                "Admin {email} ({id}) can now sign in to {} ({}).",
                org.name, org.slug
            );
            Ok(())
        }
        Command::SeedDemo { org } => {
            let state = open(&config).await?;
            let s = services::demo::seed(&state, &org).await.map_err(explain)?;
            println!(
                "Seeded {org}: {} people, {} dates, {} projects, {} conversations, {} vendors.",
                s.people, s.dates, s.projects, s.conversations, s.vendors
            );
            Ok(())
        }
        Command::ApiKey(cmd) => {
            let state = open(&config).await?;
            match cmd {
                ApiKeyCommand::Create {
                    org,
                    name,
                    read_only,
                    expires_in_days,
                } => {
                    let access = services::api_keys::Access {
                        read_only,
                        expires_in_days,
                    };
                    let (key, secret) =
                        services::api_keys::create_with(&state, &org, &name, access)
                            .await
                            .map_err(explain)?;
                    println!(
                        "Created API key '{}' ({}) for {org}. Store it now: it is not shown again.",
                        key.name, key.id
                    );
                    println!("{secret}");
                }
                ApiKeyCommand::List { org } => {
                    let keys = services::api_keys::list(&state, &org)
                        .await
                        .map_err(explain)?;
                    if keys.is_empty() {
                        println!("No API keys for {org}.");
                    }
                    for k in keys {
                        let mut status = match k.revoked_at {
                            Some(t) => format!("revoked {}", t.format("%Y-%m-%d %H:%M")),
                            None => "active".into(),
                        };
                        if k.read_only {
                            status.push_str(", read-only");
                        }
                        if let Some(t) = k.expires_at {
                            status.push_str(&format!(", expires {}", t.format("%Y-%m-%d %H:%M")));
                        }
                        let used = k
                            .last_used_at
                            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                            .unwrap_or_else(|| "never".into());
                        println!(
                            "{}  {}…  {:<24}  {}  last used {}",
                            k.id, k.prefix, k.name, status, used
                        );
                    }
                }
                ApiKeyCommand::Revoke { org, id } => {
                    services::api_keys::revoke(&state, &org, id)
                        .await
                        .map_err(|e| match e {
                            ServiceError::NotFound => {
                                anyhow::anyhow!("{org} has no active API key {id}")
                            }
                            other => explain(other),
                        })?;
                    println!("Revoked API key {id}.");
                }
            }
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let running = super::spawn(config, Arc::new(SystemClock)).await?;
    let url = format!("http://{}", running.addr);
    tracing::info!(%url, database = running.state.db.backend(), "Concierge is running");
    println!("Concierge is running at {url}");
    shutdown_signal().await;
    tracing::info!("shutting down");
    running.stop().await;
    Ok(())
}

/// The worker alone: no web server. Stops on SIGTERM or Ctrl-C after finishing (or handing
/// back) what it is sending.
async fn worker(config: Config) -> anyhow::Result<()> {
    let state = open(&config).await?;
    let handle = super::worker::spawn(&state);
    println!(
        "Concierge worker {} is running ({}).",
        handle.id,
        state.db.backend()
    );
    shutdown_signal().await;
    tracing::info!("worker shutting down");
    handle.shutdown().await;
    state.db.close().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// `secrets rotate`: every stored secret sealed again under the new key, in one transaction;
/// with the key file, the new key is written beside the old one first (read as well by any
/// process that starts meanwhile) and takes its place once everything is sealed with it, so a
/// rotation stopped half-way loses nothing and can be run again.
async fn rotate(config: &Config, new_key: Option<String>) -> anyhow::Result<()> {
    let db = Db::connect(&config.database_url).await?;
    db.migrate().await?;
    let old = secrets::Keyring::load(config)?;
    let given = new_key
        .map(|k| secrets::decode_key(&k, "--new-key"))
        .transpose()?;
    let (file, new) = if config.secret_key.is_some() {
        let new = given.ok_or_else(|| {
            anyhow::anyhow!("CONCIERGE_SECRET_KEY is set: give the new key with --new-key (`concierge secrets new-key` makes one)")
        })?;
        (None, new)
    } else {
        let file = secrets::key_file(config);
        let next = secrets::next_file(&file);
        if !next.exists() {
            secrets::write_key_file(&next, &given.unwrap_or_else(secrets::generate_key))?;
        }
        let text = std::fs::read_to_string(&next)?;
        let new = secrets::decode_key(&text, &format!("the key file {}", next.display()))?;
        (Some((file, next)), new)
    };
    let keys = old.with_current(&new);
    let changed = crate::server::db::secrets::reseal_all(&db, &keys).await;
    db.close().await;
    let changed = changed?;
    match file {
        Some((file, next)) => {
            std::fs::rename(&next, &file)?;
            println!(
                "Sealed {changed} stored secrets with the new key {}, now in {}. Restart every process of this installation.",
                keys.current_id(),
                file.display()
            );
        }
        None => println!(
            "Sealed {changed} stored secrets with the new key {}. Set CONCIERGE_SECRET_KEY to it on every process of this installation and restart them.",
            keys.current_id()
        ),
    }
    Ok(())
}
