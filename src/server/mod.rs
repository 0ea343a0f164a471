//! Everything that runs only on the server: configuration, the database, services, the REST
//! API, authentication, and the command line.

pub mod assets;
pub mod auth;
pub mod bench;
pub mod channels;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod error;
pub mod http;
pub mod links;
pub mod metrics;
pub mod ratelimit;
pub mod rest;
pub mod secrets;
pub mod services;
pub mod state;
pub mod telemetry;
pub mod worker;

pub use clock::{Clock, SystemClock, TestClock};
pub use config::Config;
pub use http::{build_router, spawn, Running};
pub use state::AppState;
