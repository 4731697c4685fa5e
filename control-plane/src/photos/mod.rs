//! Stock photos for generated sites, from Pexels or Unsplash when one of
//! their keys is set (Pexels first when both are): `PhotoLibrary` is the
//! generation crate's `PhotoSource`, searching once per picture slot and
//! choosing a different landscape photo for each, and it is where the
//! deployment and the dashboard's preview get a downloaded photo's bytes.
//!
//! Pexels photos are downloaded (only from the configured image origin,
//! `https://images.pexels.com`, at most `photo_max_bytes`, JPEG, PNG or
//! WebP by their first bytes) and kept in a content-addressed cache on disk
//! (`data_dir/photos`); the draft records each one's URL and SHA-256, so a
//! node that lacks the bytes fetches them again and checks the hash.
//! Unsplash's API guidelines ask that its images be shown from its own
//! servers (hotlinked) and that choosing one be reported to its
//! `download_location`: an Unsplash photo's URL (only from
//! `https://images.unsplash.com`) goes into the page as it is, and the
//! deployment ships no bytes for it.
//!
//! Searches and downloads are tried three times on timeouts, failed
//! connections and 5xx answers, never on a 4xx. Nothing here fails a
//! generation: a slot that cannot be filled keeps its drawn image.

mod cache;
mod pexels;
mod unsplash;

use std::time::Duration;

use async_trait::async_trait;
use gsw_generation::images;
use gsw_generation::photos::{Photo, PhotoFile, PhotoProvider, PhotoSource, PhotoWanted};
use url::Url;

pub use cache::PhotoCache;
pub use pexels::Pexels;
pub use unsplash::Unsplash;

use crate::outbound::{self, same_origin, sha256_hex, Retries};
use crate::settings::Settings;

/// Tries per request, the first included, and the wait before the first
/// retry (doubled before each next one). Only timeouts, failed connections
/// and 5xx answers are tried again; a 4xx answer is final.
const RETRIES: Retries = Retries {
    attempts: 3,
    backoff: Duration::from_millis(200),
};
/// Largest search answer read (real ones are tens of kilobytes).
const MAX_SEARCH_BYTES: u64 = 2 * 1024 * 1024;
/// Results asked for per search: enough to pick one not already used.
const PER_PAGE: u32 = 8;
/// Searches run at once.
const CONCURRENT_SEARCHES: usize = 4;

/// Why a photo could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    #[error("the photo provider could not be reached ({0})")]
    Unreachable(String),
    #[error("the photo provider refused ({0})")]
    Refused(String),
    #[error("its image {0} is not on the provider's image host")]
    ForeignHost(String),
    #[error("its image is over the {0}-byte limit")]
    TooBig(u64),
    #[error("its image is not a JPEG, PNG or WebP file")]
    NotAnImage,
    #[error("its image's bytes are not the ones recorded")]
    Changed,
}

/// One attempt's failure: worth another try, or not.
pub(crate) type Failure = outbound::Failure<PhotoError>;

/// A search result as the provider describes it, before one is chosen.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub id: String,
    /// The image to show (Unsplash) or download (Pexels).
    pub image_url: Url,
    /// The provider's description of the photo, if it has one.
    pub alt: Option<String>,
    pub photographer: String,
    pub photographer_url: String,
    pub provider_url: String,
    /// Unsplash's `links.download_location`, reported when the photo is used.
    pub download_location: Option<Url>,
}

/// A provider's search.
enum Provider {
    Pexels(Pexels),
    Unsplash(Unsplash),
}

/// HTTP as the photo clients use it: one client, a timeout per request,
/// retries, capped bodies.
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    timeout: Duration,
}

impl Http {
    /// A client that follows no redirect: every URL it reads is checked first.
    pub fn new(timeout: Duration) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("gsWstudio/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self { client, timeout })
    }

    /// Sends what `request` builds, up to [`RETRIES`] times, and reads the
    /// body of a 2xx answer (at most `max` bytes). A 4xx is final.
    pub(crate) async fn get(
        &self,
        request: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        max: u64,
    ) -> Result<(Option<String>, Vec<u8>), PhotoError> {
        RETRIES
            .run("photo provider", PhotoError::Unreachable, || async {
                let response = request(&self.client)
                    .timeout(self.timeout)
                    .send()
                    .await
                    .map_err(transient)?;
                let content_type = response
                    .headers()
                    .get(reqwest::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let body = outbound::read_success(
                    response,
                    max,
                    PhotoError::Refused,
                    PhotoError::TooBig,
                    transient,
                )
                .await?;
                Ok((content_type, body))
            })
            .await
    }
}

/// A provider's search URL (`path` on `base`) for landscape photos of
/// `query`, `per_page` of them: both APIs take the same parameters.
fn search_url(base: &Url, path: &str, query: &str, per_page: u32) -> Result<Url, PhotoError> {
    let mut url = base
        .join(path)
        .map_err(|e| PhotoError::Refused(e.to_string()))?;
    url.query_pairs_mut()
        .append_pair("query", query)
        .append_pair("orientation", "landscape")
        .append_pair("per_page", &per_page.to_string());
    Ok(url)
}

fn transient(e: reqwest::Error) -> Failure {
    Failure::Transient(outbound::request_failure(&e).to_owned())
}

/// Where photos come from, and their bytes.
pub struct PhotoLibrary {
    provider: Option<Provider>,
    http: Http,
    max_bytes: u64,
    cache: PhotoCache,
    /// The origin Pexels images may be downloaded from.
    pexels_images: Url,
}

impl PhotoLibrary {
    /// The provider whose key the settings give (Pexels first), caching under
    /// `data_dir/photos`. With no key, it chooses nothing.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let http = Http::new(Duration::from_secs(settings.photo_timeout_secs))?;
        let pexels_images = Url::parse(&settings.pexels_image_url)?;
        let provider = if let Some(key) = &settings.pexels_api_key {
            Some(Provider::Pexels(Pexels::new(
                Url::parse(&settings.pexels_base_url)?,
                key.expose(),
                http.clone(),
            )))
        } else if let Some(key) = &settings.unsplash_access_key {
            Some(Provider::Unsplash(Unsplash::new(
                Url::parse(&settings.unsplash_base_url)?,
                key.expose(),
                Url::parse(&settings.unsplash_image_url)?,
                &settings.unsplash_app_name,
                http.clone(),
            )))
        } else {
            None
        };
        Ok(Self {
            provider,
            http,
            max_bytes: settings.photo_max_bytes,
            cache: PhotoCache::new(
                settings.data_dir.join("photos"),
                settings.photo_cache_max_bytes,
            ),
            pexels_images,
        })
    }

    /// Whether a provider's key is set.
    pub fn enabled(&self) -> bool {
        self.provider.is_some()
    }

    /// A downloaded photo's bytes: from the cache, else fetched again from
    /// its URL (on its provider's image origin) and checked against the
    /// recorded hash. `None` for a hotlinked photo.
    pub async fn bytes(&self, photo: &Photo) -> Result<Option<Vec<u8>>, PhotoError> {
        let Some(file) = &photo.file else {
            return Ok(None);
        };
        if let Some(bytes) = self.cache.get(&file.sha256).await {
            return Ok(Some(bytes));
        }
        let url = Url::parse(&photo.image_url)
            .map_err(|_| PhotoError::ForeignHost(photo.image_url.clone()))?;
        if photo.provider != PhotoProvider::Pexels || !same_origin(&self.pexels_images, &url) {
            return Err(PhotoError::ForeignHost(photo.image_url.clone()));
        }
        let (bytes, _) = self.download(&url).await?;
        if sha256_hex(&bytes) != file.sha256 {
            return Err(PhotoError::Changed);
        }
        self.keep(&file.sha256, &bytes).await;
        Ok(Some(bytes))
    }

    /// Downloads an image: at most `max_bytes`, and only JPEG, PNG or WebP
    /// by its first bytes. Its content type, read from the bytes.
    async fn download(&self, url: &Url) -> Result<(Vec<u8>, &'static str), PhotoError> {
        let (_, bytes) = self
            .http
            .get(|client| client.get(url.clone()), self.max_bytes)
            .await?;
        let content_type = images::sniff(&bytes).ok_or(PhotoError::NotAnImage)?;
        Ok((bytes, content_type))
    }

    async fn keep(&self, sha256: &str, bytes: &[u8]) {
        if let Err(e) = self.cache.put(sha256, bytes).await {
            tracing::warn!(error = %e, "cannot cache a photo");
        }
    }

    /// One slot's photo from a provider's candidates: the first not in
    /// `used` that can be had (downloaded, for Pexels).
    async fn pick(
        &self,
        provider: &Provider,
        want: &PhotoWanted,
        candidates: Vec<Candidate>,
        used: &mut std::collections::HashSet<String>,
    ) -> Option<Photo> {
        for candidate in candidates {
            if !used.insert(candidate.id.clone()) {
                continue;
            }
            let alt = candidate
                .alt
                .as_deref()
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(|a| gsw_generation::blocks::clip(a, 160))
                .unwrap_or_else(|| want.title.clone());
            let photo = |kind, file| Photo {
                slot: want.slot.clone(),
                provider: kind,
                id: candidate.id.clone(),
                image_url: candidate.image_url.to_string(),
                file,
                alt: alt.clone(),
                photographer: candidate.photographer.clone(),
                photographer_url: candidate.photographer_url.clone(),
                provider_url: candidate.provider_url.clone(),
                language: None,
            };
            match provider {
                Provider::Pexels(_) => {
                    if !same_origin(&self.pexels_images, &candidate.image_url) {
                        tracing::warn!(url = %candidate.image_url, "a Pexels image off its image host; skipped");
                        continue;
                    }
                    match self.download(&candidate.image_url).await {
                        Ok((bytes, content_type)) => {
                            let sha256 = sha256_hex(&bytes);
                            let path = images::photo_path(&want.slot, content_type)?;
                            self.keep(&sha256, &bytes).await;
                            return Some(photo(
                                PhotoProvider::Pexels,
                                Some(PhotoFile {
                                    path,
                                    sha256,
                                    content_type: content_type.to_owned(),
                                }),
                            ));
                        }
                        Err(e) => {
                            tracing::warn!(url = %candidate.image_url, error = %e, "a Pexels photo cannot be had; trying the next");
                        }
                    }
                }
                Provider::Unsplash(unsplash) => {
                    if !unsplash.is_image_url(&candidate.image_url) {
                        tracing::warn!(url = %candidate.image_url, "an Unsplash image off its image host; skipped");
                        continue;
                    }
                    if let Some(location) = &candidate.download_location {
                        unsplash.track_download(location).await;
                    }
                    return Some(photo(PhotoProvider::Unsplash, None));
                }
            }
        }
        None
    }
}

/// One slot's search; a failure is logged and finds nothing.
async fn search(provider: &Provider, want: &PhotoWanted) -> Vec<Candidate> {
    let found = match provider {
        Provider::Pexels(p) => p.search(&want.query, PER_PAGE).await,
        Provider::Unsplash(u) => u.search(&want.query, PER_PAGE).await,
    };
    found.unwrap_or_else(|e| {
        tracing::warn!(query = %want.query, error = %e, "photo search failed; the picture stays drawn");
        Vec::new()
    })
}

#[async_trait]
impl PhotoSource for PhotoLibrary {
    fn name(&self) -> &'static str {
        match &self.provider {
            Some(Provider::Pexels(_)) => "pexels",
            Some(Provider::Unsplash(_)) => "unsplash",
            None => "none",
        }
    }

    async fn choose(&self, wanted: &[PhotoWanted]) -> Vec<Photo> {
        use futures::stream::{self, StreamExt};
        use futures::FutureExt;
        let Some(provider) = &self.provider else {
            return Vec::new();
        };
        // Searches run concurrently; choices are made in slot order so the
        // same answers give the same photos.
        let searches: Vec<_> = wanted
            .iter()
            .map(|want| search(provider, want).boxed())
            .collect();
        let searches: Vec<Vec<Candidate>> = stream::iter(searches)
            .buffered(CONCURRENT_SEARCHES)
            .collect()
            .await;
        let mut used = std::collections::HashSet::new();
        let mut chosen = Vec::new();
        for (want, candidates) in wanted.iter().zip(searches) {
            if let Some(photo) = self.pick(provider, want, candidates, &mut used).await {
                chosen.push(photo);
            }
        }
        chosen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_match_on_scheme_host_and_port() {
        let origin = Url::parse("https://images.pexels.com").unwrap();
        let ok = |u: &str| same_origin(&origin, &Url::parse(u).unwrap());
        assert!(ok("https://images.pexels.com/photos/1/p.jpeg?w=940"));
        assert!(!ok("http://images.pexels.com/photos/1/p.jpeg"));
        assert!(!ok("https://images.pexels.com.evil.example/p.jpeg"));
        assert!(!ok("https://images.pexels.com:8443/p.jpeg"));
    }
}
