//! Pure domain types and rules, compiled for the server and the browser alike: no I/O here.
//!
//! Input is parsed into these types once, at the edge ("parse, don't validate"); past the
//! edge an invalid e-mail, phone number or time zone cannot exist.

pub mod activity;
mod contact;
pub mod dates;
mod errors;
mod org;
pub mod person;
pub mod recurrence;
mod staff;
pub mod timing;

pub use contact::{EmailAddress, PhoneNumber, Slug, Timezone};
pub use errors::{FieldError, FieldErrors};
pub use org::{AuditRecord, Organisation};
pub use person::{Person, PersonDraft, PersonInput, PersonPage, PersonType};
pub use recurrence::Recurrence;
pub use staff::{Role, SessionUser, StaffMember};
