//! The calendar: a month of every client's dates, and the address of the signed-in staff
//! member's private feed for their own calendar app.

use crate::api::calendar::{
    calendar_day, calendar_month, CalendarReminder, DayView, NewCalendarFeed,
};
use crate::components::{action_error, query_param, ErrorNotice};
use crate::domain::calendar::CalendarEntry;
use chrono::{Datelike, Months, NaiveDate};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn CalendarPage() -> impl IntoView {
    let day = query_param("day", "");
    view! {
        {move || if day.get().is_empty() {
            view! { <MonthPage/> }.into_any()
        } else {
            view! { <DayPage day/> }.into_any()
        }}
    }
}

#[component]
fn MonthPage() -> impl IntoView {
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
                            <MonthGrid first today=m.today entries=m.entries reminders=m.reminders more=m.more/>
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
    more: Vec<NaiveDate>,
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
                                        {todays.into_iter().map(|e| view! { <EntryItem e/> }).collect_view()}
                                        {due.into_iter().map(|r| view! { <ReminderItem r/> }).collect_view()}
                                    </ul>
                                    {more.contains(&day).then(|| view! {
                                        <a class="more" href=format!("/calendar?day={}", day.format("%Y-%m-%d"))>"More on this day…"</a>
                                    })}
                                </td>
                            }.into_any()
                        }).collect_view()}
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// A date on the calendar: what, whose, and how many reminders it has.
#[component]
fn EntryItem(e: CalendarEntry) -> impl IntoView {
    view! {
        <li>
            <span aria-hidden="true">{e.category_icon.clone().unwrap_or_else(|| "📅".into())}" "</span>
            <a href=format!("/dates/{}/edit", e.date_item_id)>{e.title.clone()}</a>
            " · " <a class="muted" href=format!("/clients/{}", e.person_id)>{e.person_name.clone()}</a>
            {(e.reminder_count > 0).then(|| view! { <span class="badge" title="reminders">{format!("🔔{}", e.reminder_count)}</span> })}
        </li>
    }
}

/// A reminder on the calendar: when on its person's clock, what, whose.
#[component]
fn ReminderItem(r: CalendarReminder) -> impl IntoView {
    let what = r.what.unwrap_or_else(|| "Reminder".into());
    view! {
        <li class=format!("reminder status-{}", r.status.as_str())>
            <span aria-hidden="true">"🔔 "</span>
            <span class="visually-hidden">"Reminder: "</span>
            {format!("{} {what}", r.time)}
            " · " <a class="muted" href=format!("/clients/{}", r.person_id)>{r.person_name}</a>
            <span class="muted">{format!(" ({}, {})", r.audience.as_str(), r.channel.label())}</span>
        </li>
    }
}

/// One day: every date and reminder on it, fifty of each at a time.
#[component]
fn DayPage(day: Memo<String>) -> impl IntoView {
    let page = query_param("page", "1");
    let data = Resource::new(
        move || (day.get(), page.get().parse::<i64>().unwrap_or(1)),
        |(day, page)| calendar_day(day, page),
    );
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <Title text="Calendar"/><h1>"Calendar"</h1><p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(d) => view! { <DayList d/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn DayList(d: DayView) -> impl IntoView {
    let title = d.day.format("%A %-d %B %Y").to_string();
    let month = format!("/calendar?month={}", d.day.format("%Y-%m"));
    let at =
        |day: NaiveDate, page: i64| format!("/calendar?day={}&page={page}", day.format("%Y-%m-%d"));
    let (prev, next) = (d.day.pred_opt(), d.day.succ_opt());
    let newer = (d.page > 1).then(|| at(d.day, d.page - 1));
    let older = d.more.then(|| at(d.day, d.page + 1));
    view! {
        <Title text=title.clone()/>
        <div class="page-head">
            <h1>{title}{(d.day == d.today).then_some(" — today")}</h1>
            <nav class="month-nav" aria-label="Days">
                {prev.map(|p| view! { <a rel="prev" href=at(p, 1)>"← Previous day"</a> })}
                <a href=month>"The month"</a>
                {next.map(|n| view! { <a rel="next" href=at(n, 1)>"Next day →"</a> })}
            </nav>
        </div>
        <h2>"Dates"</h2>
        {if d.entries.is_empty() {
            view! { <p class="empty">"No dates here."</p> }.into_any()
        } else {
            view! { <ul class="day-entries">{d.entries.into_iter().map(|e| view! { <EntryItem e/> }).collect_view()}</ul> }.into_any()
        }}
        <h2>"Reminders going out"</h2>
        {if d.reminders.is_empty() {
            view! { <p class="empty">"No reminders here."</p> }.into_any()
        } else {
            view! { <ul class="day-entries">{d.reminders.into_iter().map(|r| view! { <ReminderItem r/> }).collect_view()}</ul> }.into_any()
        }}
        <nav class="pager" aria-label="Pages">
            {newer.map(|h| view! { <a rel="prev" href=h>"← Previous page"</a> })}
            {older.map(|h| view! { <a rel="next" href=h>"Next page →"</a> })}
        </nav>
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
