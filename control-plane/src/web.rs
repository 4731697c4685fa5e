//! The dashboard, served from the same origin as the API.
//!
//! With `web_dir` set (the built dashboard, `web/dist`), its files are served
//! and unknown paths fall back to its `index.html` so client-side routes
//! work. Without it, the page in `web/index.html`, compiled in, is served.

use std::path::Path;

use axum::response::Html;
use axum::routing::get;
use axum::Router;
use tower_http::services::{ServeDir, ServeFile};

use crate::app::AppState;

/// Routes for `/` and the dashboard's assets.
pub fn router(web_dir: Option<&Path>) -> Router<AppState> {
    match web_dir {
        Some(dir) => {
            let index = ServeFile::new(dir.join("index.html"));
            Router::new().fallback_service(ServeDir::new(dir).fallback(index))
        }
        None => Router::new().route(
            "/",
            get(|| async { Html(include_str!("../../web/index.html")) }),
        ),
    }
}
