//! Generating a site with the offline engine, end to end over HTTP and WebSocket.

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{error_code, TestApp, TestUser};
use crate::on_both_backends;

on_both_backends!(
    generation_routes_are_documented,
    a_business_description_becomes_a_site_draft,
    generation_requests_are_validated,
    another_users_generation_is_not_found,
    progress_is_pushed_over_a_websocket,
    regenerating_a_section_leaves_the_rest_as_it_was,
);

pub fn bakery() -> Value {
    json!({
        "business_name": "Maison Lune",
        "type": "bakery",
        "description": "A family bakery in Lyon making sourdough bread, croissants and celebration cakes for busy families.",
        "goals": ["Take online orders for collection", "Be found on Google"]
    })
}

/// Starts a generation and returns its accepted body.
pub async fn generate(app: &TestApp, user: &TestUser, body: Value) -> Value {
    let response = app
        .api(
            Method::POST,
            "/sites/generate",
            Some(&user.access),
            Some(body),
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    response.json().await.unwrap()
}

/// Polls a job until it finishes; returns it.
pub async fn finished_job(app: &TestApp, user: &TestUser, job_id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let job: Value = app
            .api(
                Method::GET,
                &format!("/jobs/{job_id}"),
                Some(&user.access),
                None,
            )
            .await
            .json()
            .await
            .unwrap();
        if job["status"] == "completed" || job["status"] == "failed" {
            return job;
        }
        assert!(Instant::now() < deadline, "job did not finish: {job}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn draft(app: &TestApp, user: &TestUser, site_id: &str) -> Value {
    let response = app
        .api(
            Method::GET,
            &format!("/sites/{site_id}/draft"),
            Some(&user.access),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn a_business_description_becomes_a_site_draft(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let accepted = generate(&app, &ada, bakery()).await;
    assert_eq!(accepted["status"], "queued");
    let job_id = accepted["job_id"].as_str().unwrap();
    let site_id = accepted["site_id"].as_str().unwrap();

    let job = finished_job(&app, &ada, job_id).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(job["progress"], 100);
    assert_eq!(job["stage"], "done");
    assert_eq!(job["error"], Value::Null);
    let logs = job["logs"].as_str().unwrap();
    assert!(logs.contains("planned 9 pages"), "{logs}");
    assert!(logs.contains("wrote the About page"), "{logs}");

    let site: Value = app
        .api(
            Method::GET,
            &format!("/sites/{site_id}"),
            Some(&ada.access),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(site["status"], "draft");
    assert_eq!(site["name"], "Maison Lune");

    let draft = draft(&app, &ada, site_id).await;
    assert_eq!(draft["job_id"], job_id);
    assert_eq!(draft["brief"]["type"], "bakery");
    let pages = draft["pages"].as_array().unwrap();
    assert_eq!(pages.len(), 9);
    assert_eq!(draft["sitemap"]["navigation"][0], "home");
    assert!(draft["design"]["palette"]["primary"]
        .as_str()
        .unwrap()
        .starts_with('#'));
    assert!(draft["plugins"]["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["slug"] == "woocommerce"));
    for page in pages {
        let blocks = page["blocks"].as_str().unwrap();
        assert!(blocks.starts_with("<!-- wp:group"), "{blocks}");
        assert_eq!(blocks.matches("<h1").count(), 1);
        assert!(page["seo_title"].as_str().unwrap().chars().count() <= 60);
        assert!(page["meta_description"].as_str().unwrap().chars().count() <= 156);
        assert!(!page["slug"].as_str().unwrap().is_empty());
    }
    // The offline engine spends no tokens.
    let usage: Value = app
        .api(Method::GET, "/usage", Some(&ada.access), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(usage["input_tokens"], 0);
}

async fn generation_requests_are_validated(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let mut cases = vec![];
    for (field, value) in [
        ("goals", json!([])),
        ("goals", json!("sell online")),
        ("goals", json!(vec!["x"; 11])),
        ("goals", json!([" "])),
        ("business_name", json!("  ")),
        ("type", json!("x".repeat(101))),
        ("description", json!("y".repeat(4001))),
        ("description", json!("bell \u{7}")),
        ("style", json!("z".repeat(501))),
    ] {
        let mut body = bakery();
        body[field] = value;
        cases.push(body);
    }
    let mut unknown = bakery();
    unknown["colour"] = json!("blue");
    cases.push(unknown);
    let mut missing = bakery();
    missing.as_object_mut().unwrap().remove("goals");
    cases.push(missing);
    for body in cases {
        let response = app
            .api(
                Method::POST,
                "/sites/generate",
                Some(&ada.access),
                Some(body.clone()),
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
        assert_eq!(error_code(response).await, "validation_failed");
    }
    let response = app
        .api(Method::POST, "/sites/generate", None, Some(bakery()))
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // Nothing was written.
    let sites: Value = app
        .api(Method::GET, "/sites", Some(&ada.access), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(sites["sites"], json!([]));
}

async fn another_users_generation_is_not_found(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let bob = app.signed_up("bob@example.com").await;
    let accepted = generate(&app, &ada, bakery()).await;
    let job_id = accepted["job_id"].as_str().unwrap();
    let site_id = accepted["site_id"].as_str().unwrap();
    finished_job(&app, &ada, job_id).await;
    for (method, path, body) in [
        (Method::GET, format!("/jobs/{job_id}"), None),
        (Method::GET, format!("/jobs/{job_id}/usage"), None),
        (Method::GET, format!("/sites/{site_id}/draft"), None),
        (
            Method::POST,
            format!("/sites/{site_id}/regenerate"),
            Some(json!({"page": "about"})),
        ),
    ] {
        let response = app.api(method, &path, Some(&bob.access), body).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(error_code(response).await, "not_found");
    }
    let url = format!(
        "{}/api/v1/jobs/{job_id}/events?token={}",
        app.address.replace("http", "ws"),
        bob.access
    );
    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 404)
        }
        other => panic!("expected 404, got {other:?}"),
    }
}

/// Reads events until the server closes the socket.
pub async fn events_until_closed<S>(mut socket: S) -> Vec<Value>
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let mut events = vec![];
    while let Ok(Some(message)) = tokio::time::timeout(Duration::from_secs(60), socket.next()).await
    {
        match message {
            Ok(Message::Text(text)) => events.push(serde_json::from_str::<Value>(&text).unwrap()),
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => {}
        }
    }
    events
}

async fn progress_is_pushed_over_a_websocket(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let base = app.address.replace("http", "ws");
    let accepted = generate(&app, &ada, bakery()).await;
    let job_id = accepted["job_id"].as_str().unwrap();

    // Browsers cannot set headers on a WebSocket: the token goes in the query.
    let (socket, _) = tokio_tungstenite::connect_async(format!(
        "{base}/api/v1/jobs/{job_id}/events?token={}",
        ada.access
    ))
    .await
    .expect("connecting");
    let events = events_until_closed(socket).await;
    let last = events.last().expect("at least the final event");
    assert_eq!(last["status"], "completed", "{events:?}");
    assert_eq!(last["progress"], 100);
    assert_eq!(last["job_id"], job_id);
    let progress: Vec<i64> = events
        .iter()
        .map(|e| e["progress"].as_i64().unwrap())
        .collect();
    assert!(
        progress.windows(2).all(|w| w[0] <= w[1]) || progress.len() == 1,
        "{progress:?}"
    );

    // A finished job: one event, then the server closes; the token can also be the protocol.
    let mut request = format!("{base}/api/v1/jobs/{job_id}/events")
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        format!("bearer, {}", ada.access).parse().unwrap(),
    );
    let (mut socket, response) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connecting");
    assert_eq!(response.headers()["sec-websocket-protocol"], "bearer");
    let _ = socket.send(Message::Ping(vec![].into())).await;
    let events = events_until_closed(socket).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["status"], "completed");

    match tokio_tungstenite::connect_async(format!("{base}/api/v1/jobs/{job_id}/events")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 401)
        }
        other => panic!("expected 401, got {other:?}"),
    }
    let response = app
        .api(
            Method::GET,
            &format!("/jobs/{job_id}/events"),
            Some(&ada.access),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(response).await, "malformed_request");
}

async fn regenerating_a_section_leaves_the_rest_as_it_was(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let accepted = generate(&app, &ada, bakery()).await;
    let site_id = accepted["site_id"].as_str().unwrap().to_owned();
    finished_job(&app, &ada, accepted["job_id"].as_str().unwrap()).await;
    let before = draft(&app, &ada, &site_id).await;

    let path = format!("/sites/{site_id}/regenerate");
    for (body, code) in [
        (json!({"page": "nope"}), StatusCode::UNPROCESSABLE_ENTITY),
        (
            json!({"page": "about", "section": 99}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"page": "about", "extra": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let response = app
            .api(Method::POST, &path, Some(&ada.access), Some(body))
            .await;
        assert_eq!(response.status(), code);
    }

    let response = app
        .api(
            Method::POST,
            &path,
            Some(&ada.access),
            Some(json!({"page": "about", "section": 1})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let job: Value = response.json().await.unwrap();
    let job = finished_job(&app, &ada, job["job_id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "completed", "{job}");
    let after = draft(&app, &ada, &site_id).await;

    let pages = |d: &Value| d["pages"].as_array().unwrap().clone();
    let (old, new) = (pages(&before), pages(&after));
    assert_eq!(old.len(), new.len());
    for (old, new) in old.iter().zip(&new) {
        if old["slug"] != "about" {
            assert_eq!(old, new, "page {} changed", old["slug"]);
        }
    }
    let old_about = old.iter().find(|p| p["slug"] == "about").unwrap();
    let new_about = new.iter().find(|p| p["slug"] == "about").unwrap();
    let sections = |p: &Value| p["content"]["sections"].as_array().unwrap().clone();
    let (old_sections, new_sections) = (sections(old_about), sections(new_about));
    assert_eq!(old_sections[0], new_sections[0]);
    assert_ne!(old_sections[1], new_sections[1]);
    assert_eq!(old_sections[2..], new_sections[2..]);
    assert_eq!(new_about["variant"], 1);
    assert_ne!(old_about["blocks"], new_about["blocks"]);
    assert_eq!(before["design"], after["design"]);
    assert_eq!(before["plugins"], after["plugins"]);
}

async fn generation_routes_are_documented(app: TestApp) {
    let doc: Value = app
        .api(Method::GET, "/openapi.json", None, None)
        .await
        .json()
        .await
        .unwrap();
    for path in [
        "/sites/generate",
        "/sites/{id}/draft",
        "/sites/{id}/regenerate",
        "/jobs/{id}/events",
        "/jobs/{id}/usage",
        "/usage",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} is not in the OpenAPI document"
        );
    }
    assert!(doc["components"]["schemas"]["GenerateSite"].is_object());
    assert!(doc["components"]["schemas"]["JobView"]["properties"]["stage"].is_object());
}
