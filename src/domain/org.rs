//! The organisation: the tenant every other record belongs to.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Organisation {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub timezone: String,
    /// The country (ISO 3166, e.g. `GB`) whose national phone numbers are read without a
    /// country code; none: numbers must be in international form.
    #[serde(default)]
    pub phone_region: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Organisation {
    /// The region national phone numbers are read in, if one is set.
    pub fn region(&self) -> Option<crate::domain::Region> {
        self.phone_region
            .as_deref()
            .and_then(|r| crate::domain::Region::parse(r).ok())
    }
}

/// One line of the audit log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct AuditRecord {
    pub id: Uuid,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<Uuid>,
    #[cfg_attr(feature = "ssr", sqlx(json))]
    pub detail: serde_json::Value,
    pub created_at: DateTime<Utc>,
}
