//! Shared UI pieces: form fields that show their error beside them, the pager, notices.

use crate::domain::FieldErrors;
use leptos::prelude::*;

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
    name: &'static str,
    #[prop(into)] errors: Signal<FieldErrors>,
) -> impl IntoView {
    view! {
        <p class="field-error" id=format!("{name}-error") role="alert">
            {move || errors.get().get(name).map(str::to_string)}
        </p>
    }
}

/// Previous / next links for a numbered list, keeping the search.
#[component]
pub fn Pager(base: &'static str, q: String, page: i64, pages: i64, total: i64) -> impl IntoView {
    let link = move |p: i64| {
        let mut url = format!("{base}?page={p}");
        if !q.is_empty() {
            url.push_str(&format!("&q={}", urlencode(&q)));
        }
        url
    };
    view! {
        <nav class="pager" aria-label="Pages">
            {(page > 1).then(|| view! { <a rel="prev" href=link(page - 1)>"← Previous"</a> })}
            <span>{format!("Page {page} of {pages} · {total} in all")}</span>
            {(page < pages).then(|| view! { <a rel="next" href=link(page + 1)>"Next →"</a> })}
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
