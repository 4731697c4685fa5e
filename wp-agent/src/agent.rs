//! `wp-agent run`: dial out, prove identity, receive, spool, apply, report;
//! reconnect with full-jitter backoff when anything goes wrong.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use futures::{SinkExt, StreamExt};
use gsw_protocol::bundle::{self, peek_manifest, BundleError, Expectations};
use gsw_protocol::frame::{
    auth_message, close, parse_frame, split_delivery, AgentFrame, ServerFrame,
    MAX_TEXT_FRAME_BYTES, PROTOCOL_VERSION,
};
use rand::Rng;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};
use uuid::Uuid;

use crate::apply::Applier;
use crate::config::AgentConfig;
use crate::spool::{AppliedRecord, Spool, Spooled};
use crate::tls;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// First reconnect delay ceiling.
const BACKOFF_BASE: Duration = Duration::from_secs(1);
/// Highest reconnect delay ceiling.
const BACKOFF_CAP: Duration = Duration::from_secs(60);
/// A connection that lasted this long resets the backoff.
const STABLE_AFTER: Duration = Duration::from_secs(30);

/// How a connection ended, deciding what the agent does next.
#[derive(Debug)]
enum Ending {
    /// Reconnect with backoff.
    Retry(String),
    /// The server is restarting: come back after a delay spread over this window.
    Restart {
        earliest: Duration,
        spread: Duration,
    },
    /// Revoked: stop for good.
    Revoked,
}

/// The running agent.
pub struct Agent {
    config: AgentConfig,
    key: SigningKey,
    bundle_key: VerifyingKey,
    spool: Spool,
    applier: Box<dyn Applier>,
    connector: Option<Connector>,
}

impl Agent {
    /// An agent from its identity and state folder.
    pub fn new(
        config: AgentConfig,
        state_dir: &Path,
        applier: Box<dyn Applier>,
    ) -> anyhow::Result<Self> {
        let connector = if config.server.starts_with("https://") {
            Some(Connector::Rustls(tls::client_config(
                config.ca_cert.as_deref(),
            )?))
        } else {
            None
        };
        Ok(Self {
            key: config.signing_key()?,
            bundle_key: config.bundle_key()?,
            spool: Spool::open(state_dir)?,
            applier,
            connector,
            config,
        })
    }

    /// Runs until revoked: applies what the spool holds, then stays connected.
    pub async fn run(&self) -> anyhow::Result<()> {
        // Bundles received before a crash or restart are applied now, whether
        // or not the control plane is reachable; their reports go out on connect.
        self.apply_spooled()?;
        let mut attempt = 0u32;
        loop {
            let started = Instant::now();
            let ending = match self.connect_once().await {
                Ok(ending) => ending,
                Err(err) => Ending::Retry(format!("{err:#}")),
            };
            if started.elapsed() >= STABLE_AFTER {
                attempt = 0;
            }
            let delay = match ending {
                Ending::Revoked => {
                    tracing::error!("this agent has been revoked; enroll it again to reconnect");
                    anyhow::bail!("agent revoked by the control plane");
                }
                Ending::Restart { earliest, spread } => {
                    attempt = 0;
                    let delay = earliest + spread.mul_f64(rand::thread_rng().gen::<f64>());
                    tracing::info!(?delay, "control plane restarting; reconnecting later");
                    delay
                }
                Ending::Retry(why) => {
                    let delay = full_jitter(attempt);
                    attempt = attempt.saturating_add(1);
                    tracing::warn!(%why, ?delay, "disconnected; reconnecting");
                    delay
                }
            };
            tokio::time::sleep(delay).await;
        }
    }

    async fn connect_once(&self) -> anyhow::Result<Ending> {
        let url = self.config.connect_url()?;
        let max = usize::try_from(self.config.max_bundle_bytes)
            .unwrap_or(usize::MAX)
            .saturating_add(64 * 1024);
        let ws_config = WebSocketConfig::default()
            .read_buffer_size(16 * 1024)
            .max_message_size(Some(max))
            .max_frame_size(Some(max));
        let (mut socket, _) = tokio::time::timeout(
            Duration::from_secs(20),
            tokio_tungstenite::connect_async_tls_with_config(
                &url,
                Some(ws_config),
                true,
                self.connector.clone(),
            ),
        )
        .await
        .context("connecting timed out")?
        .with_context(|| format!("connecting to {url}"))?;

        let heartbeat = match self.handshake(&mut socket).await? {
            Ok(heartbeat) => heartbeat,
            Err(ending) => return Ok(ending),
        };
        tracing::info!(server = %self.config.server, "connected");
        // Reports the server may have missed: it ignores ones it already has.
        for record in self.spool.journal()? {
            send(&mut socket, &applied_frame(&record)).await?;
        }
        self.serve(&mut socket, heartbeat).await
    }

    /// Answers the challenge; the heartbeat interval, or how it ended.
    async fn handshake(&self, socket: &mut Socket) -> anyhow::Result<Result<Duration, Ending>> {
        let challenge = match next_server_frame(socket, Duration::from_secs(10)).await? {
            Ok(ServerFrame::Challenge { version, nonce }) => {
                anyhow::ensure!(
                    version == PROTOCOL_VERSION,
                    "server speaks protocol {version}"
                );
                STANDARD
                    .decode(nonce.as_bytes())
                    .context("challenge nonce is not base64")?
            }
            Ok(other) => anyhow::bail!("expected a challenge, got {other:?}"),
            Err(ending) => return Ok(Err(ending)),
        };
        let signature = self
            .key
            .sign(&auth_message(&challenge, self.config.agent_id));
        let hello = AgentFrame::Hello {
            version: PROTOCOL_VERSION,
            agent_id: self.config.agent_id,
            signature: STANDARD.encode(signature.to_bytes()),
            agent_version: env!("CARGO_PKG_VERSION").to_owned(),
            last_applied: self.spool.last_applied()?,
        };
        send(socket, &hello).await?;
        match next_server_frame(socket, Duration::from_secs(10)).await? {
            Ok(ServerFrame::Welcome {
                site_id,
                heartbeat_secs,
            }) => {
                anyhow::ensure!(
                    site_id == self.config.site_id,
                    "server says this agent is for site {site_id}"
                );
                Ok(Ok(Duration::from_secs(heartbeat_secs.clamp(1, 300))))
            }
            Ok(ServerFrame::Revoked) => Ok(Err(Ending::Revoked)),
            Ok(other) => anyhow::bail!("expected welcome, got {other:?}"),
            Err(ending) => Ok(Err(ending)),
        }
    }

    async fn serve(&self, socket: &mut Socket, heartbeat: Duration) -> anyhow::Result<Ending> {
        let silence = heartbeat * 3;
        let mut last_heard = Instant::now();
        let mut ping = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
        loop {
            tokio::select! {
                incoming = socket.next() => {
                    last_heard = Instant::now();
                    match incoming {
                        None => return Ok(Ending::Retry("server closed the connection".into())),
                        Some(Err(err)) => return Ok(Ending::Retry(format!("connection error: {err}"))),
                        Some(Ok(Message::Binary(frame))) => self.receive(socket, &frame).await?,
                        Some(Ok(Message::Text(text))) => match parse_frame::<ServerFrame>(&text) {
                            Ok(ServerFrame::Restarting { retry_after_ms, spread_ms }) => {
                                return Ok(Ending::Restart {
                                    earliest: Duration::from_millis(retry_after_ms.min(60_000)),
                                    spread: Duration::from_millis(spread_ms).min(BACKOFF_CAP),
                                })
                            }
                            Ok(ServerFrame::Revoked) => return Ok(Ending::Revoked),
                            Ok(other) => {
                                close_with(socket, close::OUT_OF_ORDER, "unexpected frame").await;
                                return Ok(Ending::Retry(format!("unexpected frame {other:?}")));
                            }
                            Err(err) => {
                                close_with(socket, err.close_code, &err.reason).await;
                                return Ok(Ending::Retry(format!("bad frame from server: {}", err.reason)));
                            }
                        },
                        Some(Ok(Message::Close(frame))) => return Ok(ending_for_close(frame)),
                        Some(Ok(_)) => {}
                    }
                }
                _ = ping.tick() => {
                    if last_heard.elapsed() > silence {
                        return Ok(Ending::Retry("no heartbeat from the server".into()));
                    }
                    socket.send(Message::Ping(Default::default())).await.context("sending a heartbeat")?;
                }
            }
        }
    }

    /// Handles one delivery: verify, spool, acknowledge, apply, report.
    async fn receive(&self, socket: &mut Socket, frame: &[u8]) -> anyhow::Result<()> {
        let Some((deployment_id, bytes)) = split_delivery(frame) else {
            let refused = AgentFrame::Refused {
                deployment_id: Uuid::nil(),
                sequence: None,
                code: "malformed".into(),
                reason: "delivery frame shorter than its header".into(),
            };
            return send(socket, &refused).await;
        };
        // Delivered again after a lost acknowledgement or report: answer again, apply nothing.
        if let Some(record) = self.spool.applied(deployment_id)? {
            send(
                socket,
                &AgentFrame::Ack {
                    deployment_id,
                    sequence: record.sequence,
                },
            )
            .await?;
            return send(socket, &applied_frame(&record)).await;
        }
        if self.spool.contains(deployment_id)? {
            let sequence = peek_manifest(bytes).map_or(0, |m| m.sequence);
            return send(
                socket,
                &AgentFrame::Ack {
                    deployment_id,
                    sequence,
                },
            )
            .await;
        }
        let verified = match bundle::verify(bytes, &self.bundle_key, &self.expectations()?) {
            Ok(verified) => verified,
            Err(err) => return self.refuse(socket, deployment_id, bytes, &err).await,
        };
        if verified.manifest.bundle_id != deployment_id {
            let err = BundleError::BadManifest("bundle id does not match the delivery".into());
            return self.refuse(socket, deployment_id, bytes, &err).await;
        }
        let sequence = verified.manifest.sequence;
        self.spool.put(deployment_id, sequence, bytes)?;
        send(
            socket,
            &AgentFrame::Ack {
                deployment_id,
                sequence,
            },
        )
        .await?;
        for record in self.apply_spooled()? {
            send(socket, &applied_frame(&record)).await?;
        }
        Ok(())
    }

    async fn refuse(
        &self,
        socket: &mut Socket,
        deployment_id: Uuid,
        bytes: &[u8],
        err: &BundleError,
    ) -> anyhow::Result<()> {
        let sequence = peek_manifest(bytes).map(|m| m.sequence);
        tracing::warn!(%deployment_id, ?sequence, code = err.code(), reason = %err, "bundle refused");
        let refused = AgentFrame::Refused {
            deployment_id,
            sequence,
            code: err.code().to_owned(),
            reason: err.to_string(),
        };
        send(socket, &refused).await
    }

    fn expectations(&self) -> anyhow::Result<Expectations> {
        Ok(Expectations {
            site_id: self.config.site_id,
            last_applied: self.spool.last_applied()?,
            now: chrono::Utc::now().timestamp(),
            max_bundle_bytes: self.config.max_bundle_bytes,
            max_unpacked_bytes: self.config.max_bundle_bytes,
        })
    }

    /// Applies every spooled bundle in sequence order; returns what was applied.
    fn apply_spooled(&self) -> anyhow::Result<Vec<AppliedRecord>> {
        let mut applied = Vec::new();
        for spooled in self.spool.pending()? {
            if let Some(record) = self.apply_one(&spooled)? {
                applied.push(record);
            }
        }
        Ok(applied)
    }

    fn apply_one(&self, spooled: &Spooled) -> anyhow::Result<Option<AppliedRecord>> {
        // Applied before a crash that came before the spool entry was removed.
        if let Some(record) = self.spool.applied(spooled.deployment_id)? {
            self.spool.finish(spooled, &record)?;
            return Ok(None);
        }
        let bytes = std::fs::read(&spooled.path)
            .with_context(|| format!("reading {}", spooled.path.display()))?;
        // Checked again: the spool is on disk, and time has passed since it was received.
        let verified = match bundle::verify(&bytes, &self.bundle_key, &self.expectations()?) {
            Ok(verified) => verified,
            Err(err) => {
                tracing::error!(deployment_id = %spooled.deployment_id, %err, "spooled bundle no longer verifies; refusing it");
                let record = AppliedRecord {
                    deployment_id: spooled.deployment_id,
                    sequence: spooled.sequence,
                    results: Vec::new(),
                    refused: Some((err.code().to_owned(), err.to_string())),
                };
                self.spool.finish(spooled, &record)?;
                return Ok(Some(record));
            }
        };
        let results = self.applier.apply(&verified);
        let record = AppliedRecord {
            deployment_id: spooled.deployment_id,
            sequence: verified.manifest.sequence,
            results,
            refused: None,
        };
        self.spool.finish(spooled, &record)?;
        tracing::info!(deployment_id = %record.deployment_id, sequence = record.sequence, "bundle applied");
        Ok(Some(record))
    }
}

/// What to tell the control plane about a journalled bundle.
fn applied_frame(record: &AppliedRecord) -> AgentFrame {
    match &record.refused {
        Some((code, reason)) => AgentFrame::Refused {
            deployment_id: record.deployment_id,
            sequence: Some(record.sequence),
            code: code.clone(),
            reason: reason.clone(),
        },
        None => AgentFrame::Applied {
            deployment_id: record.deployment_id,
            sequence: record.sequence,
            results: record.results.clone(),
        },
    }
}

/// Full jitter: uniformly random between zero and the exponential ceiling.
pub fn full_jitter(attempt: u32) -> Duration {
    let ceiling = BACKOFF_BASE
        .saturating_mul(2u32.saturating_pow(attempt.min(16)))
        .min(BACKOFF_CAP);
    ceiling.mul_f64(rand::thread_rng().gen::<f64>())
}

async fn send(socket: &mut Socket, frame: &AgentFrame) -> anyhow::Result<()> {
    let text = serde_json::to_string(frame)?;
    socket
        .send(Message::Text(text.into()))
        .await
        .context("sending to the control plane")
}

async fn close_with(socket: &mut Socket, code: u16, reason: &str) {
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: reason.to_owned().into(),
    };
    let _ = socket.close(Some(frame)).await;
}

fn ending_for_close(frame: Option<CloseFrame>) -> Ending {
    let code = frame.as_ref().map(|f| u16::from(f.code));
    let reason = frame.map(|f| f.reason.to_string()).unwrap_or_default();
    match code {
        Some(close::REVOKED) => Ending::Revoked,
        Some(close::SERVICE_RESTART) => Ending::Restart {
            earliest: BACKOFF_BASE,
            spread: BACKOFF_CAP / 2,
        },
        _ => Ending::Retry(format!("server closed the connection ({code:?}: {reason})")),
    }
}

/// The next text frame from the server, or how the connection ended.
async fn next_server_frame(
    socket: &mut Socket,
    wait: Duration,
) -> anyhow::Result<Result<ServerFrame, Ending>> {
    let deadline = Instant::now() + wait;
    loop {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .context("the control plane did not answer in time")?;
        match message {
            None => return Ok(Err(Ending::Retry("server closed the connection".into()))),
            Some(Err(err)) => return Ok(Err(Ending::Retry(format!("connection error: {err}")))),
            Some(Ok(Message::Text(text))) => {
                anyhow::ensure!(text.len() <= MAX_TEXT_FRAME_BYTES, "frame too large");
                return Ok(Ok(parse_frame(&text).map_err(|e| {
                    anyhow::anyhow!("bad frame from server: {}", e.reason)
                })?));
            }
            Some(Ok(Message::Close(frame))) => return Ok(Err(ending_for_close(frame))),
            Some(Ok(_)) => continue,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_jittered_and_capped() {
        for attempt in [0, 1, 5, 30, u32::MAX] {
            let ceiling = BACKOFF_BASE
                .saturating_mul(2u32.saturating_pow(attempt.min(16)))
                .min(BACKOFF_CAP);
            for _ in 0..100 {
                assert!(full_jitter(attempt) <= ceiling);
            }
        }
        // Not all the same: 10,000 agents must not come back at one instant.
        let delays: std::collections::HashSet<_> =
            (0..100).map(|_| full_jitter(6).as_millis()).collect();
        assert!(delays.len() > 50);
    }
}
