use gsw_storage::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{error_code, TestApp, PASSWORD};
use crate::on_both_backends;

on_both_backends!(
    register_then_login_works,
    registering_an_existing_email_answers_as_for_a_new_one,
    wrong_password_and_unknown_email_look_the_same,
    refresh_rotates_the_token,
    a_reused_refresh_token_revokes_the_whole_family,
    logout_ends_the_session,
    protected_routes_need_a_valid_access_token,
    login_attempts_are_rate_limited,
    admin_routes_need_the_admin_role,
);

async fn register_then_login_works(app: TestApp) {
    let response = app.post_register("Ada@Example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let registered: Value = response.json().await.unwrap();
    assert_eq!(registered["email"], "ada@example.com");
    assert!(
        registered.get("access_token").is_none(),
        "registering signs nobody in: {registered}"
    );

    let response = app.post_login("ada@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let session: Value = response.json().await.unwrap();
    assert_eq!(session["token_type"], "Bearer");
    assert_eq!(session["expires_in"], 900);
    assert_eq!(session["user"]["email"], "ada@example.com");
    assert_eq!(session["user"]["role"], "user");
    assert!(session["refresh_token"]
        .as_str()
        .unwrap()
        .starts_with("gswr_"));

    let me = app
        .api(Method::GET, "/me", session["access_token"].as_str(), None)
        .await;
    assert_eq!(me.status(), StatusCode::OK);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["id"], session["user"]["id"]);
    assert_eq!(me["subscription_tier"], "free");

    // The password is stored as an Argon2id hash, never as itself.
    let stored = app
        .store
        .user_by_email("ada@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(stored.password_hash.starts_with("$argon2id$"));
    assert!(!stored.password_hash.contains(PASSWORD));
}

/// Registration does not tell which addresses have accounts (audit finding
/// 5): an existing address gets the new one's status and body, its account
/// is left as it was, and the caller is signed in to nothing.
async fn registering_an_existing_email_answers_as_for_a_new_one(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let existing = app
        .post_register("ADA@example.com", "another password!")
        .await;
    let new = app
        .post_register("bob@example.com", "another password!")
        .await;
    assert_eq!(existing.status(), new.status());
    assert_eq!(existing.status(), StatusCode::ACCEPTED);
    let existing: Value = existing.json().await.unwrap();
    let new: Value = new.json().await.unwrap();
    assert_eq!(existing["message"], new["message"]);
    assert_eq!(existing["email"], "ada@example.com");
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&existing), keys(&new));

    // Ada's account is hers as before; the other password opens nothing.
    let response = app.post_login("ada@example.com", "another password!").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = app.post_login("ada@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let session: Value = response.json().await.unwrap();
    assert_eq!(session["user"]["id"], ada.id.as_str());
    let users = app
        .store
        .list_users(gsw_storage::Page {
            after: None,
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(users.len(), 2, "ada and bob, once each: {users:?}");
}

async fn wrong_password_and_unknown_email_look_the_same(app: TestApp) {
    app.signed_up("ada@example.com").await;
    let wrong = app.post_login("ada@example.com", "not the password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let wrong: Value = wrong.json().await.unwrap();
    let unknown = app.post_login("nobody@example.com", PASSWORD).await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    let unknown: Value = unknown.json().await.unwrap();
    assert_eq!(wrong["error"]["code"], "invalid_credentials");
    assert_eq!(wrong["error"]["message"], unknown["error"]["message"]);
}

async fn refresh_rotates_the_token(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let response = app.post_refresh(&ada.refresh).await;
    assert_eq!(response.status(), StatusCode::OK);
    let rotated: Value = response.json().await.unwrap();
    let next = rotated["refresh_token"].as_str().unwrap();
    assert_ne!(next, ada.refresh);
    assert_eq!(rotated["user"]["id"], ada.id.as_str());
    let me = app
        .api(Method::GET, "/me", rotated["access_token"].as_str(), None)
        .await;
    assert_eq!(me.status(), StatusCode::OK);

    // The new token rotates again.
    let again = app.post_refresh(next).await;
    assert_eq!(again.status(), StatusCode::OK);
}

async fn a_reused_refresh_token_revokes_the_whole_family(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let rotated: Value = app.post_refresh(&ada.refresh).await.json().await.unwrap();
    let live = rotated["refresh_token"].as_str().unwrap().to_owned();

    // An attacker replays the first token: refused, and the family dies.
    let replay = app.post_refresh(&ada.refresh).await;
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(replay).await, "refresh_token_reused");

    // So the legitimate holder's newer token no longer works either.
    let legit = app.post_refresh(&live).await;
    assert_eq!(legit.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(legit).await, "invalid_refresh_token");

    // Another session of the same user (a second login) is unaffected.
    let other: Value = app
        .post_login("ada@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let other = app
        .post_refresh(other["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(other.status(), StatusCode::OK);
}

async fn logout_ends_the_session(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let response = app
        .api(
            Method::POST,
            "/auth/logout",
            None,
            Some(json!({"refresh_token": ada.refresh})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let refresh = app.post_refresh(&ada.refresh).await;
    assert_eq!(refresh.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(refresh).await, "invalid_refresh_token");
    // Logging out twice is harmless.
    let response = app
        .api(
            Method::POST,
            "/auth/logout",
            None,
            Some(json!({"refresh_token": ada.refresh})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let unknown = app.post_refresh("gswr_made-up").await;
    assert_eq!(error_code(unknown).await, "invalid_refresh_token");
}

async fn protected_routes_need_a_valid_access_token(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    for token in [None, Some("garbage"), Some(ada.refresh.as_str())] {
        let response = app.api(Method::GET, "/sites", token, None).await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "token {token:?}"
        );
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        assert_eq!(error_code(response).await, "unauthorized");
    }
    // The scheme's name is case-insensitive; any other scheme is refused.
    for (scheme, status) in [
        ("bearer", StatusCode::OK),
        ("BEARER", StatusCode::OK),
        ("Basic", StatusCode::UNAUTHORIZED),
    ] {
        let response = app
            .client
            .get(app.url("/api/v1/sites"))
            .header("authorization", format!("{scheme} {}", ada.access))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{scheme}");
    }
    // A token with a tampered payload (role changed to admin) fails its signature.
    let mut parts: Vec<String> = ada.access.split('.').map(str::to_owned).collect();
    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let claims = String::from_utf8(engine.decode(&parts[1]).unwrap()).unwrap();
    parts[1] = engine.encode(claims.replace("\"user\"", "\"admin\""));
    let forged = parts.join(".");
    let response = app
        .api(Method::GET, "/admin/users", Some(&forged), None)
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

async fn login_attempts_are_rate_limited(app: TestApp) {
    // Registered, not signed in: no attempt is spent yet.
    app.post_register("ada@example.com", PASSWORD).await;
    // The default allows five attempts per email at once.
    for _ in 0..5 {
        let response = app.post_login("ada@example.com", "guessing wrong").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = app.post_login("ada@example.com", "guessing wrong").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=12).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(error_code(response).await, "rate_limited");
    // Even the right password waits now.
    let response = app.post_login("ada@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    // Other accounts are not locked out by Ada's attacker.
    app.signed_up("bob@example.com").await;
    assert_eq!(
        app.post_login("bob@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
}

async fn admin_routes_need_the_admin_role(app: TestApp) {
    let ada = app.signed_up("ada@example.com").await;
    let response = app
        .api(Method::GET, "/admin/users", Some(&ada.access), None)
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(response).await, "forbidden");

    assert!(app
        .store
        .set_user_role("ada@example.com", Role::Admin)
        .await
        .unwrap());
    let session: Value = app
        .post_login("ada@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(session["user"]["role"], "admin");
    let response = app
        .api(
            Method::GET,
            "/admin/users",
            session["access_token"].as_str(),
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let list: Value = response.json().await.unwrap();
    assert_eq!(list["users"].as_array().unwrap().len(), 1);
    assert_eq!(list["users"][0]["email"], "ada@example.com");
}
