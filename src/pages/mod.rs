//! One module per staff area.

pub mod auth;
pub mod clients;
pub mod dates;
pub mod home;
pub mod settings;
