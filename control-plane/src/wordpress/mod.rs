//! WordPress sites reached with a user's credentials (a user name and an
//! application password): what a site is (reachable, WordPress, with its
//! REST API, the user's rights, its versions where it tells them, the
//! connector plugin), and handing its connector an enrollment token so it
//! enrolls with this control plane. Every request goes through the
//! [`GuardedClient`]; the password is sent only to the site's own origin and
//! kept nowhere.

mod page;

use std::collections::HashMap;
use std::time::Duration;

use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use url::Url;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::outbound::guarded::{Credentials, GuardedClient, OutboundError, Request, Response};
use page::RestError;

/// The connector plugin, as `/wp/v2/plugins` names it.
pub const CONNECTOR_PLUGIN: &str = "gsw-connector/gsw-connector";
/// The connector's REST namespace, present while it is active.
const CONNECTOR_NAMESPACE: &str = "gsw/v1";
/// Where the connector plugin is downloaded from.
pub const CONNECTOR_DOWNLOAD: &str = "GET /api/v1/connector.zip";
/// Longest a whole check of a site may take, all its requests together.
const CHECK_DEADLINE: Duration = Duration::from_secs(45);

/// Why a site could not be checked or connected; each has its API code.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The guard refused the address (a private, loopback, metadata… one).
    #[error("{0}")]
    ForbiddenTarget(String),
    /// No answer: name unknown, connection refused, timeout, TLS.
    #[error("{0}")]
    Unreachable(String),
    /// The site answers, but nothing says it is WordPress.
    #[error("{0}")]
    NotWordPress(String),
    /// WordPress, but its REST API (or `wp/v2`) is off.
    #[error("{0}")]
    RestApiDisabled(String),
    /// WordPress did not accept the user name and application password.
    #[error("{0}")]
    InvalidCredentials(String),
    /// The user may not manage the site's options and plugins.
    #[error("{0}")]
    InsufficientRole(String),
    /// The connector plugin is not installed, or not active.
    #[error("{0}")]
    ConnectorMissing(String),
    /// The connector did not connect; its reason is in the message.
    #[error("{0}")]
    ConnectFailed(String),
}

impl Failure {
    /// The API's error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::ForbiddenTarget(_) => "forbidden_target",
            Self::Unreachable(_) => "unreachable",
            Self::NotWordPress(_) => "not_wordpress",
            Self::RestApiDisabled(_) => "rest_api_disabled",
            Self::InvalidCredentials(_) => "invalid_credentials",
            Self::InsufficientRole(_) => "insufficient_role",
            Self::ConnectorMissing(_) => "connector_missing",
            Self::ConnectFailed(_) => "connect_failed",
        }
    }
}

impl From<OutboundError> for Failure {
    fn from(err: OutboundError) -> Self {
        if err.is_forbidden_target() {
            Self::ForbiddenTarget(err.to_string())
        } else {
            Self::Unreachable(err.to_string())
        }
    }
}

/// What a site is, as far as it can be known from outside with the user's
/// credentials.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SiteReport {
    /// The site's address, after any redirects.
    #[schema(example = "https://bakery.example/")]
    pub url: String,
    /// The root of its REST API.
    #[schema(example = "https://bakery.example/wp-json/")]
    pub rest_url: String,
    /// From the generator tag or the feed; `null` when the site hides it.
    #[schema(example = "6.7.1")]
    pub wordpress_version: Option<String>,
    /// From the `X-Powered-By` header; `null` when the server does not send
    /// it (WordPress itself does not tell).
    #[schema(example = "8.2.7")]
    pub php_version: Option<String>,
    /// Always `true` in a report: without it the check fails.
    pub rest_api: bool,
    pub user: WordPressUser,
    pub connector: ConnectorState,
}

/// The WordPress user the credentials belong to, and what they may do.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WordPressUser {
    pub id: i64,
    /// Display name.
    pub name: String,
    #[schema(example = json!(["administrator"]))]
    pub roles: Vec<String>,
    pub is_administrator: bool,
    pub can_install_plugins: bool,
    pub can_activate_plugins: bool,
    pub can_manage_options: bool,
}

/// The connector plugin on the site.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConnectorState {
    /// `null` when the site does not list its plugins (WordPress before 5.5).
    pub installed: Option<bool>,
    pub active: bool,
    #[schema(example = "0.1.0")]
    pub version: Option<String>,
}

/// A checked site and how to reach its REST API.
#[derive(Debug, Clone)]
pub struct Inspection {
    pub report: SiteReport,
    rest_root: Url,
}

/// What the connector is sent to enroll with.
#[derive(Debug, Serialize)]
pub struct ConnectRequest<'a> {
    /// This control plane's public URL.
    pub server: &'a str,
    /// A one-time enrollment token for the site.
    pub token: &'a str,
    /// The bundle-signing key's fingerprint the connector must be given.
    pub expect_key: &'a str,
}

/// What the connector answers once it has enrolled.
#[derive(Debug, Deserialize)]
pub struct Connected {
    pub site_id: Uuid,
    pub agent_id: Uuid,
}

/// Checks the site at `url` with `credentials`: reachable, WordPress, REST
/// API on, credentials accepted, the user an administrator (may manage
/// options and activate plugins); reports versions and the connector.
pub async fn inspect(
    client: &GuardedClient,
    url: &Url,
    credentials: &Credentials,
) -> Result<Inspection, Failure> {
    tokio::time::timeout(CHECK_DEADLINE, inspect_within(client, url, credentials))
        .await
        .unwrap_or_else(|_| {
            Err(Failure::Unreachable(format!(
                "{url} took more than {} seconds to answer the checks",
                CHECK_DEADLINE.as_secs()
            )))
        })
}

async fn inspect_within(
    client: &GuardedClient,
    url: &Url,
    credentials: &Credentials,
) -> Result<Inspection, Failure> {
    let home = client.send(Request::get(url.clone())).await?;
    let mut base = home.url.clone();
    base.set_query(None);
    base.set_fragment(None);
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    let html = home.text();
    let (rest_root, index) = rest_index(client, &base, &home, credentials).await?;
    let namespaces: Vec<String> = index.namespaces;
    if !namespaces.iter().any(|n| n == "wp/v2") {
        return Err(Failure::RestApiDisabled(format!(
            "{base} has a REST API, but without WordPress's own routes (wp/v2): a plugin turns them off"
        )));
    }
    let me = client
        .send(
            Request::get(page::rest_url(
                &rest_root,
                "wp/v2/users/me",
                &[("context", "edit")],
            ))
            .basic_auth(credentials),
        )
        .await?;
    let user = user_of(&me, &base)?;
    if !(user.can_manage_options && user.can_activate_plugins) {
        return Err(Failure::InsufficientRole(format!(
            "{} is {} on {base}; connecting a site needs an administrator (who may manage options and activate plugins)",
            credentials.username,
            match user.roles.as_slice() {
                [] => "a user without a role".to_owned(),
                roles => format!("a user with the role {}", roles.join(", ")),
            }
        )));
    }
    let connector = connector_state(client, &rest_root, credentials, &namespaces).await?;
    let wordpress_version = match page::generator_version(&html) {
        Some(version) => Some(version),
        None => feed_version(client, &base).await,
    };
    let php_version = [&home, &me].into_iter().find_map(page::php_version);
    Ok(Inspection {
        report: SiteReport {
            url: base.to_string(),
            rest_url: rest_root.to_string(),
            wordpress_version,
            php_version,
            rest_api: true,
            user,
            connector,
        },
        rest_root,
    })
}

/// The REST index's one field this needs.
#[derive(Debug, Deserialize)]
struct RestIndex {
    namespaces: Vec<String>,
}

/// Finds the REST API's root and reads its index: the root the home page
/// links to (on the site's own host only: the credentials may go there),
/// then `wp-json/`, then `?rest_route=/`. An index that asks for a login
/// is read again with the credentials. None answering, the site is
/// WordPress with its REST API off if anything shows WordPress, and not
/// WordPress otherwise.
async fn rest_index(
    client: &GuardedClient,
    base: &Url,
    home: &Response,
    credentials: &Credentials,
) -> Result<(Url, RestIndex), Failure> {
    let linked = page::rest_root_link(home).filter(|root| root.host_str() == base.host_str());
    let mut candidates: Vec<Url> = linked.iter().cloned().collect();
    candidates.extend(base.join("wp-json/").ok());
    let mut plain = base.clone();
    plain.query_pairs_mut().append_pair("rest_route", "/");
    candidates.push(plain);
    candidates.dedup();
    let mut wordpress_seen = linked.is_some() || page::looks_like_wordpress(&home.text());
    let mut refusal = None;
    for root in candidates {
        let mut answer = client.send(Request::get(root.clone())).await?;
        if matches!(
            answer.status,
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
        ) && RestError::of(&answer).is_some()
        {
            answer = client
                .send(Request::get(root.clone()).basic_auth(credentials))
                .await?;
        }
        if answer.status.is_success() {
            if let Some(index) = answer.json::<RestIndex>() {
                return Ok((root, index));
            }
        }
        if let Some(error) = RestError::of(&answer) {
            wordpress_seen = true;
            refusal.get_or_insert(error.describe());
        }
    }
    if !wordpress_seen {
        let login = base.join("wp-login.php").ok();
        if let Some(login) = login {
            // Any answer will do; a failure here says nothing more.
            if let Ok(answer) = client.send(Request::get(login)).await {
                wordpress_seen =
                    answer.status.is_success() && page::looks_like_wordpress(&answer.text());
            }
        }
    }
    if wordpress_seen {
        Err(Failure::RestApiDisabled(match refusal {
            Some(why) => format!("{base} is WordPress, but its REST API refuses: {why}"),
            None => format!(
                "{base} is WordPress, but its REST API does not answer (neither wp-json/ nor ?rest_route=/); turn it on, or remove what disables it"
            ),
        }))
    } else {
        Err(Failure::NotWordPress(format!(
            "{base} answers, but is not a WordPress site: it has no REST API, no wp-login.php and no trace of WordPress"
        )))
    }
}

/// `/wp/v2/users/me?context=edit` as WordPress writes it.
#[derive(Debug, Deserialize)]
struct Me {
    id: i64,
    #[serde(default)]
    name: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    capabilities: HashMap<String, serde_json::Value>,
}

/// The user the credentials are, from `/wp/v2/users/me`'s answer.
fn user_of(me: &Response, base: &Url) -> Result<WordPressUser, Failure> {
    if me.status.is_success() {
        let me = me.json::<Me>().ok_or_else(|| {
            Failure::RestApiDisabled(format!(
                "{base}'s REST API answered wp/v2/users/me with something other than a user"
            ))
        })?;
        let can = |cap: &str| me.capabilities.get(cap) == Some(&serde_json::Value::Bool(true));
        return Ok(WordPressUser {
            is_administrator: me.roles.iter().any(|r| r == "administrator"),
            can_install_plugins: can("install_plugins"),
            can_activate_plugins: can("activate_plugins"),
            can_manage_options: can("manage_options"),
            id: me.id,
            name: page::plain_text(&me.name, 250),
            roles: me.roles,
        });
    }
    let error = RestError::of(me);
    match (me.status, error) {
        (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN, Some(e)) if e.code == "rest_not_logged_in" => {
            Err(Failure::InvalidCredentials(format!(
                "WordPress at {base} did not log in with these credentials ({}): application passwords may be off on this site (WordPress offers them only over HTTPS, or with WP_ENVIRONMENT_TYPE set to local), or the web server drops the Authorization header",
                e.describe()
            )))
        }
        (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN, Some(e)) => Err(Failure::InvalidCredentials(format!(
            "WordPress at {base} refused the user name or application password: {}",
            e.describe()
        ))),
        (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN, None) => Err(Failure::InvalidCredentials(format!(
            "{base} answered HTTP {} to the credentials",
            me.status
        ))),
        (StatusCode::NOT_FOUND, _) => Err(Failure::RestApiDisabled(format!(
            "{base}'s REST API has no wp/v2/users/me route"
        ))),
        (status, _) => Err(Failure::Unreachable(format!(
            "{base} answered HTTP {status} when asked who the user is"
        ))),
    }
}

/// One entry of `/wp/v2/plugins`.
#[derive(Debug, Deserialize)]
struct Plugin {
    plugin: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    version: Option<String>,
}

/// The connector on the site: from the plugin list (WordPress 5.5 and
/// later, for users who may activate plugins), else from whether its REST
/// namespace is there (only while it is active).
async fn connector_state(
    client: &GuardedClient,
    rest_root: &Url,
    credentials: &Credentials,
    namespaces: &[String],
) -> Result<ConnectorState, Failure> {
    let namespace_active = namespaces.iter().any(|n| n == CONNECTOR_NAMESPACE);
    let plugins = client
        .send(Request::get(page::rest_url(rest_root, "wp/v2/plugins", &[])).basic_auth(credentials))
        .await?;
    let listed = plugins
        .status
        .is_success()
        .then(|| plugins.json::<Vec<Plugin>>())
        .flatten();
    Ok(match listed {
        Some(list) => {
            let found = list.into_iter().find(|p| p.plugin == CONNECTOR_PLUGIN);
            ConnectorState {
                installed: Some(found.is_some()),
                active: found
                    .as_ref()
                    .is_some_and(|p| p.status == "active" || p.status == "network-active"),
                version: found
                    .and_then(|p| p.version)
                    .map(|v| page::plain_text(&v, 40)),
            }
        }
        None => ConnectorState {
            installed: namespace_active.then_some(true),
            active: namespace_active,
            version: None,
        },
    })
}

/// The version in the site's RSS feed, when it says one.
async fn feed_version(client: &GuardedClient, base: &Url) -> Option<String> {
    let mut feed = base.clone();
    feed.query_pairs_mut().append_pair("feed", "rss2");
    let answer = client.send(Request::get(feed)).await.ok()?;
    answer
        .status
        .is_success()
        .then(|| page::feed_version(&answer.text()))
        .flatten()
}

/// Asks the site's connector (`POST gsw/v1/connect` under the REST root the
/// inspection found, with the credentials) to enroll with `request`.
pub async fn connect(
    client: &GuardedClient,
    site: &Inspection,
    credentials: &Credentials,
    request: &ConnectRequest<'_>,
) -> Result<Connected, Failure> {
    let url = page::rest_url(&site.rest_root, "gsw/v1/connect", &[]);
    let answer = client
        .send(Request::post_json(url, request).basic_auth(credentials))
        .await?;
    if answer.status.is_success() {
        return answer.json::<Connected>().ok_or_else(|| {
            Failure::ConnectFailed(
                "the connector answered, but not with the site and agent it enrolled; update the connector plugin".into(),
            )
        });
    }
    Err(Failure::ConnectFailed(match RestError::of(&answer) {
        Some(e) if e.code == "rest_no_route" => format!(
            "the connector on {} has no gsw/v1/connect route; update it ({CONNECTOR_DOWNLOAD})",
            site.report.url
        ),
        Some(e) => format!("the connector could not connect: {}", e.describe()),
        None => format!(
            "the connector answered HTTP {} instead of connecting",
            answer.status
        ),
    }))
}
