//! A local fake of the WordPress.org plugin directory: the plugin
//! information API (`/plugins/info/1.2/?action=plugin_information&request[slug]=…`)
//! answering as the real one does, and the zips the tests give it at its
//! download links. Failures can be scripted; every request is recorded.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

#[derive(Default)]
struct Fake {
    /// slug → (version, zip)
    plugins: HashMap<String, (String, Vec<u8>)>,
    /// Statuses to answer the next requests with, before answering properly.
    failures: VecDeque<u16>,
    /// Download links on this origin instead of the fake's own.
    link_origin: Option<String>,
    /// Every request's path and query.
    requests: Vec<String>,
}

/// A running fake directory.
pub struct FakeDirectory {
    /// Its base URL, for `plugin_directory_url`.
    pub url: String,
    fake: Arc<Mutex<Fake>>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeDirectory {
    /// Starts the fake on a port of its own.
    pub async fn start() -> Self {
        let fake = Arc::new(Mutex::new(Fake::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new()
            .route("/plugins/info/1.2/", get(info))
            .route("/plugin/{file}", get(download))
            .with_state((fake.clone(), url.clone()));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, fake, task }
    }

    /// Serves `zip` as version `version` of `slug`.
    pub fn add(&self, slug: &str, version: &str, zip: Vec<u8>) {
        let mut fake = self.fake.lock().unwrap();
        fake.plugins
            .insert(slug.to_owned(), (version.to_owned(), zip));
    }

    /// Answers the next requests (whatever they ask) with these statuses.
    pub fn fail_next(&self, statuses: &[u16]) {
        self.fake
            .lock()
            .unwrap()
            .failures
            .extend(statuses.iter().copied());
    }

    /// Gives download links on `origin` (e.g. `http://localhost:1234`) from now on.
    pub fn link_to(&self, origin: &str) {
        self.fake.lock().unwrap().link_origin = Some(origin.to_owned());
    }

    /// The requests received so far (path and query).
    pub fn requests(&self) -> Vec<String> {
        self.fake.lock().unwrap().requests.clone()
    }
}

impl Drop for FakeDirectory {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Shared = (Arc<Mutex<Fake>>, String);

/// Records the request; a scripted failure if one is due.
fn record(fake: &Mutex<Fake>, request: String) -> Option<Response> {
    let mut fake = fake.lock().unwrap();
    fake.requests.push(request);
    let status = fake.failures.pop_front()?;
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    Some((status, "scripted failure").into_response())
}

async fn info(
    State((fake, url)): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    uri: axum::http::Uri,
) -> Response {
    if let Some(failure) = record(&fake, uri.to_string()) {
        return failure;
    }
    if query.get("action").map(String::as_str) != Some("plugin_information") {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "Action not implemented. <a href=\"https://codex.wordpress.org/WordPress.org_API\">API Docs</a>"})),
        )
            .into_response();
    }
    let slug = query.get("request[slug]").cloned().unwrap_or_default();
    let fake = fake.lock().unwrap();
    let Some((version, _)) = fake.plugins.get(&slug) else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "Plugin not found."})),
        )
            .into_response();
    };
    let origin = fake.link_origin.clone().unwrap_or(url);
    Json(json!({
        "name": format!("{slug} (fake)"),
        "slug": slug,
        "version": version,
        "requires": "6.1",
        "download_link": format!("{origin}/plugin/{slug}.{version}.zip"),
        "sections": {"description": "<p>A plugin served by the tests.</p>"},
    }))
    .into_response()
}

async fn download(
    State((fake, _)): State<Shared>,
    Path(file): Path<String>,
    uri: axum::http::Uri,
) -> Response {
    if let Some(failure) = record(&fake, uri.to_string()) {
        return failure;
    }
    let fake = fake.lock().unwrap();
    let found = fake
        .plugins
        .iter()
        .find(|(slug, (version, _))| file == format!("{slug}.{version}.zip"));
    match found {
        Some((_, (_, zip))) => {
            ([(header::CONTENT_TYPE, "application/zip")], zip.clone()).into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}
