//! Plugins from the WordPress.org plugin directory, so a deployed site has
//! the plugins its plan promises: each planned plugin is asked of the
//! directory's plugin information API (`/plugins/info/1.2/`), its zip
//! downloaded (only from the directory's own hosts, size-capped, checked to
//! open as the plugin's folder) and kept in a cache on disk by slug and
//! version. A plugin that cannot be had is named with the reason; nothing
//! here fails a deployment.

mod cache;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

pub use cache::ZipCache;

use crate::outbound::{self, sha256_hex, Retries};
use crate::settings::Settings;

/// The host the real directory's download links point at.
pub const DOWNLOAD_HOST: &str = "downloads.wordpress.org";
/// Tries per request, the first included, and the wait before the first
/// retry (doubled before each next one). Only timeouts, failed connections
/// and 5xx answers are tried again; a 4xx answer is final.
const RETRIES: Retries = Retries {
    attempts: 3,
    backoff: Duration::from_millis(250),
};
/// Largest information answer read (the real ones are tens of kilobytes).
const MAX_INFO_BYTES: u64 = 4 * 1024 * 1024;

/// What the directory says of a plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    pub slug: String,
    pub name: String,
    pub version: String,
    pub download_link: Url,
}

/// A plugin's zip, as downloaded or cached, with its SHA-256 (hex).
#[derive(Debug, Clone)]
pub struct PluginZip {
    pub slug: String,
    pub version: String,
    pub bytes: Arc<Vec<u8>>,
    pub sha256: String,
}

impl PluginZip {
    fn new(slug: &str, version: &str, bytes: Vec<u8>) -> Self {
        Self {
            slug: slug.to_owned(),
            version: version.to_owned(),
            sha256: sha256_hex(&bytes),
            bytes: Arc::new(bytes),
        }
    }
}

/// Why a plugin cannot be had; the message is what a deployment's warning says.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unavailable {
    #[error("not in the WordPress.org plugin directory")]
    NotFound,
    #[error("the plugin directory could not be reached ({0})")]
    Unreachable(String),
    #[error("the plugin directory refused ({0})")]
    Refused(String),
    #[error("its download link {0} is not on the plugin directory's hosts")]
    ForeignHost(String),
    #[error("its zip is over the {0}-byte limit")]
    TooBig(u64),
    #[error("its zip does not open as the plugin ({0})")]
    BadZip(String),
    #[error("it does not fit in the bundle")]
    NoRoom,
}

/// One attempt's failure: worth another try, or not.
type Failure = outbound::Failure<Unavailable>;

/// A plan's plugins resolved: the zips to ship, and why the others cannot be had.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    pub zips: Vec<PluginZip>,
    /// Slug → why it cannot be had.
    pub unavailable: BTreeMap<String, Unavailable>,
}

/// The directory client and its zip cache.
pub struct PluginDirectory {
    base: Url,
    client: reqwest::Client,
    timeout: Duration,
    max_zip_bytes: u64,
    cache: ZipCache,
}

impl PluginDirectory {
    /// The directory the settings name, caching under `data_dir/plugin-zips`.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        Self::new(
            Url::parse(&settings.plugin_directory_url)?,
            Duration::from_secs(settings.plugin_directory_timeout_secs),
            settings.plugin_zip_max_bytes,
            ZipCache::new(
                settings.data_dir.join("plugin-zips"),
                settings.plugin_cache_max_bytes,
            ),
        )
    }

    /// A client of the directory at `base` (the API's root, e.g. `https://api.wordpress.org`).
    pub fn new(
        base: Url,
        timeout: Duration,
        max_zip_bytes: u64,
        cache: ZipCache,
    ) -> anyhow::Result<Self> {
        let rule = base.clone();
        // A redirect may not lead a download off the directory's hosts.
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 5 {
                attempt.error("too many redirects")
            } else if allowed_download(&rule, attempt.url()) {
                attempt.follow()
            } else {
                let to = attempt.url().to_string();
                attempt.error(format!("redirected off the directory's hosts, to {to}"))
            }
        });
        let client = reqwest::Client::builder()
            .user_agent(concat!("gsWstudio/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(timeout)
            .redirect(redirects)
            .build()?;
        Ok(Self {
            base,
            client,
            timeout,
            max_zip_bytes,
            cache,
        })
    }

    /// Resolves every slug at once, each within a deadline, so a slow
    /// directory delays a deployment by a bounded time.
    pub async fn resolve(&self, slugs: &[String]) -> Resolved {
        let deadline = self.timeout * 6;
        let fetched = futures::future::join_all(slugs.iter().map(|slug| async move {
            let fetched = tokio::time::timeout(deadline, self.fetch(slug))
                .await
                .unwrap_or_else(|_| {
                    Err(Unavailable::Unreachable(format!(
                        "no answer within {}s",
                        deadline.as_secs()
                    )))
                });
            (slug.clone(), fetched)
        }))
        .await;
        let mut resolved = Resolved::default();
        for (slug, fetched) in fetched {
            match fetched {
                Ok(zip) => resolved.zips.push(zip),
                Err(why) => {
                    tracing::warn!(%slug, error = %why, "a planned plugin cannot be had");
                    resolved.unavailable.insert(slug, why);
                }
            }
        }
        resolved
    }

    /// A plugin's newest zip: from the cache when that version is there,
    /// else downloaded (and cached). When the directory cannot be reached,
    /// the newest cached version of the plugin, if there is one.
    pub async fn fetch(&self, slug: &str) -> Result<PluginZip, Unavailable> {
        let info = match self.info(slug).await {
            Ok(info) => info,
            Err(Unavailable::Unreachable(why)) => {
                return self
                    .cache
                    .newest(slug)
                    .await
                    .ok_or(Unavailable::Unreachable(why))
            }
            Err(other) => return Err(other),
        };
        if let Some(zip) = self.cache.get(slug, &info.version).await {
            return Ok(zip);
        }
        let zip = match self.download(&info).await {
            Ok(zip) => zip,
            Err(Unavailable::Unreachable(why)) => {
                return self
                    .cache
                    .newest(slug)
                    .await
                    .ok_or(Unavailable::Unreachable(why))
            }
            Err(other) => return Err(other),
        };
        if let Err(e) = self.cache.put(&zip).await {
            tracing::warn!(%slug, error = %e, "cannot cache a plugin zip");
        }
        Ok(zip)
    }

    /// The directory's `plugin_information` answer for `slug`.
    pub async fn info(&self, slug: &str) -> Result<PluginInfo, Unavailable> {
        if !is_slug(slug) {
            return Err(Unavailable::NotFound);
        }
        let mut url = self
            .base
            .join("plugins/info/1.2/")
            .map_err(|e| Unavailable::Refused(e.to_string()))?;
        let slug_param: String = url::form_urlencoded::byte_serialize(slug.as_bytes()).collect();
        url.set_query(Some(&format!(
            "action=plugin_information&request[slug]={slug_param}"
        )));
        let body = RETRIES
            .run("plugin directory", Unavailable::Unreachable, || async {
                let response = self
                    .client
                    .get(url.clone())
                    .header(reqwest::header::ACCEPT, "application/json")
                    .timeout(self.timeout)
                    .send()
                    .await
                    .map_err(transient)?;
                let status = response.status();
                let body =
                    outbound::read_capped(response, MAX_INFO_BYTES, Unavailable::TooBig, transient)
                        .await?;
                match status.as_u16() {
                    200..=299 | 404 => Ok(body),
                    500..=599 => Err(Failure::Transient(format!("HTTP {status}"))),
                    _ => Err(Failure::Final(Unavailable::Refused(format!(
                        "HTTP {status}"
                    )))),
                }
            })
            .await?;
        let answer: InfoAnswer = serde_json::from_slice(&body).map_err(|e| {
            Unavailable::Refused(format!("its plugin information does not read: {e}"))
        })?;
        // The real directory answers an unknown slug 404 with an error body;
        // older versions of it answered 200 with the same body.
        if let Some(error) = answer.error {
            return Err(if error.to_ascii_lowercase().contains("not found") {
                Unavailable::NotFound
            } else {
                Unavailable::Refused(error)
            });
        }
        let (Some(version), Some(link)) = (answer.version, answer.download_link) else {
            return Err(Unavailable::Refused(
                "its plugin information has no version or download_link".into(),
            ));
        };
        if !is_version(&version) {
            return Err(Unavailable::Refused(format!(
                "version {version:?} is not a version"
            )));
        }
        let download_link = Url::parse(&link).map_err(|_| Unavailable::ForeignHost(link))?;
        Ok(PluginInfo {
            slug: slug.to_owned(),
            name: answer.name.unwrap_or_else(|| slug.to_owned()),
            version,
            download_link,
        })
    }

    /// Downloads the zip `info` links to: only from the directory's host or
    /// downloads.wordpress.org, at most `max_zip_bytes`, and only a zip that
    /// opens with every file in the plugin's folder.
    pub async fn download(&self, info: &PluginInfo) -> Result<PluginZip, Unavailable> {
        if !allowed_download(&self.base, &info.download_link) {
            return Err(Unavailable::ForeignHost(info.download_link.to_string()));
        }
        let max = self.max_zip_bytes;
        let bytes = RETRIES
            .run("plugin directory", Unavailable::Unreachable, || async {
                let response = self
                    .client
                    .get(info.download_link.clone())
                    .timeout(self.timeout * 4)
                    .send()
                    .await
                    .map_err(transient)?;
                outbound::read_success(
                    response,
                    max,
                    |status| Unavailable::Refused(format!("{status} for its zip")),
                    Unavailable::TooBig,
                    transient,
                )
                .await
            })
            .await?;
        check_zip(&info.slug, &bytes)?;
        Ok(PluginZip::new(&info.slug, &info.version, bytes))
    }
}

/// The fields of a `plugin_information` answer that are used.
#[derive(Deserialize)]
struct InfoAnswer {
    name: Option<String>,
    version: Option<String>,
    download_link: Option<String>,
    error: Option<String>,
}

/// A request error: a link off the directory's hosts is final, the rest
/// (timeouts, refused connections, broken bodies) worth another try.
fn transient(e: reqwest::Error) -> Failure {
    if e.is_redirect() {
        let to = e.url().map(Url::to_string).unwrap_or_default();
        return Failure::Final(Unavailable::ForeignHost(to));
    }
    Failure::Transient(outbound::request_failure(&e).to_owned())
}

/// Whether a download may come from `link`: the directory's own host and
/// port (same scheme), or downloads.wordpress.org over https.
fn allowed_download(base: &Url, link: &Url) -> bool {
    let same_origin = outbound::same_origin(base, link);
    let wordpress_org = link.scheme() == "https" && link.host_str() == Some(DOWNLOAD_HOST);
    same_origin || wordpress_org
}

/// A zip that opens, with every entry in `slug/` (a `__MACOSX/` beside it
/// is ignored, as WordPress does), so the connector finds the plugin by its slug.
fn check_zip(slug: &str, bytes: &[u8]) -> Result<(), Unavailable> {
    let archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| Unavailable::BadZip(e.to_string()))?;
    let folder = format!("{slug}/");
    let mut names = archive.file_names().peekable();
    if names.peek().is_none() {
        return Err(Unavailable::BadZip("it is empty".into()));
    }
    let outside = |n: Result<std::borrow::Cow<'_, str>, _>| {
        n.map_or(true, |n| {
            !n.starts_with(&folder) && !n.starts_with("__MACOSX/")
        })
    };
    if names.any(outside) {
        return Err(Unavailable::BadZip(format!(
            "its files are not all in a {folder} folder"
        )));
    }
    Ok(())
}

/// A WordPress.org slug: lowercase letters, digits and hyphens.
pub fn is_slug(slug: &str) -> bool {
    (1..=100).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
}

/// A version as plugins write them (`1.2.3`, `5.0-beta1`), safe in a file name.
fn is_version(version: &str) -> bool {
    (1..=64).contains(&version.len())
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'+'))
        && !version.starts_with('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downloads_come_only_from_the_directory_or_wordpress_org() {
        let base = Url::parse("https://api.wordpress.org").unwrap();
        let ok = |link: &str| allowed_download(&base, &Url::parse(link).unwrap());
        assert!(ok(
            "https://downloads.wordpress.org/plugin/wpforms-lite.1.9.zip"
        ));
        assert!(ok("https://api.wordpress.org/x.zip"));
        assert!(!ok("http://downloads.wordpress.org/plugin/x.zip"));
        assert!(!ok("https://downloads.wordpress.org.evil.example/x.zip"));
        assert!(!ok("https://api.wordpress.org:8443/x.zip"));
        assert!(!ok("https://example.com/x.zip"));
    }

    #[test]
    fn slugs_and_versions_are_plain() {
        assert!(is_slug("wpforms-lite"));
        for bad in ["", "../x", "a/b", "A", "-x", "a b"] {
            assert!(!is_slug(bad), "{bad}");
        }
        assert!(is_version("1.9.2.1") && is_version("5.0-beta1"));
        for bad in ["", "..", "1/2", "1 2"] {
            assert!(!is_version(bad), "{bad}");
        }
    }
}
