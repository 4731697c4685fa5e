//! The Unsplash API's photo search (`GET /search/photos`, `Authorization:
//! Client-ID <key>`, `Accept-Version: v1`) and its download tracking
//! (`links.download_location`), as documented at
//! <https://unsplash.com/documentation>. Its API guidelines ask that the
//! image URLs it returns be hotlinked, that using a photo be reported to
//! its download location, and that the credit link the photographer and
//! Unsplash with `utm_source=<app>&utm_medium=referral`.

use serde::Deserialize;
use url::Url;

use super::{same_origin, search_url, Candidate, Http, PhotoError, MAX_SEARCH_BYTES};

/// An Unsplash API client.
pub struct Unsplash {
    base: Url,
    key: String,
    images: Url,
    app: String,
    http: Http,
}

#[derive(Deserialize)]
struct Answer {
    results: Vec<Found>,
}

#[derive(Deserialize)]
struct Found {
    id: String,
    #[serde(default)]
    alt_description: Option<String>,
    #[serde(default)]
    description: Option<String>,
    urls: Urls,
    user: User,
    links: Links,
}

#[derive(Deserialize)]
struct Urls {
    regular: String,
}

#[derive(Deserialize)]
struct User {
    name: String,
    links: UserLinks,
}

#[derive(Deserialize)]
struct UserLinks {
    html: String,
}

#[derive(Deserialize)]
struct Links {
    download_location: String,
}

impl Unsplash {
    /// A client of the API at `base` (`https://api.unsplash.com`), whose
    /// images are shown from `images` (`https://images.unsplash.com`);
    /// `app` is the `utm_source` of credit links.
    pub fn new(base: Url, key: &str, images: Url, app: &str, http: Http) -> Self {
        Self {
            base,
            key: key.to_owned(),
            images,
            app: app.to_owned(),
            http,
        }
    }

    fn request(&self, client: &reqwest::Client, url: Url) -> reqwest::RequestBuilder {
        client
            .get(url)
            .header(
                reqwest::header::AUTHORIZATION,
                format!("Client-ID {}", self.key),
            )
            .header("Accept-Version", "v1")
    }

    /// Landscape photos for `query`, best first, each at its `regular` size
    /// (1080 pixels wide).
    pub async fn search(&self, query: &str, per_page: u32) -> Result<Vec<Candidate>, PhotoError> {
        let url = search_url(&self.base, "search/photos", query, per_page)?;
        let (_, body) = self
            .http
            .get(|client| self.request(client, url.clone()), MAX_SEARCH_BYTES)
            .await?;
        let answer: Answer = serde_json::from_slice(&body)
            .map_err(|e| PhotoError::Refused(format!("its answer does not read: {e}")))?;
        Ok(answer
            .results
            .into_iter()
            .filter_map(|found| {
                Some(Candidate {
                    id: found.id,
                    image_url: Url::parse(&found.urls.regular).ok()?,
                    alt: found.alt_description.or(found.description),
                    photographer: found.user.name,
                    photographer_url: self.referral(&found.user.links.html)?,
                    provider_url: self.referral("https://unsplash.com/")?,
                    download_location: Url::parse(&found.links.download_location).ok(),
                })
            })
            .collect())
    }

    /// `link` with the referral parameters Unsplash's guidelines ask for.
    fn referral(&self, link: &str) -> Option<String> {
        let mut url = Url::parse(link).ok()?;
        url.query_pairs_mut()
            .append_pair("utm_source", &self.app)
            .append_pair("utm_medium", "referral");
        Some(url.to_string())
    }

    /// Whether a hotlinked image is on Unsplash's image host.
    pub fn is_image_url(&self, url: &Url) -> bool {
        same_origin(&self.images, url)
    }

    /// Tells Unsplash a photo is used (its `download_location`), as its
    /// guidelines require. Only on the API's own origin, so the key goes
    /// nowhere else; a failure is logged, not fatal.
    pub async fn track_download(&self, location: &Url) {
        if !same_origin(&self.base, location) {
            tracing::warn!(url = %location, "an Unsplash download location off its API host; not called");
            return;
        }
        if let Err(e) = self
            .http
            .get(
                |client| self.request(client, location.clone()),
                MAX_SEARCH_BYTES,
            )
            .await
        {
            tracing::warn!(error = %e, "reporting an Unsplash download failed");
        }
    }
}
