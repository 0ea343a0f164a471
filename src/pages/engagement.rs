//! Engagement: the policy at a glance, "run now" (a dry run shows who would get what and who
//! is skipped and why), the chart of messages sent, clicked and booked per day, the last runs
//! with their summaries and each run's people; and Settings → Engagement, where admins set
//! the policy.

use crate::api::engagement::{
    daily_numbers, get_model, get_policy, get_run, list_runs, run_people, RunEngagement, SaveModel,
    SavePolicy,
};
use crate::app::UserResource;
use crate::components::chart::DailyChart;
use crate::components::{
    action_error, can_write, form_errors, form_saved, id_param, ErrorNotice, Field, FieldMessage,
};
use crate::domain::engagement::{EngagementPolicy, RunDecision, RunReport, RunSummary};
use leptos::prelude::*;
use leptos_meta::Title;

/// Plain words for a summary's skip keys.
pub fn reason_label(key: &str) -> &'static str {
    match key {
        "no_consent" => "no marketing consent",
        "opted_out" => "opted out of the channel",
        "no_channel" => "no usable address",
        "frequency_cap" => "frequency cap",
        "quiet_hours" => "quiet hours",
        "engagement_off" => "engagement switched off",
        "too_long" => "message too long for the channel",
        _ => "other",
    }
}

fn is_admin() -> Signal<bool> {
    let user = use_context::<UserResource>();
    Signal::derive(move || {
        user.and_then(|u| u.get())
            .and_then(|r| r.ok().flatten())
            .is_some_and(|u| u.role.is_admin())
    })
}

#[component]
fn PolicyGlance(policy: EngagementPolicy) -> impl IntoView {
    let quiet = if policy.has_quiet_hours() {
        format!(
            "Quiet hours {} on each client's own clock: messages are {} until they end.",
            policy.quiet_label(),
            match policy.quiet_action {
                crate::domain::engagement::QuietAction::Hold => "held",
                crate::domain::engagement::QuietAction::Skip => "skipped",
            }
        )
    } else {
        "No quiet hours.".to_string()
    };
    view! {
        <ul class="glance">
            <li>
                {if policy.enabled {
                    view! { <span class="badge ok">"On"</span> " Engagement runs every hour and nudges dormant and due clients." }.into_any()
                } else {
                    view! { <span class="badge off">"Off"</span> " Segments are kept up to date; no nudges are sent." }.into_any()
                }}
            </li>
            <li>{format!("Dormant after {} days without activity; churned (left alone) after {}.", policy.dormant_days, policy.churned_days)}</li>
            <li>{format!("Due to rebook {} day{} after their usual interval between bookings.", policy.rebook_grace_days, if policy.rebook_grace_days == 1 { "" } else { "s" })}</li>
            <li>{format!("At most {} engagement message{} per 24 hours and {} per 7 days per client, across every source.", policy.cap_per_day, if policy.cap_per_day == 1 { "" } else { "s" }, policy.cap_per_week)}</li>
            <li>{quiet}</li>
            <li>{format!("Nudges go by {}.", policy.channel.label())}</li>
            <li>{match &policy.booking_url {
                Some(url) => format!("Deep links open {url}, pre-filled, for {} hours.", policy.link_hours),
                None => "No booking address: nudges carry no deep link.".to_string(),
            }}</li>
            <li>{format!("Activity within {} hours of a message counts as its response.", policy.conversion_hours)}</li>
        </ul>
    }
}

/// A run's counts, and what became of its candidates.
#[component]
pub fn SummaryView(summary: RunSummary) -> impl IntoView {
    let skipped: Vec<(String, i64)> = summary
        .skipped
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| (k.clone(), *n))
        .collect();
    let segments: Vec<String> = summary
        .segments
        .iter()
        .map(|(s, n)| format!("{} {}", n, s.replace('_', " ")))
        .collect();
    view! {
        <dl class="summary">
            <div><dt>"Evaluated"</dt><dd>{summary.evaluated}</dd></div>
            <div><dt>"Dormant"</dt><dd>{summary.dormant}</dd></div>
            <div><dt>"Due to rebook"</dt><dd>{summary.due_to_rebook}</dd></div>
            <div><dt>"Decided earlier"</dt><dd>{summary.already_decided}</dd></div>
            <div><dt>"Decided now"</dt><dd>{summary.candidates}</dd></div>
            <div><dt>"Eligible"</dt><dd>{summary.eligible}</dd></div>
            <div><dt>"Queued"</dt><dd>{summary.queued}</dd></div>
            <div><dt>"Held (quiet hours)"</dt><dd>{summary.held}</dd></div>
            <div><dt>"Skipped"</dt><dd>{summary.skipped_total()}</dd></div>
        </dl>
        {(!skipped.is_empty()).then(|| view! {
            <p class="skips">"Skipped: "
                {skipped.into_iter().map(|(k, n)| view! { <span class="tag">{format!("{n} — {}", reason_label(&k))}</span> " " }).collect_view()}
            </p>
        })}
        <p class="muted">"Segments: " {segments.join(" · ")}</p>
    }
}

#[component]
pub fn DecisionTable(
    decisions: Vec<RunDecision>,
    #[prop(optional)] previews: bool,
) -> impl IntoView {
    if decisions.is_empty() {
        return view! { <p class="empty">"Nobody to decide about."</p> }.into_any();
    }
    view! {
        <table class="table decisions">
            <thead>
                <tr>
                    <th scope="col">"Client"</th><th scope="col">"Why"</th><th scope="col">"Outcome"</th>
                    <th scope="col">"Channel"</th>{previews.then(|| view! { <th scope="col">"Message"</th> })}
                </tr>
            </thead>
            <tbody>
                {decisions.into_iter().map(|d| {
                    let outcome = d.outcome.clone();
                    view! {
                        <tr class=format!("outcome-{outcome}")>
                            <td><a href=format!("/clients/{}", d.person_id)>{d.person_name.clone()}</a></td>
                            <td>{d.nudge.label()}</td>
                            <td>
                                {match d.delivery_id {
                                    Some(id) => view! { <a href=format!("/messages/{id}")>{d.words.clone()}</a> }.into_any(),
                                    None => view! { <span>{d.words.clone()}</span> }.into_any(),
                                }}
                            </td>
                            <td>{d.channel.clone().unwrap_or_default()}</td>
                            {previews.then(|| view! {
                                <td class="preview">
                                    {d.subject.clone().map(|s| view! { <strong>{s}</strong><br/> })}
                                    {d.body.clone().unwrap_or_default()}
                                </td>
                            })}
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

fn report_view(report: RunReport) -> impl IntoView {
    let heading = if report.run.dry_run {
        "Dry run — nothing was changed or sent"
    } else {
        "Run finished"
    };
    let more = report.truncated.then(|| {
        view! { <p class="muted">"Only the first decisions are listed; the counts above cover everyone."</p> }
    });
    view! {
        <div class="run-report" role="status">
            <h3>{heading}</h3>
            <SummaryView summary=report.run.summary/>
            <DecisionTable decisions=report.decisions previews=true/>
            {more}
        </div>
    }
}

#[component]
pub fn EngagementPage() -> impl IntoView {
    let run = ServerAction::<RunEngagement>::new();
    let policy = Resource::new(|| (), |_| get_policy());
    let runs = Resource::new(move || run.version().get(), |_| list_runs());
    let stats = Resource::new(move || run.version().get(), |_| daily_numbers(14));
    let writable = can_write();
    let admin = is_admin();
    let error = action_error(run);
    view! {
        <Title text="Engagement"/>
        <div class="page-head">
            <h1>"Engagement"</h1>
            <Suspense fallback=|| ()>
                {move || admin.get().then(|| view! {
                    <div class="actions"><a class="button" href="/settings/engagement">"Change the policy"</a></div>
                })}
            </Suspense>
        </div>
        <section class="panel" aria-labelledby="policy-heading">
            <h2 id="policy-heading">"The policy"</h2>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match policy.await {
                        Ok(p) => view! { <PolicyGlance policy=p/> }.into_any(),
                        Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
        <section class="panel" aria-labelledby="run-heading">
            <h2 id="run-heading">"Run now"</h2>
            <p class="hint">"A dry run decides about every dormant or due client as the hourly run would, and shows it — nothing is written or sent."</p>
            <div class="actions">
                <ActionForm action=run attr:class="inline">
                    <input type="hidden" name="dry_run" value="true"/>
                    <button type="submit" class="primary">"Run now (dry run)"</button>
                </ActionForm>
                <Suspense fallback=|| ()>
                    {move || writable.get().then(|| view! {
                        <ActionForm action=run attr:class="inline">
                            <input type="hidden" name="dry_run" value="false"/>
                            <button type="submit">"Run now and send"</button>
                        </ActionForm>
                    })}
                </Suspense>
            </div>
            <ErrorNotice message=error/>
            {move || run.pending().get().then(|| view! { <p class="muted" role="status">"Running…"</p> })}
            {move || run.value().get().and_then(|r| r.ok()).map(report_view)}
        </section>
        <section class="panel" aria-labelledby="chart-heading">
            <h2 id="chart-heading">"The last 14 days"</h2>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match stats.await {
                        Ok(s) => view! {
                            <p class="stats">{format!("{} sent · {} clicked · {} booked · {} unsubscribed", s.sent, s.clicked, s.booked, s.unsubscribed)}</p>
                            <DailyChart days=s.days id="engagement-chart"/>
                        }.into_any(),
                        Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
        <section class="panel" aria-labelledby="runs-heading">
            <h2 id="runs-heading">"Last runs"</h2>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match runs.await {
                        Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="empty">"No run yet. The worker runs engagement every hour."</p> }.into_any(),
                        Ok(list) => view! {
                            <table class="table">
                                <thead><tr>
                                    <th scope="col">"Started"</th><th scope="col">"By"</th><th scope="col">"Evaluated"</th>
                                    <th scope="col">"Dormant"</th><th scope="col">"Due"</th><th scope="col">"Queued"</th>
                                    <th scope="col">"Held"</th><th scope="col">"Skipped"</th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|r| {
                                        let s = r.summary.clone();
                                        view! {
                                            <tr>
                                                <td><a href=format!("/engagement/runs/{}", r.id)>{r.started_at.format("%-d %b %Y %H:%M UTC").to_string()}</a>
                                                    {r.error.clone().map(|e| view! { <span class="badge off" title=e>"failed"</span> })}</td>
                                                <td>{r.trigger.as_str()}</td>
                                                <td>{s.evaluated}</td><td>{s.dormant}</td><td>{s.due_to_rebook}</td>
                                                <td>{s.queued}</td><td>{s.held}</td><td>{s.skipped_total()}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// One run: its summary, and its people by outcome.
#[component]
pub fn RunPage() -> impl IntoView {
    let id = id_param();
    let report = Resource::new(move || id.get(), get_run);
    let skipped = Resource::new(move || id.get(), |id| run_people(id, "skipped".into()));
    let held = Resource::new(move || id.get(), |id| run_people(id, "held".into()));
    view! {
        <Title text="Engagement run"/>
        <p><a href="/engagement">"← Engagement"</a></p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match report.await {
                    Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(r) => view! {
                        <h1>{format!("Run of {}", r.run.started_at.format("%-d %b %Y %H:%M UTC"))}</h1>
                        {r.run.error.clone().map(|e| view! { <p class="notice error" role="alert">{format!("The run stopped: {e}")}</p> })}
                        <section class="panel"><SummaryView summary=r.run.summary.clone()/></section>
                        <section class="panel" aria-labelledby="decided-heading">
                            <h2 id="decided-heading">"Decided in this run"</h2>
                            <DecisionTable decisions=r.decisions/>
                            {r.truncated.then(|| view! { <p class="muted">"Only the first decisions are kept with the run."</p> })}
                        </section>
                    }.into_any(),
                }
            })}
        </Suspense>
        <section class="panel" aria-labelledby="skipped-heading">
            <h2 id="skipped-heading">"Skipped, and why"</h2>
            <p class="hint">"As each person stands now: a later run may have decided again."</p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    view! { <DecisionTable decisions=skipped.await.unwrap_or_default()/> }
                })}
            </Suspense>
        </section>
        <section class="panel" aria-labelledby="held-heading">
            <h2 id="held-heading">"Held for quiet hours"</h2>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    view! { <DecisionTable decisions=held.await.unwrap_or_default()/> }
                })}
            </Suspense>
        </section>
    }
}

/// Settings → Engagement: the policy form (admins).
#[component]
pub fn PolicyPage() -> impl IntoView {
    let save = ServerAction::<SavePolicy>::new();
    let policy = Resource::new(move || save.version().get(), |_| get_policy());
    let errors = form_errors(save);
    let error = action_error(save);
    let saved = form_saved(save);
    view! {
        <Title text="Engagement policy"/>
        <h1>"Settings"</h1>
        <crate::pages::settings::SettingsNav/>
        <h2>"Engagement policy"</h2>
        <p><a href="/engagement">"See runs and results on the Engagement page"</a></p>
        <ErrorNotice message=error/>
        {move || saved.get().then(|| view! { <p class="notice ok" role="status">"Saved. The next run decides with it."</p> })}
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match policy.await {
                    Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(p) => view! { <PolicyForm policy=p save errors/> }.into_any(),
                }
            })}
        </Suspense>
        <ModelPanel/>
    }
}

/// Settings → Engagement → AI writing: the organisation's OpenAI-compatible model. The key is
/// never shown back; a blank key field keeps it.
#[component]
fn ModelPanel() -> impl IntoView {
    let save = ServerAction::<SaveModel>::new();
    let model = Resource::new(move || save.version().get(), |_| get_model());
    let errors = form_errors(save);
    let error = action_error(save);
    let saved = form_saved(save);
    view! {
        <section class="panel" aria-labelledby="model-heading">
            <h2 id="model-heading">"AI writing"</h2>
            <p class="hint">
                "A campaign variant with a prompt is written by this model — any OpenAI-compatible chat-completions API, hosted or a local server (llama.cpp, vLLM). "
                "Every text it writes passes the safety filter; when it fails, is too slow or is switched off, the variant's template writes the message, and the message records why."
            </p>
            <ErrorNotice message=error/>
            {move || saved.get().then(|| view! { <p class="notice ok" role="status">"Saved."</p> })}
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match model.await {
                        Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(m) => {
                            let enabled = m.as_ref().is_none_or(|m| m.enabled);
                            let has_key = m.as_ref().is_some_and(|m| m.has_key);
                            let base = m.as_ref().map(|m| m.base_url.clone()).unwrap_or_default();
                            let name = m.as_ref().map(|m| m.model.clone()).unwrap_or_default();
                            let timeout = m.as_ref().map(|m| m.timeout_ms).unwrap_or(crate::domain::engagement::generation::DEFAULT_TIMEOUT_MS);
                            let timeout = format!("{}", f64::from(timeout) / 1000.0);
                            let approval = m.as_ref().is_some_and(|m| m.require_approval);
                            let hours = m.as_ref().map(|m| m.approval_hours)
                                .unwrap_or(crate::domain::engagement::generation::DEFAULT_APPROVAL_HOURS)
                                .to_string();
                            view! {
                                <ActionForm action=save attr:class="form model-form">
                                    <div class="field">
                                        <label><input type="checkbox" name="enabled" value="true" checked=enabled/>" Write with the model"</label>
                                        <FieldMessage name="enabled" errors/>
                                    </div>
                                    <Field label="Base URL" name="base_url" value=base errors required=true hint="https://api.openai.com/v1, or http://127.0.0.1:8080/v1 for a local server"/>
                                    <Field label="Model" name="model" value=name errors required=true hint="gpt-4o-mini, or the local server's model name"/>
                                    <Field label="Time allowed per message (seconds)" name="timeout_seconds" value=timeout errors/>
                                    <Field label="API key" name="api_key" kind="password" errors autocomplete="off"
                                        hint=if has_key { "A key is stored; leave this empty to keep it." } else { "None stored (a local server may need none)." }/>
                                    {has_key.then(|| view! {
                                        <label><input type="checkbox" name="clear_key" value="true"/>" Remove the stored key"</label>
                                    })}
                                    <div class="field">
                                        <label><input type="checkbox" name="require_approval" value="true" checked=approval/>" AI-written messages wait for a person's approval"</label>
                                        <p class="hint">"They wait in Approvals, where staff approve, edit or reject them."</p>
                                        <FieldMessage name="require_approval" errors/>
                                    </div>
                                    <Field label="Approval expires after (hours; unapproved messages are not sent)" name="approval_hours" kind="number" value=hours errors/>
                                    <button type="submit" class="primary">"Save the model"</button>
                                </ActionForm>
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn PolicyForm(
    policy: EngagementPolicy,
    save: ServerAction<SavePolicy>,
    errors: Signal<crate::domain::FieldErrors>,
) -> impl IntoView {
    let p = policy;
    let vars = crate::domain::engagement::policy::TEMPLATE_VARIABLES
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(", ");
    let option = |current: &str, value: &'static str, label: &'static str| {
        view! { <option value=value selected=current == value>{label}</option> }
    };
    let channel = p.channel.as_str();
    let action = p.quiet_action.as_str();
    view! {
        <ActionForm action=save attr:class="form policy-form">
            <fieldset>
                <legend>"Engagement"</legend>
                <div class="field">
                    <label><input type="checkbox" name="enabled" value="true" checked=p.enabled/>" Send engagement nudges"</label>
                    <p class="hint">"Off: segments are still kept up to date, and nothing is sent."</p>
                    <FieldMessage name="enabled" errors/>
                </div>
            </fieldset>
            <fieldset>
                <legend>"Who is nudged"</legend>
                <Field label="Dormant after (days without activity)" name="dormant_days" kind="number" value=p.dormant_days.to_string() errors required=true/>
                <Field label="Churned after (days) — churned clients are left alone" name="churned_days" kind="number" value=p.churned_days.to_string() errors required=true/>
                <Field label="Rebooking nudge, days after their usual interval" name="rebook_grace_days" kind="number" value=p.rebook_grace_days.to_string() errors required=true/>
            </fieldset>
            <fieldset>
                <legend>"How often, and when"</legend>
                <Field label="At most per 24 hours" name="cap_per_day" kind="number" value=p.cap_per_day.to_string() errors required=true/>
                <Field label="At most per 7 days" name="cap_per_week" kind="number" value=p.cap_per_week.to_string() errors required=true/>
                <Field label="Quiet hours start (their clock)" name="quiet_start" kind="time" value=p.quiet_start.format("%H:%M").to_string() errors required=true/>
                <Field label="Quiet hours end (their clock)" name="quiet_end" kind="time" value=p.quiet_end.format("%H:%M").to_string() errors required=true hint="The same start and end: no quiet hours."/>
                <div class="field">
                    <label for="f-quiet_action">"In quiet hours"</label>
                    <select id="f-quiet_action" name="quiet_action">
                        {option(action, "hold", "hold the message until they end")}
                        {option(action, "skip", "skip it")}
                    </select>
                    <FieldMessage name="quiet_action" errors/>
                </div>
            </fieldset>
            <fieldset>
                <legend>"Where nudges go"</legend>
                <div class="field">
                    <label for="f-channel">"Channel"</label>
                    <select id="f-channel" name="channel">
                        {option(channel, "preferred", "their preferred channel")}
                        {option(channel, "email", "E-mail")}
                        {option(channel, "sms", "SMS")}
                        {option(channel, "whatsapp", "WhatsApp")}
                        {option(channel, "webhook", "your app (webhook)")}
                    </select>
                    <FieldMessage name="channel" errors/>
                </div>
                <Field label="Booking address for deep links" name="booking_url" kind="url" value=p.booking_url.clone().unwrap_or_default() errors hint="The deep link opens it with ?service=… (their last booking's) and ?ref=… (the message)."/>
                <Field label="Deep links work for (hours)" name="link_hours" kind="number" value=p.link_hours.to_string() errors required=true/>
                <Field label="A response counts within (hours)" name="conversion_hours" kind="number" value=p.conversion_hours.to_string() errors required=true/>
            </fieldset>
            <fieldset>
                <legend>"What nudges say"</legend>
                <p class="hint">{format!("Templates: write {{{{ variable }}}} for any of {vars}. The unsubscribe link is added when a text leaves it out.")}</p>
                <Field label="Dormant: subject" name="dormant_subject" value=p.dormant.subject.clone() errors/>
                <TextArea label="Dormant: message" name="dormant_body" value=p.dormant.body.clone() errors/>
                <Field label="Rebooking: subject" name="rebook_subject" value=p.rebook.subject.clone() errors/>
                <TextArea label="Rebooking: message" name="rebook_body" value=p.rebook.body.clone() errors/>
                <TextArea label="Banned words (never in an engagement message; separate with commas)" name="banned_words" value=p.banned_words.join(", ") errors/>
            </fieldset>
            <button type="submit" class="primary">"Save the policy"</button>
        </ActionForm>
    }
}

#[component]
fn TextArea(
    label: &'static str,
    name: &'static str,
    value: String,
    #[prop(into)] errors: Signal<crate::domain::FieldErrors>,
) -> impl IntoView {
    let id = format!("f-{name}");
    let message = move || errors.get().get(name).map(str::to_string);
    view! {
        <div class="field" class:has-error=move || message().is_some()>
            <label for=id.clone()>{label}</label>
            <textarea id=id name=name rows="5" aria-describedby=format!("{name}-error")
                aria-invalid=move || message().is_some().then_some("true")>{value}</textarea>
            <FieldMessage name errors/>
        </div>
    }
}

/// A client's engagement on their profile: segment, churn risk and labels with the reasons,
/// their booking cadence, and the latest decision about them.
#[component]
pub fn ClientEngagement(
    engagement: Resource<Result<crate::domain::engagement::PersonEngagement, ServerFnError>>,
) -> impl IntoView {
    view! {
        <section class="panel engagement-panel" aria-labelledby="engagement-heading">
            <h2 id="engagement-heading">"Engagement"</h2>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match engagement.await {
                        Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(e) => view! {
                            <p>
                                <span class=format!("badge segment-{}", e.segment.as_str())>{e.segment.label()}</span>
                                " " <span class="risk">{format!("churn risk {:.2}", e.churn_risk)}</span>
                                {e.labels.iter().map(|l| view! { " " <span class="tag">{l.replace('_', " ")}</span> }).collect_view()}
                                {e.due_to_rebook.then(|| view! { " " <span class="badge due">"due to rebook"</span> })}
                            </p>
                            <p class="explanation">{e.explanation.clone()}</p>
                            {e.cadence.clone().map(|c| view! { <p class="muted">{c}</p> })}
                            <p class="muted">
                                {match (e.last_decision.clone(), e.last_decided_at) {
                                    (Some(words), Some(at)) => format!("Last engagement decision, {}: {words}.", at.format("%-d %b %Y %H:%M UTC")),
                                    _ => "No engagement decision about them yet.".to_string(),
                                }}
                            </p>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
