//! Black-box tests: each starts the real application on port 0 with its own fresh database
//! (a temporary SQLite file, and a new PostgreSQL database when TEST_POSTGRES_URL is set) and
//! talks HTTP to it.

mod activity;
mod api;
mod atomic;
mod auth;
mod calendar;
mod campaigns;
mod cli;
mod common;
mod comms;
mod crash;
mod dates;
mod delivery;
mod delivery_portal;
mod engagement;
mod event_webhooks;
mod fakes;
mod faults;
mod generation;
mod idempotency;
mod import;
mod migrations;
mod openapi;
mod pages;
mod paging;
mod privacy;
mod projects;
mod rate_limits;
mod scale_out;
mod settings;
mod tenants;
mod wire;
