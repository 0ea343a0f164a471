//! One module per staff area.

pub mod account;
pub mod approvals;
pub mod auth;
pub mod calendar;
pub mod campaigns;
pub mod clients;
pub mod conversations;
pub mod dates;
pub mod engagement;
pub mod home;
pub mod import;
pub mod messages;
pub mod projects;
pub mod settings;
pub mod vendors;
