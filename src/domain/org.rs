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
    pub created_at: DateTime<Utc>,
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
