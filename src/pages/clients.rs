//! Clients: the searchable directory, a client's record, and the form to add or edit one.

use crate::api::clients::{
    client_timeline, client_workspace, get_client, list_clients, DeleteClient, SaveClient,
};
use crate::api::comms::{AddIdentity, ChangeIdentity};
use crate::api::engagement::explain_person;
use crate::api::staff::list_colleagues;
use crate::components::{
    action_error, can_write, form_errors, id_param, query_param, ErrorNotice, Field, FieldMessage,
    Pager,
};
use crate::domain::comms::CommIdentity;
use crate::domain::dates::Channel;
use crate::domain::profile::TimelineEntry;
use crate::domain::{Person, PersonType, StaffMember};
use crate::pages::conversations::ClientConversations;
use crate::pages::dates::{client_dates_resource, ClientDates};
use crate::pages::engagement::ClientEngagement;
use crate::pages::projects::ClientProjects;
use crate::pages::vendors::RecommendationsPanel;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

#[component]
pub fn ClientsPage() -> impl IntoView {
    let query = use_query_map();
    let q = query_param("q", "");
    let tag = query_param("tag", "");
    let staff_id = query_param("staff", "");
    let segment = query_param("segment", "");
    let page = move || {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse::<i64>().ok())
            .unwrap_or(1)
            .max(1)
    };
    let results = Resource::new(
        move || (q.get(), tag.get(), staff_id.get(), segment.get(), page()),
        |(q, tag, staff, segment, page)| list_clients(q, tag, staff, segment, page),
    );
    let staff = Resource::new(|| (), |_| list_colleagues());
    let writable = can_write();
    view! {
        <Title text="Clients"/>
        <div class="page-head">
            <h1>"Clients"</h1>
            <Suspense fallback=|| ()>
                {move || writable.get().then(|| view! {
                    <div class="actions">
                        <a class="button" href="/clients/import">"Import / export"</a>
                        <a class="button primary" href="/clients/new">"Add client"</a>
                    </div>
                })}
            </Suspense>
        </div>
        <Form method="GET" action="" attr:class="search" attr:role="search">
            <label for="q" class="visually-hidden">"Search clients"</label>
            <input id="q" type="search" name="q" value=move || q.get() placeholder="Name, e-mail, phone, tag…"/>
            <label for="tag" class="visually-hidden">"Tag"</label>
            <input id="tag" name="tag" value=move || tag.get() placeholder="Tag" size="10"/>
            <label for="staff" class="visually-hidden">"Looked after by"</label>
            <select id="staff" name="staff">
                <option value="">"Anyone"</option>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        staff.await.unwrap_or_default().into_iter().map(|s| {
                            let id = s.id.to_string();
                            let selected = staff_id.get() == id;
                            view! { <option value=id selected=selected>{s.display_name.clone()}</option> }
                        }).collect_view()
                    })}
                </Suspense>
            </select>
            <label for="segment" class="visually-hidden">"Segment"</label>
            <select id="segment" name="segment">
                {[("", "Any segment"), ("new", "New"), ("active", "Active"), ("at_risk", "At risk"), ("dormant", "Dormant"), ("churned", "Churned")]
                    .into_iter()
                    .map(|(value, label)| view! { <option value=value selected=move || segment.get() == value>{label}</option> })
                    .collect_view()}
            </select>
            <button type="submit" name="page" value="1">"Search"</button>
        </Form>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let filtered = !q.get().is_empty() || !tag.get().is_empty() || !staff_id.get().is_empty() || !segment.get().is_empty();
                match results.await {
                    Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(list) if list.items.is_empty() => view! {
                        <p class="empty">{if !filtered { "No clients yet.".to_string() } else if q.get().is_empty() { "No client matches these filters.".to_string() } else { format!("No client matches “{}”.", q.get()) }}</p>
                        {(!list.close.is_empty()).then(|| view! {
                            <section aria-labelledby="close-heading">
                                <h2 id="close-heading">"Close matches"</h2>
                                <ul class="close-matches">
                                    {list.close.into_iter().map(|p| view! {
                                        <li><a href=format!("/clients/{}", p.id)>{p.full_name.clone()}</a>
                                            {p.email.clone().map(|e| view! { <span class="muted">" · " {e.to_string()}</span> })}</li>
                                    }).collect_view()}
                                </ul>
                            </section>
                        })}
                    }.into_any(),
                    Ok(list) => {
                        let pages = list.pages();
                        let keep = vec![("q", q.get()), ("tag", tag.get()), ("staff", staff_id.get()), ("segment", segment.get())];
                        view! {
                            <table class="table">
                                <thead>
                                    <tr><th scope="col">"Name"</th><th scope="col">"Type"</th><th scope="col">"E-mail"</th><th scope="col">"Phone"</th><th scope="col">"Tags"</th><th scope="col">"Segment"</th></tr>
                                </thead>
                                <tbody>
                                    {list.items.into_iter().map(|p| view! { <ClientRow person=p/> }).collect_view()}
                                </tbody>
                            </table>
                            <Pager base="/clients" query=keep page=list.page pages total=list.total more_than=list.more_than/>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn ClientRow(person: Person) -> impl IntoView {
    let href = format!("/clients/{}", person.id);
    view! {
        <tr>
            <td>
                <a href=href>{person.full_name.clone()}</a>
                {person.preferred_name.clone().map(|n| view! { <span class="muted">" (" {n} ")"</span> })}
            </td>
            <td>{person.person_type.label()}</td>
            <td>{person.email.clone().unwrap_or_default()}</td>
            <td>{person.phone.clone().unwrap_or_default()}</td>
            <td>{person.tags.iter().map(|t| view! { <span class="tag">{t.clone()}</span> }).collect_view()}</td>
            <td><span class=format!("badge segment-{}", person.segment.as_str())>{person.segment.label()}</span></td>
        </tr>
    }
}

#[component]
pub fn ClientPage() -> impl IntoView {
    let id = id_param();
    let person = Resource::new(move || id.get(), get_client);
    // Everything else the page shows starts loading here, at the top, not from inside the
    // suspended view below (server rendering may never resolve resources created there).
    let dates = client_dates_resource(id);
    let identity_add = ServerAction::<AddIdentity>::new();
    let identity_change = ServerAction::<ChangeIdentity>::new();
    let workspace = Resource::new(
        move || {
            (
                id.get(),
                identity_add.version().get(),
                identity_change.version().get(),
            )
        },
        |(id, _, _)| client_workspace(id),
    );
    let timeline = Resource::new(move || id.get(), client_timeline);
    let engagement = Resource::new(move || id.get(), explain_person);
    let workspace = Workspace {
        workspace,
        dates,
        timeline,
        identity_add,
        identity_change,
    };
    let writable = can_write();
    let delete = ServerAction::<DeleteClient>::new();
    let delete_error = action_error(delete);
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match person.await {
                    Err(e) => view! { <Title text="Client"/><p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(p) => {
                        let edit = format!("/clients/{}/edit", p.id);
                        let id = p.id.to_string();
                        let id_for_dates = id.clone();
                        view! {
                            <Title text=p.full_name.clone()/>
                            <div class="page-head">
                                <h1>{p.full_name.clone()}</h1>
                                {move || writable.get().then(|| {
                                    let (edit, id) = (edit.clone(), id.clone());
                                    view! {
                                        <div class="actions">
                                            <a class="button" href=edit>"Edit"</a>
                                            <details class="confirm">
                                                <summary class="button danger">"Delete…"</summary>
                                                <div class="confirm-box">
                                                    <p>"Remove this client from the directory?"</p>
                                                    <ActionForm action=delete attr:class="inline">
                                                        <input type="hidden" name="id" value=id/>
                                                        <button type="submit" class="danger">"Yes, delete"</button>
                                                    </ActionForm>
                                                </div>
                                            </details>
                                        </div>
                                    }
                                })}
                            </div>
                            <ErrorNotice message=delete_error/>
                            <div class="profile">
                                <ClientDetails person=p/>
                                <ClientDates person_id=id_for_dates.clone() items=dates writable/>
                                <ClientEngagement engagement/>
                            </div>
                            <ClientWorkspace person_id=id_for_dates workspace writable/>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// "1 conversation", "3 conversations".
fn count(n: i64, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// The resources and actions behind the rest of a client's profile: projects, conversations,
/// recommendations, identities and the timeline (the dates only for their count).
#[derive(Clone, Copy)]
struct Workspace {
    workspace: Resource<Result<crate::domain::profile::Workspace, ServerFnError>>,
    dates: crate::pages::dates::DatesResource,
    timeline: Resource<Result<Vec<TimelineEntry>, ServerFnError>>,
    identity_add: ServerAction<AddIdentity>,
    identity_change: ServerAction<ChangeIdentity>,
}

#[component]
fn ClientWorkspace(
    person_id: String,
    workspace: Workspace,
    writable: Signal<bool>,
) -> impl IntoView {
    let Workspace {
        workspace,
        dates,
        timeline,
        identity_add,
        identity_change,
    } = workspace;
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let person_id = person_id.clone();
                Suspend::new(async move {
                let upcoming = dates
                    .await
                    .map(|lines| lines.iter().filter(|l| l.is_upcoming()).count() as i64)
                    .unwrap_or_default();
                match workspace.await {
                    Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(d) => view! {
                        <p class="stats">
                            {[
                                count(d.total_conversations, "conversation"),
                                count(upcoming, "upcoming date"),
                                count(d.active_projects.len() as i64, "active project"),
                                count(d.total_recommendations, "recommendation"),
                            ].join(" · ")}
                        </p>
                        <div class="profile">
                            <ClientProjects person_id=person_id.clone() projects=d.active_projects writable/>
                            <ClientConversations person_id=person_id.clone() conversations=d.recent_conversations total=d.total_conversations writable/>
                            <RecommendationsPanel person_id=person_id.clone() items=d.recent_recommendations writable/>
                            <ClientIdentities person_id identities=d.identities add=identity_add change=identity_change writable/>
                        </div>
                    }.into_any(),
                }
            })}}
        </Transition>
        <section class="panel" aria-labelledby="timeline-heading">
            <h2 id="timeline-heading">"Timeline"</h2>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match timeline.await {
                        Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="empty">"Nothing has happened yet."</p> }.into_any(),
                        Ok(list) => view! { <ol class="timeline">{list.into_iter().map(|e| view! { <TimelineLine entry=e/> }).collect_view()}</ol> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn TimelineLine(entry: TimelineEntry) -> impl IntoView {
    let kind = serde_json::to_value(entry.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    view! {
        <li class=format!("timeline-entry timeline-{kind}")>
            <time datetime=entry.occurred_at.to_rfc3339()>{entry.occurred_at.format("%-d %b %Y %H:%M UTC").to_string()}</time>
            {match entry.link {
                Some(href) => view! { <a href=href>{entry.title.clone()}</a> }.into_any(),
                None => view! { <span>{entry.title.clone()}</span> }.into_any(),
            }}
            {entry.detail.map(|d| view! { <p class="preview">{d}</p> })}
        </li>
    }
}

/// How to reach the client: their addresses per channel, preferred and opted-out ones.
#[component]
fn ClientIdentities(
    person_id: String,
    identities: Vec<CommIdentity>,
    add: ServerAction<AddIdentity>,
    change: ServerAction<ChangeIdentity>,
    writable: Signal<bool>,
) -> impl IntoView {
    let errors = form_errors(add);
    let error = action_error(add);
    let change_error = action_error(change);
    let button = move |id: String, what: &'static str, text: &'static str| {
        view! {
            <ActionForm action=change attr:class="inline">
                <input type="hidden" name="id" value=id/>
                <input type="hidden" name="change" value=what/>
                <button type="submit" class="link-button">{text}</button>
            </ActionForm>
        }
    };
    view! {
        <section class="panel" aria-labelledby="identities-heading">
            <h2 id="identities-heading">"Ways to reach them"</h2>
            <ErrorNotice message=change_error/>
            {if identities.is_empty() {
                view! { <p class="empty">"No addresses yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="identity-list">
                        {identities.into_iter().map(|i| {
                            let id = i.id.to_string();
                            let opted_out = i.opted_out();
                            view! {
                                <li class:opted-out=opted_out>
                                    <span class="badge">{i.channel.label()}</span>
                                    " " {i.address.clone()}
                                    {i.preferred.then(|| view! { <span class="tag">"preferred"</span> })}
                                    {i.verified.then(|| view! { <span class="tag">"verified"</span> })}
                                    {i.opted_out_at.map(|t| view! { <span class="status status-failed">{format!("opted out {}", t.format("%-d %b %Y"))}</span> })}
                                    {i.disabled_at.map(|_| view! {
                                        <span class="status status-failed">"disabled"</span>
                                        <span class="muted">" — " {i.disabled_reason.clone().unwrap_or_default()}</span>
                                    })}
                                    {move || writable.get().then(|| view! {
                                        {i.disabled_at.is_some().then(|| button(id.clone(), "enable", "Enable again"))}
                                        {(!i.preferred).then(|| button(id.clone(), "prefer", "Make preferred"))}
                                        {if opted_out { button(id.clone(), "opt_in", "Opt back in") } else { button(id.clone(), "opt_out", "Opt out") }}
                                        {button(id.clone(), "delete", "Remove")}
                                    })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            {move || writable.get().then(|| {
                let person_id = person_id.clone();
                view! {
                    <details class="start">
                        <summary class="button">"Add an address"</summary>
                        <ActionForm action=add attr:class="inline-form">
                            <input type="hidden" name="person_id" value=person_id/>
                            <div class="field">
                                <label for="f-channel">"Channel"</label>
                                <select id="f-channel" name="channel">
                                    {Channel::ALL.iter().filter(|c| **c != Channel::Portal).map(|c| view! { <option value=c.as_str()>{c.label()}</option> }).collect_view()}
                                </select>
                                <FieldMessage name="channel" errors/>
                            </div>
                            <Field label="Address" name="address" errors required=true hint="E-mail, +E.164 number, Slack member id or URL"/>
                            <label class="check"><input type="checkbox" name="preferred" value="on"/>" Preferred"</label>
                            <button type="submit" class="primary">"Add"</button>
                        </ActionForm>
                        <ErrorNotice message=error/>
                    </details>
                }
            })}
        </section>
    }
}

#[component]
fn ClientDetails(person: Person) -> impl IntoView {
    let dash = || "—".to_string();
    view! {
        <dl class="details">
            <dt>"Preferred name"</dt><dd>{person.preferred_name.clone().unwrap_or_else(dash)}</dd>
            <dt>"Type"</dt><dd>{person.person_type.label()}</dd>
            <dt>"E-mail"</dt><dd>{person.email.clone().unwrap_or_else(dash)}</dd>
            <dt>"Phone"</dt><dd>{person.phone.clone().unwrap_or_else(dash)}</dd>
            <dt>"Time zone"</dt><dd>{person.timezone.clone()}</dd>
            <dt>"Birthday"</dt><dd>{person.birthday.map(|b| b.format("%-d %B %Y").to_string()).unwrap_or_else(dash)}</dd>
            <dt>"Tags"</dt>
            <dd>{if person.tags.is_empty() { dash().into_any() } else { person.tags.iter().map(|t| view! { <span class="tag">{t.clone()}</span> }).collect_view().into_any() }}</dd>
            <dt>"External id"</dt><dd>{person.external_id.clone().unwrap_or_else(dash)}</dd>
            <dt>"Language"</dt><dd>{person.locale.clone().unwrap_or_else(dash)}</dd>
            <dt>"Marketing consent"</dt>
            <dd>{if person.marketing_consent { "Yes" } else { "No" }}
                {person.consent_at.map(|t| view! { <span class="muted">{format!(" — since {}{}", t.format("%-d %b %Y"), person.consent_source.as_ref().map(|s| format!(", via {s}")).unwrap_or_default())}</span> })}</dd>
            <dt>"Last active"</dt><dd>{person.last_active_at.map(|t| t.format("%-d %b %Y %H:%M UTC").to_string()).unwrap_or_else(|| "Never".into())}</dd>
            <dt>"Notes"</dt><dd class="notes">{person.notes.clone().unwrap_or_else(dash)}</dd>
        </dl>
    }
}

#[component]
pub fn NewClientPage() -> impl IntoView {
    let staff = Resource::new(|| (), |_| list_colleagues());
    view! {
        <Title text="Add client"/>
        <h1>"Add client"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let staff = staff.await.unwrap_or_default();
                view! { <ClientForm person=None staff/> }
            })}
        </Suspense>
    }
}

#[component]
pub fn EditClientPage() -> impl IntoView {
    let id = id_param();
    let person = Resource::new(move || id.get(), get_client);
    let staff = Resource::new(|| (), |_| list_colleagues());
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let staff = staff.await.unwrap_or_default();
                match person.await {
                    Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(p) => view! {
                        <Title text=format!("Edit {}", p.full_name)/>
                        <h1>"Edit " {p.full_name.clone()}</h1>
                        <ClientForm person=Some(p) staff/>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Every IANA time zone, offered as suggestions to time-zone inputs.
#[component]
pub fn TimezoneList() -> impl IntoView {
    view! {
        <datalist id="timezones">
            {chrono_tz::TZ_VARIANTS.iter().map(|tz| view! { <option value=tz.name()></option> }).collect_view()}
        </datalist>
    }
}

#[component]
fn ClientForm(person: Option<Person>, staff: Vec<StaffMember>) -> impl IntoView {
    let save = ServerAction::<SaveClient>::new();
    let errors = form_errors(save);
    let failure = action_error(save);
    let p = person.clone();
    let get = move |f: fn(&Person) -> Option<String>| p.as_ref().and_then(f).unwrap_or_default();
    let current_type = person.as_ref().map(|p| p.person_type).unwrap_or_default();
    let current_staff = person.as_ref().and_then(|p| p.assigned_staff_id);
    let current_consent = person.as_ref().is_some_and(|p| p.marketing_consent);
    let cancel = person
        .as_ref()
        .map(|p| format!("/clients/{}", p.id))
        .unwrap_or_else(|| "/clients".into());
    view! {
        <ErrorNotice message=failure/>
        <ActionForm action=save attr:class="stack form-grid">
            {person.as_ref().map(|p| view! { <input type="hidden" name="id" value=p.id.to_string()/> })}
            <Field label="Full name" name="full_name" errors required=true value=get(|p| Some(p.full_name.clone()))/>
            <Field label="Preferred name" name="preferred_name" errors value=get(|p| p.preferred_name.clone())/>
            <div class="field">
                <label for="f-person_type">"Type"</label>
                <select id="f-person_type" name="person_type">
                    {PersonType::ALL.iter().map(|t| view! {
                        <option value=t.as_str() selected=*t == current_type>{t.label()}</option>
                    }).collect_view()}
                </select>
                <FieldMessage name="person_type" errors/>
            </div>
            <Field label="E-mail" name="email" kind="email" errors value=get(|p| p.email.clone())/>
            <Field label="Phone" name="phone" kind="tel" errors value=get(|p| p.phone.clone())
                hint="International format, e.g. +44 20 7946 0958."/>
            <Field label="Time zone" name="timezone" errors value=get(|p| Some(p.timezone.clone())) list="timezones"
                hint="Leave empty for the organisation's time zone."/>
            <TimezoneList/>
            <Field label="Birthday" name="birthday" kind="date" errors value=get(|p| p.birthday.map(|b| b.to_string()))/>
            <Field label="Tags" name="tags" errors value=get(|p| Some(p.tags.join(", ")))
                hint="Separate with commas, e.g. VIP, golf."/>
            <Field label="External id" name="external_id" errors value=get(|p| p.external_id.clone())
                hint="The client's id in your own app, if any."/>
            <Field label="Language" name="locale" errors value=get(|p| p.locale.clone())
                hint="A language tag such as en-GB or fr."/>
            <div class="field">
                <label for="f-assigned_staff_id">"Looked after by"</label>
                <select id="f-assigned_staff_id" name="assigned_staff_id">
                    <option value="">"Nobody yet"</option>
                    {staff.into_iter().filter(|s| s.active || Some(s.id) == current_staff).map(|s| view! {
                        <option value=s.id.to_string() selected=Some(s.id) == current_staff>{s.display_name.clone()}</option>
                    }).collect_view()}
                </select>
                <FieldMessage name="assigned_staff_id" errors/>
            </div>
            <div class="field full checkbox">
                <label>
                    <input type="checkbox" name="marketing_consent" checked=current_consent/>
                    " Agrees to receive offers and news (marketing consent)"
                </label>
                <p class="hint">"Reminders they asked for are sent either way."</p>
            </div>
            <div class="field full">
                <label for="f-notes">"Notes"</label>
                <textarea id="f-notes" name="notes" rows="5">{get(|p| p.notes.clone())}</textarea>
                <FieldMessage name="notes" errors/>
            </div>
            <div class="actions full">
                <button type="submit" class="primary" disabled=move || save.pending().get()>"Save client"</button>
                <a href=cancel>"Cancel"</a>
            </div>
        </ActionForm>
    }
}
