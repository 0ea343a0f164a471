//! The signed-in staff member's own account: their password, and signing out everywhere.

use crate::api::auth::{ChangePassword, SignOutEverywhere};
use crate::components::{action_error, form_errors, form_saved, ErrorNotice, Field};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AccountPage() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let everywhere = ServerAction::<SignOutEverywhere>::new();
    let errors = form_errors(change);
    let changed = form_saved(change);
    let failure = action_error(change);
    let sign_out_failure = action_error(everywhere);
    view! {
        <Title text="Your account"/>
        <h1>"Your account"</h1>
        <section class="panel" aria-labelledby="password-heading">
            <h2 id="password-heading">"Password"</h2>
            <p>"Changing it signs you out on every other device; this one stays signed in."</p>
            {move || changed.get().then(|| view! { <p class="notice" role="status">"Your password is changed."</p> })}
            <ErrorNotice message=failure/>
            <ActionForm action=change attr:class="stack form-grid">
                <Field label="Current password" name="current_password" kind="password" errors required=true autocomplete="current-password"/>
                <Field label="New password" name="new_password" kind="password" errors required=true autocomplete="new-password"
                    hint="At least 12 characters."/>
                <div class="actions full">
                    <button type="submit" class="primary" disabled=move || change.pending().get()>"Change password"</button>
                </div>
            </ActionForm>
        </section>
        <section class="panel" aria-labelledby="sessions-heading">
            <h2 id="sessions-heading">"Sessions"</h2>
            <p>"Lost a device, or signed in somewhere you should not have? End every session of your account, this one included."</p>
            <ErrorNotice message=sign_out_failure/>
            <ActionForm action=everywhere attr:class="inline">
                <button type="submit" class="danger">"Sign out everywhere"</button>
            </ActionForm>
        </section>
    }
}
