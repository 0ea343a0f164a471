//! Important dates: a client's dates on their profile, the date form with its reminder rules,
//! and the reminders list.

use crate::api::dates::{
    client_date_lines, get_date, list_categories, list_reminders, ChangeReminder, DeleteDate,
    ReminderRow, SaveDate, FORM_RULES, REMINDERS_PAGE,
};
use crate::components::{
    action_error, form_errors, id_param, query_param, ErrorNotice, Field, FieldMessage, Tabs,
};
use crate::domain::dates::{
    Audience, Channel, DateCategory, DateItemDetail, DateLine, ReminderStatus,
};
use crate::domain::{FieldErrors, Recurrence};
use leptos::prelude::*;
use leptos_meta::Title;

const R_ID: [&str; FORM_RULES] = ["r0_id", "r1_id", "r2_id"];
const R_DAYS: [&str; FORM_RULES] = ["r0_days", "r1_days", "r2_days"];
const R_TIME: [&str; FORM_RULES] = ["r0_time", "r1_time", "r2_time"];
const R_AUDIENCE: [&str; FORM_RULES] = ["r0_audience", "r1_audience", "r2_audience"];
const R_CHANNEL: [&str; FORM_RULES] = ["r0_channel", "r1_channel", "r2_channel"];
const R_MESSAGE: [&str; FORM_RULES] = ["r0_message", "r1_message", "r2_message"];

/// "today", "tomorrow", "in 12 days".
pub fn days_label(days: i64) -> String {
    match days {
        0 => "today".into(),
        1 => "tomorrow".into(),
        d if d < 0 => format!("{} days ago", -d),
        d => format!("in {d} days"),
    }
}

/// A client's dates, as the profile loads them.
pub type DatesResource = Resource<Result<Vec<DateLine>, ServerFnError>>;

/// The profile's dates, started by the page itself: resources created inside an
/// already-suspended view may be left unresolved by server rendering.
pub fn client_dates_resource(id: Memo<String>) -> DatesResource {
    Resource::new(move || id.get(), client_date_lines)
}

/// A client's dates, for their profile: the next occurrence, how far off, and reminders.
#[component]
pub fn ClientDates(
    person_id: String,
    items: DatesResource,
    writable: Signal<bool>,
) -> impl IntoView {
    let add = format!("/clients/{person_id}/dates/new");
    view! {
        <section class="panel" aria-labelledby="dates-heading">
            <div class="panel-head">
                <h2 id="dates-heading">"Important dates"</h2>
                {move || writable.get().then(|| view! { <a class="button" href=add.clone()>"Add date"</a> })}
            </div>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match items.await {
                        Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="empty">"No dates yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <ul class="date-list">
                                {list.into_iter().map(|line| view! { <DateLineItem line/> }).collect_view()}
                            </ul>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn DateLineItem(line: DateLine) -> impl IntoView {
    let when = match (line.next_occurrence, line.days_until) {
        (Some(next), Some(d)) => format!("{} · {}", next.format("%-d %b %Y"), days_label(d)),
        (Some(next), None) => next.format("%-d %b %Y").to_string(),
        (None, _) => "passed".to_string(),
    };
    let active = line.active_reminders;
    let href = format!("/dates/{}/edit", line.id);
    view! {
        <li class="date-line">
            <a href=href class="date-title">{line.title}</a>
            <span class="muted">{when}</span>
            <span class="muted">{line.repeats}</span>
            <span class="badge">{format!("{active} reminder{}", if active == 1 { "" } else { "s" })}</span>
        </li>
    }
}

#[component]
pub fn NewDatePage() -> impl IntoView {
    let person_id = id_param();
    let categories = Resource::new(|| (), |_| list_categories());
    view! {
        <Title text="Add date"/>
        <h1>"Add an important date"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let cats = categories.await.unwrap_or_default();
                view! { <DateForm person_id=person_id.get() detail=None categories=cats/> }
            })}
        </Suspense>
    }
}

#[component]
pub fn EditDatePage() -> impl IntoView {
    let id = id_param();
    let detail = Resource::new(move || id.get(), get_date);
    let categories = Resource::new(|| (), |_| list_categories());
    let delete = ServerAction::<DeleteDate>::new();
    let delete_error = action_error(delete);
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let cats = categories.await.unwrap_or_default();
                match detail.await {
                    Err(e) => view! { <Title text="Date"/><p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(d) => {
                        let (id, pid) = (d.item.id.to_string(), d.item.person_id.to_string());
                        let form_pid = pid.clone();
                        view! {
                            <Title text=format!("Edit {}", d.item.title)/>
                            <div class="page-head">
                                <h1>"Edit " {d.item.title.clone()}</h1>
                                <details class="confirm">
                                    <summary class="button danger">"Delete…"</summary>
                                    <div class="confirm-box">
                                        <p>"Delete this date and its reminders?"</p>
                                        <ActionForm action=delete attr:class="inline">
                                            <input type="hidden" name="id" value=id/>
                                            <input type="hidden" name="person_id" value=pid.clone()/>
                                            <button type="submit" class="danger">"Yes, delete"</button>
                                        </ActionForm>
                                    </div>
                                </details>
                            </div>
                            <ErrorNotice message=delete_error/>
                            <DateForm person_id=form_pid detail=Some(d) categories=cats/>
                        }.into_any()
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn DateForm(
    person_id: String,
    detail: Option<DateItemDetail>,
    categories: Vec<DateCategory>,
) -> impl IntoView {
    let save = ServerAction::<SaveDate>::new();
    let errors = form_errors(save);
    let failure = action_error(save);
    let item = detail.as_ref().map(|d| d.item.clone());
    let rules = detail.map(|d| d.reminder_rules).unwrap_or_default();
    let current_category = item.as_ref().and_then(|i| i.category_id);
    let current_rule = item
        .as_ref()
        .and_then(|i| i.recurrence_rule.clone())
        .unwrap_or_default();
    let standard = ["", "FREQ=YEARLY", "FREQ=MONTHLY", "FREQ=WEEKLY"];
    let custom = (!standard.contains(&current_rule.as_str())).then(|| current_rule.clone());
    let cancel = format!("/clients/{person_id}");
    view! {
        <ErrorNotice message=failure/>
        <ActionForm action=save attr:class="stack form-grid">
            {item.as_ref().map(|i| view! { <input type="hidden" name="id" value=i.id.to_string()/> })}
            <input type="hidden" name="person_id" value=person_id.clone()/>
            <FieldMessage name="person_id" errors/>
            <Field label="Title" name="title" errors required=true value=item.as_ref().map(|i| i.title.clone()).unwrap_or_default()/>
            <div class="field">
                <label for="f-category_id">"Category"</label>
                <select id="f-category_id" name="category_id">
                    <option value="">"None"</option>
                    {categories.into_iter().map(|c| view! {
                        <option value=c.id.to_string() selected=Some(c.id) == current_category>{format!("{} {}", c.icon, c.name)}</option>
                    }).collect_view()}
                </select>
                <FieldMessage name="category_id" errors/>
            </div>
            <Field label="Date" name="date_value" kind="date" errors required=true value=item.as_ref().map(|i| i.date_value.to_string()).unwrap_or_default()/>
            <div class="field">
                <label for="f-recurrence_rule">"Repeats"</label>
                <select id="f-recurrence_rule" name="recurrence_rule">
                    {standard.iter().map(|r| {
                        let label = Recurrence::parse(r).map(|x| x.describe()).unwrap_or_default();
                        view! { <option value=*r selected=*r == current_rule>{label}</option> }
                    }).collect_view()}
                    {custom.map(|c| view! { <option value=c.clone() selected=true>{format!("Custom: {c}")}</option> })}
                </select>
                <FieldMessage name="recurrence_rule" errors/>
            </div>
            <div class="field full">
                <label for="f-notes">"Notes"</label>
                <textarea id="f-notes" name="notes" rows="3">{item.as_ref().and_then(|i| i.notes.clone()).unwrap_or_default()}</textarea>
                <FieldMessage name="notes" errors/>
            </div>
            <fieldset class="full rules">
                <legend>"Reminders"</legend>
                <p class="hint">"Each reminder goes out the given number of days before the date, at the time on the client's own clock. Leave the days empty for no reminder."</p>
                {(0..FORM_RULES).map(|n| {
                    let rule = rules.get(n).cloned();
                    view! { <RuleRow n rule errors/> }
                }).collect_view()}
            </fieldset>
            <div class="actions full">
                <button type="submit" class="primary" disabled=move || save.pending().get()>"Save date"</button>
                <a href=cancel>"Cancel"</a>
            </div>
        </ActionForm>
    }
}

/// One reminder rule of the date form.
#[component]
fn RuleRow(
    n: usize,
    rule: Option<crate::domain::dates::ReminderRule>,
    errors: Signal<FieldErrors>,
) -> impl IntoView {
    let days = rule
        .as_ref()
        .and_then(|r| r.lead_time_days)
        .map(|d| d.to_string())
        .unwrap_or_default();
    let time = rule
        .as_ref()
        .and_then(|r| r.time_of_day.clone())
        .unwrap_or_else(|| "09:00".into());
    let audience = rule
        .as_ref()
        .map(|r| r.audience)
        .unwrap_or(Audience::Client);
    let channel = rule
        .as_ref()
        .map(|r| r.channel_type)
        .unwrap_or(Channel::Email);
    let message = rule
        .as_ref()
        .and_then(|r| r.message.clone())
        .unwrap_or_default();
    let cancelled = rule
        .as_ref()
        .is_some_and(|r| r.status == ReminderStatus::Cancelled);
    view! {
        <div class="rule-row" role="group" aria-label=format!("Reminder {}", n + 1)>
            {rule.as_ref().map(|r| view! { <input type="hidden" name=R_ID[n] value=r.id.to_string()/> })}
            <Field label="Days before" name=R_DAYS[n] kind="number" errors value=days/>
            <Field label="At (local time)" name=R_TIME[n] kind="time" errors value=time/>
            <div class="field">
                <label for=format!("f-{}", R_AUDIENCE[n])>"For"</label>
                <select id=format!("f-{}", R_AUDIENCE[n]) name=R_AUDIENCE[n]>
                    <option value="client" selected=audience == Audience::Client>"The client"</option>
                    <option value="staff" selected=audience == Audience::Staff>"Their concierge"</option>
                </select>
                <FieldMessage name=R_AUDIENCE[n] errors/>
            </div>
            <div class="field">
                <label for=format!("f-{}", R_CHANNEL[n])>"By"</label>
                <select id=format!("f-{}", R_CHANNEL[n]) name=R_CHANNEL[n]>
                    {Channel::ALL.iter().map(|c| view! {
                        <option value=c.as_str() selected=*c == channel>{c.label()}</option>
                    }).collect_view()}
                </select>
                <FieldMessage name=R_CHANNEL[n] errors/>
            </div>
            <Field label="Message" name=R_MESSAGE[n] errors value=message/>
            {cancelled.then(|| view! { <p class="hint">"This reminder is cancelled."</p> })}
        </div>
    }
}

/// Reminders, filtered by status.
#[component]
pub fn RemindersPage() -> impl IntoView {
    let status = query_param("status", "pending");
    let page = query_param("page", "1");
    let change = ServerAction::<ChangeReminder>::new();
    let list = Resource::new(
        move || (status.get(), page.get(), change.version().get()),
        |(s, p, _)| list_reminders(s, p.parse().unwrap_or(1), false),
    );
    let change_error = action_error(change);
    view! {
        <Title text="Reminders"/>
        <h1>"Reminders"</h1>
        <Tabs label="Filter reminders" base="/reminders" name="status" current=status tabs=&[
            ("pending", "Pending"), ("sent", "Sent"), ("failed", "Failed"), ("cancelled", "Cancelled"), ("all", "All"),
        ]/>
        <ErrorNotice message=change_error/>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(rows) if rows.is_empty() => view! { <p class="empty">"No reminders here."</p> }.into_any(),
                    Ok(rows) => {
                        let more = rows.len() as i64 == REMINDERS_PAGE;
                        let current: i64 = page.get_untracked().parse().unwrap_or(1).max(1);
                        let link = move |p: i64| format!(
                            "/reminders?status={}&page={p}",
                            crate::components::urlencode(&status.get_untracked()),
                        );
                        view! {
                            <ReminderTable rows change/>
                            <crate::components::PageLinks page=current more link/>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
pub fn ReminderTable(
    rows: Vec<ReminderRow>,
    change: ServerAction<ChangeReminder>,
) -> impl IntoView {
    view! {
        <table class="table">
            <thead>
                <tr>
                    <th scope="col">"Due"</th><th scope="col">"Client"</th><th scope="col">"Date"</th>
                    <th scope="col">"For"</th><th scope="col">"By"</th><th scope="col">"Status"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr>
            </thead>
            <tbody>
                {rows.into_iter().map(|row| {
                    let r = row.rule;
                    let tz: chrono_tz::Tz = row.timezone.parse().unwrap_or(chrono_tz::UTC);
                    let due = r.scheduled_datetime
                        .map(|t| t.with_timezone(&tz).format("%-d %b %Y %H:%M %Z").to_string())
                        .unwrap_or_else(|| "—".into());
                    let client = format!("/clients/{}", r.person_id);
                    let id = r.id.to_string();
                    let can_cancel = matches!(r.status, ReminderStatus::Pending | ReminderStatus::Failed);
                    let can_retry = r.status == ReminderStatus::Failed;
                    view! {
                        <tr>
                            <td>{due}</td>
                            <td><a href=client>{row.person_name}</a></td>
                            <td>{row.date_title.unwrap_or_else(|| "—".into())}</td>
                            <td>{match r.audience { Audience::Client => "Client", Audience::Staff => "Concierge" }}</td>
                            <td>{r.channel_type.label()}</td>
                            <td><span class=format!("status status-{}", r.status.as_str())>{r.status.as_str()}</span>
                                {r.last_error.clone().map(|e| view! { <span class="muted">" — " {e}</span> })}</td>
                            <td class="row-actions">
                                <a href=format!("/messages?reminder={id}")>"History"</a>
                                {can_retry.then(|| { let id = id.clone(); view! {
                                    <ActionForm action=change attr:class="inline">
                                        <input type="hidden" name="id" value=id/>
                                        <input type="hidden" name="action" value="retry"/>
                                        <button type="submit">"Retry"</button>
                                    </ActionForm>
                                }})}
                                {can_cancel.then(|| view! {
                                    <ActionForm action=change attr:class="inline">
                                        <input type="hidden" name="id" value=id.clone()/>
                                        <input type="hidden" name="action" value="cancel"/>
                                        <button type="submit">"Cancel"</button>
                                    </ActionForm>
                                })}
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}
