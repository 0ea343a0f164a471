//! Staff accounts (admins only).

use super::FormOutcome;
use crate::domain::StaffMember;
use leptos::prelude::*;

#[server(prefix = "/srv", endpoint = "staff/list_staff")]
pub async fn list_staff() -> Result<Vec<StaffMember>, ServerFnError> {
    let (state, actor) = super::ssr::actor()?;
    crate::server::services::staff::list(&state, &actor)
        .await
        .map_err(super::ssr::fail)
}

/// The organisation's staff, for pickers (any role).
#[server(prefix = "/srv", endpoint = "staff/list_colleagues")]
pub async fn list_colleagues() -> Result<Vec<StaffMember>, ServerFnError> {
    let (state, actor) = super::ssr::actor()?;
    crate::server::services::staff::colleagues(&state, &actor)
        .await
        .map_err(super::ssr::fail)
}

#[server(prefix = "/srv", endpoint = "staff/add_staff")]
pub async fn add_staff(
    #[server(default)] email: String,
    #[server(default)] display_name: String,
    #[server(default)] role: String,
    #[server(default)] password: String,
) -> Result<FormOutcome, ServerFnError> {
    use crate::server::services::staff::{add, NewStaffInput};
    let (state, actor) = super::ssr::actor()?;
    let input = NewStaffInput {
        email: &email,
        display_name: &display_name,
        role: &role,
        password: &password,
    };
    super::ssr::form_result(add(&state, &actor, input).await.map(|id| id.to_string()))
}

#[server(prefix = "/srv", endpoint = "staff/set_staff_active")]
pub async fn set_staff_active(id: String, active: bool) -> Result<(), ServerFnError> {
    let (state, actor) = super::ssr::actor()?;
    let id = super::ssr::parse_id(&id)?;
    crate::server::services::staff::set_active(&state, &actor, id, active)
        .await
        .map_err(super::ssr::fail)
}

/// An admin gives a colleague a new password; the colleague's sessions end.
#[server(prefix = "/srv", endpoint = "staff/reset_staff_password")]
pub async fn reset_staff_password(
    id: String,
    #[server(default)] new_password: String,
) -> Result<FormOutcome, ServerFnError> {
    let (state, actor) = super::ssr::actor()?;
    let id = super::ssr::parse_id(&id)?;
    super::ssr::form_result(
        crate::server::services::staff::reset_password(&state, &actor, id, &new_password)
            .await
            .map(|()| id.to_string()),
    )
}
