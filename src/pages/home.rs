//! Home: what needs attention today — reminders due today and overdue, messages that failed,
//! the dates coming up across every client in the next 30 days, the signed-in staff member's
//! open tasks, and this week's engagement with a small chart.

use crate::api::clients::client_count;
use crate::api::dates::{list_reminders, upcoming_dates, ChangeReminder};
use crate::api::engagement::daily_numbers;
use crate::api::messages::list_messages;
use crate::api::projects::my_tasks;
use crate::app::UserResource;
use crate::components::chart::DailyChart;
use crate::components::{action_error, ErrorNotice};
use crate::pages::dates::{days_label, ReminderTable};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn HomePage() -> impl IntoView {
    let user = use_context::<UserResource>();
    let clients = Resource::new(|| (), |_| client_count());
    let change = ServerAction::<ChangeReminder>::new();
    let due = Resource::new(
        move || change.version().get(),
        |_| list_reminders("pending".into(), 1, true),
    );
    let upcoming = Resource::new(|| (), |_| upcoming_dates(None, 30, 20));
    let tasks = Resource::new(|| (), |_| my_tasks());
    let failed = Resource::new(
        || (),
        |_| {
            list_messages(
                "failed".into(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                1,
                6,
            )
        },
    );
    let week = Resource::new(|| (), |_| daily_numbers(7));
    let change_error = action_error(change);
    view! {
        <Title text="Home"/>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let name = match user {
                    Some(u) => u.await.ok().flatten().map(|u| u.display_name).unwrap_or_default(),
                    None => String::new(),
                };
                let total = clients.await.unwrap_or_default();
                view! {
                    <h1>"Good to see you, " {name}</h1>
                    <section class="cards">
                        <a class="card" href="/clients">
                            <span class="card-number">{total}</span>
                            <span class="card-label">"clients in your care"</span>
                        </a>
                        <a class="card action" href="/clients/new">
                            <span class="card-number">"+"</span>
                            <span class="card-label">"Add a client"</span>
                        </a>
                    </section>
                }
            })}
        </Suspense>
        <section class="panel" aria-labelledby="due-heading">
            <h2 id="due-heading">"Reminders due today and overdue"</h2>
            <ErrorNotice message=change_error/>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match due.await {
                        Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(rows) if rows.is_empty() => view! { <p class="empty">"Nothing due. "<a href="/reminders">"See every reminder"</a>"."</p> }.into_any(),
                        Ok(rows) => view! { <ReminderTable rows change/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
        <section class="panel" aria-labelledby="failed-heading">
            <h2 id="failed-heading">"Messages that failed"</h2>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match failed.await {
                        Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(rows) if rows.is_empty() => view! { <p class="empty">"No failed messages."</p> }.into_any(),
                        Ok(rows) => {
                            let more = rows.len() > 5;
                            view! {
                                <ul class="failed-list">
                                    {rows.into_iter().take(5).map(|r| view! {
                                        <li>
                                            <a href=format!("/messages/{}", r.delivery.id)>
                                                {r.delivery.subject.clone().unwrap_or_else(|| r.delivery.channel.label().to_string())}
                                            </a>
                                            {r.person_name.map(|n| view! { " · " <span>{n}</span> })}
                                            <span class="muted">{format!(" — {}", r.explanation)}</span>
                                        </li>
                                    }).collect_view()}
                                </ul>
                                <p><a href="/messages?status=failed">{if more { "See every failed message" } else { "Open the Messages log" }}</a></p>
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
        <section class="panel" aria-labelledby="week-heading">
            <h2 id="week-heading">"Engagement this week"</h2>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match week.await {
                        Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(w) => view! {
                            <p class="stats">
                                <a href="/engagement">{format!("{} sent · {} clicked · {} booked", w.sent, w.clicked, w.booked)}</a>
                            </p>
                            <DailyChart days=w.days id="week-chart" title="Engagement messages this week" small=true/>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </section>
        <section class="panel" aria-labelledby="upcoming-heading">
            <h2 id="upcoming-heading">"Coming up in the next 30 days"</h2>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match upcoming.await {
                        Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="empty">"No dates in the next 30 days."</p> }.into_any(),
                        Ok(list) => view! {
                            <ul class="date-list">
                                {list.into_iter().map(|u| view! {
                                    <li class="date-line">
                                        <span class="date-icon" aria-hidden="true">{u.category_icon.clone().unwrap_or_else(|| "📅".into())}</span>
                                        <a class="date-title" href=format!("/dates/{}/edit", u.date_item_id)>{u.title.clone()}</a>
                                        <a href=format!("/clients/{}", u.person_id)>{u.person_name.clone()}</a>
                                        <span class="muted">{format!("{} · {}", u.next_occurrence.format("%a %-d %b"), days_label(u.days_until))}</span>
                                        <span class="badge">{format!("{} reminder{}", u.reminder_count, if u.reminder_count == 1 { "" } else { "s" })}</span>
                                    </li>
                                }).collect_view()}
                            </ul>
                            <p><a href="/calendar">"See the calendar"</a></p>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </section>
        <section class="panel" aria-labelledby="tasks-heading">
            <h2 id="tasks-heading">"My tasks"</h2>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match tasks.await {
                        Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="empty">"No open tasks assigned to you. "<a href="/projects">"See every project"</a>"."</p> }.into_any(),
                        Ok(list) => view! {
                            <ul class="task-list">
                                {list.into_iter().map(|t| view! {
                                    <li class="task-line">
                                        <a href=format!("/projects/{}", t.project_id)>{t.title.clone()}</a>
                                        {t.due_date.map(|d| view! { <span class="muted">{format!(" due {}", d.format("%a %-d %b"))}</span> })}
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
