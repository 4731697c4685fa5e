//! The one client for requests to URLs a user gave (a WordPress site being
//! validated or connected; later hosting and monitoring checks).
//!
//! Each hop of a request resolves its host once, refuses it if any address
//! is not allowed by the [`AddressPolicy`], and then connects to exactly the
//! addresses it checked: the reqwest client of that hop has them as its only
//! answer for the name and a resolver that refuses every other lookup, so a
//! second DNS answer (rebinding) is never asked for. Redirects are followed
//! here, each hop checked the same way; credentials go only to the origin
//! they were given for (or its `https` upgrade); bodies are read up to a cap
//! and the whole exchange, redirects included, has one deadline.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, ACCEPT, CONTENT_TYPE, LOCATION};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use url::{Host, Url};

use super::address::{refused_name, AddressClass, AddressPolicy};
use crate::settings::Secret;

/// How long and how much a guarded request may take.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// For resolving a host and for opening a connection, each.
    pub connect_timeout: Duration,
    /// For the whole request, redirects included.
    pub timeout: Duration,
    /// Largest body read.
    pub max_body_bytes: u64,
    /// Redirects followed; one more is refused.
    pub max_redirects: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(15),
            max_body_bytes: 4 * 1024 * 1024,
            max_redirects: 5,
        }
    }
}

/// Why a guarded request did not get an answer.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    /// The host is, or resolves to, an address the policy refuses.
    #[error("{host} is {} ({class} address{}); only public addresses are reached", describe(*class), address.map(|a| format!(" {a}")).unwrap_or_default())]
    RefusedAddress {
        host: String,
        /// `None` when the name itself is refused (a metadata service).
        address: Option<IpAddr>,
        class: AddressClass,
    },
    /// Not an `http`/`https` URL with a host and without credentials.
    #[error("{0}")]
    RefusedUrl(String),
    /// More redirects than [`Limits::max_redirects`].
    #[error("{url} redirected more than {max} times")]
    TooManyRedirects { url: String, max: usize },
    /// The host name has no address.
    #[error("{host} could not be resolved ({reason})")]
    Unresolved { host: String, reason: String },
    /// No answer: connection refused or reset, TLS failure, broken body.
    #[error("{url}: {reason}")]
    Failed { url: String, reason: String },
    /// No whole answer within [`Limits::timeout`].
    #[error("{url} did not answer within {secs} seconds")]
    TimedOut { url: String, secs: u64 },
    /// The answer's body is larger than [`Limits::max_body_bytes`].
    #[error("{url} answered with more than {max} bytes")]
    TooLarge { url: String, max: u64 },
}

fn describe(class: AddressClass) -> &'static str {
    match class {
        AddressClass::CloudMetadata => "a cloud metadata service",
        AddressClass::Loopback => "this machine",
        _ => "not on the public internet",
    }
}

impl OutboundError {
    /// The class of the refused address, when that is why.
    pub fn refused_class(&self) -> Option<AddressClass> {
        match self {
            Self::RefusedAddress { class, .. } => Some(*class),
            _ => None,
        }
    }

    /// Refused by the guard (the API's `forbidden_target`), rather than
    /// tried and not answered (`unreachable`).
    pub fn is_forbidden_target(&self) -> bool {
        matches!(self, Self::RefusedAddress { .. } | Self::RefusedUrl(_))
    }
}

/// Finds the addresses of a host name.
#[async_trait::async_trait]
pub trait Resolve: Send + Sync {
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<IpAddr>>;
}

/// The operating system's resolver (`getaddrinfo`).
pub struct SystemResolver;

#[async_trait::async_trait]
impl Resolve for SystemResolver {
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<IpAddr>> {
        Ok(tokio::net::lookup_host((host, port))
            .await?
            .map(|a| a.ip())
            .collect())
    }
}

/// Fixed answers, for tests: names it does not know do not resolve.
#[cfg(any(test, feature = "testing"))]
#[derive(Default)]
pub struct StaticResolver(std::collections::HashMap<String, Vec<IpAddr>>);

#[cfg(any(test, feature = "testing"))]
impl StaticResolver {
    /// Answers `addresses` for `host`.
    pub fn with(mut self, host: &str, addresses: &[IpAddr]) -> Self {
        self.0.insert(host.to_ascii_lowercase(), addresses.to_vec());
        self
    }
}

#[cfg(any(test, feature = "testing"))]
#[async_trait::async_trait]
impl Resolve for StaticResolver {
    async fn resolve(&self, host: &str, _port: u16) -> std::io::Result<Vec<IpAddr>> {
        self.0.get(host).cloned().ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such name in the test resolver",
            )
        })
    }
}

/// The resolver of each hop's reqwest client: every name it is asked was
/// already resolved and checked, so it answers none (a lookup reaching it
/// would be a bug, and fails the request rather than asking DNS again).
struct NoLookups;

impl reqwest::dns::Resolve for NoLookups {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let name = name.as_str().to_owned();
        Box::pin(
            async move { Err(format!("{name} was not resolved and checked by the guard").into()) },
        )
    }
}

/// A user name and password sent as HTTP Basic authentication.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub username: String,
    pub password: Secret,
}

/// One request through the guard.
#[derive(Debug, Clone)]
pub struct Request {
    method: Method,
    url: Url,
    json: Option<Vec<u8>>,
    credentials: Option<Credentials>,
}

impl Request {
    /// `GET url`.
    pub fn get(url: Url) -> Self {
        Self {
            method: Method::GET,
            url,
            json: None,
            credentials: None,
        }
    }

    /// `POST url` with `body` as JSON.
    pub fn post_json(url: Url, body: &impl serde::Serialize) -> Self {
        Self {
            method: Method::POST,
            url,
            json: Some(serde_json::to_vec(body).unwrap_or_default()),
            credentials: None,
        }
    }

    /// Sends `credentials` as HTTP Basic authentication, to this origin only.
    pub fn basic_auth(mut self, credentials: &Credentials) -> Self {
        self.credentials = Some(credentials.clone());
        self
    }

    /// The request to make after a `status` redirect to `next`: 303, and
    /// 301/302 after a POST, become a GET without a body (as browsers do);
    /// credentials stay only on the same host and port, or its upgrade from
    /// `http` to `https` on the default ports.
    fn redirected(mut self, status: StatusCode, next: Url) -> Self {
        let to_get = status == StatusCode::SEE_OTHER
            || (self.method == Method::POST
                && matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND));
        if to_get {
            self.method = Method::GET;
            self.json = None;
        }
        let same_host = self.url.host_str() == next.host_str();
        let same_origin = same_host && super::same_origin(&self.url, &next);
        let upgraded = same_host
            && self.url.scheme() == "http"
            && next.scheme() == "https"
            && self.url.port().is_none()
            && next.port().is_none();
        if !(same_origin || upgraded) {
            self.credentials = None;
        }
        self.url = next;
        self
    }
}

/// An answer, whatever its status.
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The URL that answered, after redirects.
    pub url: Url,
    pub body: Vec<u8>,
}

impl Response {
    /// The body as JSON of type `T`, if it is.
    pub fn json<T: DeserializeOwned>(&self) -> Option<T> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The client every request to a URL a user gave goes through.
pub struct GuardedClient {
    policy: AddressPolicy,
    limits: Limits,
    resolver: Arc<dyn Resolve>,
    /// Exact addresses reached whatever the policy says (tests' fake servers).
    exempt: Vec<SocketAddr>,
}

impl GuardedClient {
    /// A client under `policy` with the system resolver.
    pub fn new(policy: AddressPolicy, limits: Limits) -> Self {
        Self {
            policy,
            limits,
            resolver: Arc::new(SystemResolver),
            exempt: Vec::new(),
        }
    }

    /// The client `settings` ask for (`allow_private_targets`).
    pub fn from_settings(settings: &crate::settings::Settings) -> Self {
        Self::new(
            AddressPolicy::new(settings.allow_private_targets),
            Limits::default(),
        )
    }

    /// Resolves host names with `resolver` instead of the system's.
    pub fn with_resolver(mut self, resolver: Arc<dyn Resolve>) -> Self {
        self.resolver = resolver;
        self
    }

    /// Reaches `address` (IP and port) whatever the policy says, so a test
    /// can talk to its fake server on loopback while everything else stays
    /// refused.
    #[cfg(any(test, feature = "testing"))]
    pub fn exempting(mut self, address: SocketAddr) -> Self {
        self.exempt.push(address);
        self
    }

    /// Sends `request`, following redirects, within [`Limits::timeout`].
    pub async fn send(&self, request: Request) -> Result<Response, OutboundError> {
        let url = request.url.to_string();
        match tokio::time::timeout(self.limits.timeout, self.follow(request)).await {
            Ok(result) => result,
            Err(_) => Err(OutboundError::TimedOut {
                url,
                secs: self.limits.timeout.as_secs().max(1),
            }),
        }
    }

    async fn follow(&self, mut request: Request) -> Result<Response, OutboundError> {
        let mut redirects = 0;
        loop {
            let addresses = self.addresses(&request.url).await?;
            let response = self.once(&request, &addresses).await?;
            let status = response.status();
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok());
            let is_redirect = matches!(
                status,
                StatusCode::MOVED_PERMANENTLY
                    | StatusCode::FOUND
                    | StatusCode::SEE_OTHER
                    | StatusCode::TEMPORARY_REDIRECT
                    | StatusCode::PERMANENT_REDIRECT
            );
            if let (true, Some(location)) = (is_redirect, location) {
                if redirects == self.limits.max_redirects {
                    return Err(OutboundError::TooManyRedirects {
                        url: request.url.to_string(),
                        max: self.limits.max_redirects,
                    });
                }
                let next = request
                    .url
                    .join(location)
                    .map_err(|e| OutboundError::Failed {
                        url: request.url.to_string(),
                        reason: format!("redirected to an unreadable location ({e})"),
                    })?;
                redirects += 1;
                request = request.redirected(status, next);
                continue;
            }
            let headers = response.headers().clone();
            let body = self.read(&request.url, response).await?;
            return Ok(Response {
                status,
                headers,
                url: request.url,
                body,
            });
        }
    }

    /// The checked addresses `url` is to be reached at.
    async fn addresses(&self, url: &Url) -> Result<Vec<SocketAddr>, OutboundError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(OutboundError::RefusedUrl(format!(
                "{}: only http and https URLs are fetched",
                url.scheme()
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(OutboundError::RefusedUrl(
                "URLs with a user name or password in them are not fetched".into(),
            ));
        }
        let port = url.port_or_known_default().unwrap_or(80);
        let (host, ips) = match url.host() {
            Some(Host::Ipv4(ip)) => (ip.to_string(), vec![IpAddr::V4(ip)]),
            Some(Host::Ipv6(ip)) => (ip.to_string(), vec![IpAddr::V6(ip)]),
            Some(Host::Domain(name)) => {
                if let Some(class) = refused_name(name) {
                    return Err(OutboundError::RefusedAddress {
                        host: name.to_owned(),
                        address: None,
                        class,
                    });
                }
                (name.to_owned(), self.resolve(name, port).await?)
            }
            None => return Err(OutboundError::RefusedUrl("the URL has no host".into())),
        };
        for ip in &ips {
            if self.exempt.contains(&SocketAddr::new(*ip, port)) {
                continue;
            }
            self.policy
                .check(*ip)
                .map_err(|class| OutboundError::RefusedAddress {
                    host: host.clone(),
                    address: Some(*ip),
                    class,
                })?;
        }
        Ok(ips
            .into_iter()
            .map(|ip| SocketAddr::new(ip, port))
            .collect())
    }

    async fn resolve(&self, name: &str, port: u16) -> Result<Vec<IpAddr>, OutboundError> {
        let unresolved = |reason: String| OutboundError::Unresolved {
            host: name.to_owned(),
            reason,
        };
        let found = tokio::time::timeout(
            self.limits.connect_timeout,
            self.resolver.resolve(name, port),
        )
        .await
        .map_err(|_| unresolved("timed out".into()))?
        .map_err(|e| unresolved(e.to_string()))?;
        if found.is_empty() {
            return Err(unresolved("no addresses".into()));
        }
        Ok(found)
    }

    /// One hop, to exactly `addresses`.
    async fn once(
        &self,
        request: &Request,
        addresses: &[SocketAddr],
    ) -> Result<reqwest::Response, OutboundError> {
        let failed = |reason: String| OutboundError::Failed {
            url: request.url.to_string(),
            reason,
        };
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(self.limits.connect_timeout)
            .user_agent(concat!("gsWstudio/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(NoLookups));
        if let Some(Host::Domain(name)) = request.url.host() {
            builder = builder.resolve_to_addrs(name, addresses);
        }
        let client = builder
            .build()
            .map_err(|e| failed(format!("could not make a client: {e}")))?;
        let mut outgoing = client
            .request(request.method.clone(), request.url.clone())
            .header(ACCEPT, "application/json, text/html;q=0.9, */*;q=0.5");
        if let Some(credentials) = &request.credentials {
            outgoing =
                outgoing.basic_auth(&credentials.username, Some(credentials.password.expose()));
        }
        if let Some(json) = &request.json {
            outgoing = outgoing
                .header(CONTENT_TYPE, "application/json")
                .body(json.clone());
        }
        outgoing.send().await.map_err(|e| failed(failure(&e)))
    }

    /// The body, at most [`Limits::max_body_bytes`].
    async fn read(
        &self,
        url: &Url,
        mut response: reqwest::Response,
    ) -> Result<Vec<u8>, OutboundError> {
        let max = self.limits.max_body_bytes;
        let too_large = || OutboundError::TooLarge {
            url: url.to_string(),
            max,
        };
        if response.content_length().is_some_and(|n| n > max) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| OutboundError::Failed {
            url: url.to_string(),
            reason: failure(&e),
        })? {
            if (body.len() + chunk.len()) as u64 > max {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

/// What went wrong, in a few words and the innermost cause (which names no
/// URL or header).
fn failure(e: &reqwest::Error) -> String {
    let what = super::request_failure(e);
    let mut innermost = None;
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        innermost = Some(c);
        cause = c.source();
    }
    match innermost {
        Some(c) => format!("{what} ({c})"),
        None => what.to_owned(),
    }
}

#[cfg(test)]
mod tests;
