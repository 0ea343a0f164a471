//! Responses on the wire: compression as the client accepts it, the built assets under their
//! content's hash with long cache lifetimes, and `ETag`/`304` for assets and API reads.

use crate::common::{spawn_app_with, Api, Backend};
use reqwest::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_NONE_MATCH,
};
use serde_json::json;

/// A site directory with a style sheet, a script and a WebAssembly file, large enough to be
/// worth compressing.
fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(
        pkg.join("concierge.css"),
        ".card { color: #123456; }\n".repeat(400),
    )
    .unwrap();
    std::fs::write(
        pkg.join("concierge.js"),
        "export function hydrate() {}\n".repeat(300),
    )
    .unwrap();
    std::fs::write(
        pkg.join("concierge_bg.wasm"),
        b"\0asm\x01\0\0\0".repeat(500),
    )
    .unwrap();
    dir
}

#[tokio::test]
async fn assets_by_their_hash_compressed_and_revalidated() {
    let site = site();
    let root = site.path().to_path_buf();
    let app = spawn_app_with(Backend::Sqlite, move |c| c.site_root = root).await;
    app.create_admin("wire", "admin@wire.test").await;
    let session = app.session("admin@wire.test").await;

    // The page names the style sheet and the script under this build's version.
    let html = app.get_with("/", &session).await.text().await.unwrap();
    let re = regex::Regex::new(r#"/pkg/([0-9a-f]{12})/concierge\.css"#).unwrap();
    let version = re.captures(&html).expect("a versioned style sheet")[1].to_string();
    assert!(
        html.contains(&format!("/pkg/{version}/concierge.js")),
        "{html}"
    );

    // By its version: kept a year, with its type and an ETag.
    let css = std::fs::read_to_string(site.path().join("pkg/concierge.css")).unwrap();
    let url = app.url(&format!("/pkg/{version}/concierge.css"));
    let res = app.client.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()[CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(res.headers()[CONTENT_TYPE], "text/css; charset=utf-8");
    let etag = res.headers()[ETAG].to_str().unwrap().to_string();
    assert_eq!(res.text().await.unwrap(), css);

    // Asked again with its tag: 304, no body.
    let res = app
        .client
        .get(&url)
        .header(IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);
    assert!(res.bytes().await.unwrap().is_empty());
    let res = app
        .client
        .get(&url)
        .header(IF_NONE_MATCH, "W/\"0123\"")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "another tag gets the file");

    // By its plain name: revalidated each time; another build's version is not this one's.
    let res = app
        .client
        .get(app.url("/pkg/concierge.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()[CACHE_CONTROL], "no-cache");
    assert_eq!(res.headers()[ETAG].to_str().unwrap(), etag);
    let res = app
        .client
        .get(app.url("/pkg/000000000000/concierge.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = app
        .client
        .get(app.url(&format!("/pkg/{version}/nothing.js")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    // Once compressed at start-up (at brotli's and gzip's best, on a thread of their own), the
    // files go out as those forms, which decode to the files.
    for _ in 0..200 {
        if app.state().assets.compressed() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(
        app.state().assets.compressed(),
        "the assets were not compressed in 5 s"
    );

    // Compressed as the client accepts: brotli, gzip, or not at all.
    for (accept, encoding) in [
        ("br", Some("br")),
        ("gzip", Some("gzip")),
        ("identity", None),
    ] {
        for path in [
            format!("/pkg/{version}/concierge.css"),
            format!("/pkg/{version}/concierge_bg.wasm"),
        ] {
            let res = app
                .client
                .get(app.url(&path))
                .header(ACCEPT_ENCODING, accept)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            assert_eq!(
                res.headers()
                    .get(CONTENT_ENCODING)
                    .map(|v| v.to_str().unwrap()),
                encoding,
                "{path} with {accept}"
            );
            let on_disk = std::fs::metadata(
                site.path()
                    .join("pkg")
                    .join(path.rsplit('/').next().unwrap()),
            )
            .unwrap()
            .len();
            let sent = res.bytes().await.unwrap();
            if encoding.is_some() {
                assert!(
                    (sent.len() as u64) < on_disk / 4,
                    "{path} with {accept}: {} of {on_disk} bytes",
                    sent.len()
                );
            } else {
                assert_eq!(sent.len() as u64, on_disk);
            }
            if encoding == Some("gzip") {
                assert_eq!(&sent[..2], &[0x1f, 0x8b], "gzip's magic number");
            }
        }
    }

    // Those forms decode to the files.
    for (accept, encoding) in [("gzip, deflate, br, zstd", "br"), ("gzip", "gzip")] {
        let res = app
            .client
            .get(app.url(&format!("/pkg/{version}/concierge.js")))
            .header(ACCEPT_ENCODING, accept)
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()[CONTENT_ENCODING], encoding);
        assert_eq!(res.headers()[reqwest::header::VARY], "accept-encoding");
        let sent = res.bytes().await.unwrap();
        let mut out = Vec::new();
        use std::io::Read;
        match encoding {
            "br" => brotli::Decompressor::new(&sent[..], 4096)
                .read_to_end(&mut out)
                .unwrap(),
            _ => flate2::read::GzDecoder::new(&sent[..])
                .read_to_end(&mut out)
                .unwrap(),
        };
        assert_eq!(
            out,
            std::fs::read(site.path().join("pkg/concierge.js")).unwrap()
        );
    }

    // Pages and the API are compressed too.
    let res = app
        .client
        .get(app.url("/clients"))
        .header(
            reqwest::header::COOKIE,
            format!("concierge_session={session}"),
        )
        .header(ACCEPT_ENCODING, "gzip, br")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()[CONTENT_ENCODING],
        "gzip",
        "pages in gzip, whose encoder holds far less memory than brotli's"
    );
    app.finish().await;
}

#[tokio::test]
async fn api_reads_carry_an_etag_and_answer_304_until_they_change() {
    let app = spawn_app_with(Backend::Sqlite, |_| {}).await;
    let api = Api::setup(&app, "tags").await;
    let read = |tag: Option<String>| {
        let mut req = app
            .client
            .get(app.url("/api/v1/persons"))
            .bearer_auth(&api.key);
        if let Some(tag) = tag {
            req = req.header(IF_NONE_MATCH, tag);
        }
        req.send()
    };
    let res = read(None).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()[CACHE_CONTROL], "private, no-cache");
    let etag = res.headers()[ETAG].to_str().unwrap().to_string();
    assert!(etag.starts_with("W/\""), "{etag}");

    let res = read(Some(etag.clone())).await.unwrap();
    assert_eq!(res.status(), 304);
    assert_eq!(res.headers()[ETAG].to_str().unwrap(), etag);
    assert!(res.bytes().await.unwrap().is_empty());

    // A change makes a new answer with a new tag.
    let (status, _) = api
        .post("/persons", json!({"full_name": "Ada Lovelace"}))
        .await;
    assert_eq!(status, 201);
    let res = read(Some(etag.clone())).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_ne!(res.headers()[ETAG].to_str().unwrap(), etag);
    assert!(res.text().await.unwrap().contains("Ada Lovelace"));

    // Errors and writes carry none.
    let (status, _, headers) = api
        .send(reqwest::Method::GET, "/persons/not-an-id", None)
        .await;
    assert_eq!(status, 404);
    assert!(headers.get(ETAG).is_none());
    app.finish().await;
}
