//! Settings for admins: the organisation, staff accounts, API keys (shown once), date
//! categories, and the audit log.

use crate::api::settings::{
    audit_log, get_organisation, list_categories, list_keys, CreateKey, DeleteCategory, NewKey,
    RevokeKey, SaveCategory, SaveOrganisation,
};
use crate::api::staff::{list_staff, AddStaff, ResetStaffPassword, SetStaffActive};
use crate::components::{
    action_error, either_error, form_errors, form_saved, query_param, ErrorNotice, Field,
    FieldMessage,
};
use crate::domain::{FieldErrors, Role};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn StaffPage() -> impl IntoView {
    let add = ServerAction::<AddStaff>::new();
    let toggle = ServerAction::<SetStaffActive>::new();
    let reset = ServerAction::<ResetStaffPassword>::new();
    let staff = Resource::new(
        move || (add.version().get(), toggle.version().get()),
        |_| list_staff(),
    );
    let errors = form_errors(add);
    let reset_errors = form_errors(reset);
    let failure = either_error(
        either_error(action_error(add), action_error(toggle)),
        action_error(reset),
    );
    let reset_done = form_saved(reset);
    view! {
        <Title text="Staff"/>
        <SettingsNav/>
        <h1>"Staff"</h1>
        <ErrorNotice message=failure/>
        {move || reset_done.get().then(|| view! { <p class="notice" role="status">"Password set. Their sessions have ended; tell them the new one securely."</p> })}
        {move || {
            let errors = reset_errors.get();
            (!errors.is_empty()).then(|| view! { <p class="notice error" role="alert">{errors.to_string()}</p> })
        }}
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
                                    let reset_id = id.clone();
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
                                                <details class="inline">
                                                    <summary>"Reset password"</summary>
                                                    <ActionForm action=reset attr:class="inline-form">
                                                        <input type="hidden" name="id" value=reset_id/>
                                                        <label>"New password" <input type="password" name="new_password" autocomplete="new-password" required minlength="12"/></label>
                                                        <button type="submit">"Set it"</button>
                                                    </ActionForm>
                                                </details>
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

/// Links between the settings pages.
#[component]
pub fn SettingsNav() -> impl IntoView {
    view! {
        <nav class="tabs" aria-label="Settings">
            <a href="/settings">"Organisation"</a>
            <a href="/settings/staff">"Staff"</a>
            <a href="/settings/channels">"Channels"</a>
            <a href="/settings/engagement">"Engagement"</a>
            <a href="/settings/audit">"Audit log"</a>
        </nav>
    }
}

#[component]
pub fn SettingsPage() -> impl IntoView {
    let save_org = ServerAction::<SaveOrganisation>::new();
    let org = Resource::new(move || save_org.version().get(), |_| get_organisation());
    let org_errors = form_errors(save_org);
    let org_error = action_error(save_org);
    let saved = form_saved(save_org);
    view! {
        <Title text="Settings"/>
        <SettingsNav/>
        <h1>"Settings"</h1>
        <section class="panel" aria-labelledby="org-heading">
            <h2 id="org-heading">"Organisation"</h2>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match org.await {
                        Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(o) => view! {
                            <ActionForm action=save_org attr:class="inline-form">
                                <Field label="Name" name="name" errors=org_errors required=true value=o.name.clone()/>
                                <Field label="Default time zone" name="timezone" errors=org_errors required=true value=o.timezone.clone()/>
                                <Field label="Country for phone numbers" name="phone_region" errors=org_errors
                                    value=o.phone_region.clone().unwrap_or_default()
                                    hint="A country code such as GB or US: numbers written without +44 or +1 are read as that country's. Blank: numbers need their country code."/>
                                <button type="submit" class="primary">"Save"</button>
                            </ActionForm>
                            <p class="muted">{format!("Address name (slug): {}", o.slug)}</p>
                        }.into_any(),
                    }
                })}
            </Suspense>
            {move || saved.get().then(|| view! { <p class="notice" role="status">"Saved."</p> })}
            <ErrorNotice message=org_error/>
        </section>
        <ApiKeys/>
        <Categories/>
    }
}

#[component]
fn ApiKeys() -> impl IntoView {
    let create = ServerAction::<CreateKey>::new();
    let revoke = ServerAction::<RevokeKey>::new();
    let keys = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_keys(),
    );
    let errors = Signal::derive(move || match create.value().get() {
        Some(Ok(NewKey::Invalid(e))) => e,
        _ => FieldErrors::default(),
    });
    let failure = either_error(action_error(create), action_error(revoke));
    view! {
        <section class="panel" aria-labelledby="keys-heading">
            <h2 id="keys-heading">"API keys"</h2>
            <p>"Other systems use these with " <code>"Authorization: Bearer <key>"</code> ". A key is shown once, when it is made; only a hash is kept."</p>
            {move || match create.value().get() {
                Some(Ok(NewKey::Created { name, secret })) => Some(view! {
                    <div class="notice" role="status">
                        <p>{format!("The key “{name}” — copy it now, it will not be shown again:")}</p>
                        <code class="secret">{secret}</code>
                    </div>
                }),
                _ => None,
            }}
            <ErrorNotice message=failure/>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match keys.await {
                        Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="empty">"No API keys yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <table class="table">
                                <thead><tr><th scope="col">"Name"</th><th scope="col">"Starts with"</th><th scope="col">"Made"</th>
                                    <th scope="col">"Last used"</th><th scope="col">"Access"</th><th scope="col">"Status"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|k| {
                                        let revoked = k.revoked_at.is_some();
                                        let id = k.id.clone();
                                        view! {
                                            <tr class:inactive=revoked>
                                                <td>{k.name.clone()}</td>
                                                <td><code>{format!("{}…", k.prefix)}</code></td>
                                                <td>{k.created_at.format("%-d %b %Y").to_string()}</td>
                                                <td>{k.last_used_at.map(|t| t.format("%-d %b %Y %H:%M UTC").to_string()).unwrap_or_else(|| "never".into())}</td>
                                                <td>{if k.read_only { "read only" } else { "read and write" }}</td>
                                                <td>{match (k.revoked_at, k.expires_at) {
                                                    (Some(t), _) => format!("revoked {}", t.format("%-d %b %Y")),
                                                    (None, Some(t)) => format!("active until {}", t.format("%-d %b %Y")),
                                                    (None, None) => "active".into(),
                                                }}</td>
                                                <td>{(!revoked).then(|| view! {
                                                    <ActionForm action=revoke attr:class="inline">
                                                        <input type="hidden" name="id" value=id.clone()/>
                                                        <button type="submit" class="link-button">"Revoke"</button>
                                                    </ActionForm>
                                                })}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                    }
                })}
            </Transition>
            <ActionForm action=create attr:class="inline-form">
                <Field label="New key's name" name="name" errors required=true hint="What will use it, e.g. “client app”"/>
                <Field label="Expires after (days)" name="expires_in_days" kind="number" errors hint="Empty: never"/>
                <div class="field checkbox">
                    <label><input type="checkbox" name="read_only"/>" Read only (every write refused)"</label>
                </div>
                <button type="submit" class="primary">"Make a key"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn Categories() -> impl IntoView {
    let save = ServerAction::<SaveCategory>::new();
    let delete = ServerAction::<DeleteCategory>::new();
    let list = Resource::new(
        move || (save.version().get(), delete.version().get()),
        |_| list_categories(),
    );
    let errors = form_errors(save);
    let failure = either_error(action_error(save), action_error(delete));
    view! {
        <section class="panel" aria-labelledby="categories-heading">
            <h2 id="categories-heading">"Date categories"</h2>
            <ErrorNotice message=failure/>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(cats) => view! {
                            <ul class="category-list">
                                {cats.into_iter().map(|c| {
                                    let id = c.id.to_string();
                                    let edit_id = id.clone();
                                    view! {
                                        <li>
                                            // An SVG fill is an attribute, not an inline style the CSP would refuse.
                                            <svg class="swatch" viewBox="0 0 10 10" aria-hidden="true"><circle cx="5" cy="5" r="5" fill=c.color.clone()></circle></svg>
                                            {format!("{} {}", c.icon, c.name)}
                                            <details class="inline">
                                                <summary class="link-button">"Edit"</summary>
                                                <ActionForm action=save attr:class="inline-form">
                                                    <input type="hidden" name="id" value=edit_id/>
                                                    <label>"Name " <input name="name" value=c.name.clone() required/></label>
                                                    <label>"Icon " <input name="icon" value=c.icon.clone() size="3"/></label>
                                                    <label>"Colour " <input name="color" type="color" value=c.color.clone()/></label>
                                                    <button type="submit">"Save"</button>
                                                </ActionForm>
                                            </details>
                                            <ActionForm action=delete attr:class="inline">
                                                <input type="hidden" name="id" value=id/>
                                                <button type="submit" class="link-button">"Delete"</button>
                                            </ActionForm>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                    }
                })}
            </Transition>
            <ActionForm action=save attr:class="inline-form">
                <Field label="Name" name="name" errors required=true/>
                <Field label="Icon" name="icon" errors hint="An emoji"/>
                <Field label="Colour" name="color" kind="color" errors value="#4f7cac"/>
                <button type="submit" class="primary">"Add category"</button>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let page = query_param("page", "1");
    let n = move || page.get().parse::<i64>().unwrap_or(1).max(1);
    let entries = Resource::new(n, audit_log);
    view! {
        <Title text="Audit log"/>
        <SettingsNav/>
        <h1>"Audit log"</h1>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match entries.await {
                    Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="empty">"Nothing recorded here."</p> }.into_any(),
                    Ok(list) => {
                        let more = list.len() == 100;
                        view! {
                            <table class="table audit">
                                <thead><tr><th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"Did"</th>
                                    <th scope="col">"To"</th><th scope="col">"Details"</th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|a| view! {
                                        <tr>
                                            <td>{a.created_at.format("%-d %b %Y %H:%M:%S UTC").to_string()}</td>
                                            <td>{a.actor.clone()}</td>
                                            <td>{a.action.clone()}</td>
                                            <td>{format!("{}{}", a.entity, a.entity_id.map(|i| format!(" {}", &i.to_string()[..8])).unwrap_or_default())}</td>
                                            <td><code>{a.detail.to_string()}</code></td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            <crate::components::PageLinks page=n() more link=|p| format!("/settings/audit?page={p}") labels=("← Newer", "Older →")/>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}
