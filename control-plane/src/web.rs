//! The dashboard, served from the same origin as the API.
//!
//! The built dashboard (`web/dist`) is compiled into the binary by
//! `build.rs`, so a fresh checkout serves it with no Node installed. Hashed
//! assets are cached for a year; `index.html` is revalidated on every load
//! (ETag); brotli or gzip variants built beside each file are sent to
//! browsers that take them. Paths that are not files are client-side routes
//! and get `index.html`; unknown `/api/…` paths stay JSON 404s. With
//! `web_dir` (`GSW_WEB_DIR`) that folder is served instead, for development.

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use crate::error::AppError;
use crate::state::AppState;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/dashboard.rs"));
}

/// The dashboard's content security policy. Unsplash's image host is
/// allowed for the preview of hotlinked stock photos (the preview's frame
/// inherits this policy).
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data: https://images.unsplash.com; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
form-action 'self'; object-src 'none'";

/// Shown when the binary was built without `web/dist`.
const NOT_BUILT: &str = "<!doctype html><meta charset=utf-8><title>gsWstudio</title>\
<p>The dashboard was not built into this binary: run <code>npm ci &amp;&amp; npm run build</code> \
in <code>web/</code> and build again. The API is at <a href=/api/v1/docs>/api/v1/docs</a>.";

/// One embedded file.
#[derive(Debug, Clone, Copy)]
struct Asset {
    bytes: &'static [u8],
    etag: &'static str,
}

static ASSETS: LazyLock<HashMap<&'static str, Asset>> = LazyLock::new(|| {
    embedded::FILES
        .iter()
        .map(|(path, bytes, etag)| (*path, Asset { bytes, etag }))
        .collect()
});

/// Routes for `/` and the dashboard's assets: a fallback, so the API and
/// health routes always win.
pub fn router(web_dir: Option<&Path>) -> Router<AppState> {
    match web_dir {
        Some(dir) => {
            let dir = dir.to_owned();
            Router::new().fallback(move |request: Request| serve_dir(dir.clone(), request))
        }
        None => Router::new().fallback(serve_embedded),
    }
}

/// API paths that matched no route, and methods a static site does not take.
fn refuse(method: &Method, path: &str) -> Option<AppError> {
    if path == "/api" || path.starts_with("/api/") {
        return Some(AppError::NoRoute);
    }
    (method != Method::GET && method != Method::HEAD).then_some(AppError::NoRoute)
}

/// Whether a path names a file (its last segment has an extension) rather than a client route.
fn names_a_file(path: &str) -> bool {
    path.starts_with("/assets/")
        || path
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains('.'))
}

async fn serve_dir(dir: PathBuf, request: Request) -> Response {
    if let Some(refused) = refuse(request.method(), request.uri().path()) {
        return refused.into_response();
    }
    let index = ServeFile::new(dir.join("index.html"));
    let served: Result<_, Infallible> = ServeDir::new(&dir)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(index)
        .oneshot(request)
        .await;
    match served {
        Ok(response) => response.into_response(),
        Err(never) => match never {},
    }
}

/// The encodings the client accepts, in our order of preference.
fn accepted_encodings(headers: &HeaderMap) -> (bool, bool) {
    let mut br = false;
    let mut gzip = false;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for part in value.split(',') {
            let mut pieces = part.split(';');
            let coding = pieces.next().unwrap_or_default().trim();
            let refused = pieces.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            if refused {
                continue;
            }
            match coding {
                "br" => br = true,
                "gzip" => gzip = true,
                _ => {}
            }
        }
    }
    (br, gzip)
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

async fn serve_embedded(method: Method, uri: axum::http::Uri, headers: HeaderMap) -> Response {
    let path = uri.path();
    if let Some(refused) = refuse(&method, path) {
        return refused.into_response();
    }
    let name = match path.trim_start_matches('/') {
        "" => "index.html",
        name => name,
    };
    let (name, asset) = match ASSETS.get(name) {
        Some(asset) => (name, *asset),
        None if names_a_file(path) => return AppError::NoRoute.into_response(),
        None => match ASSETS.get_key_value("index.html") {
            Some((name, asset)) => (*name, *asset),
            None => {
                return (
                    [(header::CACHE_CONTROL, "no-cache")],
                    axum::response::Html(NOT_BUILT),
                )
                    .into_response()
            }
        },
    };
    respond(name, asset, &headers)
}

fn respond(name: &str, asset: Asset, headers: &HeaderMap) -> Response {
    let (br, gzip) = accepted_encodings(headers);
    let variant = |suffix: &str| ASSETS.get(format!("{name}.{suffix}").as_str()).copied();
    let (body, encoding, etag) = match (
        br.then(|| variant("br")).flatten(),
        gzip.then(|| variant("gz")).flatten(),
    ) {
        (Some(v), _) => (
            v.bytes,
            Some("br"),
            format!("{}-br\"", asset.etag.trim_end_matches('"')),
        ),
        (None, Some(v)) => (
            v.bytes,
            Some("gzip"),
            format!("{}-gz\"", asset.etag.trim_end_matches('"')),
        ),
        (None, None) => (asset.bytes, None, asset.etag.to_owned()),
    };
    // Hashed file names never change their bytes; everything else is revalidated.
    let cache = if name.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        Response::new(Body::from(body))
    };
    let out = response.headers_mut();
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(name)),
    );
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    out.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        out.insert(header::ETAG, etag);
    }
    if let Some(encoding) = encoding {
        out.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    if name == "index.html" {
        // Only our own scripts run; inline styles are React's `style` and the
        // page previews (a sandboxed srcdoc frame, which inherits this policy).
        out.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
        out.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        out.insert(
            header::HeaderName::from_static("x-content-type-options"),
            HeaderValue::from_static("nosniff"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_follow_accept_encoding() {
        let mut headers = HeaderMap::new();
        assert_eq!(accepted_encodings(&headers), (false, false));
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip, deflate, br;q=0"),
        );
        assert_eq!(accepted_encodings(&headers), (false, true));
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br;q=1.0, gzip;q=0.5"),
        );
        assert_eq!(accepted_encodings(&headers), (true, true));
    }

    #[test]
    fn client_routes_are_told_from_files() {
        assert!(names_a_file("/assets/index-abc.js"));
        assert!(names_a_file("/favicon.ico"));
        assert!(!names_a_file("/sites/0190-aa/pages/about"));
        assert!(refuse(&Method::GET, "/api/v2/sites").is_some());
        assert!(refuse(&Method::POST, "/sites").is_some());
        assert!(refuse(&Method::GET, "/sites/new").is_none());
    }
}
