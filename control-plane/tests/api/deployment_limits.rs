//! Deployments cannot take the server's memory or disk (audit finding 4):
//! only so many uploads are handled at once, past it 503 with Retry-After.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::helpers::{error_code, spawn_app_with, TestApp, TestUser};

fn items() -> Value {
    json!({"items": [{"kind": "content", "path": "pages/home.json", "content": "{\"key\":\"page:home\"}"}]})
}

async fn deploy(app: &TestApp, user: &TestUser, site: &str) -> reqwest::Response {
    app.api(
        Method::POST,
        &format!("/sites/{site}/deployments"),
        Some(&user.access),
        Some(items()),
    )
    .await
}

#[tokio::test]
async fn uploads_past_the_limit_are_told_to_come_back() {
    let app = spawn_app_with(gsw_storage::Backend::Sqlite, |s| {
        s.max_concurrent_deployment_uploads = 1;
    })
    .await;
    let ada = app.signed_up("ada@example.com").await;
    let site = app.create_site(&ada, json!({"name": "Crumb"})).await;
    let site = site["id"].as_str().unwrap();

    // An upload that has sent its head and part of its body holds the slot.
    let host = app.address.trim_start_matches("http://");
    let mut slow = TcpStream::connect(host).await.unwrap();
    let head = format!(
        "POST /api/v1/sites/{site}/deployments HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{\"items\": [",
        ada.access
    );
    slow.write_all(head.as_bytes()).await.unwrap();

    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let refused = loop {
        let response = deploy(&app, &ada, site).await;
        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            break response;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "a second upload was taken while one was in flight: {}",
            response.status()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(refused.headers()["retry-after"], "5");
    assert_eq!(error_code(refused).await, "busy");
    // Reading is not uploading.
    let response = app
        .api(
            Method::GET,
            &format!("/sites/{site}/deployments"),
            Some(&ada.access),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    // The slow upload goes away; its slot comes back.
    drop(slow);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let response = deploy(&app, &ada, site).await;
        if response.status() == StatusCode::ACCEPTED {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the slot never came back: {}",
            response.status()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
