//! What one client may hold open at once (audit findings 2 and 5): agent
//! connections waiting to authenticate, per client address, and live
//! job-event sockets, per user. Past the cap the upgrade is refused with 429
//! and the JSON error; a freed slot can be taken again.

use std::time::Duration;

use futures::StreamExt;
use gsw_protocol::frame::AGENT_CONNECT_PATH;
use serde_json::Value;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::generation::{bakery, generate};
use crate::helpers::{spawn_app_with, TestApp};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens the agents' WebSocket (as `forwarded_for`, when given) and reads
/// the challenge; the refusal's status and error body otherwise.
async fn agent_socket(app: &TestApp, forwarded_for: Option<&str>) -> Result<Socket, (u16, Value)> {
    let url = format!("{}{AGENT_CONNECT_PATH}", app.address.replace("http", "ws"));
    let mut request = url.into_client_request().unwrap();
    if let Some(ip) = forwarded_for {
        request
            .headers_mut()
            .insert("x-forwarded-for", ip.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((mut socket, _)) => {
            let challenge = tokio::time::timeout(Duration::from_secs(5), socket.next())
                .await
                .expect("a challenge within 5 s");
            assert!(
                matches!(challenge, Some(Ok(Message::Text(ref t))) if t.contains("challenge")),
                "{challenge:?}"
            );
            Ok(socket)
        }
        Err(WsError::Http(response)) => {
            let status = response.status().as_u16();
            let body = response.body().clone().unwrap_or_default();
            Err((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
        }
        Err(other) => panic!("connecting: {other}"),
    }
}

fn assert_refused(refusal: Result<Socket, (u16, Value)>, code: &str) -> String {
    let (status, body) = match refusal {
        Ok(_) => panic!("a connection past the cap was accepted"),
        Err(refusal) => refusal,
    };
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    body["error"]["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn agent_connections_waiting_to_authenticate_are_capped_per_address() {
    let app = spawn_app_with(gsw_storage::Backend::Sqlite, |s| {
        s.agent_max_pending_per_address = 2;
    })
    .await;
    let first = agent_socket(&app, None).await.expect("first connection");
    let _second = agent_socket(&app, None).await.expect("second connection");
    let message = assert_refused(agent_socket(&app, None).await, "too_many_at_once");
    assert!(message.contains("waiting to authenticate"), "{message}");
    // The address is the peer's: a forged X-Forwarded-For changes nothing
    // unless the proxy is trusted.
    assert_refused(
        agent_socket(&app, Some("203.0.113.9")).await,
        "too_many_at_once",
    );

    // A connection that goes away gives its slot back.
    drop(first);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match agent_socket(&app, None).await {
            Ok(_) => break,
            Err(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(refusal) => panic!("the slot never came back: {refusal:?}"),
        }
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_the_one_capped() {
    let app = spawn_app_with(gsw_storage::Backend::Sqlite, |s| {
        s.agent_max_pending_per_address = 1;
        s.trust_forwarded_for = true;
    })
    .await;
    let _a = agent_socket(&app, Some("203.0.113.1")).await.expect("a");
    assert_refused(
        agent_socket(&app, Some("203.0.113.1")).await,
        "too_many_at_once",
    );
    let _b = agent_socket(&app, Some("203.0.113.2"))
        .await
        .expect("another client behind the same proxy has its own slots");
}

async fn job_socket(app: &TestApp, job_id: &str, token: &str) -> Result<Socket, (u16, Value)> {
    let url = format!(
        "{}/api/v1/jobs/{job_id}/events?token={token}",
        app.address.replace("http", "ws")
    );
    match tokio_tungstenite::connect_async(url).await {
        Ok((socket, _)) => Ok(socket),
        Err(WsError::Http(response)) => {
            let status = response.status().as_u16();
            let body = response.body().clone().unwrap_or_default();
            Err((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
        }
        Err(other) => panic!("connecting: {other}"),
    }
}

#[tokio::test]
async fn job_event_sockets_are_capped_per_user() {
    let app = spawn_app_with(gsw_storage::Backend::Sqlite, |s| {
        s.job_events_max_per_user = 2;
        // No worker runs the job: it stays queued, so its sockets stay open.
        s.serve_workers = false;
    })
    .await;
    let ada = app.signed_up("ada@example.com").await;
    let bob = app.signed_up("bob@example.com").await;
    let ada_job = generate(&app, &ada, bakery()).await;
    let ada_job = ada_job["job_id"].as_str().unwrap().to_owned();
    let bob_job = generate(&app, &bob, bakery()).await;
    let bob_job = bob_job["job_id"].as_str().unwrap().to_owned();

    let first = job_socket(&app, &ada_job, &ada.access)
        .await
        .expect("first");
    let _second = job_socket(&app, &ada_job, &ada.access)
        .await
        .expect("second");
    let message = assert_refused(
        job_socket(&app, &ada_job, &ada.access).await,
        "too_many_at_once",
    );
    assert!(message.contains("close one"), "{message}");
    let _bob = job_socket(&app, &bob_job, &bob.access)
        .await
        .expect("other users have their own cap");

    drop(first);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match job_socket(&app, &ada_job, &ada.access).await {
            Ok(_) => break,
            Err(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(refusal) => panic!("the slot never came back: {refusal:?}"),
        }
    }
}
