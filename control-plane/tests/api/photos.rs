//! Stock photos: generation with a Pexels or an Unsplash key (against
//! local fakes of their APIs) puts photos in the draft's pictures with
//! their credit and alt text; the preview serves a downloaded photo's bytes
//! exactly as the deployment ships them; a provider that is down, refuses
//! the key or finds nothing leaves the drawn images; images off the
//! provider's image host, or too big, are refused.

use gsw_control_plane::testing::photos::{jpeg, Api, FakePhotoApi};
use gsw_control_plane::testing::{spawn_app_with, TestApp, TestUser};
use gsw_control_plane::Settings;
use gsw_storage::{Backend, JobRef};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;
use uuid::Uuid;

use crate::generation::{bakery, finished_job, generate};

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A control plane whose photos come from `fake`.
async fn app_with(fake: &FakePhotoApi, change: impl FnOnce(&mut Settings)) -> TestApp {
    let (url, key, api) = (fake.url.clone(), fake.key.clone(), fake.api());
    spawn_app_with(Backend::Sqlite, move |s| {
        match api {
            Api::Pexels => {
                s.pexels_api_key = Some(gsw_control_plane::settings::Secret::new(key));
                s.pexels_base_url = url.clone();
                s.pexels_image_url = url;
            }
            Api::Unsplash => {
                s.unsplash_access_key = Some(gsw_control_plane::settings::Secret::new(key));
                s.unsplash_base_url = url.clone();
                s.unsplash_image_url = url;
            }
        }
        change(s);
    })
    .await
}

/// Generates the bakery's site; (site id, job id, draft).
async fn generated(app: &TestApp, user: &TestUser) -> (String, String, Value) {
    let accepted = generate(app, user, bakery()).await;
    let job_id = accepted["job_id"].as_str().unwrap().to_owned();
    let job = finished_job(app, user, &job_id).await;
    assert_eq!(job["status"], "completed", "{job}");
    let site_id = accepted["site_id"].as_str().unwrap().to_owned();
    let draft: Value = app
        .api(
            Method::GET,
            &format!("/sites/{site_id}/draft"),
            Some(&user.access),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    (site_id, job_id, draft)
}

fn all_blocks(draft: &Value) -> String {
    draft["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["blocks"].as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

async fn deploy(app: &TestApp, user: &TestUser, site_id: &str) -> Value {
    let response = app
        .api(
            Method::POST,
            &format!("/sites/{site_id}/deployments"),
            Some(&user.access),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    response.json().await.unwrap()
}

fn searches(fake: &FakePhotoApi, path: &str) -> Vec<String> {
    fake.requests()
        .into_iter()
        .filter(|r| r.starts_with(path))
        .collect()
}

#[tokio::test]
async fn a_pexels_key_puts_downloaded_photos_with_credit_in_the_site() {
    let fake = FakePhotoApi::start(Api::Pexels, "pexels-test-key").await;
    let photos: Vec<Vec<u8>> = (0..3)
        .map(|i| jpeg(64, 40, &format!("photo {i}")))
        .collect();
    fake.add(
        "1001",
        Some("Fresh loaves on a wooden shelf"),
        "Ana Lopes",
        photos[0].clone(),
    );
    fake.add("1002", None, "Ben O'Hara", photos[1].clone());
    fake.add(
        "1003",
        Some("Croissants & coffee"),
        "Chen Wu",
        photos[2].clone(),
    );
    let app = app_with(&fake, |_| {}).await;
    let ada = app.signed_up("ada@example.com").await;
    let (site_id, job_id, draft) = generated(&app, &ada).await;

    // Asked as the API documents it.
    let asked = searches(&fake, "/v1/search");
    assert!(!asked.is_empty());
    assert!(
        asked
            .iter()
            .all(|r| r.contains("orientation=landscape") && r.contains("per_page=8")),
        "{asked:?}"
    );
    assert!(
        asked[0].starts_with("/v1/search?query=bakery&"),
        "{asked:?}"
    );

    // Three photos for the first three pictures, each a different one; the rest stay drawn.
    let chosen = draft["photos"].as_array().expect("photos in the draft");
    assert_eq!(chosen.len(), 3, "{chosen:#?}");
    assert_eq!(chosen[0]["slot"], "images/hero-home.png");
    assert_eq!(chosen[0]["provider"], "pexels");
    assert_eq!(chosen[0]["file"]["path"], "images/hero-home.jpg");
    assert_eq!(chosen[0]["file"]["sha256"], hex(&photos[0]));
    assert_eq!(chosen[0]["file"]["content_type"], "image/jpeg");
    assert_eq!(chosen[0]["alt"], "Fresh loaves on a wooden shelf");
    // No alt from Pexels: the item's title.
    assert!(!chosen[1]["alt"].as_str().unwrap().is_empty());
    let blocks = all_blocks(&draft);
    assert!(blocks.contains(
        "<img src=\"#gsw-media=images/hero-home.jpg\" alt=\"Fresh loaves on a wooden shelf\"/><figcaption class=\"wp-element-caption\">Photo by <a href=\"https://www.pexels.com/@ana-lopes\">Ana Lopes</a> on <a href=\"https://www.pexels.com/photo/1001/\">Pexels</a></figcaption>"
    ), "{blocks}");
    assert!(
        blocks.contains("alt=\"Croissants &amp; coffee\""),
        "{blocks}"
    );
    assert!(blocks.contains("images/item-"), "drawn items remain");

    // The job kept its choice as a stage: a resumed job would not search again.
    let stages = app
        .store
        .stage_outputs(JobRef {
            job_id: Uuid::parse_str(&job_id).unwrap(),
            user_id: Uuid::parse_str(&ada.id).unwrap(),
        })
        .await
        .unwrap();
    let stage = stages
        .iter()
        .find(|s| s.stage == "photos")
        .expect("a photos stage");
    assert_eq!(stage.output.as_array().unwrap().len(), 3);

    // The preview serves exactly the bytes the deployment ships.
    let preview = |file: &'static str| {
        let app = &app;
        let ada = &ada;
        let site_id = site_id.clone();
        async move {
            app.api(
                Method::GET,
                &format!("/sites/{site_id}/draft/images/{file}"),
                Some(&ada.access),
                None,
            )
            .await
        }
    };
    let response = preview("hero-home.jpg").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    assert_eq!(response.bytes().await.unwrap().to_vec(), photos[0]);
    let deployment = deploy(&app, &ada, &site_id).await;
    let media: Vec<&Value> = deployment["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "media")
        .collect();
    let shipped = media
        .iter()
        .find(|i| i["path"] == "images/hero-home.jpg")
        .unwrap_or_else(|| panic!("{media:#?}"));
    assert_eq!(shipped["sha256"], hex(&photos[0]));
    assert!(media.iter().all(|i| i["path"] != "images/hero-home.png"));
    assert!(
        media.iter().any(|i| i["path"] == "images/icon.png"),
        "the icon stays drawn"
    );

    // Another node without the bytes: fetched again from Pexels and checked.
    let downloads = searches(&fake, "/images/").len();
    std::fs::remove_dir_all(app.settings.data_dir.join("photos")).unwrap();
    let response = preview("hero-home.jpg").await;
    assert_eq!(response.bytes().await.unwrap().to_vec(), photos[0]);
    assert_eq!(searches(&fake, "/images/").len(), downloads + 1);
    let again = deploy(&app, &ada, &site_id).await;
    let shipped = again["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["path"] == "images/hero-home.jpg")
        .cloned()
        .unwrap();
    assert_eq!(shipped["sha256"], hex(&photos[0]));

    // Fetched again but no longer the recorded bytes: refused, never shown or shipped.
    std::fs::remove_dir_all(app.settings.data_dir.join("photos")).unwrap();
    fake.replace("1001", jpeg(64, 40, "another photo"));
    let response = preview("hero-home.jpg").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let changed = deploy(&app, &ada, &site_id).await;
    assert!(changed["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["path"] != "images/hero-home.jpg"));
}

#[tokio::test]
async fn an_unsplash_key_hotlinks_its_photos_and_reports_their_use() {
    let fake = FakePhotoApi::start(Api::Unsplash, "unsplash-test-key").await;
    fake.add(
        "abc123",
        Some("a baker shaping dough"),
        "Dana Marsh",
        jpeg(64, 40, "u1"),
    );
    fake.add("def456", None, "Eli Noor", jpeg(64, 40, "u2"));
    let app = app_with(&fake, |_| {}).await;
    let ada = app.signed_up("ada@example.com").await;
    let (site_id, _, draft) = generated(&app, &ada).await;

    let chosen = draft["photos"].as_array().expect("photos in the draft");
    assert_eq!(chosen.len(), 2, "{chosen:#?}");
    assert_eq!(chosen[0]["provider"], "unsplash");
    assert!(chosen[0].get("file").is_none(), "hotlinked, not downloaded");
    let src = chosen[0]["image_url"].as_str().unwrap();
    assert!(
        src.starts_with(&format!("{}/images/abc123.jpeg?", fake.url)),
        "{src}"
    );
    let blocks = all_blocks(&draft);
    assert!(
        blocks.contains(&format!(
            "<img src=\"{}\" alt=\"a baker shaping dough\"/>",
            src.replace('&', "&amp;")
        )),
        "{blocks}"
    );
    assert!(blocks.contains(
        "Photo by <a href=\"https://unsplash.com/@danamarsh?utm_source=gswstudio&amp;utm_medium=referral\">Dana Marsh</a> on <a href=\"https://unsplash.com/?utm_source=gswstudio&amp;utm_medium=referral\">Unsplash</a>"
    ), "{blocks}");

    // Each photo used was reported to its download location; none was downloaded.
    let reported = searches(&fake, "/photos/");
    assert_eq!(reported.len(), 2, "{reported:?}");
    assert!(reported[0].starts_with("/photos/abc123/download?ixid="));
    assert!(searches(&fake, "/images/").is_empty());
    assert!(searches(&fake, "/search/photos?")
        .iter()
        .all(|r| r.contains("orientation=landscape")));

    // The deployment ships no bytes for them.
    let deployment = deploy(&app, &ada, &site_id).await;
    let media: Vec<&str> = deployment["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "media")
        .map(|i| i["path"].as_str().unwrap())
        .collect();
    assert!(!media.iter().any(|p| p.ends_with(".jpg")), "{media:?}");
    assert!(!media.contains(&"images/hero-home.png"), "{media:?}");
}

/// Generates with `fake` set up by `setup` and returns the draft, which must
/// have no photos and show the drawn images.
async fn drawn_despite(fake: &FakePhotoApi, change: impl FnOnce(&mut Settings)) -> Value {
    let app = app_with(fake, change).await;
    let ada = app.signed_up("ada@example.com").await;
    let (_, _, draft) = generated(&app, &ada).await;
    assert!(draft.get("photos").is_none(), "{}", draft["photos"]);
    let blocks = all_blocks(&draft);
    assert!(
        blocks.contains("#gsw-media=images/hero-home.png"),
        "{blocks}"
    );
    assert!(!blocks.contains("wp-element-caption"));
    draft
}

#[tokio::test]
async fn a_provider_down_refusing_or_finding_nothing_leaves_the_drawn_images() {
    // Nothing found.
    let empty = FakePhotoApi::start(Api::Pexels, "k").await;
    drawn_despite(&empty, |_| {}).await;
    assert!(!searches(&empty, "/v1/search").is_empty());

    // A wrong key: 401, asked once per search (a 4xx is not tried again).
    let fake = FakePhotoApi::start(Api::Unsplash, "right-key").await;
    fake.add("x1", None, "Someone", jpeg(16, 16, "x"));
    let wrong = fake.url.clone();
    drawn_despite(&fake, |s| {
        s.unsplash_access_key = Some(gsw_control_plane::settings::Secret::new("wrong-key"));
        s.unsplash_base_url = wrong;
    })
    .await;
    let asked = searches(&fake, "/search/photos");
    assert!(!asked.is_empty());
    assert!(searches(&fake, "/photos/").is_empty(), "nothing reported");

    // Down: 5xx every time.
    let down = FakePhotoApi::start(Api::Pexels, "k").await;
    down.add("7", None, "Someone", jpeg(16, 16, "down"));
    down.fail_next(&[503; 200]);
    drawn_despite(&down, |s| s.photo_timeout_secs = 2).await;

    // Not listening at all.
    let gone = FakePhotoApi::start(Api::Pexels, "k").await;
    drawn_despite(&gone, |s| s.pexels_base_url = "http://127.0.0.1:1".into()).await;
}

#[tokio::test]
async fn images_off_the_providers_host_or_too_big_are_refused() {
    // Pexels answering with image URLs on another origin: nothing downloaded.
    let fake = FakePhotoApi::start(Api::Pexels, "k").await;
    fake.add("1", None, "A", jpeg(16, 16, "a"));
    let port = Url::parse(&fake.url).unwrap().port().unwrap();
    fake.images_on(&format!("http://localhost:{port}"));
    drawn_despite(&fake, |_| {}).await;
    assert!(searches(&fake, "/images/").is_empty());

    // Unsplash likewise: nothing hotlinked from another host, nothing reported.
    let unsplash = FakePhotoApi::start(Api::Unsplash, "k").await;
    unsplash.add("u", None, "A", jpeg(16, 16, "u"));
    unsplash.images_on(&format!(
        "http://localhost:{}",
        Url::parse(&unsplash.url).unwrap().port().unwrap()
    ));
    drawn_despite(&unsplash, |_| {}).await;
    assert!(searches(&unsplash, "/photos/").is_empty());

    // An image over the size limit is refused; the next result is taken.
    let sized = FakePhotoApi::start(Api::Pexels, "k").await;
    let big = jpeg(16, 16, &"x".repeat(20_000));
    let small = jpeg(16, 16, "small");
    sized.add("1", None, "Big", big);
    sized.add("2", None, "Small", small.clone());
    let app = app_with(&sized, |s| s.photo_max_bytes = 10_000).await;
    let ada = app.signed_up("ada@example.com").await;
    let (_, _, draft) = generated(&app, &ada).await;
    let chosen = draft["photos"].as_array().unwrap();
    assert_eq!(chosen.len(), 1, "{chosen:#?}");
    assert_eq!(chosen[0]["id"], "2");
    assert_eq!(chosen[0]["file"]["sha256"], hex(&small));

    // Not an image (HTML where a JPEG should be): refused.
    let html = FakePhotoApi::start(Api::Pexels, "k").await;
    html.add("9", None, "A", b"<html>not an image</html>".to_vec());
    drawn_despite(&html, |_| {}).await;
}

#[tokio::test]
async fn the_fakes_refuse_what_the_real_apis_refuse() {
    let client = reqwest::Client::new();
    let pexels = FakePhotoApi::start(Api::Pexels, "pk").await;
    let search = format!(
        "{}/v1/search?query=bread&orientation=landscape&per_page=5",
        pexels.url
    );
    let no_key = client.get(&search).send().await.unwrap();
    assert_eq!(no_key.status(), 401);
    let body: Value = no_key.json().await.unwrap();
    assert_eq!(body["code"], "Unauthorized");
    let bad = client
        .get(format!("{}/v1/search?orientation=landscape", pexels.url))
        .header("Authorization", "pk")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let bad = client
        .get(format!("{}/v1/search?query=x&per_page=500", pexels.url))
        .header("Authorization", "pk")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let ok = client
        .get(&search)
        .header("Authorization", "pk")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);

    let unsplash = FakePhotoApi::start(Api::Unsplash, "uk").await;
    let wrong = client
        .get(format!("{}/search/photos?query=bread", unsplash.url))
        .header("Authorization", "Client-ID nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(
        body["errors"][0],
        "OAuth error: The access token is invalid"
    );
    let bad = client
        .get(format!(
            "{}/search/photos?orientation=sideways&query=x",
            unsplash.url
        ))
        .header("Authorization", "Client-ID uk")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    // The JPEGs the tests make are JPEGs.
    let made = jpeg(20, 12, "hello");
    assert_eq!(gsw_generation::images::sniff(&made), Some("image/jpeg"));
}
