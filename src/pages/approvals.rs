//! Approvals: the AI-written messages waiting for a person, oldest first. Each shows whom it
//! is for, its words, the safety filter's verdict and when it expires; staff tick messages and
//! approve or reject them together, or open one (its message page carries [`ReviewPanel`]) to
//! change its words (screened again) and decide it.

use crate::api::approvals::{list_approvals, EditApproval, Review, APPROVALS_PAGE};
use crate::components::{action_error, form_errors, query_param, ErrorNotice, FieldMessage};
use crate::domain::delivery::Delivery;
use crate::domain::engagement::safety::SafetyReport;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ApprovalsPage() -> impl IntoView {
    let page = query_param("page", "1");
    let review = ServerAction::<Review>::new();
    let list = Resource::new(
        move || (page.get(), review.version().get()),
        |(p, _)| list_approvals(p.parse::<i64>().unwrap_or(1).max(1) - 1),
    );
    let review_error = action_error(review);
    let decided = move || {
        review
            .value()
            .get()
            .and_then(|r| r.ok())
            .map(|n| format!("{n} message(s) decided."))
    };
    view! {
        <Title text="Approvals"/>
        <h1>"Approvals"</h1>
        <p class="muted">
            "Messages written by AI wait here for a person when the organisation asks for it (Settings → Engagement → AI writing). "
            "An approved message goes at the time it was meant for; a rejected one is never sent; one nobody approves in time expires unsent."
        </p>
        <ErrorNotice message=review_error/>
        {move || decided().map(|d| view! { <p class="notice ok" role="status">{d}</p> })}
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(p) if p.items.is_empty() => view! { <p class="empty">"Nothing awaits approval."</p> }.into_any(),
                    Ok(p) => {
                        let total = p.total;
                        let current: i64 = page.get_untracked().parse().unwrap_or(1);
                        let more = current * APPROVALS_PAGE < total;
                        view! {
                            <p>{format!("{total} message(s) awaiting approval.")}</p>
                            <ActionForm action=review attr:class="approvals" attr:id="review-form">
                                <div class="row-actions">
                                    <button type="submit" name="decision" value="approve" class="primary">"Approve ticked"</button>
                                    <label for="reject-reason">"Reason (for a rejection)"</label>
                                    <input id="reject-reason" name="reason" maxlength="500"/>
                                    <button type="submit" name="decision" value="reject" class="danger">"Reject ticked"</button>
                                </div>
                                <ul class="approval-list">
                                    {p.items.into_iter().enumerate().map(|(i, row)| {
                                        let d = row.delivery;
                                        let id = d.id.to_string();
                                        let check_id = format!("approve-{i}");
                                        let label_for = check_id.clone();
                                        let link = format!("/messages/{id}");
                                        let to = d.metadata.pointer("/person/name").and_then(|n| n.as_str())
                                            .unwrap_or("a client").to_string();
                                        let campaign = d.metadata.get("campaign").and_then(|c| c.as_str())
                                            .map(str::to_string);
                                        let report = serde_json::from_value::<SafetyReport>(d.safety_checks.clone()).ok();
                                        view! {
                                            <li class="approval">
                                                <label for=label_for class="approval-pick">
                                                    <input type="checkbox" id=check_id name=format!("ids[{i}]") value=id/>
                                                    " " <strong>{to}</strong>
                                                    {campaign.map(|c| format!(" · {c}"))}
                                                    {d.variant.clone().map(|v| format!(" · variant {v}"))}
                                                    " · " {d.channel.label()}
                                                </label>
                                                <p class="muted">{row.explanation.clone()}</p>
                                                {d.subject.clone().filter(|s| !s.is_empty()).map(|s| view! { <p><strong>"Subject: "</strong>{s}</p> })}
                                                <pre class="message-body">{d.body.clone()}</pre>
                                                {report.map(|r| view! {
                                                    <p class=if r.passed { "notice" } else { "notice error" }>
                                                        {if r.passed { "Passes the safety filter." } else { "Fails the safety filter." }}
                                                    </p>
                                                })}
                                                <p><a href=link>"Open it to change its words"</a></p>
                                            </li>
                                        }
                                    }).collect_view()}
                                </ul>
                            </ActionForm>
                            <nav class="pager" aria-label="Pages">
                                {(current > 1).then(|| view! { <a href=format!("/approvals?page={}", current - 1)>"← Earlier"</a> })}
                                {more.then(|| view! { <a href=format!("/approvals?page={}", current + 1)>"Later →"</a> })}
                            </nav>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// On a message awaiting approval: its words to change (the safety filter runs again), and
/// approve or reject it.
#[component]
pub fn ReviewPanel(delivery: Delivery, #[prop(into)] done: Callback<()>) -> impl IntoView {
    let edit = ServerAction::<EditApproval>::new();
    let review = ServerAction::<Review>::new();
    let errors = form_errors(edit);
    let edit_error = action_error(edit);
    let review_error = action_error(review);
    Effect::new(move |_| {
        let edited = edit
            .value()
            .get()
            .and_then(|r| r.ok())
            .is_some_and(|o| o.errors().is_empty());
        if edited || review.value().get().is_some_and(|r| r.is_ok()) {
            done.run(());
        }
    });
    let id = delivery.id.to_string();
    let edit_id = id.clone();
    view! {
        <section class="panel review" aria-labelledby="review-heading">
            <h2 id="review-heading">"Awaiting approval"</h2>
            <ErrorNotice message=edit_error/>
            <ErrorNotice message=review_error/>
            <ActionForm action=review attr:class="row-actions">
                <input type="hidden" name="ids[0]" value=id/>
                <button type="submit" name="decision" value="approve" class="primary">"Approve"</button>
                <label for="review-reason">"Reason (for a rejection)"</label>
                <input id="review-reason" name="reason" maxlength="500"/>
                <button type="submit" name="decision" value="reject" class="danger">"Reject"</button>
            </ActionForm>
            <ActionForm action=edit attr:class="form">
                <input type="hidden" name="id" value=edit_id/>
                <div class="field">
                    <label for="edit-subject">"Subject"</label>
                    <input id="edit-subject" name="subject" value=delivery.subject.clone().unwrap_or_default()/>
                    <FieldMessage name="subject" errors/>
                </div>
                <div class="field">
                    <label for="edit-body">"Message"</label>
                    <textarea id="edit-body" name="body" rows="6">{delivery.body.clone()}</textarea>
                    <FieldMessage name="body" errors/>
                </div>
                <button type="submit">"Save the new words"</button>
                <p class="hint">"The safety filter checks them again; the message still awaits approval afterwards."</p>
            </ActionForm>
        </section>
    }
}
