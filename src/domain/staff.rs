//! Staff accounts and what each role may do.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A staff member's role. Admins do everything; concierges look after clients; analysts read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Analyst,
    Concierge,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Self::Admin, Self::Concierge, Self::Analyst];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Concierge => "concierge",
            Self::Analyst => "analyst",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Admin => "Admin",
            Self::Concierge => "Concierge",
            Self::Analyst => "Analyst (read-only)",
        }
    }

    pub fn parse(input: &str) -> Result<Self, String> {
        match input.trim() {
            "admin" => Ok(Self::Admin),
            "concierge" => Ok(Self::Concierge),
            "analyst" => Ok(Self::Analyst),
            other => Err(format!(
                "'{other}' is not a role (admin, concierge or analyst)"
            )),
        }
    }

    /// Whether this role may change clients and their records.
    pub fn can_write(self) -> bool {
        self >= Self::Concierge
    }

    /// Whether this role may manage staff, keys and settings.
    pub fn is_admin(self) -> bool {
        self == Self::Admin
    }
}

impl TryFrom<String> for Role {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

/// A staff account as shown in the portal (never with its password hash).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct StaffMember {
    pub id: Uuid,
    pub org_id: Uuid,
    pub email: String,
    pub display_name: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub role: Role,
    pub active: bool,
    pub last_login_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl StaffMember {
    /// This staff member as signed in to their organisation (named `org_name`).
    pub fn signed_in(self, org_name: String) -> SessionUser {
        SessionUser {
            staff_id: self.id,
            org_id: self.org_id,
            org_name,
            email: self.email,
            display_name: self.display_name,
            role: self.role,
        }
    }
}

/// The signed-in staff member, as the portal knows them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionUser {
    pub staff_id: Uuid,
    pub org_id: Uuid,
    pub org_name: String,
    pub email: String,
    pub display_name: String,
    pub role: Role,
}
