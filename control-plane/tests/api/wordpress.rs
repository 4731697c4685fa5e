//! WordPress sites by their credentials: `POST /wordpress/validate` and
//! `POST /sites/{id}/connect` against a local fake WordPress (and a plain
//! web server), every failure with its code, targets refused by the guard,
//! the connector enrolling for real, and the application password found in
//! no log line and no stored byte.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use gsw_control_plane::testing::wordpress::{FakeWordPress, Rest};
use gsw_control_plane::testing::{spawn_app, spawn_app_with, TestApp, TestUser};
use gsw_storage::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::on_both_backends_with_redis;

on_both_backends_with_redis!(
    a_wordpress_site_is_described,
    each_failure_has_its_code,
    targets_off_the_internet_are_refused_by_default,
    a_site_connects_through_its_connector,
    connecting_needs_the_connector_active,
    connector_failures_are_reported,
    the_application_password_is_kept_nowhere,
    checks_are_rate_limited_per_user,
);

const PASSWORD: &str = "abcd EFGH ijkl MNOP qrst UVWX";
const SUBSCRIBER_PASSWORD: &str = "sAm1 sAm2 sAm3 sAm4 sAm5 sAm6";

/// A control plane that may reach the fake sites on 127.0.0.1.
async fn app_reaching_loopback(backend: Backend) -> TestApp {
    spawn_app_with(backend, |s| s.allow_private_targets = true).await
}

/// A WordPress site with an administrator `ada` and a subscriber `sam`.
async fn wordpress() -> FakeWordPress {
    let wp = FakeWordPress::start().await;
    wp.add_user("ada", PASSWORD, "administrator");
    wp.add_user("sam", SUBSCRIBER_PASSWORD, "subscriber");
    wp
}

fn credentials(url: &str, username: &str, password: &str) -> Value {
    json!({"url": url, "username": username, "application_password": password})
}

async fn validate(app: &TestApp, user: &TestUser, body: Value) -> reqwest::Response {
    app.api(
        Method::POST,
        "/wordpress/validate",
        Some(&user.access),
        Some(body),
    )
    .await
}

async fn connect(app: &TestApp, user: &TestUser, site: &str, body: Value) -> reqwest::Response {
    app.api(
        Method::POST,
        &format!("/sites/{site}/connect"),
        Some(&user.access),
        Some(body),
    )
    .await
}

/// Status, code and message of an error answer (whose shape
/// `helpers::error_code` checks elsewhere).
async fn failure(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    let code = body["error"]["code"].as_str().unwrap().to_owned();
    let message = body["error"]["message"].as_str().unwrap().to_owned();
    (status, code, message)
}

/// A web server that is not WordPress: the same HTML page for every path.
async fn plain_web_server() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback(|| async {
        axum::response::Html("<!DOCTYPE html><html><body><h1>Welcome to nginx!</h1></body></html>")
    });
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, task)
}

/// An address nothing listens on.
async fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    drop(listener);
    url
}

async fn a_wordpress_site_is_described(backend: Backend) {
    let app = app_reaching_loopback(backend).await;
    let ada = app.signed_up("ada@example.com").await;
    let wp = wordpress().await;
    wp.install_connector("0.1.0", true);
    let response = validate(&app, &ada, credentials(&wp.url, "ada", PASSWORD)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let report: Value = response.json().await.unwrap();
    assert_eq!(
        report,
        json!({
            "url": format!("{}/", wp.url),
            "rest_url": format!("{}/wp-json/", wp.url),
            "wordpress_version": "6.7.1",
            "php_version": "8.2.7",
            "rest_api": true,
            "user": {
                "id": 1,
                "name": "ada",
                "roles": ["administrator"],
                "is_administrator": true,
                "can_install_plugins": true,
                "can_activate_plugins": true,
                "can_manage_options": true,
            },
            "connector": {"installed": true, "active": true, "version": "0.1.0"},
        })
    );
    // The password went along only where it is needed, never to the home page.
    let requests = wp.requests();
    assert!(
        requests
            .iter()
            .any(|(r, auth)| r.starts_with("GET /wp-json/wp/v2/users/me?context=edit") && *auth),
        "{requests:?}"
    );
    assert!(requests
        .iter()
        .filter(|(r, _)| r == "GET /")
        .all(|(_, auth)| !auth));

    // Plain permalinks, versions hidden, an inactive connector.
    wp.set_rest(Rest::PlainOnly);
    wp.hide_versions();
    wp.install_connector("0.0.9", false);
    let report: Value = validate(&app, &ada, credentials(&wp.url, "ada", PASSWORD))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["rest_url"], format!("{}/?rest_route=/", wp.url));
    assert_eq!(report["wordpress_version"], Value::Null);
    assert_eq!(report["php_version"], Value::Null);
    assert_eq!(
        report["connector"],
        json!({"installed": true, "active": false, "version": "0.0.9"})
    );
}

async fn each_failure_has_its_code(backend: Backend) {
    let app = app_reaching_loopback(backend).await;
    let ada = app.signed_up("ada@example.com").await;
    let wp = wordpress().await;
    let (plain, _server) = plain_web_server().await;
    let closed = closed_port_url().await;
    let disabled = FakeWordPress::start().await;
    disabled.add_user("ada", PASSWORD, "administrator");
    disabled.set_rest(Rest::Disabled);
    // (site, user, password, code, words the message has)
    let cases = [
        (
            &wp.url,
            "ada",
            "wrong pass word 1234 5678",
            "invalid_credentials",
            "incorrect_password",
        ),
        (
            &wp.url,
            "nobody",
            PASSWORD,
            "invalid_credentials",
            "Error: Unknown username",
        ),
        (
            &wp.url,
            "sam",
            SUBSCRIBER_PASSWORD,
            "insufficient_role",
            "the role subscriber",
        ),
        (&closed, "ada", PASSWORD, "unreachable", "connection failed"),
        (
            &"http://no-such-host.invalid/".to_owned(),
            "ada",
            PASSWORD,
            "unreachable",
            "could not be resolved",
        ),
        (
            &plain,
            "ada",
            PASSWORD,
            "not_wordpress",
            "not a WordPress site",
        ),
        (
            &disabled.url,
            "ada",
            PASSWORD,
            "rest_api_disabled",
            "is WordPress, but its REST API does not answer",
        ),
    ];
    for (url, user, password, want, words) in cases {
        let (status, code, message) =
            failure(validate(&app, &ada, credentials(url, user, password)).await).await;
        assert_eq!(
            (status, code.as_str()),
            (422, want),
            "{url} {user}: {message}"
        );
        assert!(message.contains(words), "{url} {user}: {message}");
        assert!(!message.contains('<'), "{message}");
    }

    // Input is checked before anything is asked of the site.
    let asked = wp.requests().len();
    for (body, field) in [
        (credentials("ftp://bakery.example/", "ada", PASSWORD), "url"),
        (
            credentials(&format!("http://ada:pw@{}", &wp.url[7..]), "ada", PASSWORD),
            "url",
        ),
        (credentials(&wp.url, " ", PASSWORD), "username"),
        (credentials(&wp.url, "ada", ""), "application_password"),
        (
            credentials(&wp.url, "ada", &"x".repeat(300)),
            "application_password",
        ),
    ] {
        let response = validate(&app, &ada, body).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "validation_failed", "{body}");
        assert_eq!(body["error"]["field"], field, "{body}");
    }
    assert_eq!(wp.requests().len(), asked);
    let anonymous = app
        .api(
            Method::POST,
            "/wordpress/validate",
            None,
            Some(credentials(&wp.url, "ada", PASSWORD)),
        )
        .await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

/// With `allow_private_targets` off, as in production: the fake site on
/// 127.0.0.1 is refused, by address and by a name resolving to it, and
/// never asked anything.
async fn targets_off_the_internet_are_refused_by_default(backend: Backend) {
    let app = spawn_app(backend).await;
    assert!(!app.settings.allow_private_targets);
    let ada = app.signed_up("ada@example.com").await;
    let wp = wordpress().await;
    let port = wp.addr.port();
    for (url, class) in [
        (wp.url.clone(), "loopback"),
        (format!("http://localhost:{port}/"), "loopback"),
        (format!("http://[::ffff:127.0.0.1]:{port}/"), "loopback"),
        ("http://10.0.0.8/".to_owned(), "private"),
        (
            "http://169.254.169.254/latest/meta-data/".to_owned(),
            "cloud metadata",
        ),
        (
            "http://metadata.google.internal/".to_owned(),
            "cloud metadata",
        ),
        ("http://100.64.0.1/".to_owned(), "carrier-grade NAT"),
    ] {
        let (status, code, message) =
            failure(validate(&app, &ada, credentials(&url, "ada", PASSWORD)).await).await;
        assert_eq!(
            (status, code.as_str()),
            (422, "forbidden_target"),
            "{url}: {message}"
        );
        assert!(message.contains(class), "{url}: {message}");
    }
    let site = app.create_site(&ada, json!({"name": "Ada's Bakery"})).await;
    let site = site["id"].as_str().unwrap();
    let (status, code, _) =
        failure(connect(&app, &ada, site, credentials(&wp.url, "ada", PASSWORD)).await).await;
    assert_eq!((status, code.as_str()), (422, "forbidden_target"));
    assert!(wp.requests().is_empty(), "{:?}", wp.requests());

    // Allowing private targets opens loopback, never a metadata service.
    let open = app_reaching_loopback(backend).await;
    let ada = open.signed_up("ada@example.com").await;
    let (_, code, _) = failure(
        validate(
            &open,
            &ada,
            credentials("http://169.254.169.254/", "ada", PASSWORD),
        )
        .await,
    )
    .await;
    assert_eq!(code, "forbidden_target");
}

async fn a_site_connects_through_its_connector(backend: Backend) {
    let app = app_reaching_loopback(backend).await;
    let ada = app.signed_up("ada@example.com").await;
    let site = app.create_site(&ada, json!({"name": "Ada's Bakery"})).await;
    let site_id = site["id"].as_str().unwrap();
    let wp = wordpress().await;
    wp.install_connector("0.1.0", true);

    let response = connect(&app, &ada, site_id, credentials(&wp.url, "ada", PASSWORD)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let agent: Value = response.json().await.unwrap();
    assert_eq!(agent["site_id"], site_id);
    assert_eq!(agent["hostname"], "bakery.example");
    assert_eq!(agent["agent_version"], "connector-0.1.0");
    // It is the site's agent now.
    let shown: Value = app
        .api(
            Method::GET,
            &format!("/sites/{site_id}/agent"),
            Some(&ada.access),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["id"], agent["id"]);

    // The connector was told where to enroll and which key to trust.
    let sent = wp.connects();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["server"], app.address);
    let fingerprint =
        gsw_protocol::bundle::key_fingerprint(&app.state.fleet.signing_key.verifying_key());
    assert_eq!(sent[0]["expect_key"], fingerprint);
    assert!(sent[0]["token"].as_str().unwrap().starts_with("gswe_"));
    // The token was used up by that enrollment.
    let reused = app
        .api(
            Method::POST,
            "/agents/enroll",
            None,
            Some(json!({
                "token": sent[0]["token"],
                "public_key": "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=",
                "hostname": "elsewhere.example",
                "agent_version": "0.1.0",
            })),
        )
        .await;
    assert_eq!(reused.status(), StatusCode::UNAUTHORIZED);

    // Connecting again replaces the agent.
    let again: Value = connect(&app, &ada, site_id, credentials(&wp.url, "ada", PASSWORD))
        .await
        .json()
        .await
        .unwrap();
    assert_ne!(again["id"], agent["id"]);
}

async fn connecting_needs_the_connector_active(backend: Backend) {
    let app = app_reaching_loopback(backend).await;
    let ada = app.signed_up("ada@example.com").await;
    let site = app.create_site(&ada, json!({"name": "Ada's Bakery"})).await;
    let site_id = site["id"].as_str().unwrap();
    let wp = wordpress().await;

    let (status, code, message) =
        failure(connect(&app, &ada, site_id, credentials(&wp.url, "ada", PASSWORD)).await).await;
    assert_eq!((status, code.as_str()), (409, "connector_missing"));
    assert!(message.contains("GET /api/v1/connector.zip"), "{message}");
    assert!(message.contains("not installed"), "{message}");

    wp.install_connector("0.1.0", false);
    let (status, code, message) =
        failure(connect(&app, &ada, site_id, credentials(&wp.url, "ada", PASSWORD)).await).await;
    assert_eq!((status, code.as_str()), (409, "connector_missing"));
    assert!(message.contains("activate it"), "{message}");

    // A subscriber is refused before the connector is looked at.
    wp.install_connector("0.1.0", true);
    let (status, code, _) = failure(
        connect(
            &app,
            &ada,
            site_id,
            credentials(&wp.url, "sam", SUBSCRIBER_PASSWORD),
        )
        .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (422, "insufficient_role"));
    assert!(wp.connects().is_empty());
    let agent = app
        .api(
            Method::GET,
            &format!("/sites/{site_id}/agent"),
            Some(&ada.access),
            None,
        )
        .await;
    assert_eq!(agent.status(), StatusCode::NOT_FOUND);
}

async fn connector_failures_are_reported(backend: Backend) {
    let app = app_reaching_loopback(backend).await;
    let ada = app.signed_up("ada@example.com").await;
    let site = app.create_site(&ada, json!({"name": "Ada's Bakery"})).await;
    let site_id = site["id"].as_str().unwrap();
    let wp = wordpress().await;
    wp.install_connector("0.1.0", true);
    wp.fail_connect(
        500,
        "gsw_enroll_failed",
        "The control plane could not be reached: <em>connection refused</em>",
    );
    let (status, code, message) =
        failure(connect(&app, &ada, site_id, credentials(&wp.url, "ada", PASSWORD)).await).await;
    assert_eq!((status, code.as_str()), (502, "connect_failed"));
    assert!(
        message.contains("could not be reached: connection refused (gsw_enroll_failed)"),
        "{message}"
    );

    // Not the caller's site, or none at all: nothing is asked of WordPress.
    let asked = wp.requests().len();
    let eve = app.signed_up("eve@example.com").await;
    let response = connect(&app, &eve, site_id, credentials(&wp.url, "ada", PASSWORD)).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = connect(
        &app,
        &ada,
        "0190b0a0-0000-7000-8000-000000000000",
        credentials(&wp.url, "ada", PASSWORD),
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(wp.requests().len(), asked);
}

/// Everything logged from the moment it is first asked for, by every test
/// of this binary: ours and the HTTP crates' at every level, the rest from
/// info. Global, because a subscriber scoped to one thread misses events
/// whose callsites another test thread registered first.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn captured_logs() -> Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Captured::default();
        let writer = logs.clone();
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "info,sqlx=warn,gsw_control_plane=trace,reqwest=trace,hyper=trace,hyper_util=trace,axum=trace,tower_http=trace",
            ))
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .init();
        logs
    })
    .clone()
}

/// The database's every byte: the SQLite file and its journal, or a dump.
fn stored_bytes(app: &TestApp, backend: Backend) -> Vec<u8> {
    match backend {
        Backend::Sqlite => {
            let path = app.db.url.trim_start_matches("sqlite://").to_owned();
            let mut bytes = Vec::new();
            for suffix in ["", "-wal", "-journal"] {
                bytes.extend(std::fs::read(format!("{path}{suffix}")).unwrap_or_default());
            }
            assert!(!bytes.is_empty(), "no database file at {path}");
            bytes
        }
        Backend::Postgres => {
            let dump = std::process::Command::new("pg_dump")
                .args(["--data-only", &app.db.url])
                .output()
                .expect("pg_dump is needed for this test");
            assert!(
                dump.status.success(),
                "{}",
                String::from_utf8_lossy(&dump.stderr)
            );
            dump.stdout
        }
    }
}

async fn the_application_password_is_kept_nowhere(backend: Backend) {
    let logs = captured_logs();

    let app = app_reaching_loopback(backend).await;
    let ada = app.signed_up("ada@example.com").await;
    let site = app.create_site(&ada, json!({"name": "Ada's Bakery"})).await;
    let site_id = site["id"].as_str().unwrap();
    let wp = wordpress().await;
    wp.install_connector("0.1.0", true);
    let wrong = "wXyZ wXyZ wXyZ wXyZ wXyZ wXyZ";
    assert_eq!(
        failure(validate(&app, &ada, credentials(&wp.url, "ada", wrong)).await)
            .await
            .1,
        "invalid_credentials"
    );
    assert_eq!(
        validate(&app, &ada, credentials(&wp.url, "ada", PASSWORD))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        connect(&app, &ada, site_id, credentials(&wp.url, "ada", PASSWORD))
            .await
            .status(),
        StatusCode::OK
    );

    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logged.contains("site connected through its connector"),
        "the logs were not captured: {logged}"
    );
    let stored = stored_bytes(&app, backend);
    let stored = String::from_utf8_lossy(&stored);
    for password in [PASSWORD, wrong] {
        let basic = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("ada:{password}"),
        );
        for form in [password.to_owned(), password.replace(' ', ""), basic] {
            assert!(!logged.contains(&form), "{form:?} in the logs");
            assert!(!stored.contains(&form), "{form:?} in the database");
        }
    }
}

async fn checks_are_rate_limited_per_user(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.allow_private_targets = true;
        s.wordpress_check_limit_per_user.burst = 2;
        s.wordpress_check_limit_per_user.refill_secs = 3600.0;
    })
    .await;
    let ada = app.signed_up("ada@example.com").await;
    let bob = app.signed_up("bob@example.com").await;
    let wp = wordpress().await;
    for _ in 0..2 {
        let response = validate(&app, &ada, credentials(&wp.url, "ada", PASSWORD)).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let response = validate(&app, &ada, credentials(&wp.url, "ada", PASSWORD)).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    // Another user has checks of their own.
    let response = validate(&app, &bob, credentials(&wp.url, "ada", PASSWORD)).await;
    assert_eq!(response.status(), StatusCode::OK);
}
