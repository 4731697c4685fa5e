//! What the OpenAPI document promises and the server does agree (issue 13,
//! found by Schemathesis; `.ci/schemathesis.py` runs it in CI): the error
//! answers every operation of a kind documents, and the server behaviour
//! changed to match the document.

use gsw_storage::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{error_code, spawn_app, TestApp};
use crate::on_both_backends;

on_both_backends!(
    an_over_long_refresh_token_is_invalid_input,
    status_ids_are_read_exactly_as_documented,
    whole_numbers_may_be_written_with_a_zero_fraction,
    a_null_body_deploys_the_draft_as_no_body_does,
);

fn operations(document: &Value) -> Vec<(String, &Value)> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            found.push((format!("{} {path}", method.to_uppercase()), operation));
        }
    }
    found
}

#[tokio::test]
async fn every_operation_documents_the_errors_of_its_kind() {
    let app = spawn_app(Backend::Sqlite).await;
    let document: Value = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut bearer = 0;
    for (name, operation) in operations(&document) {
        let responses = operation["responses"].as_object().unwrap();
        let has = |status: &str| responses.contains_key(status);
        let signed_in = operation["security"]
            .as_array()
            .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
        if signed_in {
            bearer += 1;
            assert!(has("401"), "{name}: no 401");
        }
        let parameters = operation["parameters"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !parameters.is_empty() {
            assert!(has("400"), "{name}: parameters but no 400");
        }
        if parameters.iter().any(|p| p["in"] == "path") {
            assert!(has("404"), "{name}: path parameters but no 404");
        }
        if operation["requestBody"]["content"]["application/json"].is_object() {
            for status in ["400", "413", "415", "422"] {
                assert!(has(status), "{name}: a JSON body but no {status}");
            }
        }
    }
    assert!(bearer > 30, "only {bearer} operations need a token");
}

async fn an_over_long_refresh_token_is_invalid_input(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let long = "r".repeat(129);
    for route in ["/auth/refresh", "/auth/logout"] {
        let response = app
            .api(
                Method::POST,
                route,
                None,
                Some(json!({"refresh_token": long})),
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{route}"
        );
        assert_eq!(error_code(response).await, "validation_failed", "{route}");
    }
    // The session itself was not touched: its token still works.
    let response = app
        .api(
            Method::POST,
            "/auth/refresh",
            None,
            Some(json!({"refresh_token": ada.refresh})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

async fn status_ids_are_read_exactly_as_documented(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let id = Uuid::now_v7();
    let get = |query: String| {
        let app = &app;
        let token = ada.access.clone();
        async move {
            app.api(
                Method::GET,
                &format!("/fleet/deployments?ids={query}"),
                Some(&token),
                None,
            )
            .await
        }
    };
    // Repeats are counted, then asked for once.
    let response = get(format!("{id},{id}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    for query in [
        format!("{id},"),
        format!("{id},%20{id}"),
        format!("%7B{id}%7D"),
        id.simple().to_string(),
        vec![id.to_string(); 201].join(","),
    ] {
        let response = get(query.clone()).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}"
        );
        assert_eq!(error_code(response).await, "validation_failed");
    }
}

async fn whole_numbers_may_be_written_with_a_zero_fraction(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let site = app.create_site(&ada, json!({"name": "Hand-made"})).await;
    let path = format!("/sites/{}/regenerate", site["id"].as_str().unwrap());
    // 2.0 is read as 2: the site has no draft, so it gets as far as that.
    let response = app
        .api(
            Method::POST,
            &path,
            Some(&ada.access),
            Some(json!({"page": "home", "section": 2.0})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    for section in [json!(2.5), json!(-1), json!(-1.0), json!(1e300)] {
        let response = app
            .api(
                Method::POST,
                &path,
                Some(&ada.access),
                Some(json!({"page": "home", "section": section})),
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{section}"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["field"], "section", "{section}");
    }
}

async fn a_null_body_deploys_the_draft_as_no_body_does(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let site = app.create_site(&ada, json!({"name": "Hand-made"})).await;
    let path = format!("/sites/{}/deployments", site["id"].as_str().unwrap());
    let response = app
        .api_raw(
            Method::POST,
            &path,
            Some(&ada.access),
            "application/json",
            b" null ".to_vec(),
        )
        .await;
    // No draft to deploy: the same answer as no body at all.
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no draft to deploy"),
        "{body}"
    );
}
