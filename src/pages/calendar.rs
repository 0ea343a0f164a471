//! The calendar: a month of every client's dates, and the address of the signed-in staff
//! member's private feed for their own calendar app.

use crate::api::calendar::{calendar_month, CalendarReminder, NewCalendarFeed};
use crate::components::{action_error, query_param, ErrorNotice};
use crate::domain::calendar::CalendarEntry;
use chrono::{Datelike, Months, NaiveDate};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn CalendarPage() -> impl IntoView {
    let month = query_param("month", "");
    let data = Resource::new(move || month.get(), calendar_month);
    view! {
        <Title text="Calendar"/>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <h1>"Calendar"</h1><p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(m) => {
                        let first = m.first;
                        view! {
                            <div class="page-head">
                                <h1>{first.format("%B %Y").to_string()}</h1>
                                <nav class="month-nav" aria-label="Months">
                                    <a rel="prev" href=format!("/calendar?month={}", (first - Months::new(1)).format("%Y-%m"))>"← Previous"</a>
                                    <a href="/calendar">"This month"</a>
                                    <a rel="next" href=format!("/calendar?month={}", (first + Months::new(1)).format("%Y-%m"))>"Next →"</a>
                                </nav>
                            </div>
                            <MonthGrid first today=m.today entries=m.entries reminders=m.reminders/>
                        }.into_any()
                    }
                }
            })}
        </Transition>
        <FeedPanel/>
    }
}

#[component]
fn MonthGrid(
    first: NaiveDate,
    today: NaiveDate,
    entries: Vec<CalendarEntry>,
    reminders: Vec<CalendarReminder>,
) -> impl IntoView {
    let lead = first.weekday().num_days_from_monday() as i64;
    let days_in_month = (first + Months::new(1) - first).num_days();
    let cells = ((lead + days_in_month + 6) / 7) * 7;
    view! {
        <table class="calendar">
            <thead>
                <tr>{["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].map(|d| view! { <th scope="col">{d}</th> }).collect_view()}</tr>
            </thead>
            <tbody>
                {(0..cells / 7).map(|week| view! {
                    <tr>
                        {(0..7).map(|dow| {
                            let n = week * 7 + dow - lead;
                            if n < 0 || n >= days_in_month {
                                return view! { <td class="outside"></td> }.into_any();
                            }
                            let day = first + chrono::Duration::days(n);
                            let todays: Vec<CalendarEntry> = entries.iter().filter(|e| e.date == day).cloned().collect();
                            let due: Vec<CalendarReminder> = reminders.iter().filter(|r| r.date == day).cloned().collect();
                            view! {
                                <td class:today=day == today>
                                    <span class="day-number">{day.day()}</span>
                                    <ul class="day-entries">
                                        {todays.into_iter().map(|e| view! {
                                            <li>
                                                <span aria-hidden="true">{e.category_icon.clone().unwrap_or_else(|| "📅".into())}" "</span>
                                                <a href=format!("/dates/{}/edit", e.date_item_id)>{e.title.clone()}</a>
                                                " · " <a class="muted" href=format!("/clients/{}", e.person_id)>{e.person_name.clone()}</a>
                                                {(e.reminder_count > 0).then(|| view! { <span class="badge" title="reminders">{format!("🔔{}", e.reminder_count)}</span> })}
                                            </li>
                                        }).collect_view()}
                                        {due.into_iter().map(|r| {
                                            let rule = r.row.rule;
                                            let what = rule.message.clone().or(r.row.date_title.clone()).unwrap_or_else(|| "Reminder".into());
                                            view! {
                                                <li class=format!("reminder status-{}", rule.status.as_str())>
                                                    <span aria-hidden="true">"🔔 "</span>
                                                    <span class="visually-hidden">"Reminder: "</span>
                                                    {format!("{} {what}", r.time)}
                                                    " · " <a class="muted" href=format!("/clients/{}", rule.person_id)>{r.row.person_name.clone()}</a>
                                                    <span class="muted">{format!(" ({}, {})", rule.audience.as_str(), rule.channel_type.label())}</span>
                                                </li>
                                            }
                                        }).collect_view()}
                                    </ul>
                                </td>
                            }.into_any()
                        }).collect_view()}
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// The staff member's private feed: made on request, shown once.
#[component]
fn FeedPanel() -> impl IntoView {
    let create = ServerAction::<NewCalendarFeed>::new();
    let error = action_error(create);
    let url = move || match create.value().get() {
        Some(Ok(path)) => Some(
            window()
                .location()
                .origin()
                .map(|o| format!("{o}{path}"))
                .unwrap_or(path),
        ),
        _ => None,
    };
    view! {
        <section class="panel" aria-labelledby="feed-heading">
            <h2 id="feed-heading">"Subscribe in your calendar app"</h2>
            <p>"A private address with the next year of dates of the clients you look after (and of those nobody does). Anyone with the address can read it, so keep it to yourself; making a new one stops the old one."</p>
            <ActionForm action=create attr:class="inline">
                <button type="submit">"Make a new feed address"</button>
            </ActionForm>
            <ErrorNotice message=error/>
            {move || url().map(|u| view! {
                <p class="notice" role="status">"Your feed (shown only now): " <code class="feed-url">{u}</code></p>
            })}
        </section>
    }
}
