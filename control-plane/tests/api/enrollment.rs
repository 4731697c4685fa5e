//! The enrollment command: what a user copies to a host decides which
//! control plane the agent trusts, so nothing in it comes from the request.

use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(
    the_command_pins_the_signing_key,
    a_forged_host_header_never_reaches_the_command,
    the_commands_enroll_and_start_the_packaged_agent,
);

async fn token_for(app: &TestApp, host: Option<&str>) -> Value {
    let ada = app.signed_up("ada@example.com").await;
    let site = app.create_site(&ada, json!({"name": "Ada's Bakery"})).await;
    let mut request = app
        .client
        .request(
            Method::POST,
            app.url(&format!(
                "/api/v1/sites/{}/enrollment-tokens",
                site["id"].as_str().unwrap()
            )),
        )
        .bearer_auth(&ada.access);
    if let Some(host) = host {
        request = request.header("host", host);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

async fn the_command_pins_the_signing_key(app: TestApp) {
    let token = token_for(&app, None).await;
    let fingerprint = token["bundle_key_fingerprint"].as_str().unwrap();
    assert!(fingerprint.starts_with("SHA256:"), "{fingerprint}");
    let command = token["command"].as_str().unwrap();
    assert!(
        command.contains(&format!("--expect-key {fingerprint}")),
        "{command}"
    );
    // The fingerprint is the key an enrolling agent is then given.
    let key = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let enrolled: Value = app
        .api(
            Method::POST,
            "/agents/enroll",
            None,
            Some(json!({
                "token": token["token"],
                "public_key": base64::engine::general_purpose::STANDARD.encode(key.verifying_key().as_bytes()),
                "hostname": "web-1.example",
                "agent_version": "0.1.0"
            })),
        )
        .await
        .json()
        .await
        .unwrap();
    let signing: [u8; 32] = base64::engine::general_purpose::STANDARD
        .decode(enrolled["bundle_signing_key"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let signing = ed25519_dalek::VerifyingKey::from_bytes(&signing).unwrap();
    assert_eq!(gsw_protocol::bundle::key_fingerprint(&signing), fingerprint);
}

async fn a_forged_host_header_never_reaches_the_command(app: TestApp) {
    let token = token_for(&app, Some("evil.example")).await;
    let command = token["command"].as_str().unwrap();
    assert!(!command.contains("evil"), "{command}");
    assert!(command.contains("--server http://127.0.0.1:"), "{command}");
}

async fn the_commands_enroll_and_start_the_packaged_agent(app: TestApp) {
    let token = token_for(&app, None).await;
    let secret = token["token"].as_str().unwrap();
    let fingerprint = token["bundle_key_fingerprint"].as_str().unwrap();
    let commands: Vec<&str> = token["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let [enroll, start] = commands[..] else {
        panic!("two steps: {commands:?}");
    };
    // Enrolled as the packaged agent's user; the token reaches it on
    // standard input from the shell's own printf, never as an argument.
    let (feed, run) = enroll.split_once(" | ").expect("the token is piped in");
    assert_eq!(feed, format!("printf '%s\\n' {secret}"));
    assert_eq!(
        run,
        format!(
            "sudo -u gsw-agent wp-agent enroll --server {} --token - --expect-key {fingerprint} --wp-path /var/www/html",
            app.address
        )
    );
    assert_eq!(start, "sudo systemctl enable --now gsw-agent");
    assert_eq!(token["command"], format!("{enroll} && {start}"));
}
