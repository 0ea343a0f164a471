//! Conditional reads of the API: every successful `GET` carries a weak `ETag` (a hash of its
//! body), and a request whose `If-None-Match` names it gets `304 Not Modified` with no body —
//! a client polling a list that has not changed downloads nothing. The work of reading is still
//! done (the tag is of the answer, not of the data), so this saves the network, not the server.

use axum::body::{to_bytes, Body, HttpBody};
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// The largest body given a tag; larger ones are passed on as they are.
const MAX_TAGGED: usize = 8 * 1024 * 1024;

pub async fn etag(request: Request, next: Next) -> Response {
    if request.method() != Method::GET {
        return next.run(request).await;
    }
    // Only the validators are kept past the handler, not the whole request's headers.
    let mut asked = HeaderMap::new();
    for value in request.headers().get_all(header::IF_NONE_MATCH) {
        asked.append(header::IF_NONE_MATCH, value.clone());
    }
    let response = next.run(request).await;
    // Only an answer already whole in memory (every JSON one) is tagged; a stream passes on.
    let whole = response
        .body()
        .size_hint()
        .exact()
        .is_some_and(|n| n <= MAX_TAGGED as u64);
    if response.status() != StatusCode::OK
        || response.headers().contains_key(header::ETAG)
        || !whole
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_TAGGED).await else {
        // A body of known length in memory does not fail to read.
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let tag = format!("\"{}\"", hex::encode(&Sha256::digest(&bytes)[..12]));
    let value = HeaderValue::from_str(&format!("W/{tag}")).expect("hex is ASCII");
    parts.headers.insert(header::ETAG, value);
    // Answers differ by key: a shared cache must not keep them, a client must ask again
    // (unless the handler said more, e.g. `no-store` for personal data).
    parts
        .headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("private, no-cache"));
    if crate::server::assets::none_match(&asked, &tag) {
        parts.status = StatusCode::NOT_MODIFIED;
        parts.headers.remove(header::CONTENT_LENGTH);
        parts.headers.remove(header::CONTENT_TYPE);
        return Response::from_parts(parts, Body::empty());
    }
    Response::from_parts(parts, Body::from(bytes))
}
