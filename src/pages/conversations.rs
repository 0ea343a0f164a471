//! Conversations: every thread across clients, one thread with its messages and notes, and a
//! client's recent conversations on their profile.

use crate::api::comms::{
    get_conversation, list_conversations, AddMessage, SetConversationStatus, StartConversation,
};
use crate::components::{
    action_error, can_write, form_errors, id_param, query_param, ErrorNotice, FieldMessage, Pager,
    Tabs,
};
use crate::domain::comms::{
    Conversation, ConversationChannel, ConversationStatus, Direction, Message,
};
use leptos::prelude::*;
use leptos_meta::Title;

fn when(c: &Conversation) -> String {
    c.last_message_at
        .unwrap_or(c.created_at)
        .format("%-d %b %Y %H:%M UTC")
        .to_string()
}

#[component]
pub fn ConversationsPage() -> impl IntoView {
    let status = query_param("status", "active");
    let page = query_param("page", "1");
    let current = move || page.get().parse::<i64>().unwrap_or(1).max(1);
    let list = Resource::new(
        move || (status.get(), current()),
        |(s, p)| list_conversations(s, String::new(), p),
    );
    view! {
        <Title text="Conversations"/>
        <h1>"Conversations"</h1>
        <Tabs label="Filter conversations" base="/conversations" name="status" current=status tabs=&[
            ("active", "Active"), ("archived", "Archived"), ("all", "All"),
        ]/>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok((rows, _)) if rows.is_empty() => view! {
                        <p class="empty">"No conversations here. Start one from a client's page."</p>
                    }.into_any(),
                    Ok((rows, total)) => view! {
                        <table class="table">
                            <thead>
                                <tr><th scope="col">"Client"</th><th scope="col">"Channel"</th><th scope="col">"Subject"</th>
                                    <th scope="col">"Latest"</th><th scope="col">"When"</th><th scope="col">"Messages"</th></tr>
                            </thead>
                            <tbody>
                                {rows.into_iter().map(|c| view! {
                                    <tr>
                                        <td><a href=format!("/clients/{}", c.person_id)>{c.person_name.clone()}</a></td>
                                        <td>{c.channel_type.label()}</td>
                                        <td><a href=format!("/conversations/{}", c.id)>{c.subject.clone().unwrap_or_else(|| "(no subject)".into())}</a></td>
                                        <td class="muted">{c.last_message_preview.clone().unwrap_or_default()}</td>
                                        <td>{when(&c)}</td>
                                        <td>{c.message_count}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        <Pager base="/conversations" query=vec![("status", status.get_untracked())]
                            page=current() pages=((total + 49) / 50).max(1) total/>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

/// A client's latest conversations and a form to start one, for their profile.
#[component]
pub fn ClientConversations(
    person_id: String,
    conversations: Vec<Conversation>,
    total: i64,
    writable: Signal<bool>,
) -> impl IntoView {
    let start = ServerAction::<StartConversation>::new();
    let errors = form_errors(start);
    let error = action_error(start);
    view! {
        <section class="panel" aria-labelledby="conversations-heading">
            <h2 id="conversations-heading">"Recent conversations"</h2>
            {if conversations.is_empty() {
                view! { <p class="empty">"No conversations yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="conversation-list">
                        {conversations.into_iter().map(|c| view! {
                            <li>
                                <a href=format!("/conversations/{}", c.id)>{c.subject.clone().unwrap_or_else(|| c.channel_type.label().to_string())}</a>
                                <span class="muted">{format!(" · {} · {} message{}", c.channel_type.label(), c.message_count, if c.message_count == 1 { "" } else { "s" })}</span>
                                {c.last_message_preview.clone().map(|p| view! { <p class="preview">{p}</p> })}
                            </li>
                        }).collect_view()}
                    </ul>
                    <p class="muted">{format!("{total} in all")}</p>
                }.into_any()
            }}
            {move || writable.get().then(|| {
                let person_id = person_id.clone();
                view! {
                    <details class="start">
                        <summary class="button">"Start a conversation"</summary>
                        <ActionForm action=start attr:class="inline-form">
                            <input type="hidden" name="person_id" value=person_id/>
                            <div class="field">
                                <label for="f-channel_type">"Channel"</label>
                                <select id="f-channel_type" name="channel_type">
                                    {ConversationChannel::ALL.iter().map(|c| view! { <option value=c.as_str()>{c.label()}</option> }).collect_view()}
                                </select>
                                <FieldMessage name="channel_type" errors/>
                            </div>
                            <div class="field">
                                <label for="f-subject">"Subject"</label>
                                <input id="f-subject" name="subject"/>
                                <FieldMessage name="subject" errors/>
                            </div>
                            <button type="submit" class="primary">"Start"</button>
                        </ActionForm>
                        <ErrorNotice message=error/>
                    </details>
                }
            })}
        </section>
    }
}

#[component]
pub fn ConversationPage() -> impl IntoView {
    let id = id_param();
    let add = ServerAction::<AddMessage>::new();
    let set_status = ServerAction::<SetConversationStatus>::new();
    let data = Resource::new(
        move || (id.get(), add.version().get(), set_status.version().get()),
        |(id, _, _)| get_conversation(id),
    );
    let writable = can_write();
    let errors = form_errors(add);
    let error = action_error(add);
    let status_error = action_error(set_status);
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <Title text="Conversation"/><p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(v) => {
                        let c = v.conversation;
                        let cid = c.id.to_string();
                        let title = c.subject.clone().unwrap_or_else(|| format!("{} with {}", c.channel_type.label(), c.person_name));
                        let archived = c.status == ConversationStatus::Archived;
                        let cid_status = cid.clone();
                        view! {
                            <Title text=title.clone()/>
                            <div class="page-head">
                                <h1>{title}</h1>
                                {move || writable.get().then(|| {
                                    let cid = cid_status.clone();
                                    view! {
                                        <ActionForm action=set_status attr:class="inline">
                                            <input type="hidden" name="id" value=cid/>
                                            <input type="hidden" name="status" value=if archived { "active" } else { "archived" }/>
                                            <button type="submit">{if archived { "Reopen" } else { "Archive" }}</button>
                                        </ActionForm>
                                    }
                                })}
                            </div>
                            <p class="muted">
                                {c.channel_type.label()} " with " <a href=format!("/clients/{}", c.person_id)>{c.person_name.clone()}</a>
                                {format!(" · {}", c.status.as_str())}
                            </p>
                            <ErrorNotice message=status_error/>
                            {if v.messages.is_empty() {
                                view! { <p class="empty">"No messages yet."</p> }.into_any()
                            } else {
                                view! { <ol class="thread">{v.messages.into_iter().map(|m| view! { <MessageLine message=m/> }).collect_view()}</ol> }.into_any()
                            }}
                            {move || writable.get().then(|| {
                                let cid = cid.clone();
                                view! {
                                    <ActionForm action=add attr:class="form reply" attr:aria-label="Add to the conversation">
                                        <input type="hidden" name="conversation_id" value=cid/>
                                        <div class="field">
                                            <label for="f-direction">"Add"</label>
                                            <select id="f-direction" name="direction">
                                                <option value="out">"A reply — sent to the client now"</option>
                                                <option value="note">"A note for the team (not sent)"</option>
                                                <option value="record">"A message we sent elsewhere (recorded, not sent)"</option>
                                                <option value="in">"A message the client sent (recorded)"</option>
                                            </select>
                                            <FieldMessage name="direction" errors/>
                                        </div>
                                        <div class="field">
                                            <label for="f-body">"Text"</label>
                                            <textarea id="f-body" name="body" rows="4" required></textarea>
                                            <FieldMessage name="body" errors/>
                                        </div>
                                        <ErrorNotice message=error/>
                                        <button type="submit" class="primary">"Add"</button>
                                    </ActionForm>
                                }
                            })}
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn MessageLine(message: Message) -> impl IntoView {
    let (class, label) = match message.direction {
        Direction::In => ("message in", "from"),
        Direction::Out => ("message out", "sent by"),
        Direction::Note => ("message note", "note by"),
    };
    view! {
        <li class=class>
            <p class="message-meta">
                {format!("{label} {} · {}", message.author, message.created_at.format("%-d %b %Y %H:%M UTC"))}
            </p>
            <p class="message-body">{message.body.clone()}</p>
            {message.delivery_id.map(|d| view! {
                <p class="message-meta"><a href=format!("/messages/{d}")>"What happened to it"</a></p>
            })}
        </li>
    }
}
