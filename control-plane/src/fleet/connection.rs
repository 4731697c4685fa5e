//! One agent's WebSocket, from challenge to close.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use chrono::Utc;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use futures::{SinkExt, StreamExt};
use gsw_protocol::bundle::SignedManifest;
use gsw_protocol::frame::{
    auth_message, close, parse_frame, AgentFrame, ServerFrame, PROTOCOL_VERSION,
};
use gsw_storage::Deployment;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use rand::RngCore;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

use super::pull::{interpret, Incoming, NotAReport};
use super::{Command, Fleet, Handoff};
use crate::limits::Slot;

/// An agent's WebSocket on this node.
pub type WebSocket = tokio_tungstenite::WebSocketStream<TokioIo<Upgraded>>;

/// Bundles go out in fragments of this size: a socket's write buffer never
/// holds a whole bundle, and every agent's fragments share one payload buffer.
const FRAGMENT_BYTES: usize = 16 * 1024;

/// How long an agent has to answer the challenge.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a connection ended, for the log.
#[derive(Debug)]
struct Closed {
    code: u16,
    reason: String,
}

impl Closed {
    fn new(code: u16, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
        }
    }
}

/// Serves one agent connection until it closes. Nothing that happens on it
/// can affect another connection: every failure ends here, with a close code.
/// `pending` is the connection's slot among those waiting to authenticate
/// from its address; it is given back once the agent has proved who it is.
pub async fn serve_agent(
    fleet: Arc<Fleet>,
    mut socket: WebSocket,
    peer: String,
    pending: Slot<IpAddr>,
) {
    let mut session = None;
    let outcome = run(&fleet, &mut socket, &mut session, pending).await;
    if let Some((site_id, agent_id, conn_id)) = session {
        fleet.unregister(site_id, conn_id);
        fleet.mark_seen(agent_id);
    }
    let closed = match outcome {
        Ok(()) => return,
        Err(closed) => closed,
    };
    match closed.code {
        close::SERVICE_RESTART | close::REPLACED | close::REVOKED => {
            tracing::info!(%peer, code = closed.code, reason = %closed.reason, "agent connection closed")
        }
        _ => {
            tracing::warn!(%peer, code = closed.code, reason = %closed.reason, "agent connection closed")
        }
    }
    let frame = CloseFrame {
        code: CloseCode::from(closed.code),
        reason: closed.reason.into(),
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), socket.close(Some(frame))).await;
}

async fn send_frame(socket: &mut WebSocket, frame: &ServerFrame) -> Result<(), Closed> {
    let text = serde_json::to_string(frame).map_err(|e| Closed::new(1011, e.to_string()))?;
    socket
        .send(Message::Text(text.into()))
        .await
        .map_err(|e| Closed::new(1006, format!("send failed: {e}")))
}

/// Challenge, identity check, then the delivery loop.
async fn run(
    fleet: &Arc<Fleet>,
    socket: &mut WebSocket,
    session: &mut Option<(Uuid, Uuid, u64)>,
    pending: Slot<IpAddr>,
) -> Result<(), Closed> {
    let mut nonce = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    // One deadline for the whole handshake: a client that reads the
    // challenge slowly gets no more time than one that never answers.
    let deadline = Instant::now() + HELLO_TIMEOUT;
    let no_hello = || Closed::new(close::TIMEOUT, "no hello within 10 seconds");
    let challenge = ServerFrame::Challenge {
        version: PROTOCOL_VERSION,
        nonce: STANDARD.encode(nonce),
    };
    tokio::time::timeout_at(deadline, send_frame(socket, &challenge))
        .await
        .map_err(|_| no_hello())??;

    let first = tokio::time::timeout_at(deadline, socket.next())
        .await
        .map_err(|_| no_hello())?;
    let text = match first {
        Some(Ok(Message::Text(text))) => text,
        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Ok(()),
        Some(Ok(_)) => return Err(Closed::new(close::OUT_OF_ORDER, "expected hello")),
    };
    let (agent_id, signature, version, last_applied) = match parse_frame::<AgentFrame>(&text) {
        Ok(AgentFrame::Hello {
            version,
            agent_id,
            signature,
            last_applied,
            ..
        }) => (agent_id, signature, version, last_applied),
        Ok(_) => return Err(Closed::new(close::OUT_OF_ORDER, "expected hello")),
        Err(err) => return Err(Closed::new(err.close_code, err.reason)),
    };
    if version != PROTOCOL_VERSION {
        return Err(Closed::new(
            close::UNSUPPORTED_VERSION,
            format!("protocol {version} is not {PROTOCOL_VERSION}"),
        ));
    }
    let agent = fleet
        .store
        .agent(agent_id)
        .await
        .map_err(|e| Closed::new(1011, format!("storage: {e}")))?
        .ok_or_else(|| Closed::new(close::AUTH_FAILED, "unknown agent"))?;
    let key = <[u8; 32]>::try_from(agent.public_key.as_slice())
        .ok()
        .and_then(|k| VerifyingKey::from_bytes(&k).ok())
        .ok_or_else(|| Closed::new(close::AUTH_FAILED, "stored key unusable"))?;
    let signature = STANDARD
        .decode(signature.as_bytes())
        .ok()
        .and_then(|s| Signature::from_slice(&s).ok())
        .ok_or_else(|| Closed::new(close::AUTH_FAILED, "signature is not base64 Ed25519"))?;
    key.verify(&auth_message(&nonce, agent_id), &signature)
        .map_err(|_| {
            Closed::new(
                close::AUTH_FAILED,
                "signature does not match the agent's key",
            )
        })?;
    if agent.revoked_at.is_some() {
        let _ = send_frame(socket, &ServerFrame::Revoked).await;
        return Err(Closed::new(close::REVOKED, "agent revoked"));
    }
    drop(pending);

    let site_id = agent.site_id;
    let (tx, mut commands) = mpsc::channel(4);
    let handoff = Handoff::default();
    let conn_id = fleet.register(site_id, agent_id, tx, Arc::clone(&handoff));
    *session = Some((site_id, agent_id, conn_id));
    fleet.mark_seen(agent_id);
    tracing::info!(%agent_id, %site_id, "agent connected");
    let heartbeat = fleet.settings.heartbeat;
    send_frame(
        socket,
        &ServerFrame::Welcome {
            site_id,
            heartbeat_secs: heartbeat.as_secs(),
        },
    )
    .await?;

    // Everything queued goes out first, whatever the agent says it applied
    // (it answers repeats from its journal); after that, only what is newer.
    let mut sent_up_to = 0i64;
    flush(fleet, socket, site_id, &mut sent_up_to).await?;
    sent_up_to = sent_up_to.max(i64::try_from(last_applied).unwrap_or(i64::MAX));
    let mut last_heard = Instant::now();
    let mut ping = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
    loop {
        tokio::select! {
            incoming = socket.next() => {
                last_heard = Instant::now();
                let text = match incoming {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Ok(()),
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                    Some(Ok(Message::Binary(_))) => {
                        return Err(Closed::new(close::OUT_OF_ORDER, "agents do not send binary frames"))
                    }
                    Some(Ok(Message::Text(text))) => text,
                };
                let frame = parse_frame::<AgentFrame>(&text).map_err(|e| Closed::new(e.close_code, e.reason))?;
                handle_report(fleet, site_id, frame).await?;
            }
            command = commands.recv() => match command {
                Some(Command::Flush) => send_new(fleet, socket, site_id, &handoff, &mut sent_up_to).await?,
                Some(Command::Revoked) => {
                    let _ = send_frame(socket, &ServerFrame::Revoked).await;
                    return Err(Closed::new(close::REVOKED, "agent revoked"));
                }
                Some(Command::Replaced) => return Err(Closed::new(close::REPLACED, "a newer connection of this agent took over")),
                Some(Command::Restarting) | None => {
                    let restarting = ServerFrame::Restarting { retry_after_ms: 1000, spread_ms: fleet.restart_spread_ms() };
                    let _ = send_frame(socket, &restarting).await;
                    return Err(Closed::new(close::SERVICE_RESTART, "control plane restarting"));
                }
            },
            _ = ping.tick() => {
                if last_heard.elapsed() > fleet.settings.timeout {
                    return Err(Closed::new(close::TIMEOUT, "missed heartbeats"));
                }
                fleet.mark_seen(agent_id);
                socket.send(Message::Ping(Default::default())).await
                    .map_err(|e| Closed::new(1006, format!("send failed: {e}")))?;
            }
        }
    }
}

/// Sends the site's outbox entries this connection has not sent yet.
async fn flush(
    fleet: &Fleet,
    socket: &mut WebSocket,
    site_id: Uuid,
    sent_up_to: &mut i64,
) -> Result<(), Closed> {
    let outbox = fleet
        .store
        .outbox(site_id)
        .await
        .map_err(|e| Closed::new(1011, format!("storage: {e}")))?;
    let already_sent = *sent_up_to;
    for deployment in outbox.iter().filter(|d| d.sequence > already_sent) {
        send_one(fleet, socket, deployment, sent_up_to).await?;
    }
    Ok(())
}

/// Sends what was handed over since the last wake-up, when it follows on
/// from what this connection already sent; otherwise (a plain wake-up, or a
/// gap) reads the outbox.
async fn send_new(
    fleet: &Fleet,
    socket: &mut WebSocket,
    site_id: Uuid,
    handoff: &Handoff,
    sent_up_to: &mut i64,
) -> Result<(), Closed> {
    let mut handed = std::mem::take(&mut *handoff.lock().unwrap_or_else(|p| p.into_inner()));
    handed.retain(|d| d.sequence > *sent_up_to);
    handed.sort_by_key(|d| d.sequence);
    let follows_on = !handed.is_empty()
        && handed
            .iter()
            .zip(*sent_up_to + 1..)
            .all(|(d, expected)| d.sequence == expected);
    if !follows_on {
        return flush(fleet, socket, site_id, sent_up_to).await;
    }
    for deployment in &handed {
        send_one(fleet, socket, deployment, sent_up_to).await?;
    }
    Ok(())
}

/// Sends one deployment's bundle, holding one of the node's send permits.
async fn send_one(
    fleet: &Fleet,
    socket: &mut WebSocket,
    deployment: &Deployment,
    sent_up_to: &mut i64,
) -> Result<(), Closed> {
    let payload = fleet
        .release_payload(deployment.release_id)
        .await
        .map_err(|e| Closed::new(1011, format!("storage: {e}")))?;
    let Ok(signature) = <[u8; 64]>::try_from(deployment.signature.as_slice()) else {
        tracing::error!(deployment_id = %deployment.id, "stored signature is not 64 bytes; skipping");
        return Ok(());
    };
    let signed = SignedManifest {
        manifest: deployment.manifest.clone(),
        signature,
    };
    let permit = fleet
        .sending
        .acquire()
        .await
        .map_err(|_| Closed::new(1011, "shutting down"))?;
    send_delivery(socket, deployment.id, &signed, &payload)
        .await
        .map_err(|e| Closed::new(1006, format!("send failed: {e}")))?;
    drop(permit);
    *sent_up_to = deployment.sequence;
    tracing::debug!(deployment_id = %deployment.id, sequence = deployment.sequence, "bundle sent");
    Ok(())
}

/// Stores what the agent reports about a delivery.
async fn handle_report(fleet: &Fleet, site_id: Uuid, frame: AgentFrame) -> Result<(), Closed> {
    if let AgentFrame::Refused {
        deployment_id,
        code,
        reason,
        ..
    } = &frame
    {
        tracing::warn!(%deployment_id, %site_id, %code, %reason, "agent refused a bundle");
    }
    let storage = |e: gsw_storage::StoreError| Closed::new(1011, format!("storage: {e}"));
    match interpret(frame) {
        Err(NotAReport::Hello) => Err(Closed::new(close::OUT_OF_ORDER, "hello after welcome")),
        Err(NotAReport::Malformed(why)) => Err(Closed::new(close::MALFORMED, why)),
        Ok(Incoming::Delivery(deployment_id, report)) => {
            fleet.record_report(site_id, deployment_id, report).await;
            Ok(())
        }
        // Rare (on connect and after applies), so written straight away.
        Ok(Incoming::Inventory(value)) => fleet
            .store
            .record_site_inventory(site_id, &value, Utc::now())
            .await
            .map_err(storage),
        Ok(Incoming::Drift(value)) => fleet
            .store
            .record_site_drift(site_id, &value, Utc::now())
            .await
            .map_err(storage),
    }
}

/// Sends one delivery (deployment id, then the bundle) as a fragmented
/// binary message: a small first fragment with the header and signed
/// manifest, then the shared payload in [`FRAGMENT_BYTES`] slices. The agent's
/// WebSocket library reassembles them into one message.
async fn send_delivery(
    socket: &mut WebSocket,
    deployment_id: Uuid,
    signed: &SignedManifest,
    payload: &Bytes,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    let mut head = Vec::with_capacity(16 + signed.encoded_len(0));
    head.extend_from_slice(deployment_id.as_bytes());
    signed.encode_into(&mut head, &[]);
    let chunks = payload.len().div_ceil(FRAGMENT_BYTES);
    let first = Frame::message(head, OpCode::Data(Data::Binary), chunks == 0);
    socket.feed(Message::Frame(first)).await?;
    for index in 0..chunks {
        let start = index * FRAGMENT_BYTES;
        let end = (start + FRAGMENT_BYTES).min(payload.len());
        let last = index + 1 == chunks;
        let fragment = Frame::message(
            payload.slice(start..end),
            OpCode::Data(Data::Continue),
            last,
        );
        socket.feed(Message::Frame(fragment)).await?;
    }
    socket.flush().await
}
