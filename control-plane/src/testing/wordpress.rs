//! A local fake of a WordPress site, speaking WordPress's own REST shapes:
//! the home page with its `Link: <…>; rel="https://api.w.org/"`, the REST
//! index at `/wp-json/` and `?rest_route=/`, application-password Basic
//! authentication (`incorrect_password`, `invalid_username`,
//! `rest_not_logged_in`), `/wp/v2/users/me?context=edit`, `/wp/v2/plugins`
//! and the connector's `POST gsw/v1/connect`, which really enrolls with the
//! control plane it is given (`POST /api/v1/agents/enroll`, a fresh Ed25519
//! key) as the connector plugin does.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use base64::Engine;
use rand::RngCore;
use serde_json::{json, Value};

/// How the site's REST API is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rest {
    /// `/wp-json/` and `?rest_route=/` (pretty permalinks).
    Pretty,
    /// Only `?rest_route=/` (plain permalinks: `/wp-json/` is a 404 page).
    PlainOnly,
    /// Turned off by a plugin: both are 404 pages, and the home page links
    /// to neither.
    Disabled,
}

/// A WordPress user with one application password.
#[derive(Debug, Clone)]
struct User {
    id: i64,
    login: String,
    password: String,
    role: String,
}

/// The capabilities WordPress gives each role (the ones this fake needs).
fn capabilities(role: &str) -> Vec<&'static str> {
    let mut caps = vec!["read", "level_0"];
    if matches!(role, "editor" | "administrator") {
        caps.extend(["edit_posts", "edit_pages", "publish_pages", "upload_files"]);
    }
    if role == "administrator" {
        caps.extend([
            "manage_options",
            "activate_plugins",
            "install_plugins",
            "edit_plugins",
            "switch_themes",
            "list_users",
            "level_10",
        ]);
    }
    caps
}

struct Site {
    url: String,
    rest: Rest,
    users: Vec<User>,
    /// The connector's version and whether it is active; `None`: not installed.
    connector: Option<(String, bool)>,
    /// Shown in the generator tag and the feed.
    version: Option<String>,
    /// Sent as `X-Powered-By: PHP/…`.
    php: Option<String>,
    /// What `gsw/v1/connect` answers instead of connecting.
    connect_error: Option<(u16, String, String)>,
    /// The bodies `gsw/v1/connect` received.
    connects: Vec<Value>,
    /// Every request's method, path and query, and whether it carried
    /// credentials.
    requests: Vec<(String, bool)>,
}

/// A running fake WordPress site.
pub struct FakeWordPress {
    /// Its address, `http://127.0.0.1:<port>`.
    pub url: String,
    /// Its socket address.
    pub addr: std::net::SocketAddr,
    site: Arc<Mutex<Site>>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeWordPress {
    /// A WordPress 6.7.1 site on PHP 8.2.7 with pretty permalinks, no
    /// connector, and no users yet.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let url = format!("http://{addr}");
        let site = Arc::new(Mutex::new(Site {
            url: url.clone(),
            rest: Rest::Pretty,
            users: Vec::new(),
            connector: None,
            version: Some("6.7.1".into()),
            php: Some("8.2.7".into()),
            connect_error: None,
            connects: Vec::new(),
            requests: Vec::new(),
        }));
        let app = Router::new().fallback(handle).with_state(site.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url,
            addr,
            site,
            task,
        }
    }

    fn site(&self) -> std::sync::MutexGuard<'_, Site> {
        self.site.lock().unwrap()
    }

    /// Adds a user with `role` (`administrator`, `editor`, `subscriber`)
    /// and one application password.
    pub fn add_user(&self, login: &str, application_password: &str, role: &str) {
        let mut site = self.site();
        let id = site.users.len() as i64 + 1;
        site.users.push(User {
            id,
            login: login.into(),
            password: application_password.into(),
            role: role.into(),
        });
    }

    /// How the REST API is reached from now on.
    pub fn set_rest(&self, rest: Rest) {
        self.site().rest = rest;
    }

    /// Installs the connector plugin at `version`, active or not.
    pub fn install_connector(&self, version: &str, active: bool) {
        self.site().connector = Some((version.into(), active));
    }

    /// Hides WordPress's and PHP's versions (no generator, no `X-Powered-By`).
    pub fn hide_versions(&self) {
        let mut site = self.site();
        site.version = None;
        site.php = None;
    }

    /// Has `gsw/v1/connect` answer this WordPress error instead of connecting.
    pub fn fail_connect(&self, status: u16, code: &str, message: &str) {
        self.site().connect_error = Some((status, code.into(), message.into()));
    }

    /// The bodies `gsw/v1/connect` received.
    pub fn connects(&self) -> Vec<Value> {
        self.site().connects.clone()
    }

    /// Every request so far: method, path and query, and whether it carried
    /// an `Authorization` header.
    pub fn requests(&self) -> Vec<(String, bool)> {
        self.site().requests.clone()
    }
}

impl Drop for FakeWordPress {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Shared = Arc<Mutex<Site>>;

/// WordPress's REST error body.
fn rest_error(status: u16, code: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        Json(json!({"code": code, "message": message, "data": {"status": status.as_u16()}})),
    )
        .into_response()
}

fn not_found_page() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
        "<!DOCTYPE html><html><head><title>Page not found</title><link rel='stylesheet' href='/wp-content/themes/twentytwentyfour/style.css'></head><body>Nothing here</body></html>",
    )
        .into_response()
}

async fn handle(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (rest, php) = {
        let mut site = shared.lock().unwrap();
        site.requests.push((
            format!("{method} {uri}"),
            headers.contains_key(header::AUTHORIZATION),
        ));
        (site.rest, site.php.clone())
    };
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let rest_route = query
        .iter()
        .find(|(k, _)| k == "rest_route")
        .map(|(_, v)| v.clone());
    let path = uri.path();
    let mut response = match (path, rest_route) {
        ("/" | "/index.php", Some(route)) if rest != Rest::Disabled => {
            rest_api(&shared, &method, &route, &query, &headers, &body).await
        }
        ("/" | "/index.php", Some(_)) => not_found_page(),
        (p, None) if p == "/wp-json" || p.starts_with("/wp-json/") => {
            if rest == Rest::Pretty {
                let route = p.trim_start_matches("/wp-json");
                let route = if route.is_empty() { "/" } else { route };
                rest_api(&shared, &method, route, &query, &headers, &body).await
            } else {
                not_found_page()
            }
        }
        ("/", None) if query.iter().any(|(k, _)| k == "feed") => feed(&shared),
        ("/", None) => home(&shared),
        ("/wp-login.php", None) => (
            [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
            "<!DOCTYPE html><html><body class=\"login\"><form name=\"loginform\" id=\"loginform\" action=\"/wp-login.php\" method=\"post\"><input type=\"text\" name=\"log\" id=\"user_login\"></form></body></html>",
        )
            .into_response(),
        _ => not_found_page(),
    };
    if let Some(php) = php {
        response.headers_mut().insert(
            "x-powered-by",
            format!("PHP/{php}").parse().expect("a header value"),
        );
    }
    response
}

fn home(shared: &Shared) -> Response {
    let site = shared.lock().unwrap();
    let generator = site
        .version
        .as_ref()
        .map(|v| format!("<meta name=\"generator\" content=\"WordPress {v}\" />\n"))
        .unwrap_or_default();
    let root = match site.rest {
        Rest::Pretty => Some(format!("{}/wp-json/", site.url)),
        Rest::PlainOnly => Some(format!("{}/?rest_route=/", site.url)),
        Rest::Disabled => None,
    };
    let link = root
        .as_ref()
        .map(|r| {
            format!(
                "<link rel=\"https://api.w.org/\" href=\"{}\" />\n",
                r.replace('&', "&#038;")
            )
        })
        .unwrap_or_default();
    let html = format!(
        "<!DOCTYPE html><html lang=\"en-US\"><head>\n<title>Ada's Bakery</title>\n{link}{generator}<link rel='stylesheet' href='{}/wp-content/themes/twentytwentyfour/style.css?ver=1.3' />\n</head><body><h1>Ada's Bakery</h1></body></html>",
        site.url
    );
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=UTF-8")], html).into_response();
    if let Some(root) = root {
        response.headers_mut().insert(
            header::LINK,
            format!("<{root}>; rel=\"https://api.w.org/\"")
                .parse()
                .expect("a header value"),
        );
    }
    response
}

fn feed(shared: &Shared) -> Response {
    let site = shared.lock().unwrap();
    let generator = site
        .version
        .as_ref()
        .map(|v| format!("<generator>https://wordpress.org/?v={v}</generator>"))
        .unwrap_or_default();
    (
        [(header::CONTENT_TYPE, "application/rss+xml; charset=UTF-8")],
        format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Ada's Bakery</title>{generator}</channel></rss>"),
    )
        .into_response()
}

/// Who the request's Basic credentials log in, as WordPress's
/// application-password check answers: `Ok(None)` without credentials, the
/// code and message of a 401 for an unknown user or a wrong password (on
/// every route).
fn authenticate(
    shared: &Shared,
    headers: &HeaderMap,
) -> Result<Option<User>, (&'static str, &'static str)> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let decoded = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
        .and_then(|v| String::from_utf8(v).ok());
    let Some((login, password)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
        return Ok(None);
    };
    let site = shared.lock().unwrap();
    let Some(user) = site.users.iter().find(|u| u.login == login) else {
        return Err((
            "invalid_username",
            "<strong>Error:</strong> Unknown username. Check again or try your email address.",
        ));
    };
    // WordPress takes the password with or without its spaces.
    if user.password.replace(' ', "") != password.replace(' ', "") {
        return Err((
            "incorrect_password",
            "The provided password is an invalid application password.",
        ));
    }
    Ok(Some(user.clone()))
}

async fn rest_api(
    shared: &Shared,
    method: &Method,
    route: &str,
    query: &[(String, String)],
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let user = match authenticate(shared, headers) {
        Ok(user) => user,
        Err((code, message)) => return rest_error(401, code, message),
    };
    let can = |cap: &str| {
        user.as_ref()
            .is_some_and(|u| capabilities(&u.role).contains(&cap))
    };
    let denied = if user.is_some() { 403 } else { 401 };
    let active = shared
        .lock()
        .unwrap()
        .connector
        .as_ref()
        .is_some_and(|(_, active)| *active);
    match (method.as_str(), route.trim_end_matches('/')) {
        ("GET", "") => index(shared, active),
        ("GET", "/wp/v2/users/me") => match &user {
            None => rest_error(
                401,
                "rest_not_logged_in",
                "You are not currently logged in.",
            ),
            Some(user) => {
                let edit = query.iter().any(|(k, v)| k == "context" && v == "edit");
                me(user, edit)
            }
        },
        ("GET", "/wp/v2/plugins") if can("activate_plugins") => plugins(shared),
        ("GET", "/wp/v2/plugins") => rest_error(
            denied,
            "rest_cannot_view_plugins",
            "Sorry, you are not allowed to manage plugins for this site.",
        ),
        ("POST", "/gsw/v1/connect") if active => {
            if !can("manage_options") {
                return rest_error(
                    denied,
                    "rest_forbidden",
                    "Sorry, you are not allowed to do that.",
                );
            }
            connect(shared, body).await
        }
        _ => rest_error(
            404,
            "rest_no_route",
            "No route was found matching the URL and request method.",
        ),
    }
}

fn index(shared: &Shared, connector_active: bool) -> Response {
    let site = shared.lock().unwrap();
    let mut namespaces = vec![
        "oembed/1.0",
        "wp/v2",
        "wp-site-health/v1",
        "wp-block-editor/v1",
    ];
    if connector_active {
        namespaces.push("gsw/v1");
    }
    Json(json!({
        "name": "Ada's Bakery",
        "description": "Bread and pastries",
        "url": site.url,
        "home": site.url,
        "gmt_offset": "0",
        "timezone_string": "",
        "namespaces": namespaces,
        "authentication": {
            "application-passwords": {
                "endpoints": {"authorization": format!("{}/wp-admin/authorize-application.php", site.url)}
            }
        },
        "routes": {},
    }))
    .into_response()
}

fn me(user: &User, edit: bool) -> Response {
    let mut body = json!({
        "id": user.id,
        "name": user.login,
        "url": "",
        "description": "",
        "slug": user.login,
        "avatar_urls": {},
    });
    if edit {
        let caps: serde_json::Map<String, Value> = capabilities(&user.role)
            .into_iter()
            .chain(std::iter::once(user.role.as_str()))
            .map(|c| (c.to_owned(), Value::Bool(true)))
            .collect();
        body["username"] = json!(user.login);
        body["email"] = json!(format!("{}@bakery.example", user.login));
        body["roles"] = json!([user.role]);
        body["capabilities"] = Value::Object(caps);
        body["extra_capabilities"] = json!({ &user.role: true });
    }
    Json(body).into_response()
}

fn plugins(shared: &Shared) -> Response {
    let site = shared.lock().unwrap();
    let mut list = vec![json!({
        "plugin": "akismet/akismet",
        "status": "inactive",
        "name": "Akismet Anti-spam: Spam Protection",
        "version": "5.3.5",
        "network_only": false,
        "requires_wp": "5.8",
        "requires_php": "5.6.20",
    })];
    if let Some((version, active)) = &site.connector {
        list.push(json!({
            "plugin": "gsw-connector/gsw-connector",
            "status": if *active { "active" } else { "inactive" },
            "name": "gsWstudio Connector",
            "version": version,
            "network_only": false,
            "requires_wp": "6.1",
            "requires_php": "8.1",
        }));
    }
    Json(list).into_response()
}

/// The connector's `gsw/v1/connect`: enrolls with the control plane it is
/// given, checking the signing key it gets against `expect_key`.
async fn connect(shared: &Shared, body: &[u8]) -> Response {
    let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let scripted = {
        let mut site = shared.lock().unwrap();
        site.connects.push(request.clone());
        site.connect_error.clone()
    };
    if let Some((status, code, message)) = scripted {
        return rest_error(status, &code, &message);
    }
    let (Some(server), Some(token), Some(expect_key)) = (
        request["server"].as_str(),
        request["token"].as_str(),
        request["expect_key"].as_str(),
    ) else {
        return rest_error(
            400,
            "rest_missing_callback_param",
            "Missing parameter(s): server, token, expect_key",
        );
    };
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    let enrolled = reqwest::Client::new()
        .post(format!("{}/api/v1/agents/enroll", server.trim_end_matches('/')))
        .json(&json!({
            "token": token,
            "public_key": base64::engine::general_purpose::STANDARD.encode(key.verifying_key().as_bytes()),
            "hostname": "bakery.example",
            "agent_version": "connector-0.1.0",
        }))
        .send()
        .await;
    let enrolled: Value = match enrolled {
        Ok(r) if r.status() == StatusCode::CREATED => r.json().await.unwrap_or(Value::Null),
        Ok(r) => {
            let status = r.status();
            let text = r.text().await.unwrap_or_default();
            return rest_error(
                502,
                "gsw_enroll_failed",
                &format!("The control plane refused the enrollment (HTTP {status}): {text}"),
            );
        }
        Err(e) => {
            return rest_error(
                502,
                "gsw_enroll_failed",
                &format!("The control plane could not be reached: {e}"),
            )
        }
    };
    let signing_key = enrolled["bundle_signing_key"]
        .as_str()
        .and_then(|k| base64::engine::general_purpose::STANDARD.decode(k).ok())
        .and_then(|k| <[u8; 32]>::try_from(k.as_slice()).ok())
        .and_then(|k| ed25519_dalek::VerifyingKey::from_bytes(&k).ok());
    let fingerprint = signing_key.map(|k| gsw_protocol::bundle::key_fingerprint(&k));
    if fingerprint.as_deref() != Some(expect_key) {
        return rest_error(
            502,
            "gsw_key_mismatch",
            "The control plane's signing key is not the one expected.",
        );
    }
    Json(json!({
        "site_id": enrolled["site_id"],
        "agent_id": enrolled["agent_id"],
        "connection": "plugin",
    }))
    .into_response()
}
