use chrono::Utc;
use gsw_storage::{JobKind, NewJob};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{error_code, TestApp};
use crate::on_both_backends;

on_both_backends!(only_the_owner_sees_a_job);

async fn only_the_owner_sees_a_job(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let bob = app.signed_up("bob@example.com").await;
    let site = app.create_site(&ada, json!({"name": "Ada's Bakery"})).await;
    let site_id: Uuid = site["id"].as_str().unwrap().parse().unwrap();
    let job = NewJob {
        id: Uuid::now_v7(),
        site_id,
        user_id: ada.id.parse().unwrap(),
        kind: JobKind::Generation,
        created_at: Utc::now(),
    };
    app.store
        .create_job(&job)
        .await
        .unwrap()
        .expect("job on Ada's site");
    let path = format!("/jobs/{}", job.id);

    let response = app.api(Method::GET, &path, Some(&ada.access), None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "queued");
    assert_eq!(body["progress"], 0);
    assert_eq!(body["kind"], "generation");
    assert_eq!(body["logs"], "");
    assert_eq!(body["site_id"], site["id"]);

    let response = app.api(Method::GET, &path, Some(&bob.access), None).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(response).await, "not_found");
    let response = app
        .api(Method::GET, "/jobs/not-a-uuid", Some(&ada.access), None)
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(response).await, "malformed_request");

    // Deleting the site takes its jobs with it.
    let response = app
        .api(
            Method::DELETE,
            &format!("/sites/{site_id}"),
            Some(&ada.access),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = app.api(Method::GET, &path, Some(&ada.access), None).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
