//! Shared UI pieces: form fields that show their error beside them, the pager, notices.

pub mod chart;

use crate::domain::FieldErrors;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

/// A labelled input whose error (if any) is shown beneath it and announced to screen readers.
#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    #[prop(into)] errors: Signal<FieldErrors>,
    #[prop(optional, into)] value: String,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] required: bool,
    #[prop(optional)] hint: &'static str,
    #[prop(optional)] autocomplete: &'static str,
    #[prop(optional)] list: &'static str,
) -> impl IntoView {
    let id = format!("f-{name}");
    let error_id = format!("{name}-error");
    let message = move || errors.get().get(name).map(str::to_string);
    view! {
        <div class="field" class:has-error=move || message().is_some()>
            <label for=id.clone()>{label} {required.then_some(view! { <span class="req" aria-hidden="true">" *"</span> })}</label>
            <input
                id=id
                name=name
                type=kind
                value=value
                required=required
                autocomplete=(!autocomplete.is_empty()).then_some(autocomplete)
                list=(!list.is_empty()).then_some(list)
                aria-invalid=move || message().is_some().then_some("true")
                aria-describedby=error_id.clone()
            />
            {(!hint.is_empty()).then(|| view! { <p class="hint">{hint}</p> })}
            <p class="field-error" id=error_id role="alert">{message}</p>
        </div>
    }
}

/// The error message for a field, for inputs that are not plain text boxes.
#[component]
pub fn FieldMessage(
    #[prop(into)] name: String,
    #[prop(into)] errors: Signal<FieldErrors>,
) -> impl IntoView {
    let id = format!("{name}-error");
    view! {
        <p class="field-error" id=id role="alert">
            {move || errors.get().get(&name).map(str::to_string)}
        </p>
    }
}

/// Previous / next links for a numbered list, keeping the search: `query` holds the other
/// parameters as `(name, value)` pairs.
#[component]
pub fn Pager(
    base: &'static str,
    query: Vec<(&'static str, String)>,
    page: i64,
    pages: i64,
    total: i64,
    /// `total` is a lower bound: there are more.
    #[prop(optional)]
    more_than: bool,
) -> impl IntoView {
    let link = move |p: i64| {
        let mut url = format!("{base}?page={p}");
        for (name, value) in query.iter().filter(|(_, v)| !v.is_empty()) {
            url.push_str(&format!("&{name}={}", urlencode(value)));
        }
        url
    };
    view! {
        <nav class="pager" aria-label="Pages">
            {(page > 1).then(|| view! { <a rel="prev" href=link(page - 1)>"← Previous"</a> })}
            <span>{if more_than {
                format!("Page {page} · more than {total}")
            } else {
                format!("Page {page} of {pages} · {total} in all")
            }}</span>
            {(page < pages || more_than).then(|| view! { <a rel="next" href=link(page + 1)>"Next →"</a> })}
        </nav>
    }
}

/// The pager of a list whose total is not counted: the page number, and a link to the next
/// page when this one was full. `labels` name the previous and next pages ("← Newer",
/// "Older →" for a log).
#[component]
pub fn PageLinks(
    page: i64,
    more: bool,
    link: impl Fn(i64) -> String + 'static,
    #[prop(default = ("← Previous", "Next →"))] labels: (&'static str, &'static str),
) -> impl IntoView {
    view! {
        <nav class="pager" aria-label="Pages">
            {(page > 1).then(|| view! { <a rel="prev" href=link(page - 1)>{labels.0}</a> })}
            <span>{format!("Page {page}")}</span>
            {more.then(|| view! { <a rel="next" href=link(page + 1)>{labels.1}</a> })}
        </nav>
    }
}

/// Percent-encodes a query value.
pub fn urlencode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Shows a server function's error, if it failed.
#[component]
pub fn ErrorNotice(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    move || {
        message
            .get()
            .map(|m| view! { <p class="notice error" role="alert">{m}</p> })
    }
}

/// The error of an action's last run, if it failed, for an [`ErrorNotice`].
pub fn action_error<S>(action: ServerAction<S>) -> Signal<Option<String>>
where
    S: leptos::server_fn::ServerFn + Send + Sync + Clone + 'static,
    S::Output: Send + Sync + Clone + 'static,
    S::Error: Send + Sync + Clone + std::fmt::Display + 'static,
{
    Signal::derive(move || match action.value().get() {
        Some(Err(e)) => Some(e.to_string()),
        _ => None,
    })
}

/// The error of whichever of two actions failed last looked at first, for one notice.
pub fn either_error(
    a: Signal<Option<String>>,
    b: Signal<Option<String>>,
) -> Signal<Option<String>> {
    Signal::derive(move || a.get().or_else(|| b.get()))
}

/// The field errors a form action answered with, to show beside each field.
pub fn form_errors<S>(action: ServerAction<S>) -> Signal<FieldErrors>
where
    S: leptos::server_fn::ServerFn<Output = crate::api::FormOutcome>
        + Send
        + Sync
        + Clone
        + 'static,
    S::Error: Send + Sync + Clone + 'static,
{
    Signal::derive(move || match action.value().get() {
        Some(Ok(outcome)) => outcome.errors(),
        _ => FieldErrors::default(),
    })
}

/// Whether the last submission of a form's action was saved (for its "Saved" notice).
pub fn form_saved<S>(action: ServerAction<S>) -> Signal<bool>
where
    S: leptos::server_fn::ServerFn<Output = crate::api::FormOutcome>
        + Send
        + Sync
        + Clone
        + 'static,
    S::Error: Send + Sync + Clone + 'static,
{
    Signal::derive(move || {
        matches!(
            action.value().get(),
            Some(Ok(crate::api::FormOutcome::Saved(_)))
        )
    })
}

/// Whether the signed-in user may change records (analysts are read-only).
pub fn can_write() -> Signal<bool> {
    let user = use_context::<crate::app::UserResource>();
    Signal::derive(move || {
        user.and_then(|u| u.get())
            .and_then(|r| r.ok().flatten())
            .is_some_and(|u| u.role.can_write())
    })
}

/// Whether the signed-in user is an admin (who configures campaigns and settings).
pub fn can_admin() -> Signal<bool> {
    let user = use_context::<crate::app::UserResource>();
    Signal::derive(move || {
        user.and_then(|u| u.get())
            .and_then(|r| r.ok().flatten())
            .is_some_and(|u| u.role.is_admin())
    })
}

/// The `:id` of the page's path.
pub fn id_param() -> Memo<String> {
    let params = use_params_map();
    Memo::new(move |_| params.read().get("id").unwrap_or_default())
}

/// A query-string value of the page, or `default`.
pub fn query_param(name: &'static str, default: &'static str) -> Memo<String> {
    let query = use_query_map();
    Memo::new(move |_| {
        query
            .read()
            .get(name)
            .unwrap_or_else(|| default.to_string())
    })
}

/// Filter tabs: links to `base?name=value`, the current one marked.
#[component]
pub fn Tabs(
    label: &'static str,
    base: &'static str,
    name: &'static str,
    tabs: &'static [(&'static str, &'static str)],
    current: Memo<String>,
) -> impl IntoView {
    view! {
        <nav class="tabs" aria-label=label>
            {tabs.iter().map(|(value, text)| {
                let value = *value;
                view! {
                    <a href=format!("{base}?{name}={value}") aria-current=move || (current.get() == value).then_some("page")>
                        {*text}
                    </a>
                }
            }).collect_view()}
        </nav>
    }
}

/// A completion bar with its percentage.
#[component]
pub fn Progress(percent: i64) -> impl IntoView {
    let percent = percent.clamp(0, 100);
    view! {
        // A native <progress> draws its own bar: no inline style, which the page's CSP refuses.
        <progress class="progress" max="100" value=percent.to_string()></progress>
        <span class="progress-label">{format!("{percent}%")}</span>
    }
}
