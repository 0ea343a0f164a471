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
) -> Result<FormOutcome, ServerFnError> {
    use crate::server::services::auth::{self, SetupInput, SignInRequest};
    use leptos_axum::ResponseOptions;

    let state = super::ssr::state()?;
    let input = SetupInput {
        org_name,
        org_slug,
        timezone,
        admin_name,
        admin_email,
        password,
    };
    let created = auth::setup(&state, &input)
        .await
        .map(|a| a.staff_id.to_string());
    let outcome = super::ssr::form_result(created)?;
    if let FormOutcome::Saved(_) = outcome {
        let addr = use_context::<axum::http::request::Parts>()
            .and_then(|p| {
                p.extensions
                    .get::<crate::server::auth::guard::ClientAddr>()
                    .cloned()
            })
            .map(|a| a.0)
            .unwrap_or_default();
        let signed_in = auth::sign_in(
            &state,
            SignInRequest {
                email: &input.admin_email,
                password: &input.password,
                address: &addr,
                user_agent: None,
                previous_token: None,
            },
        )
        .await
        .map_err(super::ssr::fail)?;
        if let Some(res) = use_context::<ResponseOptions>() {
            let cookie = auth::session_cookie(&state, &signed_in.token, false);
            if let Ok(v) = axum::http::HeaderValue::from_str(&cookie) {
                res.append_header(axum::http::header::SET_COOKIE, v);
            }
        }
        leptos_axum::redirect("/");
    }
    Ok(outcome)
}
