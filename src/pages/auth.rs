//! Sign-in and first-run setup.

use crate::api::auth::SetupOrganisation;
use crate::components::{action_error, form_errors, form_saved, ErrorNotice, Field};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The sign-in form posts to `/login` (a plain form: it works before the page is hydrated).
#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let email = move || query.read().get("email").unwrap_or_default();
    let failed = move || query.read().get("error").is_some_and(|e| e == "invalid");
    view! {
        <Title text="Sign in"/>
        <main class="auth-card">
            <h1>"Sign in to Concierge"</h1>
            {move || failed().then(|| view! {
                <p class="notice error" role="alert">"That e-mail and password do not match an active account."</p>
            })}
            <form method="post" action="/login" class="stack">
                <input type="hidden" name="next" value=next/>
                <div class="field">
                    <label for="email">"E-mail"</label>
                    <input id="email" name="email" type="email" autocomplete="username" required value=email autofocus/>
                </div>
                <div class="field">
                    <label for="password">"Password"</label>
                    <input id="password" name="password" type="password" autocomplete="current-password" required/>
                </div>
                <button type="submit" class="primary">"Sign in"</button>
            </form>
        </main>
    }
}

/// First run: create the organisation and its first admin.
#[component]
pub fn SetupPage() -> impl IntoView {
    let setup = ServerAction::<SetupOrganisation>::new();
    let errors = form_errors(setup);
    let failure = action_error(setup);
    let done = form_saved(setup);
    view! {
        <Title text="Set up"/>
        <main class="auth-card wide">
            <h1>"Welcome to Concierge"</h1>
            <p>"Create your organisation and the first admin account. You can add your team afterwards."</p>
            <ErrorNotice message=failure/>
            {move || done.get().then(|| view! { <p class="notice" role="status">"All set. Opening the portal…"</p> })}
            <ActionForm action=setup attr:class="stack">
                <fieldset>
                    <legend>"Organisation"</legend>
                    <Field label="Name" name="org_name" errors required=true autocomplete="organization"/>
                    <Field label="Short name" name="org_slug" errors required=true
                        hint="Lower-case letters, digits and hyphens, e.g. acme-concierge. Used on the command line."/>
                    <Field label="Time zone" name="timezone" errors required=true value="Europe/London" list="timezones"
                        hint="IANA name, e.g. America/New_York. The default for new clients."/>
                    <crate::pages::clients::TimezoneList/>
                </fieldset>
                <fieldset>
                    <legend>"First admin"</legend>
                    <Field label="Your name" name="admin_name" errors required=true autocomplete="name"/>
                    <Field label="E-mail" name="admin_email" kind="email" errors required=true autocomplete="username"/>
                    <Field label="Password" name="password" kind="password" errors required=true autocomplete="new-password"
                        hint="At least 12 characters."/>
                </fieldset>
                <Field label="Setup code" name="setup_code" errors autocomplete="off"
                    hint="Not needed on the server itself. From anywhere else: the code Concierge printed in its log when it started."/>
                <button type="submit" class="primary" disabled=move || setup.pending().get()>"Create organisation"</button>
            </ActionForm>
        </main>
    }
}
