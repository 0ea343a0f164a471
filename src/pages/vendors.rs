//! The vendor and venue catalogue, a vendor with what was recommended from it, and a client's
//! recommendations on their profile.

use crate::api::vendors::{
    get_vendor, list_vendors, Recommend, SaveVendor, SetRecommendationStatus, VENDORS_PAGE,
};
use crate::components::{
    action_error, can_write, form_errors, form_saved, id_param, query_param, ErrorNotice, Field,
    FieldMessage, Pager,
};
use crate::domain::vendors::{Recommendation, RecommendationStatus, Vendor, VendorKind};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;

fn rating(v: &Vendor) -> String {
    v.rating.map(|r| format!("★ {r:.1}")).unwrap_or_default()
}

#[component]
pub fn VendorsPage() -> impl IntoView {
    let q = query_param("q", "");
    let kind = query_param("kind", "");
    let page = query_param("page", "1");
    let page_number = move || page.get().parse::<i64>().unwrap_or(1).max(1);
    let list = Resource::new(
        move || (q.get(), kind.get(), page_number()),
        |(q, k, p)| list_vendors(q, k, p),
    );
    let writable = can_write();
    view! {
        <Title text="Vendors"/>
        <div class="page-head">
            <h1>"Vendors and venues"</h1>
            <Suspense fallback=|| ()>
                {move || writable.get().then(|| view! { <a class="button primary" href="/vendors/new">"Add vendor"</a> })}
            </Suspense>
        </div>
        <Form method="GET" action="" attr:class="search" attr:role="search">
            <label for="q" class="visually-hidden">"Search the catalogue"</label>
            <input id="q" type="search" name="q" value=move || q.get() placeholder="Name, place, tag…"/>
            <label for="kind" class="visually-hidden">"Kind"</label>
            <select id="kind" name="kind">
                <option value="">"Every kind"</option>
                {VendorKind::ALL.iter().map(|k| view! {
                    <option value=k.as_str() selected=move || kind.get() == k.as_str()>{k.label()}</option>
                }).collect_view()}
            </select>
            <button type="submit">"Search"</button>
        </Form>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok((rows, _)) if rows.is_empty() => view! { <p class="empty">"Nothing in the catalogue matches."</p> }.into_any(),
                    Ok((rows, total)) => view! {
                        <table class="table">
                            <thead>
                                <tr><th scope="col">"Name"</th><th scope="col">"Kind"</th><th scope="col">"Location"</th>
                                    <th scope="col">"Price"</th><th scope="col">"Rating"</th><th scope="col">"Tags"</th></tr>
                            </thead>
                            <tbody>
                                {rows.into_iter().map(|v| view! {
                                    <tr>
                                        <td><a href=format!("/vendors/{}", v.id)>{v.name.clone()}</a></td>
                                        <td>{v.kind.label()}</td>
                                        <td>{v.location.clone().unwrap_or_default()}</td>
                                        <td>{v.price()}</td>
                                        <td>{rating(&v)}</td>
                                        <td>{v.tags.iter().map(|t| view! { <span class="tag">{t.clone()}</span> }).collect_view()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        <Pager base="/vendors" query=vec![("q", q.get_untracked()), ("kind", kind.get_untracked())]
                            page=page_number() pages=(total + VENDORS_PAGE - 1) / VENDORS_PAGE total/>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
pub fn VendorPage() -> impl IntoView {
    let id = id_param();
    let set_status = ServerAction::<SetRecommendationStatus>::new();
    let data = Resource::new(
        move || (id.get(), set_status.version().get()),
        |(id, _)| get_vendor(id),
    );
    let writable = can_write();
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <Title text="Vendor"/><p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(v) => {
                        let vendor = v.vendor;
                        let edit = format!("/vendors/{}/edit", vendor.id);
                        view! {
                            <Title text=vendor.name.clone()/>
                            <div class="page-head">
                                <h1>{vendor.name.clone()}</h1>
                                {move || writable.get().then(|| view! { <a class="button" href=edit.clone()>"Edit"</a> })}
                            </div>
                            <dl class="details">
                                <dt>"Kind"</dt><dd>{vendor.kind.label()}</dd>
                                <dt>"Location"</dt><dd>{vendor.location.clone().unwrap_or_else(|| "—".into())}</dd>
                                <dt>"Price"</dt><dd>{vendor.price()}</dd>
                                <dt>"Rating"</dt><dd>{rating(&vendor)}</dd>
                                <dt>"Tags"</dt><dd>{vendor.tags.iter().map(|t| view! { <span class="tag">{t.clone()}</span> }).collect_view()}</dd>
                                <dt>"Website"</dt><dd>{vendor.website.clone().map(|w| view! { <a href=w.clone() rel="noopener noreferrer" target="_blank">{w.clone()}</a> })}</dd>
                                <dt>"Notes"</dt><dd class="notes">{vendor.notes.clone().unwrap_or_default()}</dd>
                            </dl>
                            <section class="panel" aria-labelledby="recs-heading">
                                <h2 id="recs-heading">"Recommended to"</h2>
                                <RecommendationList items=v.recommendations set_status writable show_vendor=false/>
                            </section>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// Recommendations with their status and accept / decline buttons.
#[component]
pub fn RecommendationList(
    items: Vec<Recommendation>,
    set_status: ServerAction<SetRecommendationStatus>,
    writable: Signal<bool>,
    show_vendor: bool,
) -> impl IntoView {
    if items.is_empty() {
        return view! { <p class="empty">"No recommendations yet."</p> }.into_any();
    }
    let error = action_error(set_status);
    view! {
        <ErrorNotice message=error/>
        <ul class="recommendation-list">
            {items.into_iter().map(|r| {
                let id = r.id.to_string();
                let target = if show_vendor {
                    view! { <a href=format!("/vendors/{}", r.vendor_id)>{r.venue_name.clone()}</a> }.into_any()
                } else {
                    match r.person_id {
                        Some(p) => view! { <a href=format!("/clients/{p}")>"a client"</a> }.into_any(),
                        None => view! { <span>"a project"</span> }.into_any(),
                    }
                };
                let button = move |status: RecommendationStatus, text: &'static str| {
                    let id = id.clone();
                    view! {
                        <ActionForm action=set_status attr:class="inline">
                            <input type="hidden" name="id" value=id/>
                            <input type="hidden" name="status" value=status.as_str()/>
                            <button type="submit" class="link-button">{text}</button>
                        </ActionForm>
                    }
                };
                let suggested = r.status == RecommendationStatus::Suggested;
                view! {
                    <li>
                        {target}
                        <span class=format!("status status-{}", r.status.as_str())>{r.status.as_str()}</span>
                        <span class="muted">{format!(" {} · by {}", r.created_at.format("%-d %b %Y"), r.created_by)}</span>
                        {r.notes.clone().map(|n| view! { <p class="preview">{n}</p> })}
                        {move || (writable.get() && suggested).then(|| view! {
                            <span class="row-actions">
                                {button(RecommendationStatus::Accepted, "Mark accepted")}
                                {button(RecommendationStatus::Declined, "Mark declined")}
                            </span>
                        })}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}

/// Recommendations and a form to recommend from the catalogue: to a client (their profile)
/// or for a project (its page, with the project's client). An empty id is none.
#[component]
pub fn RecommendationsPanel(
    #[prop(into)] person_id: String,
    #[prop(optional, into)] project_id: String,
    items: Vec<Recommendation>,
    writable: Signal<bool>,
) -> impl IntoView {
    // The catalogue is searched, not listed whole: nothing is read until the form is opened,
    // then the first page by name, narrowed as the search is typed.
    let (open, set_open) = signal(false);
    let (find, set_find) = signal(String::new());
    let choices = Resource::new(
        move || (open.get(), find.get()),
        |(open, q)| async move {
            if open {
                list_vendors(q, String::new(), 1).await
            } else {
                Ok((Vec::new(), 0))
            }
        },
    );
    let recommend = ServerAction::<Recommend>::new();
    let set_status = ServerAction::<SetRecommendationStatus>::new();
    let errors = form_errors(recommend);
    let error = action_error(recommend);
    let done = form_saved(recommend);
    view! {
        <section class="panel" aria-labelledby="recommendations-heading">
            <h2 id="recommendations-heading">"Recommendations"</h2>
            <RecommendationList items set_status writable show_vendor=true/>
            {move || done.get().then(|| view! { <p class="notice" role="status">"Recommended. Reload to see it in the list."</p> })}
            {move || writable.get().then(|| {
                let (person_id, project_id) = (person_id.clone(), project_id.clone());
                view! {
                    <details class="start">
                        <summary class="button" on:click=move |_| set_open.set(true)>"Recommend a vendor"</summary>
                        <ActionForm action=recommend attr:class="inline-form">
                            <input type="hidden" name="person_id" value=person_id/>
                            <input type="hidden" name="project_id" value=project_id/>
                            <div class="field">
                                <label for="f-vendor-find">"Find a vendor"</label>
                                <input id="f-vendor-find" type="search" placeholder="Name, place, tag…"
                                    on:input=move |ev| set_find.set(event_target_value(&ev))/>
                            </div>
                            <div class="field">
                                <label for="f-vendor_id">"Vendor"</label>
                                <Transition fallback=|| view! { <select id="f-vendor_id" name="vendor_id" disabled=true></select> }>
                                    {move || Suspend::new(async move {
                                        let (vendors, total) = choices.await.unwrap_or_default();
                                        let more = total - vendors.len() as i64;
                                        view! {
                                            <select id="f-vendor_id" name="vendor_id" required=true>
                                                {vendors.into_iter().map(|v| view! {
                                                    <option value=v.id.to_string()>{format!("{} ({})", v.name, v.kind.label())}</option>
                                                }).collect_view()}
                                            </select>
                                            {(more > 0).then(|| view! { <p class="hint">{format!("{more} more: narrow the search")}</p> })}
                                        }
                                    })}
                                </Transition>
                                <FieldMessage name="vendor_id" errors/>
                            </div>
                            <div class="field">
                                <label for="f-rec-notes">"Why"</label>
                                <input id="f-rec-notes" name="notes"/>
                                <FieldMessage name="notes" errors/>
                            </div>
                            <button type="submit" class="primary">"Recommend"</button>
                        </ActionForm>
                        <ErrorNotice message=error/>
                    </details>
                }
            })}
        </section>
    }
}

#[component]
pub fn NewVendorPage() -> impl IntoView {
    view! {
        <Title text="Add vendor"/>
        <h1>"Add a vendor or venue"</h1>
        <VendorForm vendor=None/>
    }
}

#[component]
pub fn EditVendorPage() -> impl IntoView {
    let id = id_param();
    let data = Resource::new(move || id.get(), get_vendor);
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <Title text="Vendor"/><p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                    Ok(v) => view! {
                        <Title text=format!("Edit {}", v.vendor.name)/>
                        <h1>"Edit " {v.vendor.name.clone()}</h1>
                        <VendorForm vendor=Some(v.vendor)/>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn VendorForm(vendor: Option<Vendor>) -> impl IntoView {
    let save = ServerAction::<SaveVendor>::new();
    let errors = form_errors(save);
    let error = action_error(save);
    let v = vendor;
    let kind = v.as_ref().map(|v| v.kind);
    let text = |f: fn(&Vendor) -> Option<String>| v.as_ref().and_then(f).unwrap_or_default();
    let (name, location, price, rating, tags, website, notes) = (
        text(|v| Some(v.name.clone())),
        text(|v| v.location.clone()),
        text(|v| v.price_level.map(|p| p.to_string())),
        text(|v| v.rating.map(|r| r.to_string())),
        text(|v| Some(v.tags.join(", "))),
        text(|v| v.website.clone()),
        text(|v| v.notes.clone()),
    );
    let id = v.as_ref().map(|v| v.id.to_string());
    view! {
        <ActionForm action=save attr:class="form">
            {id.map(|id| view! { <input type="hidden" name="id" value=id/> })}
            <Field label="Name" name="name" errors required=true value=name/>
            <div class="field">
                <label for="f-kind">"Kind"</label>
                <select id="f-kind" name="kind">
                    {VendorKind::ALL.iter().map(|k| view! { <option value=k.as_str() selected=Some(*k) == kind>{k.label()}</option> }).collect_view()}
                </select>
                <FieldMessage name="kind" errors/>
            </div>
            <Field label="Location" name="location" errors value=location/>
            <Field label="Price level (1–4)" name="price_level" kind="number" errors value=price/>
            <Field label="Rating (0–5)" name="rating" errors value=rating/>
            <Field label="Tags" name="tags" errors hint="Separate with commas" value=tags/>
            <Field label="Website" name="website" kind="url" errors value=website/>
            <div class="field">
                <label for="f-notes">"Notes"</label>
                <textarea id="f-notes" name="notes" rows="3">{notes}</textarea>
                <FieldMessage name="notes" errors/>
            </div>
            <ErrorNotice message=error/>
            <button type="submit" class="primary">"Save"</button>
        </ActionForm>
    }
}
