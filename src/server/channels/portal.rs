//! The in-portal channel: a reminder for staff becomes a note in their portal — the assigned
//! concierge's, or every admin's when the client has nobody assigned.

use super::{SendError, SendFuture, Sent, Transport};
use crate::domain::delivery::Delivery;
use crate::server::db::{channels, Db};

pub struct Portal {
    db: Db,
}

impl Portal {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

impl Transport for Portal {
    fn name(&self) -> &'static str {
        "portal"
    }

    fn send<'a>(&'a self, d: &'a Delivery) -> SendFuture<'a> {
        Box::pin(async move {
            let staff = match d.staff_id {
                Some(s) => vec![s],
                None => channels::admins(&self.db, d.org_id)
                    .await
                    .map_err(|e| SendError::transient(format!("database: {e}")))?,
            };
            if staff.is_empty() {
                return Err(SendError::permanent("there is no staff member to tell"));
            }
            let title = d.subject.clone().unwrap_or_else(|| "Reminder".into());
            channels::notify(
                &self.db,
                d.org_id,
                &staff,
                d.id,
                d.person_id,
                &title,
                &d.body,
                d.updated_at,
            )
            .await
            .map_err(|e| SendError::transient(format!("database: {e}")))?;
            Ok(Sent {
                provider_message_id: None,
            })
        })
    }
}
