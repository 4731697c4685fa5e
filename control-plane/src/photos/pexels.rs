//! The Pexels API's photo search (`GET /v1/search`, the key in the
//! `Authorization` header), as documented at <https://www.pexels.com/api/documentation/>.

use serde::Deserialize;
use url::Url;

use super::{search_url, Candidate, Http, PhotoError, MAX_SEARCH_BYTES};

/// A Pexels API client.
pub struct Pexels {
    base: Url,
    key: String,
    http: Http,
}

#[derive(Deserialize)]
struct Answer {
    photos: Vec<Found>,
}

#[derive(Deserialize)]
struct Found {
    id: u64,
    /// The photo's page on pexels.com.
    url: String,
    photographer: String,
    photographer_url: String,
    #[serde(default)]
    alt: Option<String>,
    src: Sources,
}

#[derive(Deserialize)]
struct Sources {
    #[serde(default)]
    landscape: Option<String>,
    #[serde(default)]
    large: Option<String>,
    #[serde(default)]
    large2x: Option<String>,
}

impl Pexels {
    /// A client of the API at `base` (`https://api.pexels.com`).
    pub fn new(base: Url, key: &str, http: Http) -> Self {
        Self {
            base,
            key: key.to_owned(),
            http,
        }
    }

    /// Landscape photos for `query`, best first: each one's landscape crop
    /// (1200 × 627), else its large size.
    pub async fn search(&self, query: &str, per_page: u32) -> Result<Vec<Candidate>, PhotoError> {
        let url = search_url(&self.base, "v1/search", query, per_page)?;
        let (_, body) = self
            .http
            .get(
                |client| {
                    client
                        .get(url.clone())
                        .header(reqwest::header::AUTHORIZATION, &self.key)
                },
                MAX_SEARCH_BYTES,
            )
            .await?;
        let answer: Answer = serde_json::from_slice(&body)
            .map_err(|e| PhotoError::Refused(format!("its answer does not read: {e}")))?;
        Ok(answer
            .photos
            .into_iter()
            .filter_map(|found| {
                let image = found
                    .src
                    .landscape
                    .or(found.src.large)
                    .or(found.src.large2x)?;
                Some(Candidate {
                    id: found.id.to_string(),
                    image_url: Url::parse(&image).ok()?,
                    alt: found.alt,
                    photographer: found.photographer,
                    photographer_url: found.photographer_url,
                    provider_url: found.url,
                    download_location: None,
                })
            })
            .collect())
    }
}
