//! `spawn_app()` and the helpers that make tests read like a user's story
//! (feature `testing`): used by this crate's API tests and by the agent's
//! end-to-end tests.

pub mod directory;
pub mod photos;
pub mod wordpress;

use std::sync::Arc;

use crate::state::AppState;
use crate::{Server, Settings};
use gsw_storage::testing::TestDatabase;
use gsw_storage::{Backend, Store};
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

/// Declares tests that take a [`TestApp`], each run on SQLite and PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name($crate::testing::spawn_app(gsw_storage::Backend::Sqlite).await).await
            }
            #[tokio::test]
            async fn postgres() {
                super::$name($crate::testing::spawn_app(gsw_storage::Backend::Postgres).await).await
            }
        }
    )+};
}

/// Declares tests that take a backend (and set up their own app), each run on SQLite and PostgreSQL.
#[macro_export]
macro_rules! on_both_backends_with_redis {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name(gsw_storage::Backend::Sqlite).await
            }
            #[tokio::test]
            async fn postgres() {
                super::$name(gsw_storage::Backend::Postgres).await
            }
        }
    )+};
}

pub const PASSWORD: &str = "correct horse battery staple";

/// A running control plane and a client for it.
pub struct TestApp {
    pub address: String,
    /// `http://` address of the metrics listener, when `metrics_listen` is set.
    pub metrics_address: Option<String>,
    pub client: reqwest::Client,
    pub store: Arc<dyn Store>,
    pub state: AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    stopped: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    pub settings: Settings,
    pub db: Arc<TestDatabase>,
    pub data: Arc<tempfile::TempDir>,
}

/// A signed-up user with a live session.
pub struct TestUser {
    pub id: String,
    pub access: String,
    pub refresh: String,
}

/// Starts the control plane on port 0 with a fresh database.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// Like [`spawn_app`], with settings changed first.
pub async fn spawn_app_with(backend: Backend, change: impl FnOnce(&mut Settings)) -> TestApp {
    let db = Arc::new(TestDatabase::create(backend).await);
    let data = Arc::new(tempfile::tempdir().unwrap());
    let mut settings = Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data.path().to_owned(),
        database_url: Some(crate::settings::Secret::new(db.url.clone())),
        jwt_secret: Some(crate::settings::Secret::new(
            "test-secret-test-secret-test-secret!",
        )),
        shutdown_grace_secs: 5,
        // Tests never reach the real plugin directory: nothing listens here.
        plugin_directory_url: "http://127.0.0.1:1".into(),
        ..Settings::default()
    };
    change(&mut settings);
    start(settings, db, data).await
}

/// Starts a control plane with exactly these settings on `db` and `data`.
pub async fn start(
    settings: Settings,
    db: Arc<TestDatabase>,
    data: Arc<tempfile::TempDir>,
) -> TestApp {
    let server = Server::bind(settings.clone())
        .await
        .expect("starting the control plane");
    let address = format!("http://{}", server.local_addr().unwrap());
    let metrics_address = server.metrics_addr().map(|a| format!("http://{a}"));
    let state = server.state().clone();
    let store = state.store.clone();
    let (stop, stopping) = tokio::sync::oneshot::channel::<()>();
    let stopped = tokio::spawn(server.run(async move {
        let _ = stopping.await;
    }));
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    TestApp {
        address,
        metrics_address,
        client,
        store,
        state,
        stop: Some(stop),
        stopped: Some(stopped),
        settings,
        db,
        data,
    }
}

impl TestApp {
    /// Shuts the control plane down as SIGTERM would, and waits until it has stopped.
    pub async fn shut_down(mut self) -> (Settings, Arc<TestDatabase>, Arc<tempfile::TempDir>) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(stopped) = self.stopped.take() {
            stopped
                .await
                .expect("server task")
                .expect("server stopped cleanly");
        }
        (self.settings.clone(), self.db.clone(), self.data.clone())
    }

    /// Starts this control plane again on the same address, database and data folder.
    pub async fn restart(self) -> TestApp {
        let listen = self.address.trim_start_matches("http://").parse().unwrap();
        let (mut settings, db, data) = self.shut_down().await;
        settings.listen = listen;
        start(settings, db, data).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Sends a request to `/api/v1{path}` with an optional bearer token and JSON body.
    pub async fn api(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut request = self
            .client
            .request(method, self.url(&format!("/api/v1{path}")));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request failed")
    }

    /// Sends raw bytes as the body, with the given content type.
    pub async fn api_raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Response {
        let mut request = self
            .client
            .request(method, self.url(&format!("/api/v1{path}")))
            .header("content-type", content_type)
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request failed")
    }

    pub async fn post_register(&self, email: &str, password: &str) -> Response {
        self.api(
            Method::POST,
            "/auth/register",
            None,
            Some(json!({"email": email, "password": password})),
        )
        .await
    }

    pub async fn post_login(&self, email: &str, password: &str) -> Response {
        self.api(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"email": email, "password": password})),
        )
        .await
    }

    pub async fn post_refresh(&self, refresh: &str) -> Response {
        self.api(
            Method::POST,
            "/auth/refresh",
            None,
            Some(json!({"refresh_token": refresh})),
        )
        .await
    }

    /// Registers `email`, signs in, and returns the signed-in user.
    pub async fn signed_up(&self, email: &str) -> TestUser {
        let response = self.post_register(email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let response = self.post_login(email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK);
        let session: Value = response.json().await.unwrap();
        TestUser {
            id: session["user"]["id"].as_str().unwrap().to_owned(),

            access: session["access_token"].as_str().unwrap().to_owned(),
            refresh: session["refresh_token"].as_str().unwrap().to_owned(),
        }
    }

    /// Creates a site for `user` and returns its JSON.
    pub async fn create_site(&self, user: &TestUser, body: Value) -> Value {
        let response = self
            .api(Method::POST, "/sites", Some(&user.access), Some(body))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.unwrap()
    }
}

/// Reads an error response and checks its shape; returns its code.
pub async fn error_code(response: Response) -> String {
    let request_id = response
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().unwrap().to_owned())
        .expect("every response carries x-request-id");
    let body: Value = response.json().await.expect("error bodies are JSON");
    let error = body["error"]
        .as_object()
        .unwrap_or_else(|| panic!("no error object in {body}"));
    let code = error["code"].as_str().unwrap();
    let message = error["message"].as_str().unwrap();
    assert!(!message.is_empty());
    // `field` only on a validation error, and the message names it too.
    match error.get("field") {
        Some(field) => {
            assert_eq!(code, "validation_failed", "{body}");
            let field = field.as_str().expect("field is a string");
            assert!(message.starts_with(&format!("{field}: ")), "{body}");
            assert_eq!(
                error.len(),
                4,
                "error has exactly code, message, field, request_id: {body}"
            );
        }
        None => assert_eq!(
            error.len(),
            3,
            "error has exactly code, message, request_id: {body}"
        ),
    }
    assert_eq!(error["request_id"].as_str().unwrap(), request_id);
    error["code"].as_str().unwrap().to_owned()
}
