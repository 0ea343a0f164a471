//! The business operations: the only place rules are applied. Server functions and REST
//! handlers both call these; they in turn call repositories.

pub mod api_keys;
pub mod auth;
pub mod persons;
pub mod staff;

use crate::server::auth::Actor;
use crate::server::db::{self, Db};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Writes an audit entry; a failure to audit is logged, never hidden, but does not undo the change.
pub(crate) async fn audit(
    db: &Db,
    actor: &Actor,
    action: &str,
    entity: &str,
    entity_id: Option<Uuid>,
    detail: serde_json::Value,
    at: DateTime<Utc>,
) {
    let entry = db::audit::Entry {
        org_id: actor.org_id(),
        actor: &actor.label(),
        action,
        entity,
        entity_id,
        detail,
        at,
    };
    if let Err(err) = db::audit::record(db, entry).await {
        tracing::error!(error = %err, action, entity, "could not write the audit log");
    }
}
