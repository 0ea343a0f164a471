//! The portal's built assets — its style sheet, script and WebAssembly under `/pkg/` — hashed
//! once at start-up and served under a path that carries a hash of their content. Their bytes
//! stay on disk (the operating system's cache keeps them warm): a browser asks for each once.
//!
//! Pages name them `/pkg/<version>/concierge.css` and so on, where `<version>` is a hash over
//! every file's content: a browser keeps them for a year without asking again, and a new build
//! changes the path. The same files by their plain names (`/pkg/concierge.css`, used by the few
//! pages rendered outside the portal) are answered with `no-cache` and an `ETag`, so a browser
//! revalidates and usually gets a `304 Not Modified`.
//!
//! Each text and WebAssembly file is compressed once, as small as brotli and gzip make it, on a
//! thread of its own after start-up, and the compressed bytes are kept: a browser that accepts
//! them gets them. Until they are ready, the file goes out as it is, and the router's
//! `CompressionLayer` gzips it on the way, as it does pages.

use super::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, OnceLock};

/// How long a versioned asset may be kept: a year, and never revalidated.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// A file by its plain name: kept, but checked with the server (cheaply, by its `ETag`).
const REVALIDATE: &str = "no-cache";

struct Asset {
    path: PathBuf,
    etag: HeaderValue,
    content_type: HeaderValue,
    /// Its brotli and gzip forms, once made (never, for a file not worth compressing).
    compressed: Arc<OnceLock<Compressed>>,
}

/// A file's bytes compressed once, at each format's best.
struct Compressed {
    br: axum::body::Bytes,
    gzip: axum::body::Bytes,
}

impl Compressed {
    /// Brotli's and gzip's small output for `bytes`, made once per process on a thread of its
    /// own: brotli's best (quality 11) for the style sheet and script, quality 7 for the
    /// WebAssembly. For its 5 MB in a release build, 7 takes 0.4 s of one core and 23 MB while
    /// it runs; 9 is 0.8 % smaller for 46 MB, 11 takes half a minute. Brotli's window is no
    /// larger than the file: its encoder's tables grow with the window, and a 4 MB window for
    /// a 13 KB style sheet held tens of MB while it ran.
    fn make(bytes: &[u8]) -> std::io::Result<Self> {
        use std::io::Write;
        let mut br = Vec::with_capacity(bytes.len() / 3);
        let params = brotli::enc::BrotliEncoderParams {
            quality: if bytes.len() <= 1 << 20 { 11 } else { 7 },
            lgwin: window_bits(bytes.len()),
            size_hint: bytes.len(),
            ..Default::default()
        };
        brotli::BrotliCompress(&mut &bytes[..], &mut br, &params)?;
        let mut gzip = flate2::write::GzEncoder::new(
            Vec::with_capacity(bytes.len() / 3),
            flate2::Compression::best(),
        );
        gzip.write_all(bytes)?;
        Ok(Self {
            br: br.into(),
            gzip: gzip.finish()?.into(),
        })
    }

    /// The form the request's `Accept-Encoding` takes, with its name.
    fn for_request(&self, headers: &HeaderMap) -> Option<(&'static str, axum::body::Bytes)> {
        match preferred_encoding(headers)? {
            "br" => Some(("br", self.br.clone())),
            _ => Some(("gzip", self.gzip.clone())),
        }
    }
}

/// The bits of the smallest brotli window (2^10 to 2^22 bytes, its limits) that holds `len`.
fn window_bits(len: usize) -> i32 {
    let bits = usize::BITS - len.saturating_sub(1).leading_zeros();
    bits.clamp(10, 22) as i32
}

/// Brotli if the client accepts it, else gzip if it accepts that (RFC 9110 §12.5.3: a coding
/// with `q=0` is refused, `*` stands for any not named).
fn preferred_encoding(headers: &HeaderMap) -> Option<&'static str> {
    let mut accepted: HashMap<String, bool> = HashMap::new();
    for item in headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
    {
        let mut parts = item.split(';').map(str::trim);
        let coding = parts.next().unwrap_or_default().to_ascii_lowercase();
        let refused = parts.any(|p| {
            p.strip_prefix("q=")
                .and_then(|q| q.parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        if !coding.is_empty() {
            accepted.insert(coding, !refused);
        }
    }
    let any = accepted.get("*").copied().unwrap_or(false);
    ["br", "gzip"]
        .into_iter()
        .find(|c| accepted.get(*c).copied().unwrap_or(any))
}

/// Whether compressing a file of this type pays (text and WebAssembly; not images).
fn worth_compressing(name: &str) -> bool {
    matches!(
        name.rsplit_once('.').map(|(_, ext)| ext),
        Some("css" | "js" | "mjs" | "wasm" | "json" | "map" | "svg" | "txt")
    )
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
        let mut to_compress = Vec::new();
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
            let compressed = Arc::new(OnceLock::new());
            if worth_compressing(&name) {
                to_compress.push((name.clone(), bytes, compressed.clone()));
            }
            files.insert(
                name,
                Asset {
                    path: entry.path(),
                    etag,
                    content_type,
                    compressed,
                },
            );
        }
        compress_later(to_compress);
        let version = version(files.iter().map(|(name, a)| (name.as_str(), &a.etag)));
        Ok(Self { files, version })
    }

    /// The hash over every file, the path segment that names this build's assets.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Whether every file worth compressing has its compressed forms yet.
    pub fn compressed(&self) -> bool {
        self.files
            .iter()
            .all(|(name, a)| !worth_compressing(name) || a.compressed.get().is_some())
    }
}

/// Compresses each file in turn on a thread of its own (one at a time, so that the encoders'
/// memory is needed once, not once per file) and keeps the result in its cell.
fn compress_later(files: Vec<(String, Vec<u8>, Arc<OnceLock<Compressed>>)>) {
    if files.is_empty() {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("compress-assets".into())
        .spawn(move || {
            for (name, bytes, into) in files {
                let started = std::time::Instant::now();
                match Compressed::make(&bytes) {
                    Ok(c) => {
                        tracing::info!(file = %name, size = bytes.len(), br = c.br.len(), gzip = c.gzip.len(), ms = started.elapsed().as_millis() as u64, "asset compressed");
                        let _ = into.set(c);
                    }
                    Err(err) => {
                        tracing::warn!(file = %name, error = %err, "could not compress an asset")
                    }
                }
            }
        });
    if let Err(err) = spawned {
        tracing::warn!(error = %err, "could not start compressing the assets");
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
    } else if let Some((encoding, bytes)) =
        asset.compressed.get().and_then(|c| c.for_request(&headers))
    {
        // Marked as encoded, so the compression layer passes it by.
        let mut r = Body::from(bytes).into_response();
        let h = r.headers_mut();
        h.insert(header::CONTENT_TYPE, asset.content_type.clone());
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
        r
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
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
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

    fn accepting(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).unwrap(),
        );
        h
    }

    #[test]
    fn brotli_before_gzip_as_the_client_accepts() {
        for (accept, expected) in [
            ("gzip, deflate, br, zstd", Some("br")),
            ("gzip", Some("gzip")),
            ("GZIP;q=0.5", Some("gzip")),
            ("br;q=0, gzip", Some("gzip")),
            ("br;q=0.0, gzip;q=0", None),
            ("identity", None),
            ("*", Some("br")),
            ("*, br;q=0", Some("gzip")),
            ("", None),
        ] {
            assert_eq!(preferred_encoding(&accepting(accept)), expected, "{accept}");
        }
        assert_eq!(preferred_encoding(&HeaderMap::new()), None);
    }

    #[test]
    fn compressed_forms_decode_to_the_file() {
        use std::io::Read;
        let file = b"export function hydrate() { return 42; }\n".repeat(200);
        let c = Compressed::make(&file).unwrap();
        assert!(c.br.len() < file.len() / 20, "{}", c.br.len());
        let mut out = Vec::new();
        brotli::Decompressor::new(&c.br[..], 4096)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, file);
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&c.gzip[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, file);
        assert_eq!(c.for_request(&accepting("gzip, br")).unwrap().0, "br");
        assert!(c.for_request(&accepting("identity")).is_none());
    }

    #[test]
    fn the_window_holds_the_file_within_brotlis_limits() {
        assert_eq!(window_bits(0), 10);
        assert_eq!(window_bits(1024), 10);
        assert_eq!(window_bits(1025), 11);
        assert_eq!(window_bits(12_702), 14);
        assert_eq!(window_bits(1 << 22), 22);
        assert_eq!(window_bits(5_000_000), 22);
    }

    #[test]
    fn types_by_extension() {
        assert_eq!(content_type("concierge_bg.wasm"), "application/wasm");
        assert_eq!(content_type("concierge.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("README"), "application/octet-stream");
    }
}
