//! Requests this control plane makes to other servers.
//!
//! What every client of a third-party HTTP API here shares (the plugin
//! directory, the stock-photo providers): tries again with a doubling wait
//! on what is worth another try (timeouts, refused connections, 5xx), never
//! on a final answer; reads bodies only up to a cap; tells whether a URL is
//! on an expected origin; names a body by its SHA-256.
//!
//! And [`guarded`]: the one client for URLs a user gave, which reaches only
//! the addresses [`address`] allows.

pub mod address;
pub mod guarded;

use std::future::Future;
use std::time::Duration;

use sha2::{Digest, Sha256};
use url::Url;

/// How one try ended: worth another (`Transient`, why), or not (`Final`).
pub enum Failure<E> {
    Transient(String),
    Final(E),
}

/// How often to try and how long to wait before the first retry (doubled
/// before each next one).
#[derive(Debug, Clone, Copy)]
pub struct Retries {
    pub attempts: u32,
    pub backoff: Duration,
}

impl Retries {
    /// Runs `attempt` until it succeeds, ends finally, or has been tried
    /// `attempts` times; the last transient reason then goes through
    /// `unreachable`. `service` names the API in the debug log.
    pub async fn run<T, E, F, Fut>(
        self,
        service: &str,
        unreachable: impl FnOnce(String) -> E,
        mut attempt: F,
    ) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Failure<E>>>,
    {
        let mut wait = self.backoff;
        let mut tries = 1;
        loop {
            match attempt().await {
                Ok(value) => return Ok(value),
                Err(Failure::Final(why)) => return Err(why),
                Err(Failure::Transient(why)) if tries >= self.attempts => {
                    return Err(unreachable(why))
                }
                Err(Failure::Transient(why)) => {
                    tracing::debug!(error = %why, tries, service, "trying again");
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                    tries += 1;
                }
            }
        }
    }
}

/// What went wrong with a request, in a few words for a message.
pub fn request_failure(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    }
}

/// A 2xx answer's body, at most `max` bytes. A 5xx is worth another try;
/// another status is final (`refused` gets "HTTP <status>"), and so is a
/// body over `max` (`too_big`), refused on its announced length before any
/// of it is read; a broken body goes through `broken`.
pub async fn read_success<E>(
    response: reqwest::Response,
    max: u64,
    refused: impl FnOnce(String) -> E,
    too_big: impl FnOnce(u64) -> E,
    broken: impl Fn(reqwest::Error) -> Failure<E>,
) -> Result<Vec<u8>, Failure<E>> {
    let status = response.status();
    if status.is_server_error() {
        return Err(Failure::Transient(format!("HTTP {status}")));
    }
    if !status.is_success() {
        return Err(Failure::Final(refused(format!("HTTP {status}"))));
    }
    if response.content_length().is_some_and(|n| n > max) {
        return Err(Failure::Final(too_big(max)));
    }
    read_capped(response, max, too_big, broken).await
}

/// A response's body, refused with `too_big(max)` once it passes `max`
/// bytes; a broken body goes through `broken`.
pub async fn read_capped<E>(
    mut response: reqwest::Response,
    max: u64,
    too_big: impl FnOnce(u64) -> E,
    broken: impl Fn(reqwest::Error) -> Failure<E>,
) -> Result<Vec<u8>, Failure<E>> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(&broken)? {
        if (body.len() + chunk.len()) as u64 > max {
            return Err(Failure::Final(too_big(max)));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Whether `url` is on `origin` (same scheme, host and port).
pub fn same_origin(origin: &Url, url: &Url) -> bool {
    url.scheme() == origin.scheme()
        && url.host_str() == origin.host_str()
        && url.port_or_known_default() == origin.port_or_known_default()
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
