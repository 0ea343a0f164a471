//! The business operations: the only place rules are applied. Server functions and REST
//! handlers both call these; they in turn call repositories.

pub mod activity;
pub mod api_keys;
pub mod approvals;
pub mod auth;
pub mod calendar;
pub mod campaigns;
pub mod channels;
pub mod comms;
pub mod dashboard;
pub mod dates;
pub mod deliveries;
pub mod demo;
pub mod engagement;
pub mod idempotency;
pub mod inbound;
pub mod persons;
pub mod privacy;
pub mod projects;
pub mod reminders;
pub mod settings;
pub mod staff;
pub mod vendors;
pub mod webhooks;

use crate::domain::FieldErrors;
use crate::server::auth::Actor;
use crate::server::db::{self, Db};
use crate::server::error::{ServiceError, ServiceResult};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;
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
    if let Err(err) = audit_in(db, actor, action, entity, entity_id, detail, at).await {
        tracing::error!(error = %err, action, entity, "could not write the audit log");
    }
}

/// Writes an audit entry, as part of a unit of work when given one (`&mut tx`): the change and
/// its entry land together or not at all.
pub(crate) async fn audit_in(
    conn: impl Into<db::Conn<'_>>,
    actor: &Actor,
    action: &str,
    entity: &str,
    entity_id: Option<Uuid>,
    detail: serde_json::Value,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let entry = db::audit::Entry {
        org_id: actor.org_id(),
        actor: &actor.label(),
        action,
        entity,
        entity_id,
        detail,
        at,
    };
    db::audit::record(conn, entry).await
}

/// Reads input from JSON, naming the field when a value has the wrong type or is unknown.
pub fn deserialize_input<T: DeserializeOwned>(mut value: serde_json::Value) -> ServiceResult<T> {
    normalise_json("body", &mut value)?;
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner().to_string();
        let field = if path == "." {
            inner
                .strip_prefix("unknown field `")
                .and_then(|rest| rest.split('`').next())
                .unwrap_or("body")
                .to_string()
        } else {
            path.split(['.', '[']).next().unwrap_or("body").to_string()
        };
        ServiceError::Invalid(FieldErrors::single(&field, inner))
    })
}

/// Input JSON as its schema reads it: a whole number written with a fraction (`2.0`) is the
/// integer it is (JSON Schema's `integer` allows it, serde's `i64` does not), and text may not
/// hold the NUL character, which PostgreSQL cannot store (refused, naming the top field).
fn normalise_json(field: &str, value: &mut serde_json::Value) -> ServiceResult<()> {
    use serde_json::Value;
    match value {
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|_| !n.is_i64() && !n.is_u64()) {
                if f.fract() == 0.0 && f.abs() < 9.0e15 {
                    *value = Value::from(f as i64);
                }
            }
        }
        Value::String(text) if text.contains('\0') => {
            return Err(ServiceError::invalid(
                field,
                "must not contain the NUL character",
            ))
        }
        Value::Array(items) => {
            for item in items {
                normalise_json(field, item)?;
            }
        }
        Value::Object(fields) => {
            for (name, item) in fields.iter_mut() {
                // Below the top, errors name the top field.
                let named = if field == "body" {
                    name.as_str()
                } else {
                    field
                };
                normalise_json(named, item)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// A partial update: the fields present in `patch` replace those of `base` (`null` clears an
/// optional one), absent fields are kept. `aliases` maps other accepted names to the field's.
pub fn merge_patch<T: Serialize + DeserializeOwned>(
    base: &T,
    patch: serde_json::Map<String, serde_json::Value>,
    aliases: &[(&str, &str)],
) -> ServiceResult<T> {
    let mut merged = serde_json::to_value(base).map_err(anyhow::Error::from)?;
    if let Some(object) = merged.as_object_mut() {
        for (key, value) in patch {
            let key = aliases
                .iter()
                .find(|(alias, _)| *alias == key)
                .map(|(_, name)| name.to_string())
                .unwrap_or(key);
            object.insert(key, value);
        }
    }
    deserialize_input(merged)
}

/// A live person of the actor's organisation, or a 422 on `field`.
pub(crate) async fn live_person(
    state: &crate::server::AppState,
    actor: &Actor,
    id: Uuid,
    field: &str,
) -> ServiceResult<crate::domain::Person> {
    db::persons::get(&state.db, actor.org_id(), id)
        .await?
        .ok_or_else(|| ServiceError::missing(field, "there is no such person in this organisation"))
}

/// An active staff account of the actor's organisation, or a 422 on `field`.
pub(crate) async fn active_staff(
    state: &crate::server::AppState,
    actor: &Actor,
    id: Uuid,
    field: &str,
) -> ServiceResult<crate::domain::StaffMember> {
    match db::staff::get(&state.db, actor.org_id(), id).await? {
        Some(s) if s.active => Ok(s),
        Some(_) => Err(ServiceError::invalid(
            field,
            "that staff account is deactivated",
        )),
        None => Err(ServiceError::missing(
            field,
            "there is no such staff member in this organisation",
        )),
    }
}

/// The largest page a list answers with.
pub const MAX_PAGE: i64 = 200;

/// Checks `skip` and `limit` of a list request.
pub(crate) fn page_bounds(skip: i64, limit: i64) -> ServiceResult<()> {
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ServiceError::invalid(
            "limit",
            format!("must be between 1 and {MAX_PAGE}"),
        ));
    }
    if skip < 0 {
        return Err(ServiceError::invalid("skip", "must not be negative"));
    }
    Ok(())
}

/// An optional filter on an enum `field` from a query string: empty and `all` mean no filter.
pub(crate) fn enum_filter<T>(
    field: &str,
    raw: Option<&str>,
    parse: impl Fn(&str) -> Result<T, String>,
) -> ServiceResult<Option<T>> {
    match raw.map(str::trim).filter(|s| !s.is_empty() && *s != "all") {
        None => Ok(None),
        Some(s) => parse(s)
            .map(Some)
            .map_err(|m| ServiceError::invalid(field, m)),
    }
}
