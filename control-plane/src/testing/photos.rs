//! Local fakes of the Pexels and Unsplash APIs: their photo search answering
//! in the documented format, refusing what the real ones refuse (no key or
//! a wrong one: 401 with their error body; a missing query or a bad
//! parameter: 400), Unsplash's download tracking, and an image host serving
//! the JPEGs the tests make ([`jpeg`]). Failures can be scripted; every
//! request is recorded.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

/// Which API a fake speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Pexels,
    Unsplash,
}

/// A photo the fake has.
#[derive(Debug, Clone)]
pub struct FakePhoto {
    pub id: String,
    pub alt: Option<String>,
    pub photographer: String,
    pub bytes: Vec<u8>,
}

#[derive(Default)]
struct Fake {
    photos: Vec<FakePhoto>,
    /// Statuses to answer the next API requests with, before answering properly.
    failures: VecDeque<u16>,
    /// Image URLs on this origin instead of the fake's own.
    image_origin: Option<String>,
    /// Every request's path and query.
    requests: Vec<String>,
}

/// A running fake of one photo API and its image host.
pub struct FakePhotoApi {
    /// Its base URL, for `pexels_base_url` / `unsplash_base_url` and the image origin.
    pub url: String,
    pub key: String,
    api: Api,
    fake: Arc<Mutex<Fake>>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct Shared {
    api: Api,
    key: String,
    url: String,
    fake: Arc<Mutex<Fake>>,
}

impl FakePhotoApi {
    /// Starts a fake of `api` on a port of its own, accepting `key`.
    pub async fn start(api: Api, key: &str) -> Self {
        let fake = Arc::new(Mutex::new(Fake::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let shared = Shared {
            api,
            key: key.to_owned(),
            url: url.clone(),
            fake: fake.clone(),
        };
        let app = Router::new()
            .route("/v1/search", get(pexels_search))
            .route("/search/photos", get(unsplash_search))
            .route("/photos/{id}/download", get(unsplash_download))
            .route("/images/{file}", get(image))
            .with_state(shared);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url,
            key: key.to_owned(),
            api,
            fake,
            task,
        }
    }

    /// Adds a photo that every search finds, in the order added.
    pub fn add(&self, id: &str, alt: Option<&str>, photographer: &str, bytes: Vec<u8>) {
        self.fake.lock().unwrap().photos.push(FakePhoto {
            id: id.to_owned(),
            alt: alt.map(str::to_owned),
            photographer: photographer.to_owned(),
            bytes,
        });
    }

    /// Serves other bytes for photo `id` from now on (a provider whose image changed).
    pub fn replace(&self, id: &str, bytes: Vec<u8>) {
        let mut fake = self.fake.lock().unwrap();
        if let Some(photo) = fake.photos.iter_mut().find(|p| p.id == id) {
            photo.bytes = bytes;
        }
    }

    /// Answers the next API requests with these statuses.
    pub fn fail_next(&self, statuses: &[u16]) {
        self.fake
            .lock()
            .unwrap()
            .failures
            .extend(statuses.iter().copied());
    }

    /// Gives image URLs on `origin` (e.g. `http://localhost:1234`) from now on.
    pub fn images_on(&self, origin: &str) {
        self.fake.lock().unwrap().image_origin = Some(origin.to_owned());
    }

    /// The requests received so far (path and query).
    pub fn requests(&self) -> Vec<String> {
        self.fake.lock().unwrap().requests.clone()
    }

    /// Which API it speaks.
    pub fn api(&self) -> Api {
        self.api
    }
}

impl Drop for FakePhotoApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Records the request; a scripted failure if one is due.
fn record(shared: &Shared, request: String) -> Option<Response> {
    let mut fake = shared.fake.lock().unwrap();
    fake.requests.push(request);
    let status = fake.failures.pop_front()?;
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    Some((status, "scripted failure").into_response())
}

fn error(api: Api, status: StatusCode, message: &str) -> Response {
    let body = match api {
        Api::Pexels => json!({"status": status.as_u16(), "code": message}),
        Api::Unsplash => json!({"errors": [message]}),
    };
    (status, Json(body)).into_response()
}

/// The key check of each API: Pexels wants the key itself in
/// `Authorization`, Unsplash `Client-ID <key>`.
fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match shared.api {
        Api::Pexels => given == Some(shared.key.as_str()),
        Api::Unsplash => given == Some(format!("Client-ID {}", shared.key).as_str()),
    }
}

/// The query parameters both searches share, checked as the real APIs do:
/// the search text, and the page size; or why the request is bad (400).
fn search_params(
    api: Api,
    query: &HashMap<String, String>,
) -> Result<(String, usize), &'static str> {
    let text = query.get("query").map(|q| q.trim()).unwrap_or_default();
    if text.is_empty() {
        return Err(match api {
            Api::Pexels => "Bad Request: query is required",
            Api::Unsplash => "query is missing",
        });
    }
    if let Some(orientation) = query.get("orientation") {
        let known = match api {
            Api::Pexels => ["landscape", "portrait", "square"].as_slice(),
            Api::Unsplash => ["landscape", "portrait", "squarish"].as_slice(),
        };
        if !known.contains(&orientation.as_str()) {
            return Err("Bad Request: orientation is invalid");
        }
    }
    let most = match api {
        Api::Pexels => 80,
        Api::Unsplash => 30,
    };
    let per_page = match query.get("per_page") {
        None => 15.min(most),
        Some(n) => match n.parse::<usize>() {
            Ok(n) if (1..=most).contains(&n) => n,
            _ => return Err("Bad Request: per_page is invalid"),
        },
    };
    Ok((text.to_owned(), per_page))
}

fn image_url(shared: &Shared, fake: &Fake, id: &str, query: &str) -> String {
    let origin = fake.image_origin.clone().unwrap_or(shared.url.clone());
    format!("{origin}/images/{id}.jpeg?{query}")
}

async fn pexels_search(
    State(shared): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    if let Some(failure) = record(&shared, uri.to_string()) {
        return failure;
    }
    if shared.api != Api::Pexels {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    if !authorized(&shared, &headers) {
        return error(Api::Pexels, StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    let (_, per_page) = match search_params(Api::Pexels, &query) {
        Ok(p) => p,
        Err(why) => return error(Api::Pexels, StatusCode::BAD_REQUEST, why),
    };
    let fake = shared.fake.lock().unwrap();
    let photos: Vec<Value> = fake
        .photos
        .iter()
        .take(per_page)
        .map(|p| {
            let src = |q: &str| image_url(&shared, &fake, &p.id, q);
            json!({
                "id": p.id.parse::<u64>().unwrap_or(1),
                "width": 4000,
                "height": 2667,
                "url": format!("https://www.pexels.com/photo/{}/", p.id),
                "photographer": p.photographer,
                "photographer_url": format!("https://www.pexels.com/@{}", p.photographer.to_lowercase().replace(' ', "-")),
                "photographer_id": 1,
                "avg_color": "#978E82",
                "src": {
                    "original": src("original"),
                    "large2x": src("auto=compress&cs=tinysrgb&dpr=2&h=650&w=940"),
                    "large": src("auto=compress&cs=tinysrgb&h=650&w=940"),
                    "medium": src("auto=compress&cs=tinysrgb&h=350"),
                    "small": src("auto=compress&cs=tinysrgb&h=130"),
                    "portrait": src("auto=compress&cs=tinysrgb&fit=crop&h=1200&w=800"),
                    "landscape": src("auto=compress&cs=tinysrgb&fit=crop&h=627&w=1200"),
                    "tiny": src("auto=compress&cs=tinysrgb&dpr=1&fit=crop&h=200&w=280"),
                },
                "liked": false,
                "alt": p.alt.clone().unwrap_or_default(),
            })
        })
        .collect();
    Json(json!({
        "total_results": fake.photos.len(),
        "page": 1,
        "per_page": per_page,
        "photos": photos,
    }))
    .into_response()
}

async fn unsplash_search(
    State(shared): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    if let Some(failure) = record(&shared, uri.to_string()) {
        return failure;
    }
    if shared.api != Api::Unsplash {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    if !authorized(&shared, &headers) {
        return error(
            Api::Unsplash,
            StatusCode::UNAUTHORIZED,
            "OAuth error: The access token is invalid",
        );
    }
    let (_, per_page) = match search_params(Api::Unsplash, &query) {
        Ok(p) => p,
        Err(why) => return error(Api::Unsplash, StatusCode::BAD_REQUEST, why),
    };
    let fake = shared.fake.lock().unwrap();
    let results: Vec<Value> = fake
        .photos
        .iter()
        .take(per_page)
        .map(|p| {
            let src = |q: &str| image_url(&shared, &fake, &p.id, q);
            let username = p.photographer.to_lowercase().replace(' ', "");
            json!({
                "id": p.id,
                "width": 4000,
                "height": 2667,
                "color": "#60544D",
                "description": null,
                "alt_description": p.alt,
                "urls": {
                    "raw": src("ixid=M3w"),
                    "full": src("crop=entropy&cs=srgb&fm=jpg&ixid=M3w&q=85"),
                    "regular": src("crop=entropy&cs=tinysrgb&fit=max&fm=jpg&ixid=M3w&q=80&w=1080"),
                    "small": src("crop=entropy&cs=tinysrgb&fit=max&fm=jpg&ixid=M3w&q=80&w=400"),
                    "thumb": src("crop=entropy&cs=tinysrgb&fit=max&fm=jpg&ixid=M3w&q=80&w=200"),
                },
                "links": {
                    "self": format!("{}/photos/{}", shared.url, p.id),
                    "html": format!("https://unsplash.com/photos/{}", p.id),
                    "download": format!("https://unsplash.com/photos/{}/download", p.id),
                    "download_location": format!("{}/photos/{}/download?ixid=M3w", shared.url, p.id),
                },
                "user": {
                    "id": username,
                    "username": username,
                    "name": p.photographer,
                    "links": {"html": format!("https://unsplash.com/@{username}")},
                },
            })
        })
        .collect();
    Json(json!({"total": fake.photos.len(), "total_pages": 1, "results": results})).into_response()
}

async fn unsplash_download(
    State(shared): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    if let Some(failure) = record(&shared, uri.to_string()) {
        return failure;
    }
    if !authorized(&shared, &headers) {
        return error(
            Api::Unsplash,
            StatusCode::UNAUTHORIZED,
            "OAuth error: The access token is invalid",
        );
    }
    let fake = shared.fake.lock().unwrap();
    if !fake.photos.iter().any(|p| p.id == id) {
        return error(Api::Unsplash, StatusCode::NOT_FOUND, "Couldn't find Photo");
    }
    Json(json!({"url": image_url(&shared, &fake, &id, "ixid=M3w")})).into_response()
}

async fn image(
    State(shared): State<Shared>,
    Path(file): Path<String>,
    uri: axum::http::Uri,
) -> Response {
    shared.fake.lock().unwrap().requests.push(uri.to_string());
    let fake = shared.fake.lock().unwrap();
    let found = fake
        .photos
        .iter()
        .find(|p| file == format!("{}.jpeg", p.id));
    match found {
        Some(photo) => {
            ([(header::CONTENT_TYPE, "image/jpeg")], photo.bytes.clone()).into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such image").into_response(),
    }
}

/// A small real JPEG (baseline, greyscale, `width` × `height`, mid grey)
/// carrying `label` in a comment, so photos made with different labels
/// differ in their bytes. Decodes in browsers, GD and libjpeg.
pub fn jpeg(width: u16, height: u16, label: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    let mut segment = |marker: u8, body: &[u8]| {
        out.extend_from_slice(&[0xFF, marker]);
        out.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(body);
    };
    segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    let label = &label.as_bytes()[..label.len().min(65_000)];
    segment(0xFE, label);
    let mut quant = vec![0u8];
    quant.extend_from_slice(&[1; 64]);
    segment(0xDB, &quant);
    let mut frame = vec![8];
    frame.extend_from_slice(&height.to_be_bytes());
    frame.extend_from_slice(&width.to_be_bytes());
    frame.extend_from_slice(&[1, 1, 0x11, 0]);
    segment(0xC0, &frame);
    // One Huffman code each ("0", length 1): DC difference 0, and end of block.
    let mut counts = [0u8; 16];
    counts[0] = 1;
    for class in [0x00u8, 0x10] {
        let mut table = vec![class];
        table.extend_from_slice(&counts);
        table.push(0);
        segment(0xC4, &table);
    }
    segment(0xDA, &[1, 1, 0, 0, 63, 0]);
    // Two zero bits per 8×8 block, the last byte padded with ones.
    let blocks = usize::from(width.div_ceil(8)) * usize::from(height.div_ceil(8));
    let bits = blocks * 2;
    out.extend(vec![0u8; bits / 8]);
    if bits % 8 != 0 {
        out.push(0xFF >> (bits % 8));
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}
