//! The portal's built assets — its style sheet, script and WebAssembly under `/pkg/` — hashed
//! once at start-up and served under a path that carries a hash of their content. Their bytes
//! stay on disk (the operating system's cache keeps them warm): a browser asks for each once.
//!
//! Pages name them `/pkg/<version>/concierge.css` and so on, where `<version>` is a hash over
//! every file's content: a browser keeps them for a year without asking again, and a new build
//! changes the path. The same files by their plain names (`/pkg/concierge.css`, used by the few
//! pages rendered outside the portal) are answered with `no-cache` and an `ETag`, so a browser
//! revalidates and usually gets a `304 Not Modified`. Compression is the router's
//! (`CompressionLayer`), for these and every other response.

use super::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path as FsPath, PathBuf};

/// How long a versioned asset may be kept: a year, and never revalidated.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// A file by its plain name: kept, but checked with the server (cheaply, by its `ETag`).
const REVALIDATE: &str = "no-cache";

struct Asset {
    path: PathBuf,
    etag: HeaderValue,
    content_type: HeaderValue,
}

/// The files of the site's `pkg/` directory, with their hashes.
#[derive(Default)]
pub struct Assets {
    files: HashMap<String, Asset>,
    version: String,
}

impl Assets {
    /// Reads every file of `dir` (the site's `pkg/`). A missing directory gives no assets (the
    /// server still runs, its pages unstyled): the tests of the HTTP API need no built site.
    pub fn load(dir: &FsPath) -> std::io::Result<Self> {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                tracing::warn!(dir = %dir.display(), "no built site assets; run `cargo leptos build`");
                return Ok(Self::default());
            }
            Err(err) => return Err(err),
        };
        let mut files = HashMap::new();
        for entry in entries {
            let entry = entry?;
            if !entry.file_type()?.is_file() {
                continue;
            }
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let bytes = std::fs::read(entry.path())?;
            let digest = hex::encode(&Sha256::digest(&bytes)[..12]);
            // Weak: the compression layer may send the same file in another encoding.
            let etag = HeaderValue::from_str(&format!("W/\"{digest}\"")).expect("hex is ASCII");
            let content_type = HeaderValue::from_static(content_type(&name));
            files.insert(
                name,
                Asset {
                    path: entry.path(),
                    etag,
                    content_type,
                },
            );
        }
        let version = version(files.iter().map(|(name, a)| (name.as_str(), &a.etag)));
        Ok(Self { files, version })
    }

    /// The hash over every file, the path segment that names this build's assets.
    pub fn version(&self) -> &str {
        &self.version
    }
}

/// A short hash over the files' names and hashes, in name order.
fn version<'a>(files: impl Iterator<Item = (&'a str, &'a HeaderValue)>) -> String {
    let mut files: Vec<_> = files.collect();
    files.sort_by_key(|(name, _)| *name);
    let mut hash = Sha256::new();
    for (name, etag) in files {
        hash.update(name.as_bytes());
        hash.update(etag.as_bytes());
    }
    hex::encode(&hash.finalize()[..6])
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("css") => "text/css; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("json" | "map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// `GET /pkg/{*path}`: `<version>/<file>` of this build, or a plain `<file>`.
pub async fn serve(
    State(state): State<AppState>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Response {
    let assets = &state.assets;
    let (file, cache) = match path.split_once('/') {
        Some((version, file)) if version == assets.version => (file, IMMUTABLE),
        // Another build's version: not this process's to answer for.
        Some(_) => return not_found(),
        None => (path.as_str(), REVALIDATE),
    };
    let Some(asset) = assets.files.get(file) else {
        return not_found();
    };
    let cache = HeaderValue::from_static(cache);
    let fresh = none_match(&headers, asset.etag.to_str().unwrap_or_default());
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let Ok(bytes) = tokio::fs::read(&asset.path).await else {
            // Removed since start-up (a new build in place): this process no longer has it.
            return not_found();
        };
        let mut r = Body::from(bytes).into_response();
        r.headers_mut()
            .insert(header::CONTENT_TYPE, asset.content_type.clone());
        r
    };
    let h = response.headers_mut();
    h.insert(header::ETAG, asset.etag.clone());
    h.insert(header::CACHE_CONTROL, cache);
    response
}

/// RFC 9110's weak comparison: equal opaque tags, whether either is marked weak or not.
fn weak_eq(a: &str, b: &str) -> bool {
    a.trim_start_matches("W/") == b.trim_start_matches("W/")
}

/// Whether the request's `If-None-Match` names `etag` (or `*`): the client has it already.
pub fn none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || weak_eq(tag, etag))
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "no such asset").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_comparison_ignores_the_weak_mark() {
        assert!(weak_eq("W/\"abc\"", "\"abc\""));
        assert!(weak_eq("\"abc\"", "W/\"abc\""));
        assert!(!weak_eq("\"abc\"", "\"abd\""));
    }

    #[test]
    fn the_version_follows_every_file_and_not_their_order() {
        let a = HeaderValue::from_static("W/\"1\"");
        let b = HeaderValue::from_static("W/\"2\"");
        let c = HeaderValue::from_static("W/\"3\"");
        let one = version([("x.css", &a), ("y.js", &b)].into_iter());
        assert_eq!(one, version([("y.js", &b), ("x.css", &a)].into_iter()));
        assert_ne!(one, version([("x.css", &a), ("y.js", &c)].into_iter()));
        assert_eq!(one.len(), 12);
    }

    #[test]
    fn types_by_extension() {
        assert_eq!(content_type("concierge_bg.wasm"), "application/wasm");
        assert_eq!(content_type("concierge.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("README"), "application/octet-stream");
    }
}
