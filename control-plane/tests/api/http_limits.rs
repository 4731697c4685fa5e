//! The HTTP server's own limits (audit finding: no header-read timeout).
//! A client that trickles header lines is cut off after
//! `http_header_timeout_secs`, however long it keeps trickling, and
//! connections past `http_max_connections` are closed as they arrive, while
//! ordinary requests are served.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::spawn_app_with;

fn host_of(address: &str) -> String {
    address.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection; how long that took.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buffer = [0u8; 1024];
    loop {
        match tokio::time::timeout_at((started + limit).into(), stream.read(&mut buffer)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_trickling_headers_is_cut_off() {
    let app = spawn_app_with(gsw_storage::Backend::Sqlite, |s| {
        s.http_header_timeout_secs = 1;
    })
    .await;
    let host = host_of(&app.address);
    let mut slow = TcpStream::connect(&host).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // A header line every 300 ms: never a whole request.
    let trickle = async {
        for i in 0..20 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if slow
                .write_all(format!("X-Slow-{i}: y\r\n").as_bytes())
                .await
                .is_err()
            {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_millis(1500), trickle).await;
    let closed = closed_within(&mut slow, Duration::from_secs(5)).await;
    assert!(closed.is_some(), "a slow client was still held after 6.5 s");

    // Meanwhile and after, the server serves.
    let response = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_limit_are_closed_and_the_rest_served() {
    let app = spawn_app_with(gsw_storage::Backend::Sqlite, |s| {
        s.http_max_connections = 2;
        s.http_header_timeout_secs = 30;
    })
    .await;
    let host = host_of(&app.address);
    // Two idle connections take both slots.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(&host).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buffer = [0u8; 512];
        let read = stream.read(&mut buffer).await.unwrap();
        assert!(String::from_utf8_lossy(&buffer[..read]).starts_with("HTTP/1.1 200"));
        held.push(stream);
    }
    // A third is closed at once, without an answer.
    let mut third = TcpStream::connect(&host).await.unwrap();
    let _ = third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let closed = closed_within(&mut third, Duration::from_secs(5)).await;
    assert!(closed.is_some(), "the connection past the limit was served");
    // One held connection ends: a new one is served again.
    drop(held.pop());
    let mut served = false;
    for _ in 0..50 {
        let mut stream = TcpStream::connect(&host).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut answer)).await;
        if String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200") {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(served, "a freed slot was not given to a new connection");
}
