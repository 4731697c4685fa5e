//! Every class of malformed input gets a 4xx JSON error and writes nothing.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{error_code, TestApp, PASSWORD};
use crate::on_both_backends;

on_both_backends!(
    malformed_registrations_are_refused_and_write_nothing,
    malformed_sites_are_refused_and_write_nothing,
    malformed_site_changes_are_refused_and_change_nothing,
    validation_errors_name_their_field,
);

/// (what is wrong, body, expected status, expected code)
type Case = (&'static str, Vec<u8>, StatusCode, &'static str);

fn json_case(what: &'static str, body: Value, status: StatusCode, code: &'static str) -> Case {
    (what, serde_json::to_vec(&body).unwrap(), status, code)
}

fn common_cases() -> Vec<Case> {
    vec![
        (
            "not JSON",
            b"{\"na".to_vec(),
            StatusCode::BAD_REQUEST,
            "malformed_request",
        ),
        (
            "empty body",
            Vec::new(),
            StatusCode::BAD_REQUEST,
            "malformed_request",
        ),
        (
            "a JSON array",
            b"[1, 2]".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "JSON null",
            b"null".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            "larger than the body limit",
            serde_json::to_vec(&json!({"name": "x".repeat(300 * 1024)})).unwrap(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ]
}

async fn send_cases(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    cases: Vec<Case>,
) {
    for (what, body, status, code) in cases {
        let response = app
            .api_raw(method.clone(), path, token, "application/json", body)
            .await;
        assert_eq!(response.status(), status, "{method} {path}: {what}");
        assert_eq!(error_code(response).await, code, "{method} {path}: {what}");
    }
    // A body not declared as JSON is refused before it is read.
    let response = app
        .api_raw(
            method.clone(),
            path,
            token,
            "text/plain",
            br#"{"name":"x"}"#.to_vec(),
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{method} {path}: text/plain"
    );
    assert_eq!(error_code(response).await, "unsupported_media_type");
}

async fn malformed_registrations_are_refused_and_write_nothing(app: TestApp) {
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let mut cases = common_cases();
    cases.extend([
        json_case(
            "an unknown field",
            json!({"email": "a@example.com", "password": PASSWORD, "role": "admin"}),
            unprocessable,
            "validation_failed",
        ),
        json_case(
            "a missing field",
            json!({"email": "a@example.com"}),
            unprocessable,
            "validation_failed",
        ),
        json_case(
            "a wrong type",
            json!({"email": "a@example.com", "password": 1234567890123_u64}),
            unprocessable,
            "validation_failed",
        ),
        json_case(
            "a bad email",
            json!({"email": "a@example", "password": PASSWORD}),
            unprocessable,
            "validation_failed",
        ),
        json_case(
            "no email at all",
            json!({"email": "   ", "password": PASSWORD}),
            unprocessable,
            "validation_failed",
        ),
        json_case(
            "an over-long email",
            json!({"email": format!("{}@example.com", "a".repeat(250)), "password": PASSWORD}),
            unprocessable,
            "validation_failed",
        ),
        json_case(
            "a short password",
            json!({"email": "a@example.com", "password": "short"}),
            unprocessable,
            "validation_failed",
        ),
        json_case(
            "an over-long password",
            json!({"email": "a@example.com", "password": "p".repeat(257)}),
            unprocessable,
            "validation_failed",
        ),
    ]);
    send_cases(&app, Method::POST, "/auth/register", None, cases).await;
    let users = app
        .store
        .list_users(gsw_storage::Page {
            after: None,
            limit: 10,
        })
        .await
        .unwrap();
    assert!(users.is_empty(), "nothing may be written: {users:?}");

    // The message names the field and the rule.
    let response = app.post_register("a@example.com", "short").await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "password: must be at least 10 characters"
    );
}

async fn malformed_sites_are_refused_and_write_nothing(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let mut cases = common_cases();
    cases.extend([
        json_case("an unknown field", json!({"name": "Bakery", "status": "active"}), unprocessable, "validation_failed"),
        json_case("a missing name", json!({"domain": "bakery.example"}), unprocessable, "validation_failed"),
        json_case("a blank name", json!({"name": "  "}), unprocessable, "validation_failed"),
        json_case("a wrong type", json!({"name": ["Bakery"]}), unprocessable, "validation_failed"),
        json_case("an over-long name", json!({"name": "n".repeat(201)}), unprocessable, "validation_failed"),
        json_case("a control character", json!({"name": "Bake\u{7}ry"}), unprocessable, "validation_failed"),
        json_case("a bad domain", json!({"name": "Bakery", "domain": "bakery example"}), unprocessable, "validation_failed"),
        json_case("a non-http admin URL", json!({"name": "Bakery", "wp_admin_url": "javascript:alert(1)"}), unprocessable, "validation_failed"),
        json_case("an over-long admin URL", json!({"name": "Bakery", "wp_admin_url": format!("https://bakery.example/{}", "a".repeat(2100))}), unprocessable, "validation_failed"),
        json_case("metadata not an object", json!({"name": "Bakery", "metadata": [1]}), unprocessable, "validation_failed"),
        json_case("over-large metadata", json!({"name": "Bakery", "metadata": {"blob": "m".repeat(70 * 1024)}}), unprocessable, "validation_failed"),
    ]);
    send_cases(&app, Method::POST, "/sites", Some(&ada.access), cases).await;
    let list: Value = app
        .api(Method::GET, "/sites", Some(&ada.access), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["sites"], json!([]), "nothing may be written");
}

async fn malformed_site_changes_are_refused_and_change_nothing(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let site = app
        .create_site(
            &ada,
            json!({"name": "Ada's Bakery", "domain": "bakery.example"}),
        )
        .await;
    let path = format!("/sites/{}", site["id"].as_str().unwrap());
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let mut cases = common_cases();
    cases.extend([
        json_case(
            "nothing to change",
            json!({}),
            unprocessable,
            "validation_failed",
        ),
        json_case(
            "an unknown field",
            json!({"name": "New", "user_id": "someone"}),
            unprocessable,
            "validation_failed",
        ),
        json_case(
            "a null name",
            json!({"name": null, "domain": "new.example"}),
            unprocessable,
            "validation_failed",
        ),
        json_case(
            "a wrong type",
            json!({"domain": 42}),
            unprocessable,
            "validation_failed",
        ),
        json_case(
            "an over-long name",
            json!({"name": "n".repeat(201)}),
            unprocessable,
            "validation_failed",
        ),
        json_case(
            "one bad field among good ones",
            json!({"name": "New name", "wp_admin_url": "not a url"}),
            unprocessable,
            "validation_failed",
        ),
    ]);
    send_cases(&app, Method::PATCH, &path, Some(&ada.access), cases).await;
    let read: Value = app
        .api(Method::GET, &path, Some(&ada.access), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read, site, "nothing may change");
}

/// A validation error names the offending field apart from its message, so
/// a form can show the message beside that field.
async fn validation_errors_name_their_field(app: TestApp) {
    let cases = [
        (json!({"email": "a@example", "password": PASSWORD}), "email"),
        (
            json!({"email": "a@example.com", "password": "short"}),
            "password",
        ),
        (json!({"email": "a@example.com"}), "password"),
        (
            json!({"email": "a@example.com", "password": 12}),
            "password",
        ),
        (
            json!({"email": "a@example.com", "password": PASSWORD, "role": "admin"}),
            "role",
        ),
    ];
    for (body, field) in cases {
        let response = app
            .api(Method::POST, "/auth/register", None, Some(body.clone()))
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["field"], field, "{body}: {error}");
    }
    let ada = app.signed_up("ada@example.com").await;
    let brief = |goals: Value| {
        json!({"business_name": "Maison Lune", "type": "bakery",
               "description": "A family bakery in Lyon.", "goals": goals})
    };
    for (goals, field) in [
        (json!([]), "goals"),
        (json!(["Take orders", "  "]), "goals[1]"),
    ] {
        let response = app
            .api(
                Method::POST,
                "/sites/generate",
                Some(&ada.access),
                Some(brief(goals)),
            )
            .await;
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["field"], field, "{error}");
    }
    // A body with no single field to blame names none, and an array is no
    // stand-in for the object (serde would read its items as the fields).
    let response = app
        .api_raw(
            Method::POST,
            "/auth/register",
            None,
            "application/json",
            br#"["eve@example.com", "correct horse battery"]"#.to_vec(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: Value = response.json().await.unwrap();
    assert!(error["error"].get("field").is_none(), "{error}");
    let message = error["error"]["message"].as_str().unwrap();
    assert_eq!(message, "the body must be a JSON object");
    let login = app
        .post_login("eve@example.com", "correct horse battery")
        .await;
    assert_eq!(
        login.status(),
        StatusCode::UNAUTHORIZED,
        "no account was made"
    );
}
