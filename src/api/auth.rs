//! Who is signed in, and first-run setup.

use super::FormOutcome;
use crate::domain::SessionUser;
use leptos::prelude::*;

/// The signed-in staff member, or `None`.
#[server(prefix = "/srv", endpoint = "auth/current_user")]
pub async fn current_user() -> Result<Option<SessionUser>, ServerFnError> {
    Ok(super::ssr::session_user())
}

/// Creates the organisation and its first admin, signs the admin in, and opens the portal.
#[server(prefix = "/srv", endpoint = "auth/setup_organisation")]
pub async fn setup_organisation(
    #[server(default)] org_name: String,
    #[server(default)] org_slug: String,
    #[server(default)] timezone: String,
    #[server(default)] admin_name: String,
    #[server(default)] admin_email: String,
    #[server(default)] password: String,
    #[server(default)] setup_code: String,
) -> Result<FormOutcome, ServerFnError> {
    use crate::server::services::auth::{self, SetupInput, SignInRequest};

    let state = super::ssr::state()?;
    let input = SetupInput {
        org_name,
        org_slug,
        timezone,
        admin_name,
        admin_email,
        password,
        setup_code,
    };
    let parts = use_context::<axum::http::request::Parts>();
    let local = parts
        .as_ref()
        .is_some_and(crate::server::auth::guard::from_this_machine);
    let created = auth::setup(&state, &input, local)
        .await
        .map(|a| a.staff_id.to_string());
    let outcome = super::ssr::form_result(created)?;
    if let FormOutcome::Saved(_) = outcome {
        let extension = |parts: &axum::http::request::Parts| {
            let addr = parts
                .extensions
                .get::<crate::server::auth::guard::ClientAddr>()
                .map(|a| a.0.clone());
            let session = parts.extensions.get::<tower_sessions::Session>().cloned();
            (addr, session)
        };
        let (addr, session) = parts.as_ref().map(extension).unwrap_or_default();
        let session = session.ok_or_else(|| ServerFnError::new("no session layer"))?;
        auth::sign_in(
            &state,
            &session,
            SignInRequest {
                email: &input.admin_email,
                password: &input.password,
                address: &addr.unwrap_or_default(),
                user_agent: None,
            },
        )
        .await
        .map_err(super::ssr::fail)?;
        leptos_axum::redirect("/");
    }
    Ok(outcome)
}

/// The signed-in staff member changes their password. Every session of the account ends;
/// this browser is signed in again with the new password.
#[server(prefix = "/srv", endpoint = "auth/change_password")]
pub async fn change_password(
    #[server(default)] current_password: String,
    #[server(default)] new_password: String,
) -> Result<FormOutcome, ServerFnError> {
    use crate::server::services::auth::{self, SignInRequest};
    let (state, actor) = super::ssr::actor()?;
    let changed = crate::server::services::staff::change_password(
        &state,
        &actor,
        &current_password,
        &new_password,
    )
    .await
    .map(|()| String::new());
    let outcome = super::ssr::form_result(changed)?;
    if let (FormOutcome::Saved(_), crate::server::auth::Actor::Staff(me)) = (&outcome, &actor) {
        let parts = use_context::<axum::http::request::Parts>()
            .ok_or_else(|| ServerFnError::new("no request"))?;
        let session = parts
            .extensions
            .get::<tower_sessions::Session>()
            .cloned()
            .ok_or_else(|| ServerFnError::new("no session layer"))?;
        let address = parts
            .extensions
            .get::<crate::server::auth::guard::ClientAddr>()
            .map(|a| a.0.clone())
            .unwrap_or_default();
        let user_agent = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        auth::sign_in(
            &state,
            &session,
            SignInRequest {
                email: &me.email,
                password: &new_password,
                address: &address,
                user_agent,
            },
        )
        .await
        .map_err(super::ssr::fail)?;
    }
    Ok(outcome)
}

/// Ends every session of the signed-in staff member, this one included, and goes to the
/// sign-in page.
#[server(prefix = "/srv", endpoint = "auth/sign_out_everywhere")]
pub async fn sign_out_everywhere() -> Result<(), ServerFnError> {
    let (state, actor) = super::ssr::actor()?;
    crate::server::services::staff::sign_out_everywhere(&state, &actor)
        .await
        .map_err(super::ssr::fail)?;
    if let Some(session) = use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<tower_sessions::Session>().cloned())
    {
        crate::server::auth::sessions::end(&session)
            .await
            .map_err(|e| ServerFnError::new(e.to_string()))?;
    }
    leptos_axum::redirect("/login");
    Ok(())
}
