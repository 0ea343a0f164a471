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
