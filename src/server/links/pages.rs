//! The pages a client reaches from a message, without signing in: `GET /l/{token}` (a deep
//! link: recorded, then on to the booking), `GET /u/{token}` (unsubscribe, confirmed with one
//! button) and `POST /u/{token}` (the unsubscribe itself, also RFC 8058's one-click POST from
//! a mail provider). A link that is not ours is a 404; an expired one a friendly page with a
//! way on; nothing here is ever a 500 page of the portal's.

use crate::server::services::engagement::{self as service, Followed, Unsubscribe};
use crate::server::AppState;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/l/{token}", get(follow))
        .route("/u/{token}", get(confirm).post(unsubscribe))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A small page of its own (these visitors are clients, not staff: no portal around it).
fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{}</title>\
         <link rel=\"stylesheet\" href=\"/pkg/concierge.css\"></head>\
         <body><main class=\"auth-card public-card\">{body}</main></body></html>",
        escape(title)
    );
    let mut res = (status, Html(html)).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    res.headers_mut().insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    res
}

fn not_ours() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Link not found",
        "<h1>This link does not work</h1><p>It may have been copied incompletely. \
         Please use the link exactly as it arrived in your message.</p>",
    )
}

fn unavailable(err: impl std::fmt::Display) -> Response {
    tracing::error!(error = %err, "a client's link could not be followed");
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Please try again",
        "<h1>Please try again in a moment</h1><p>We could not open this link just now. \
         Nothing is lost: the same link will work when you try again.</p>",
    )
}

async fn follow(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match service::follow(&state, &token).await {
        Ok(Followed::Redirect(to)) => Redirect::to(&to).into_response(),
        Ok(Followed::Thanks { org_name }) => page(
            StatusCode::OK,
            "Thank you",
            &format!(
                "<h1>Thank you</h1><p>{} has your message and will be in touch.</p>",
                escape(&org_name)
            ),
        ),
        Ok(Followed::Expired {
            org_name,
            booking_url,
        }) => {
            let way_on = match booking_url {
                Some(url) => format!(
                    "<p><a class=\"button\" href=\"{}\">Book with {}</a></p>",
                    escape(&url),
                    escape(&org_name)
                ),
                None => format!(
                    "<p>Reply to the message, or get in touch with {}, and they will gladly help.</p>",
                    escape(&org_name)
                ),
            };
            page(
                StatusCode::GONE,
                "This link has expired",
                &format!(
                    "<h1>This link has expired</h1><p>Links in our messages work for a limited \
                     time, to keep your booking details safe.</p>{way_on}"
                ),
            )
        }
        Ok(Followed::NotFound) => not_ours(),
        Err(err) => unavailable(err),
    }
}

fn unsubscribed(u: &Unsubscribe) -> Response {
    let to = u
        .address
        .as_deref()
        .map(|a| format!(" at {}", escape(a)))
        .unwrap_or_default();
    page(
        StatusCode::OK,
        "Unsubscribed",
        &format!(
            "<h1>You are unsubscribed</h1><p>{} will send you no more offers or \
             reminders to come back{to}. Messages you ask for, such as appointment reminders, \
             still reach you.</p>",
            escape(&u.org_name)
        ),
    )
}

async fn confirm(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match service::unsubscribe_page(&state, &token).await {
        Ok(Some(u)) if u.done => unsubscribed(&u),
        Ok(Some(u)) => {
            let to = u
                .address
                .as_deref()
                .map(|a| format!(" sent to {}", escape(a)))
                .unwrap_or_default();
            page(
                StatusCode::OK,
                "Unsubscribe",
                &format!(
                    "<h1>Unsubscribe?</h1><p>Stop offers and reminders to come back from {}{to}.</p>\
                     <form method=\"post\" action=\"/u/{}\"><button type=\"submit\">Unsubscribe</button></form>",
                    escape(&u.org_name),
                    escape(&token)
                ),
            )
        }
        Ok(None) => not_ours(),
        Err(err) => unavailable(err),
    }
}

async fn unsubscribe(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match service::unsubscribe(&state, &token).await {
        Ok(Some(u)) => unsubscribed(&u),
        Ok(None) => not_ours(),
        Err(err) => unavailable(err),
    }
}
