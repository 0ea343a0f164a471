//! Who is acting on a request: a signed-in staff member or an API key. Services check the
//! actor's rights; every query they run is scoped to the actor's organisation.

use crate::domain::{Role, SessionUser};
use crate::server::error::ServiceError;
use uuid::Uuid;

#[derive(Clone, Debug)]
pub enum Actor {
    Staff(SessionUser),
    ApiKey {
        id: Uuid,
        org_id: Uuid,
        name: String,
        /// A key made to read only (an analyst's rights).
        read_only: bool,
    },
}

impl Actor {
    pub fn org_id(&self) -> Uuid {
        match self {
            Actor::Staff(s) => s.org_id,
            Actor::ApiKey { org_id, .. } => *org_id,
        }
    }

    /// Who may configure what the organisation sends (campaigns, event webhooks): admins
    /// among staff; API keys that may write.
    pub fn require_configure(&self) -> Result<(), ServiceError> {
        match self {
            Actor::Staff(_) => self.require_admin(),
            Actor::ApiKey { .. } => self.require_write(),
        }
    }

    /// The staff member acting, if a person is (an API key is no one).
    pub fn staff_id(&self) -> Option<Uuid> {
        match self {
            Actor::Staff(s) => Some(s.staff_id),
            Actor::ApiKey { .. } => None,
        }
    }

    /// API keys act with a concierge's rights: they manage clients, not staff or settings. A
    /// read-only key has an analyst's: it reads.
    pub fn role(&self) -> Role {
        match self {
            Actor::Staff(s) => s.role,
            Actor::ApiKey {
                read_only: true, ..
            } => Role::Analyst,
            Actor::ApiKey { .. } => Role::Concierge,
        }
    }

    /// How the audit log names this actor.
    pub fn label(&self) -> String {
        match self {
            Actor::Staff(s) => format!("staff:{}", s.email),
            Actor::ApiKey { name, id, .. } => format!("api_key:{name} ({id})"),
        }
    }

    pub fn require_write(&self) -> Result<(), ServiceError> {
        if self.role().can_write() {
            Ok(())
        } else {
            Err(ServiceError::Forbidden("your role is read-only".into()))
        }
    }

    pub fn require_admin(&self) -> Result<(), ServiceError> {
        if self.role().is_admin() {
            Ok(())
        } else {
            Err(ServiceError::Forbidden("only an admin may do this".into()))
        }
    }
}
