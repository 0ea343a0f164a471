//! The Messages log (every delivery, filtered, each saying in plain words what happened), a
//! delivery's detail with its attempts, staff notifications, and the channel settings.

use crate::api::messages::{
    get_message, list_channels, list_messages, my_notifications, ChangeMessage, MarkRead,
    SaveChannel, TestChannel, MESSAGES_PAGE,
};
use crate::components::{action_error, id_param, query_param, urlencode, ErrorNotice, Tabs};
use crate::domain::channels::{ChannelView, FieldKind, CHANNELS};
use crate::domain::dates::Channel;
use crate::domain::delivery::DeliveryStatus;
use crate::domain::engagement::generation::Authorship;
use crate::domain::engagement::safety::SafetyReport;
use leptos::prelude::*;
use leptos_meta::Title;

fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%-d %b %Y %H:%M UTC").to_string()
}

#[component]
pub fn MessagesPage() -> impl IntoView {
    let status = query_param("status", "all");
    let channel = query_param("channel", "");
    let kind = query_param("kind", "");
    let page = query_param("page", "1");
    let reminder = query_param("reminder", "");
    let change = ServerAction::<ChangeMessage>::new();
    let list = Resource::new(
        move || {
            (
                status.get(),
                kind.get(),
                channel.get(),
                page.get(),
                reminder.get(),
                change.version().get(),
            )
        },
        |(s, k, c, p, r, _)| list_messages(s, k, c, String::new(), r, p.parse().unwrap_or(1), 0),
    );
    let change_error = action_error(change);
    view! {
        <Title text="Messages"/>
        <h1>"Messages"</h1>
        <p class="muted">"Every message Concierge sent, is sending, or did not send — and why."</p>
        {move || (!reminder.get().is_empty()).then(|| view! {
            <p class="notice">"Showing one reminder's deliveries. " <a href="/messages">"Show all messages"</a></p>
        })}
        <Tabs label="Filter messages by status" base="/messages" name="status" current=status tabs=&[
            ("all", "All"), ("pending", "Waiting"), ("sent", "Sent"), ("delivered", "Delivered"),
            ("awaiting_approval", "Awaiting approval"), ("failed", "Failed"), ("suppressed", "Not sent"),
            ("cancelled", "Cancelled"),
        ]/>
        <form method="get" action="/messages" class="filters">
            <input type="hidden" name="status" value=move || status.get()/>
            <input type="hidden" name="reminder" value=move || reminder.get()/>
            <label for="m-channel">"Channel"</label>
            <select id="m-channel" name="channel">
                <option value="">"Any"</option>
                {Channel::ALL.iter().map(|c| { let v = c.as_str(); view! {
                    <option value=v selected=move || channel.get() == v>{c.label()}</option>
                }}).collect_view()}
            </select>
            <label for="m-kind">"Kind"</label>
            <select id="m-kind" name="kind">
                <option value="">"Any"</option>
                <option value="utility" selected=move || kind.get() == "utility">"Utility"</option>
                <option value="engagement" selected=move || kind.get() == "engagement">"Engagement"</option>
            </select>
            <button type="submit">"Filter"</button>
        </form>
        <ErrorNotice message=change_error/>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(rows) if rows.is_empty() => view! { <p class="empty">"No messages here."</p> }.into_any(),
                    Ok(rows) => {
                        let more = rows.len() as i64 == MESSAGES_PAGE;
                        let current: i64 = page.get_untracked().parse().unwrap_or(1);
                        let link = move |p: i64| format!(
                            "/messages?status={}&channel={}&kind={}&reminder={}&page={p}",
                            urlencode(&status.get_untracked()), urlencode(&channel.get_untracked()),
                            urlencode(&kind.get_untracked()), urlencode(&reminder.get_untracked()),
                        );
                        view! {
                            <table class="table">
                                <thead><tr>
                                    <th scope="col">"Queued"</th><th scope="col">"To"</th><th scope="col">"Channel"</th>
                                    <th scope="col">"Subject"</th><th scope="col">"What happened"</th>
                                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                                </tr></thead>
                                <tbody>
                                    {rows.into_iter().map(|row| {
                                        let d = row.delivery;
                                        let id = d.id.to_string();
                                        let to = row.person_name.clone()
                                            .or_else(|| d.address.clone())
                                            .unwrap_or_else(|| "staff".into());
                                        let subject = d.subject.clone().unwrap_or_else(|| d.body.chars().take(60).collect());
                                        view! {
                                            <tr>
                                                <td>{when(d.created_at)}</td>
                                                <td>{to}</td>
                                                <td>{d.channel.label()} {(d.kind.as_str() == "engagement").then(|| view! { <span class="muted">" · engagement"</span> })}</td>
                                                <td><a href=format!("/messages/{id}")>{subject}</a></td>
                                                <td><span class=format!("status status-{}", d.status.as_str())>{d.status.as_str()}</span>
                                                    " " <span class="muted">{row.explanation}</span></td>
                                                <td class="row-actions"><MessageActions id=id status=d.status change/></td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                            <crate::components::PageLinks page=current more link labels=("← Newer", "Older →")/>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// Retry (a failed message) and cancel (a waiting one).
#[component]
fn MessageActions(
    id: String,
    status: DeliveryStatus,
    change: ServerAction<ChangeMessage>,
) -> impl IntoView {
    let action = match status {
        DeliveryStatus::Failed => Some(("retry", "Retry")),
        DeliveryStatus::Pending => Some(("cancel", "Cancel")),
        _ => None,
    };
    action.map(|(value, label)| {
        view! {
            <ActionForm action=change attr:class="inline">
                <input type="hidden" name="id" value=id/>
                <input type="hidden" name="action" value=value/>
                <button type="submit">{label}</button>
            </ActionForm>
        }
    })
}

#[component]
pub fn MessagePage() -> impl IntoView {
    let id = id_param();
    let change = ServerAction::<ChangeMessage>::new();
    let detail = Resource::new(
        move || (id.get(), change.version().get()),
        |(id, _)| get_message(id),
    );
    let change_error = action_error(change);
    view! {
        <Title text="Message"/>
        <p><a href="/messages">"← Messages"</a></p>
        <ErrorNotice message=change_error/>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(m) => {
                        let d = m.delivery;
                        let id = d.id.to_string();
                        view! {
                            <h1>{d.subject.clone().unwrap_or_else(|| "Message".into())}</h1>
                            <p class="lead"><span class=format!("status status-{}", d.status.as_str())>{d.status.as_str()}</span>
                                " " {m.explanation.clone()}</p>
                            <div class="row-actions"><MessageActions id=id status=d.status change/></div>
                            {(d.status == DeliveryStatus::AwaitingApproval).then(|| view! {
                                <crate::pages::approvals::ReviewPanel delivery=d.clone() done=move |_| detail.refetch()/>
                            })}
                            <dl class="details">
                                <dt>"Channel"</dt><dd>{d.channel.label()} {d.transport.clone().map(|t| format!(" (via {t})"))}</dd>
                                <dt>"To"</dt><dd>{d.address.clone().unwrap_or_else(|| "—".into())}
                                    {d.person_id.map(|p| view! { " · " <a href=format!("/clients/{p}")>"client profile"</a> })}</dd>
                                <dt>"Kind"</dt><dd>{d.kind.as_str()} " · from " {d.source.as_str()}</dd>
                                <dt>"Attempts"</dt><dd>{format!("{} of {}", d.attempts, d.max_attempts)}</dd>
                                <dt>"Idempotency key"</dt><dd><code>{d.id.to_string()}</code></dd>
                                {d.provider_message_id.clone().map(|p| view! { <dt>"Provider id"</dt><dd><code>{p}</code></dd> })}
                                {d.last_error.clone().map(|e| view! { <dt>"Last error"</dt><dd>{e}</dd> })}
                                {d.response.clone().map(|r| view! { <dt>"Response"</dt><dd>{r}</dd> })}
                                {d.campaign_id.map(|c| view! {
                                    <dt>"Campaign"</dt>
                                    <dd><a href=format!("/campaigns/{c}")>"the campaign"</a>
                                        {d.variant.clone().map(|v| format!(" · variant {v}"))}</dd>
                                })}
                                {d.metadata.get("generation").cloned()
                                    .and_then(|g| serde_json::from_value::<Authorship>(g).ok())
                                    .map(|a| view! { <dt>"Written by"</dt><dd class="written-by">{a.describe()}</dd> })}
                                {d.correlation_id.clone().map(|c| view! { <dt>"Correlation id"</dt><dd><code>{c}</code></dd> })}
                            </dl>
                            {m.prompt.clone().map(|p| view! {
                                <details class="prompt">
                                    <summary>{format!("Prompt, version {}", d.prompt_version.clone().unwrap_or_default())}</summary>
                                    <pre class="message-body">{p}</pre>
                                </details>
                            })}
                            <h2>"Message"</h2>
                            <pre class="message-body">{d.body.clone()}</pre>
                            {serde_json::from_value::<SafetyReport>(d.safety_checks.clone()).ok().map(|r| view! {
                                <h2>"Safety checks"</h2>
                                <p class=if r.passed { "notice" } else { "notice error" }>
                                    {if r.passed { "Passed every check." } else { "Failed: it is never sent." }}
                                </p>
                                <ul class="safety-checks">
                                    {r.checks.into_iter().map(|c| view! {
                                        <li class=if c.passed { "passed" } else { "failed" }>
                                            <strong>{c.check.replace('_', " ")}</strong>
                                            {if c.passed { " — passed: " } else { " — failed: " }}
                                            {c.detail}
                                        </li>
                                    }).collect_view()}
                                </ul>
                            })}
                            {d.metadata.get("refused_draft").cloned().map(|r| {
                                let text = r.get("text").and_then(|t| t.as_str()).unwrap_or_default().to_string();
                                let report = r.get("safety_checks").cloned()
                                    .and_then(|c| serde_json::from_value::<SafetyReport>(c).ok());
                                view! {
                                    <h2>"The model's text, refused"</h2>
                                    <p class="notice error">"The safety filter refused what the model wrote, so the template wrote this message instead."</p>
                                    <pre class="message-body">{text}</pre>
                                    {report.map(|r| view! {
                                        <ul class="safety-checks">
                                            {r.checks.into_iter().filter(|c| !c.passed).map(|c| view! {
                                                <li class="failed"><strong>{c.check.replace('_', " ")}</strong>" — failed: " {c.detail}</li>
                                            }).collect_view()}
                                        </ul>
                                    })}
                                }
                            })}
                            <h2>"History"</h2>
                            <ol class="timeline">
                                {m.events.into_iter().map(|e| view! {
                                    <li>
                                        <time>{when(e.at)}</time> " "
                                        <strong>{e.event.replace('_', " ")}</strong>
                                        {(e.attempt > 0).then(|| format!(" (attempt {})", e.attempt))}
                                        {e.detail.map(|x| view! { <span class="muted">" — " {x}</span> })}
                                    </li>
                                }).collect_view()}
                            </ol>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
pub fn NotificationsPage() -> impl IntoView {
    let read = ServerAction::<MarkRead>::new();
    let notes = Resource::new(move || read.version().get(), |_| my_notifications(false));
    view! {
        <Title text="Notifications"/>
        <h1>"Notifications"</h1>
        <ActionForm action=read attr:class="inline">
            <button type="submit">"Mark all read"</button>
        </ActionForm>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match notes.await {
                    Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="empty">"Nothing for you yet: reminders meant for you will appear here."</p> }.into_any(),
                    Ok(list) => view! {
                        <ul class="notifications">
                            {list.into_iter().map(|n| {
                                let unread = n.read_at.is_none();
                                let id = n.id.to_string();
                                view! {
                                    <li class:unread=unread>
                                        <h2>{n.title.clone()}</h2>
                                        <p class="message-body">{n.body.clone()}</p>
                                        <p class="muted">{when(n.created_at)}
                                            {n.person_id.map(|p| view! { " · " <a href=format!("/clients/{p}")>"client profile"</a> })}</p>
                                        {unread.then(|| view! {
                                            <ActionForm action=read attr:class="inline">
                                                <input type="hidden" name="id" value=id/>
                                                <button type="submit" class="link-button">"Mark read"</button>
                                            </ActionForm>
                                        })}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The channel settings (admins): one form per channel; secrets are never shown back.
#[component]
pub fn ChannelsPage() -> impl IntoView {
    let save = ServerAction::<SaveChannel>::new();
    let test = ServerAction::<TestChannel>::new();
    let channels = Resource::new(move || save.version().get(), |_| list_channels());
    let save_error = action_error(save);
    let test_error = action_error(test);
    let tested = move || test.value().get().and_then(|r| r.ok());
    let invalid = move || match save.value().get() {
        Some(Ok(crate::api::FormOutcome::Invalid(e))) => Some(e.to_string()),
        _ => None,
    };
    view! {
        <Title text="Channels"/>
        <super::settings::SettingsNav/>
        <h1>"Channels"</h1>
        <p class="muted">"Messages on a channel that is not set up are recorded in the log only, and the Messages page says so."</p>
        <ErrorNotice message=save_error/>
        <ErrorNotice message=test_error/>
        {move || invalid().map(|m| view! { <p class="notice error" role="alert">{m}</p> })}
        {move || tested().map(|m| view! { <p class="notice" role="status">{m}</p> })}
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match channels.await {
                    Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(list) => list.into_iter().map(|v| view! { <ChannelForm view=v save test/> }).collect_view().into_any(),
                }
            })}
        </Transition>
        <EventWebhooks/>
    }
}

/// Settings → Channels → Event webhooks: the organisation's endpoints told what happens to its
/// messages (signed per Standard Webhooks; each secret shown once, when it is made).
#[component]
fn EventWebhooks() -> impl IntoView {
    use crate::api::webhooks::{list_webhooks, ChangeWebhook, CreateWebhook, NewWebhook};
    use crate::domain::webhooks::EventType;
    let create = ServerAction::<CreateWebhook>::new();
    let change = ServerAction::<ChangeWebhook>::new();
    let hooks = Resource::new(
        move || (create.version().get(), change.version().get()),
        |_| list_webhooks(),
    );
    let errors = Signal::derive(move || match create.value().get() {
        Some(Ok(NewWebhook::Invalid(e))) => e,
        _ => crate::domain::FieldErrors::default(),
    });
    let create_error = action_error(create);
    let change_error = action_error(change);
    view! {
        <section class="panel" aria-labelledby="hooks-heading">
            <h2 id="hooks-heading">"Event webhooks"</h2>
            <p>"Your own endpoints are told when a message is sent, delivered or failed, and when a client clicks, books or unsubscribes: a JSON POST signed per Standard Webhooks, retried like any message, and listed under Messages."</p>
            {move || match create.value().get() {
                Some(Ok(NewWebhook::Created { url, secret })) => Some(view! {
                    <div class="notice" role="status">
                        <p>{format!("Subscribed {url}. Its signing secret — copy it now, it will not be shown again:")}</p>
                        <code class="secret">{secret}</code>
                    </div>
                }),
                _ => None,
            }}
            <ErrorNotice message=create_error/>
            <ErrorNotice message=change_error/>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match hooks.await {
                        Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="empty">"No endpoints subscribed."</p> }.into_any(),
                        Ok(list) => view! {
                            <table class="table webhooks">
                                <thead><tr><th scope="col">"Endpoint"</th><th scope="col">"Events"</th><th scope="col">"Status"</th>
                                    <th scope="col"><span class="visually-hidden">"Actions"</span></th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|h| {
                                        let id = h.id.to_string();
                                        let remove_id = id.clone();
                                        let (toggle, toggle_label) = if h.enabled { ("disable", "Switch off") } else { ("enable", "Switch on") };
                                        let events = h.events.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", ");
                                        view! {
                                            <tr class:inactive=!h.enabled>
                                                <td><code>{h.url.clone()}</code>
                                                    {(!h.description.is_empty()).then(|| view! { <br/><span class="muted">{h.description.clone()}</span> })}</td>
                                                <td>{events}</td>
                                                <td>{if h.enabled { "on" } else { "off" }}</td>
                                                <td class="row-actions">
                                                    <ActionForm action=change attr:class="inline">
                                                        <input type="hidden" name="id" value=id/>
                                                        <input type="hidden" name="action" value=toggle/>
                                                        <button type="submit" class="link-button">{toggle_label}</button>
                                                    </ActionForm>
                                                    <ActionForm action=change attr:class="inline">
                                                        <input type="hidden" name="id" value=remove_id/>
                                                        <input type="hidden" name="action" value="remove"/>
                                                        <button type="submit" class="link-button danger">"Remove"</button>
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
            <ActionForm action=create attr:class="form">
                <crate::components::Field label="Endpoint URL" name="url" errors required=true hint="https://… — it receives a POST per event"/>
                <crate::components::Field label="Description" name="description" errors/>
                <fieldset>
                    <legend>"Events (none ticked: every event)"</legend>
                    {EventType::ALL.iter().map(|e| view! {
                        <label><input type="checkbox" name=format!("ev_{}", e.as_str()) value="on"/>" " {e.as_str()}</label>
                    }).collect_view()}
                    <crate::components::FieldMessage name="events" errors/>
                </fieldset>
                <button type="submit" class="primary">"Subscribe the endpoint"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn ChannelForm(
    view: ChannelView,
    save: ServerAction<SaveChannel>,
    test: ServerAction<TestChannel>,
) -> impl IntoView {
    let Some(spec) = CHANNELS.iter().find(|c| c.name == view.channel) else {
        return ().into_any();
    };
    let state = if !view.configured {
        "not set up — messages go to the log"
    } else if view.enabled {
        "on"
    } else {
        "switched off"
    };
    let needs_to = spec.name != "webhook";
    view! {
        <section class="card channel">
            <h2>{spec.label} " " <span class="muted">"(" {state} ")"</span></h2>
            <p class="muted">{spec.summary}</p>
            <ActionForm action=save attr:class="stack form-grid">
                <input type="hidden" name="channel" value=spec.name/>
                {spec.fields.iter().map(|f| {
                    let id = format!("c-{}-{}", spec.name, f.key);
                    let name = format!("settings[{}]", f.key);
                    let set = view.secrets_set.iter().any(|s| s == f.key);
                    let value = if f.secret { String::new() } else { view.values.get(f.key).cloned().unwrap_or_default() };
                    let kind = match (f.secret, f.kind) {
                        (true, _) => "password",
                        (_, FieldKind::Url) => "url",
                        (_, FieldKind::Port) => "number",
                        (_, FieldKind::Email) => "email",
                        _ => "text",
                    };
                    let placeholder = if f.secret && set { "set — leave blank to keep it" } else { f.placeholder };
                    view! {
                        <div class="field">
                            <label for=id.clone()>{f.label} {f.required.then_some(view! { <span class="req" aria-hidden="true">" *"</span> })}</label>
                            <input id=id name=name type=kind value=value placeholder=placeholder autocomplete="off"/>
                        </div>
                    }
                }).collect_view()}
                <div class="field">
                    <label><input type="checkbox" name="enabled" value="on" checked=!view.configured || view.enabled/> " Send through this channel"</label>
                </div>
                <div class="actions full"><button type="submit" class="primary">"Save " {spec.label}</button></div>
            </ActionForm>
            <ActionForm action=test attr:class="inline">
                <input type="hidden" name="channel" value=spec.name/>
                {needs_to.then(|| view! {
                    <label for=format!("t-{}", spec.name)>"Send a test to"</label>
                    <input id=format!("t-{}", spec.name) name="to" type="text"
                        placeholder=if spec.name == "email" { "your own address" } else { "address or id" }/>
                })}
                <button type="submit">"Send a test message"</button>
            </ActionForm>
        </section>
    }
    .into_any()
}
