//! Pure domain types and rules, compiled for the server and the browser alike: no I/O here.
//!
//! Input is parsed into these types once, at the edge ("parse, don't validate"); past the
//! edge an invalid e-mail, phone number or time zone cannot exist.

pub mod activity;
/// The text forms of an enum, for parsing and storing.
macro_rules! text_enum {
    ($name:ident, $what:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(input: &str) -> Result<Self, String> {
                match input.trim().to_ascii_lowercase().as_str() {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(
                        "'{other}' is not {} ({})",
                        $what,
                        [$($text),+].join(", ")
                    )),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }
    };
}

pub mod calendar;
pub mod campaigns;
pub mod channels;
pub mod comms;
mod contact;
pub mod csv_io;
pub mod dates;
pub mod delivery;
pub mod engagement;
mod errors;
mod org;
pub mod person;
pub mod profile;
pub mod projects;
pub mod recurrence;
pub mod route;
mod staff;
pub mod timing;
pub mod vendors;
pub mod webhooks;

pub use contact::{EmailAddress, PhoneNumber, Region, Slug, Timezone};
pub use errors::{FieldError, FieldErrors};
pub use org::{AuditRecord, Organisation};
pub use person::{Person, PersonDraft, PersonInput, PersonPage, PersonType};
pub use recurrence::Recurrence;
pub use staff::{Role, SessionUser, StaffMember};
