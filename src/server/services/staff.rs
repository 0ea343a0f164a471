//! Staff accounts: listing, adding and deactivating (admins only).

use super::audit;
use crate::domain::{EmailAddress, FieldErrors, Role, StaffMember};
use crate::server::auth::{password, Actor};
use crate::server::db::{sessions, staff};
use crate::server::error::{ServiceError, ServiceResult};
use crate::server::AppState;
use serde_json::json;
use uuid::Uuid;

pub async fn list(state: &AppState, actor: &Actor) -> ServiceResult<Vec<StaffMember>> {
    actor.require_admin()?;
    Ok(staff::list(&state.db, actor.org_id()).await?)
}

/// Everyone's colleagues, for choosing who looks after a client: any signed-in role may see them.
pub async fn colleagues(state: &AppState, actor: &Actor) -> ServiceResult<Vec<StaffMember>> {
    Ok(staff::list(&state.db, actor.org_id()).await?)
}

pub struct NewStaffInput<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub role: &'a str,
    pub password: &'a str,
}

pub async fn add(state: &AppState, actor: &Actor, input: NewStaffInput<'_>) -> ServiceResult<Uuid> {
    actor.require_admin()?;
    let mut errors = FieldErrors::new();
    let email = errors.check("email", EmailAddress::parse(input.email));
    let name = errors.check("display_name", super::auth::name_check(input.display_name));
    let role = errors.check("role", Role::parse(input.role));
    errors.check(
        "password",
        crate::server::auth::password::check_policy(input.password),
    );
    let (Some(email), Some(name), Some(role)) = (email, name, role) else {
        return Err(errors.into());
    };
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let id =
        super::auth::add_staff(state, actor.org_id(), &email, &name, role, input.password).await?;
    audit(
        &state.db,
        actor,
        "create",
        "staff",
        Some(id),
        json!({ "email": email.as_str(), "role": role.as_str() }),
        state.clock.now(),
    )
    .await;
    Ok(id)
}

/// Activates or deactivates an account. Deactivating ends its sessions at once; the last
/// active admin, and one's own account, cannot be deactivated.
pub async fn set_active(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    active: bool,
) -> ServiceResult<()> {
    actor.require_admin()?;
    let target = staff::get(&state.db, actor.org_id(), id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if !active {
        if let Actor::Staff(me) = actor {
            if me.staff_id == id {
                return Err(ServiceError::conflict(
                    "active",
                    "you cannot deactivate your own account",
                ));
            }
        }
        if target.role == Role::Admin
            && target.active
            && staff::count_active_admins(&state.db, actor.org_id()).await? <= 1
        {
            return Err(ServiceError::conflict(
                "active",
                "the last active admin cannot be deactivated",
            ));
        }
    }
    let now = state.clock.now();
    staff::set_active(&state.db, actor.org_id(), id, active, now).await?;
    if !active {
        sessions::delete_for_staff(&state.db, id).await?;
    }
    let action = if active { "activate" } else { "deactivate" };
    audit(
        &state.db,
        actor,
        action,
        "staff",
        Some(id),
        json!({ "email": target.email }),
        now,
    )
    .await;
    Ok(())
}

/// A staff member changes their own password: the current one must be given and right. Every
/// session of the account ends (whoever knew the old password is signed out); the page signs
/// this browser in again with the new one.
pub async fn change_password(
    state: &AppState,
    actor: &Actor,
    current: &str,
    new: &str,
) -> ServiceResult<()> {
    let Actor::Staff(me) = actor else {
        return Err(ServiceError::Forbidden(
            "only a signed-in staff member has a password".into(),
        ));
    };
    let creds = staff::credentials(&state.db, &me.email)
        .await?
        .filter(|c| c.staff.id == me.staff_id && c.staff.org_id == me.org_id)
        .ok_or(ServiceError::Unauthorized)?;
    if !password::verify(current.to_string(), Some(creds.password_hash)).await {
        return Err(ServiceError::invalid(
            "current_password",
            "is not your current password",
        ));
    }
    password::check_policy(new).map_err(|m| ServiceError::invalid("new_password", m))?;
    if new == current {
        return Err(ServiceError::invalid(
            "new_password",
            "must differ from the current one",
        ));
    }
    let hash = password::hash(new.to_string()).await?;
    let now = state.clock.now();
    staff::set_password(&state.db, me.org_id, me.staff_id, &hash, now).await?;
    sessions::delete_for_staff(&state.db, me.staff_id).await?;
    audit(
        &state.db,
        actor,
        "change_password",
        "staff",
        Some(me.staff_id),
        json!({}),
        now,
    )
    .await;
    Ok(())
}

/// An admin gives a colleague a new password (one they tell them): the colleague's sessions
/// end. One's own password is changed with the current one, not reset.
pub async fn reset_password(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    new: &str,
) -> ServiceResult<()> {
    actor.require_admin()?;
    let target = staff::get(&state.db, actor.org_id(), id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if let Actor::Staff(me) = actor {
        if me.staff_id == id {
            return Err(ServiceError::conflict(
                "new_password",
                "change your own password under Your account, with your current one",
            ));
        }
    }
    password::check_policy(new).map_err(|m| ServiceError::invalid("new_password", m))?;
    let hash = password::hash(new.to_string()).await?;
    let now = state.clock.now();
    staff::set_password(&state.db, actor.org_id(), id, &hash, now).await?;
    sessions::delete_for_staff(&state.db, id).await?;
    audit(
        &state.db,
        actor,
        "reset_password",
        "staff",
        Some(id),
        json!({ "email": target.email }),
        now,
    )
    .await;
    Ok(())
}

/// Ends every session of the signed-in staff member, on every device, this one included.
pub async fn sign_out_everywhere(state: &AppState, actor: &Actor) -> ServiceResult<()> {
    let Actor::Staff(me) = actor else {
        return Err(ServiceError::Forbidden(
            "only a signed-in staff member has sessions".into(),
        ));
    };
    sessions::delete_for_staff(&state.db, me.staff_id).await?;
    audit(
        &state.db,
        actor,
        "sign_out_everywhere",
        "staff",
        Some(me.staff_id),
        json!({}),
        state.clock.now(),
    )
    .await;
    Ok(())
}
