//! Authentication and request guards: passwords, opaque tokens, sessions, sign-in throttling,
//! the cross-origin guard, and who is acting (a staff member or an API key).

pub mod actor;
pub mod guard;
pub mod password;
pub mod sessions;
pub mod throttle;
pub mod token;

pub use actor::Actor;
