//! Campaigns: the list, the form (admins), and a campaign's page: its settings, its audience
//! before (and while) it sends, each variant previewed for a client, activate / pause /
//! resume, and its results against the holdout with a chart and a CSV download.

use crate::api::campaigns::{
    campaign_audience, get_campaign, get_campaign_stats, list_campaigns, PreviewCampaign,
    SaveCampaign, SetCampaignStatus, FORM_VARIANTS,
};
use crate::components::chart::ConversionChart;
use crate::components::{
    action_error, can_admin, form_errors, id_param, ErrorNotice, Field, FieldMessage,
};
use crate::domain::campaigns::stats::CampaignStats;
use crate::domain::campaigns::{AudiencePreview, Campaign, CampaignStatus, Variant};
use crate::domain::engagement::{NudgeChannel, Segment};
use leptos::prelude::*;
use leptos_meta::Title;

fn percent(rate: f64) -> String {
    format!("{:.1} %", rate * 100.0)
}

fn points(d: f64) -> String {
    format!("{:+.1} pts", d * 100.0)
}

#[component]
pub fn CampaignsPage() -> impl IntoView {
    let list = Resource::new(|| (), |_| list_campaigns());
    let admin = can_admin();
    view! {
        <Title text="Campaigns"/>
        <div class="page-head">
            <h1>"Campaigns"</h1>
            <Suspense fallback=|| ()>
                {move || admin.get().then(|| view! { <a class="button primary" href="/campaigns/new">"New campaign"</a> })}
            </Suspense>
        </div>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(rows) if rows.is_empty() => view! { <p class="empty">"No campaigns yet."</p> }.into_any(),
                    Ok(rows) => view! {
                        <table class="table">
                            <thead><tr>
                                <th scope="col">"Name"</th><th scope="col">"Status"</th><th scope="col">"Channel"</th>
                                <th scope="col">"Variants"</th><th scope="col">"Holdout"</th><th scope="col">"Schedule"</th>
                                <th scope="col">"Audience"</th>
                            </tr></thead>
                            <tbody>
                                {rows.into_iter().map(|c| {
                                    let keys: Vec<String> = c.settings.variants.iter().map(|v| v.key.clone()).collect();
                                    view! {
                                        <tr>
                                            <td><a href=format!("/campaigns/{}", c.id)>{c.settings.name.clone()}</a></td>
                                            <td><span class=format!("status status-{}", c.status.as_str())>{c.status.label()}</span></td>
                                            <td>{c.settings.channel.label()}</td>
                                            <td>{keys.join(" / ")}</td>
                                            <td>{format!("{} %", c.settings.holdout_percent)}</td>
                                            <td>{c.schedule_label()}</td>
                                            <td>{c.settings.audience.describe()}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
pub fn NewCampaignPage() -> impl IntoView {
    view! {
        <Title text="New campaign"/>
        <h1>"New campaign"</h1>
        <CampaignForm campaign=None/>
    }
}

#[component]
pub fn EditCampaignPage() -> impl IntoView {
    let id = id_param();
    let data = Resource::new(move || id.get(), get_campaign);
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <Title text="Campaign"/><p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(c) => view! {
                        <Title text=format!("Edit {}", c.settings.name)/>
                        <h1>"Edit " {c.settings.name.clone()}</h1>
                        <CampaignForm campaign=Some(c)/>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn CampaignForm(campaign: Option<Campaign>) -> impl IntoView {
    let save = ServerAction::<SaveCampaign>::new();
    let errors = form_errors(save);
    let error = action_error(save);
    let started = campaign.as_ref().is_some_and(|c| c.status.has_started());
    let s = campaign.as_ref().map(|c| c.settings.clone());
    let id = campaign.as_ref().map(|c| c.id.to_string());
    let name = s.as_ref().map(|s| s.name.clone()).unwrap_or_default();
    let channel = s.as_ref().map(|s| s.channel).unwrap_or_default();
    let audience = s.as_ref().map(|s| s.audience.clone()).unwrap_or_default();
    let opt = |v: Option<String>| v.unwrap_or_default();
    let holdout = s
        .as_ref()
        .map(|s| s.holdout_percent.to_string())
        .unwrap_or_else(|| "10".into());
    let repeat = opt(s
        .as_ref()
        .and_then(|s| s.repeat_days.map(|d| d.to_string())));
    let window_start = opt(s
        .as_ref()
        .and_then(|s| s.send_window_start.map(|t| t.format("%H:%M").to_string())));
    let window_end = opt(s
        .as_ref()
        .and_then(|s| s.send_window_end.map(|t| t.format("%H:%M").to_string())));
    let conversion = s
        .as_ref()
        .map(|s| s.conversion_days.to_string())
        .unwrap_or_else(|| "7".into());
    let variants: Vec<Variant> = s.as_ref().map(|s| s.variants.clone()).unwrap_or_default();
    let seg_names = [
        "seg_new",
        "seg_active",
        "seg_at_risk",
        "seg_dormant",
        "seg_churned",
    ];
    view! {
        <ActionForm action=save attr:class="form campaign-form">
            {id.map(|id| view! { <input type="hidden" name="id" value=id/> })}
            <Field label="Name" name="name" errors required=true value=name/>
            <div class="field">
                <label for="f-channel">"Channel"</label>
                <select id="f-channel" name="channel">
                    {NudgeChannel::ALL.iter().map(|c| view! {
                        <option value=c.as_str() selected=*c == channel>{c.label()}</option>
                    }).collect_view()}
                </select>
                <FieldMessage name="channel" errors/>
            </div>
            <fieldset>
                <legend>"Audience"</legend>
                <p class="hint">"Everyone who meets every criterion given; consent, caps and quiet hours apply as in every engagement message."</p>
                <div class="checks" role="group" aria-label="Segments (none ticked: any)">
                    {Segment::ALL.iter().zip(seg_names).map(|(seg, field)| {
                        let checked = audience.segments.contains(seg);
                        view! { <label><input type="checkbox" name=field value="on" checked=checked/>" " {seg.label()}</label> }
                    }).collect_view()}
                </div>
                <Field label="Tags (any of)" name="tags" errors hint="Separate with commas" value=audience.tags.join(", ")/>
                <Field label="Churn risk at least (0–1)" name="churn_risk_min" errors value=opt(audience.churn_risk_min.map(|v| v.to_string()))/>
                <FieldMessage name="audience.churn_risk_min" errors/>
                <Field label="Churn risk at most (0–1)" name="churn_risk_max" errors value=opt(audience.churn_risk_max.map(|v| v.to_string()))/>
                <FieldMessage name="audience.churn_risk_max" errors/>
                <Field label="Inactive at least (days)" name="min_days_inactive" kind="number" errors value=opt(audience.min_days_inactive.map(|v| v.to_string()))/>
                <FieldMessage name="audience.min_days_inactive" errors/>
                <label><input type="checkbox" name="due_to_rebook" value="on" checked=audience.due_to_rebook/>" Only people due to rebook"</label>
                <label><input type="checkbox" name="usable_channel" value="on" checked=audience.has_usable_channel/>" Only people the channel can reach"</label>
            </fieldset>
            <fieldset>
                <legend>"Variants"</legend>
                <p class="hint">
                    "Templates may use " <code>"{{ preferred_name }}"</code> ", " <code>"{{ days_inactive }}"</code> ", "
                    <code>"{{ service }}"</code> ", " <code>"{{ deep_link }}"</code> " and " <code>"{{ unsubscribe_link }}"</code>
                    " (added when missing). Leave a variant empty to leave it out."
                    {started.then_some(" Keys and weights stay as they are once the campaign has started.")}
                </p>
                <FieldMessage name="variants" errors/>
                {(0..FORM_VARIANTS).map(|i| {
                    let v = variants.get(i).cloned();
                    let default_key = ((b'A' + i as u8) as char).to_string();
                    let key = v.as_ref().map(|v| v.key.clone()).unwrap_or(default_key);
                    let field = move |f: &str| format!("v{i}_{f}");
                    let err = move |f: &str| format!("variants[{i}].{f}");
                    let weight = v.as_ref().map(|v| v.weight.to_string()).unwrap_or_else(|| "1".into());
                    let body_id = format!("f-v{i}-body");
                    view! {
                        <div class="variant">
                            <h3>"Variant " {key.clone()}</h3>
                            <input type="hidden" name=field("key") value=key.clone()/>
                            <div class="field">
                                <label for=format!("f-v{i}-name")>"Name"</label>
                                <input id=format!("f-v{i}-name") name=field("name") value=opt(v.as_ref().map(|v| v.name.clone()))/>
                            </div>
                            <div class="field">
                                <label for=format!("f-v{i}-weight")>"Weight"</label>
                                <input id=format!("f-v{i}-weight") name=field("weight") type="number" min="1" value=weight readonly=started/>
                                <FieldMessage name=err("weight") errors/>
                                <FieldMessage name=err("key") errors/>
                            </div>
                            <div class="field">
                                <label for=format!("f-v{i}-subject")>"Subject (e-mail)"</label>
                                <input id=format!("f-v{i}-subject") name=field("subject") value=opt(v.as_ref().map(|v| v.subject.clone()))/>
                                <FieldMessage name=err("subject") errors/>
                            </div>
                            <div class="field">
                                <label for=body_id.clone()>"Message"</label>
                                <textarea id=body_id name=field("body") rows="4">{opt(v.as_ref().map(|v| v.body.clone()))}</textarea>
                                <FieldMessage name=err("body") errors/>
                            </div>
                            <div class="field">
                                <label for=format!("f-v{i}-prompt")>"AI prompt (optional)"</label>
                                <textarea id=format!("f-v{i}-prompt") name=field("prompt") rows="3">{opt(v.as_ref().and_then(|v| v.prompt.clone()))}</textarea>
                                <p class="hint">
                                    "With a model set up in Settings → Engagement, it writes this variant's message from the prompt; the message above is the fall-back. "
                                    {v.as_ref().and_then(|v| v.prompt_version).map(|n| format!("Now at version {n}."))}
                                </p>
                                <FieldMessage name=err("prompt") errors/>
                            </div>
                        </div>
                    }
                }).collect_view()}
            </fieldset>
            <Field label="Holdout (percent who get nothing, to measure lift)" name="holdout_percent" kind="number" errors value=holdout/>
            <Field label="Repeat every (days; empty: once)" name="repeat_days" kind="number" errors value=repeat/>
            <Field label="Send window opens (HH:MM on their clock)" name="send_window_start" errors value=window_start/>
            <Field label="Send window closes" name="send_window_end" errors value=window_end/>
            <Field label="Conversion window (days)" name="conversion_days" kind="number" errors value=conversion/>
            <ErrorNotice message=error/>
            <button type="submit" class="primary">"Save"</button>
        </ActionForm>
    }
}

#[component]
pub fn CampaignPage() -> impl IntoView {
    let id = id_param();
    let set_status = ServerAction::<SetCampaignStatus>::new();
    let data = Resource::new(
        move || (id.get(), set_status.version().get()),
        |(id, _)| get_campaign(id),
    );
    let status_error = action_error(set_status);
    let admin = can_admin();
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <Title text="Campaign"/><p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(c) => {
                        let cid = c.id.to_string();
                        let edit = format!("/campaigns/{}/edit", c.id);
                        let status = c.status;
                        let button = move |to: CampaignStatus, text: &'static str| {
                            let cid = cid.clone();
                            view! {
                                <ActionForm action=set_status attr:class="inline">
                                    <input type="hidden" name="id" value=cid/>
                                    <input type="hidden" name="status" value=to.as_str()/>
                                    <button type="submit" class="button primary">{text}</button>
                                </ActionForm>
                            }
                        };
                        let actions = move || admin.get().then(|| view! {
                            <span class="row-actions">
                                {(status != CampaignStatus::Completed).then(|| view! { <a class="button" href=edit.clone()>"Edit"</a> })}
                                {(status == CampaignStatus::Draft).then(|| button(CampaignStatus::Active, "Activate"))}
                                {(status == CampaignStatus::Active).then(|| button(CampaignStatus::Paused, "Pause"))}
                                {(status == CampaignStatus::Paused).then(|| button(CampaignStatus::Active, "Resume"))}
                            </span>
                        });
                        let s = c.settings.clone();
                        let window = match (s.send_window_start, s.send_window_end) {
                            (Some(a), Some(b)) => format!("{}–{} on their clock", a.format("%H:%M"), b.format("%H:%M")),
                            _ => "any time outside quiet hours".into(),
                        };
                        view! {
                            <Title text=s.name.clone()/>
                            <div class="page-head">
                                <h1>{s.name.clone()} " " <span class=format!("status status-{}", status.as_str())>{status.label()}</span></h1>
                                {actions}
                            </div>
                            <ErrorNotice message=status_error/>
                            <dl class="details">
                                <dt>"Audience"</dt><dd>{s.audience.describe()}</dd>
                                <dt>"Channel"</dt><dd>{s.channel.label()}</dd>
                                <dt>"Variants"</dt><dd>{s.variants.iter().map(|v| format!("{} ({}, weight {})", v.key, v.name, v.weight)).collect::<Vec<_>>().join("; ")}</dd>
                                <dt>"Holdout"</dt><dd>{format!("{} %", s.holdout_percent)}</dd>
                                <dt>"Schedule"</dt><dd>{c.schedule_label()}</dd>
                                <dt>"Send window"</dt><dd>{window}</dd>
                                <dt>"Conversion window"</dt><dd>{format!("{} days", s.conversion_days)}</dd>
                            </dl>
                            <AudiencePanel id=c.id.to_string()/>
                            <PreviewPanel id=c.id.to_string()/>
                            <ResultsPanel id=c.id.to_string()/>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn AudiencePanel(id: String) -> impl IntoView {
    let audience = Resource::new(move || id.clone(), campaign_audience);
    view! {
        <section class="panel" aria-labelledby="audience-heading">
            <h2 id="audience-heading">"Audience now"</h2>
            <Suspense fallback=|| view! { <p>"Counting…"</p> }>
                {move || Suspend::new(async move {
                    match audience.await {
                        Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(a) => audience_view(a).into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

fn audience_view(a: AudiencePreview) -> impl IntoView {
    let skipped = a.skipped_total();
    view! {
        <p class="audience-size"><strong>{a.size}</strong> " people in the audience"
            {(a.without_channel > 0).then(|| format!(" ({} more have no address the channel can use)", a.without_channel))}
        </p>
        <ul class="stats-line">
            <li>{a.would_send} " would be sent now"</li>
            <li>{a.would_hold} " held for quiet hours"</li>
            <li>{skipped} " skipped"</li>
            {a.arms.iter().map(|(arm, n)| view! { <li>{format!("{arm}: {n}")}</li> }).collect_view()}
        </ul>
        {(skipped > 0).then(|| view! {
            <p class="muted">"Skipped: " {a.skipped.iter().filter(|(_, n)| **n > 0).map(|(k, n)| format!("{} {n}", k.replace('_', " "))).collect::<Vec<_>>().join(", ")}</p>
        })}
    }
}

#[component]
fn PreviewPanel(id: String) -> impl IntoView {
    let preview = ServerAction::<PreviewCampaign>::new();
    let error = action_error(preview);
    view! {
        <section class="panel" aria-labelledby="preview-heading">
            <h2 id="preview-heading">"Preview for a client"</h2>
            <ActionForm action=preview attr:class="search">
                <input type="hidden" name="id" value=id/>
                <label for="preview-client">"Client"</label>
                <input id="preview-client" name="client" placeholder="Name or id"/>
                <button type="submit">"Preview"</button>
            </ActionForm>
            <ErrorNotice message=error/>
            {move || preview.value().get().and_then(|r| r.ok()).map(|p| match p {
                None => view! { <p class="empty">"No client matches."</p> }.into_any(),
                Some(p) => view! {
                    <p>{p.person_name.clone()} " is in arm " <strong>{p.arm.clone()}</strong> " — " {p.decision.clone()}
                        {p.channel.clone().map(|c| format!(" (by {c})"))}</p>
                    {p.variants.into_iter().map(|v| view! {
                        <article class="message-preview">
                            <h3>{format!("Variant {} — {}", v.key, v.name)}</h3>
                            {(!v.subject.is_empty()).then(|| view! { <p><strong>"Subject: "</strong>{v.subject.clone()}</p> })}
                            <pre class="body">{v.body.clone()}</pre>
                            <p class="muted">{format!("{} of {} characters", v.length, v.max_length)}</p>
                            {v.written_by.clone().map(|w| view! { <p class="written-by">{w}</p> })}
                            {v.safety.clone().map(|r| {
                                let failed: Vec<String> = r.checks.iter().filter(|c| !c.passed)
                                    .map(|c| format!("{}: {}", c.check.replace('_', " "), c.detail)).collect();
                                if r.passed {
                                    view! { <p class="notice">"Passes the safety filter."</p> }.into_any()
                                } else {
                                    view! {
                                        <div class="notice error">
                                            <p>"Fails the safety filter — it would not be sent:"</p>
                                            <ul>{failed.into_iter().map(|f| view! { <li>{f}</li> }).collect_view()}</ul>
                                        </div>
                                    }.into_any()
                                }
                            })}
                        </article>
                    }).collect_view()}
                }.into_any(),
            })}
        </section>
    }
}

#[component]
fn ResultsPanel(id: String) -> impl IntoView {
    let csv = format!("/campaigns/{id}/results.csv");
    let stats = Resource::new(move || id.clone(), get_campaign_stats);
    view! {
        <section class="panel" aria-labelledby="results-heading">
            <h2 id="results-heading">"Results"</h2>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match stats.await {
                        Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                        Ok(s) => results_view(s).into_any(),
                    }
                })}
            </Suspense>
            <p><a href=csv download="">"Download the results (CSV)"</a></p>
        </section>
    }
}

fn results_view(s: CampaignStats) -> impl IntoView {
    let days = s.days.clone();
    let arms: Vec<String> = s.arms.iter().map(|a| a.arm.clone()).collect();
    view! {
        <table class="table results">
            <caption class="muted">{format!("Conversions within {} days of being assigned; 95 % intervals in brackets.", s.conversion_days)}</caption>
            <thead><tr>
                <th scope="col">"Arm"</th><th scope="col">"Assigned"</th><th scope="col">"Sent"</th><th scope="col">"Delivered"</th>
                <th scope="col">"Opened"</th><th scope="col">"Clicked"</th><th scope="col">"Converted"</th>
                <th scope="col">"Conversion rate"</th><th scope="col">"Lift vs holdout"</th>
            </tr></thead>
            <tbody>
                {s.arms.into_iter().map(|a| view! {
                    <tr>
                        <th scope="row">{format!("{} — {}", a.arm, a.name)}</th>
                        <td>{a.assigned}</td><td>{a.sent}</td><td>{a.delivered}</td><td>{a.opened}</td>
                        <td>{a.clicked}</td><td>{a.converted}</td>
                        <td>{format!("{} ({}–{})", percent(a.conversion_rate), percent(a.rate_low), percent(a.rate_high))}</td>
                        <td>{a.lift.map(|l| format!("{} ({} to {})", points(l.difference), points(l.low), points(l.high))).unwrap_or_else(|| "—".into())}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        <ConversionChart days arms id="campaign-chart"/>
    }
}
