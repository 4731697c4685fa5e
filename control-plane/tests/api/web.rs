//! The dashboard served at `/`: embedded files with their types, caching and
//! precompressed variants, client routes falling back to `index.html`, and
//! unknown API paths still answered as JSON.

use gsw_storage::Backend;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{error_code, spawn_app, spawn_app_with};

/// The first `/assets/…js` the page loads.
fn script_of(html: &str) -> String {
    let start = html.find("/assets/").expect("index.html loads an asset");
    let end = start + html[start..].find('"').unwrap();
    let path = &html[start..end];
    assert!(path.ends_with(".js"), "{path}");
    path.to_owned()
}

#[tokio::test]
async fn the_dashboard_is_served_with_caching_and_compression() {
    let app = spawn_app(Backend::Sqlite).await;
    let response = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    assert_eq!(response.headers()["cache-control"], "no-cache");
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(csp.contains("script-src 'self';"), "{csp}");
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let html = response.text().await.unwrap();
    assert!(html.contains("<div id=\"root\">"), "{html}");
    let script = script_of(&html);

    // index.html is revalidated, not downloaded again.
    let response = app
        .client
        .get(app.url("/"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);

    // Hashed assets are cached for good, and sent compressed when the browser takes it.
    let plain = app.client.get(app.url(&script)).send().await.unwrap();
    assert_eq!(plain.status(), StatusCode::OK);
    assert_eq!(
        plain.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(
        plain.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(plain.headers().get("content-encoding").is_none());
    let plain_len = plain.bytes().await.unwrap().len();
    for (accept, encoding) in [("br, gzip", "br"), ("gzip", "gzip")] {
        let response = app
            .client
            .get(app.url(&script))
            .header("accept-encoding", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["content-encoding"], encoding);
        assert_eq!(response.headers()["vary"], "accept-encoding");
        let len = response.bytes().await.unwrap().len();
        assert!(len * 2 < plain_len, "{encoding}: {len} of {plain_len}");
    }

    // Client-side routes get the page; missing files and API paths do not.
    for route in [
        "/sites/new",
        "/sites/0190c1a2-0000-7000-8000-000000000000/pages/about",
        "/login?next=%2F",
    ] {
        let response = app.client.get(app.url(route)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{route}");
        assert_eq!(response.text().await.unwrap(), html, "{route}");
    }
    for path in [
        "/assets/missing-abc.js",
        "/api/v2/sites",
        "/api",
        "/api/v1/no/such/route",
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(error_code(response).await, "not_found", "{path}");
    }
    let response = app.client.post(app.url("/sites/new")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test]
async fn a_web_dir_overrides_the_embedded_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "<p>dev build</p>").unwrap();
    std::fs::create_dir(dir.path().join("assets")).unwrap();
    std::fs::write(dir.path().join("assets/app.js"), "console.log(1)").unwrap();
    let web_dir = dir.path().to_owned();
    let app = spawn_app_with(Backend::Sqlite, move |s| s.web_dir = Some(web_dir)).await;
    let page = app.client.get(app.url("/sites/new")).send().await.unwrap();
    assert_eq!(page.text().await.unwrap(), "<p>dev build</p>");
    let script = app
        .client
        .get(app.url("/assets/app.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(script.text().await.unwrap(), "console.log(1)");
    let response = app.client.get(app.url("/api/nope")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(response).await, "not_found");
}
