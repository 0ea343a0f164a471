//! Settings: staff accounts (admins only).

use crate::api::staff::{list_staff, AddStaff, SetStaffActive};
use crate::components::{form_errors, ErrorNotice, Field, FieldMessage};
use crate::domain::Role;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn StaffPage() -> impl IntoView {
    let add = ServerAction::<AddStaff>::new();
    let toggle = ServerAction::<SetStaffActive>::new();
    let staff = Resource::new(
        move || (add.version().get(), toggle.version().get()),
        |_| list_staff(),
    );
    let errors = form_errors(add);
    let failure = Signal::derive(move || match (add.value().get(), toggle.value().get()) {
        (Some(Err(e)), _) | (_, Some(Err(e))) => Some(e.to_string()),
        _ => None,
    });
    view! {
        <Title text="Staff"/>
        <h1>"Staff"</h1>
        <ErrorNotice message=failure/>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match staff.await {
                    Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(list) => view! {
                        <table class="table">
                            <thead><tr><th scope="col">"Name"</th><th scope="col">"E-mail"</th><th scope="col">"Role"</th><th scope="col">"Status"</th><th scope="col">"Last sign-in"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|s| {
                                    let id = s.id.to_string();
                                    let label = if s.active { "Deactivate" } else { "Activate" };
                                    view! {
                                        <tr class:inactive=!s.active>
                                            <td>{s.display_name.clone()}</td>
                                            <td>{s.email.clone()}</td>
                                            <td>{s.role.label()}</td>
                                            <td>{if s.active { "Active" } else { "Deactivated" }}</td>
                                            <td>{s.last_login_at.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_else(|| "never".into())}</td>
                                            <td>
                                                <ActionForm action=toggle attr:class="inline">
                                                    <input type="hidden" name="id" value=id/>
                                                    <input type="hidden" name="active" value=(!s.active).to_string()/>
                                                    <button type="submit" class="link-button">{label}</button>
                                                </ActionForm>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                }
            })}
        </Transition>
        <h2>"Add a staff member"</h2>
        <ActionForm action=add attr:class="stack form-grid">
            <Field label="Name" name="display_name" errors required=true/>
            <Field label="E-mail" name="email" kind="email" errors required=true/>
            <div class="field">
                <label for="f-role">"Role"</label>
                <select id="f-role" name="role">
                    {Role::ALL.iter().map(|r| view! { <option value=r.as_str() selected=*r == Role::Concierge>{r.label()}</option> }).collect_view()}
                </select>
                <FieldMessage name="role" errors/>
            </div>
            <Field label="Initial password" name="password" kind="password" errors required=true autocomplete="new-password"
                hint="At least 12 characters; share it with them securely."/>
            <div class="actions full">
                <button type="submit" class="primary" disabled=move || add.pending().get()>"Add staff member"</button>
            </div>
        </ActionForm>
    }
}
