use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{error_code, spawn_app_with, TestApp};
use crate::{on_both_backends, on_both_backends_with_redis};

on_both_backends_with_redis!(metrics_count_requests_by_route_and_status);

const METRICS_TOKEN: &str = "scraper-9f2c4e7a1b3d5f60";

on_both_backends!(
    health_and_readiness,
    request_ids_are_echoed_or_made,
    the_openapi_document_describes_the_api,
    unknown_routes_and_methods_get_json_errors,
);

async fn health_and_readiness(app: TestApp) {
    let response = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["storage"], "ok");
    assert_eq!(body["redis"], "not configured");
    // The dashboard's landing page is served at the root.
    let response = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("gsWstudio"));
}

async fn metrics_count_requests_by_route_and_status(backend: gsw_storage::Backend) {
    let app = spawn_app_with(backend, |s| {
        s.metrics_token = Some(gsw_control_plane::settings::Secret::new(METRICS_TOKEN));
    })
    .await;
    let ada = app.signed_up("ada@example.com").await;
    for _ in 0..3 {
        app.api(Method::GET, "/sites", Some(&ada.access), None)
            .await;
    }
    let id = uuid::Uuid::now_v7();
    app.api(
        Method::GET,
        &format!("/sites/{id}"),
        Some(&ada.access),
        None,
    )
    .await;
    app.api(Method::GET, "/no/such/route", None, None).await;

    let response = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = response.text().await.unwrap();
    assert!(
        text.contains(
            r#"gsw_http_requests_total{method="GET",route="/api/v1/sites",status="200"} 3"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"gsw_http_requests_total{method="GET",route="/api/v1/sites/{id}",status="404"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"gsw_http_requests_total{method="POST",route="/api/v1/auth/register",status="202"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains(r#"route="unmatched",status="404""#), "{text}");
    assert!(text.contains(r#"gsw_http_request_duration_seconds_count{method="GET",route="/api/v1/sites",status="200"} 3"#), "{text}");
    assert!(
        !text.contains(&id.to_string()),
        "raw paths must not become labels"
    );
    assert!(text.contains("gsw_fleet_agents_connected 0"), "{text}");
}

async fn request_ids_are_echoed_or_made(app: TestApp) {
    let response = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "trace-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-42");
    // Anything that could forge log lines is replaced.
    let response = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "a b \"c\"")
        .send()
        .await
        .unwrap();
    let made = response.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(made.len(), 32);
    let response = app.api(Method::GET, "/sites", None, None).await;
    error_code(response).await; // checks body request_id == header
}

async fn the_openapi_document_describes_the_api(app: TestApp) {
    let response = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let doc: Value = response.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/auth/register", "post"),
        ("/auth/login", "post"),
        ("/auth/refresh", "post"),
        ("/auth/logout", "post"),
        ("/me", "get"),
        ("/sites", "get"),
        ("/sites", "post"),
        ("/sites/{id}", "get"),
        ("/sites/{id}", "patch"),
        ("/sites/{id}", "delete"),
        ("/jobs/{id}", "get"),
        ("/admin/users", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing"
        );
    }
    assert_eq!(doc["servers"][0]["url"], "/api/v1");
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());

    let docs = app
        .client
        .get(app.url("/api/v1/docs"))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(docs.text().await.unwrap().contains("openapi.json"));
}

async fn unknown_routes_and_methods_get_json_errors(app: TestApp) {
    let response = app.api(Method::GET, "/nothing-here", None, None).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(response).await, "not_found");
    let response = app.api(Method::PUT, "/sites", None, None).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(error_code(response).await, "method_not_allowed");
}

/// Metrics are not public (audit finding 5): without a token or a metrics
/// address they are not served at all.
#[tokio::test]
async fn metrics_are_not_served_by_default() {
    let app = spawn_app_with(gsw_storage::Backend::Sqlite, |_| {}).await;
    assert!(app.metrics_address.is_none());
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(response).await, "not_found");
}

/// With a token, only a scraper sending it gets them.
#[tokio::test]
async fn metrics_need_the_token() {
    let app = spawn_app_with(gsw_storage::Backend::Sqlite, |s| {
        s.metrics_token = Some(gsw_control_plane::settings::Secret::new(METRICS_TOKEN));
    })
    .await;
    let metrics = |token: Option<&str>| {
        let mut request = app.client.get(app.url("/metrics"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let response = metrics(None).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(response).await, "unauthorized");
    let response = metrics(Some("scraper-9f2c4e7a1b3d5f6")).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = metrics(Some(METRICS_TOKEN)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("gsw_fleet_agents_connected"));
}

/// On a metrics address of their own, and only there.
#[tokio::test]
async fn metrics_on_their_own_address() {
    let app = spawn_app_with(gsw_storage::Backend::Sqlite, |s| {
        s.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let private = app.metrics_address.clone().expect("a metrics listener");
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::NOT_FOUND,
        "not on the main listener"
    );
    let response = app
        .client
        .get(format!("{private}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("gsw_http_requests_total"));
    // Nothing else is served there.
    let response = app
        .client
        .get(format!("{private}/api/v1/sites"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(response).await, "not_found");
}
