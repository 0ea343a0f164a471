//! Concierge: a self-hosted platform for concierge and customer-care teams.
//!
//! The crate builds twice: with `ssr` it is the server (axum, sqlx, services, REST); with
//! `hydrate` it is the browser side of the same Leptos pages. `domain` is shared by both.

#![recursion_limit = "256"]

pub mod api;
pub mod app;
pub mod components;
pub mod domain;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod server;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
