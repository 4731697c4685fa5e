//! `wp-agent run`: dial out, prove identity, receive, spool, apply, report;
//! reconnect with full-jitter backoff when anything goes wrong.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use futures::{SinkExt, StreamExt};
use gsw_protocol::bundle::{self, peek_manifest, BundleError, Expectations};
use gsw_protocol::frame::{
    auth_message, close, parse_frame, split_delivery, AgentFrame, ItemStatus, ServerFrame,
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

use crate::apply::{Applier, Outcome};
use crate::config::AgentConfig;
use crate::spool::{AppliedRecord, Spool, Spooled};
use crate::tls;

/// The control plane revoked this agent: it will refuse every connection,
/// so `run` ends (with [`EXIT_REVOKED`]) instead of retrying.
#[derive(Debug, thiserror::Error)]
#[error("agent revoked by the control plane")]
pub struct Revoked;

/// `wp-agent run`'s exit status once revoked; the packaged systemd unit
/// does not restart on it (`RestartPreventExitStatus=`).
pub const EXIT_REVOKED: i32 = 3;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// First reconnect delay ceiling.
const BACKOFF_BASE: Duration = Duration::from_secs(1);
/// Highest reconnect delay ceiling.
const BACKOFF_CAP: Duration = Duration::from_secs(60);
/// A connection that lasted this long resets the backoff.
const STABLE_AFTER: Duration = Duration::from_secs(30);
/// How often a connected agent checks for drift besides after each apply.
const DRIFT_EVERY: Duration = Duration::from_secs(600);

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

impl Ending {
    /// The server's restart notice, with its delays capped.
    fn restart(retry_after_ms: u64, spread_ms: u64) -> Self {
        Self::Restart {
            earliest: Duration::from_millis(retry_after_ms.min(60_000)),
            spread: Duration::from_millis(spread_ms).min(BACKOFF_CAP),
        }
    }
}

/// The running agent.
pub struct Agent {
    config: AgentConfig,
    key: SigningKey,
    connector: Option<Connector>,
    core: Arc<Core>,
}

/// The blocking half: verifying, spooling and applying, run on a blocking
/// thread while the connection goes on being served.
struct Core {
    bundle_key: VerifyingKey,
    site_id: Uuid,
    max_bundle_bytes: u64,
    spool: Spool,
    applier: Box<dyn Applier>,
}

/// What arrived while the agent was busy applying: deliveries to handle
/// next, and how the connection ended if it did.
#[derive(Default)]
struct Held {
    deliveries: VecDeque<Vec<u8>>,
    ending: Option<Ending>,
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
        let core = Arc::new(Core {
            bundle_key: config.bundle_key()?,
            site_id: config.site_id,
            max_bundle_bytes: config.max_bundle_bytes,
            spool: Spool::open(state_dir)?,
            applier,
        });
        Ok(Self {
            key: config.signing_key()?,
            connector,
            config,
            core,
        })
    }

    /// Runs until revoked ([`Revoked`]): applies what the spool holds, then stays connected.
    pub async fn run(&self) -> anyhow::Result<()> {
        // Bundles received before a crash or restart are applied now, whether
        // or not the control plane is reachable; their reports go out on connect.
        let core = self.core.clone();
        tokio::task::spawn_blocking(move || core.apply_spooled())
            .await
            .context("the apply task panicked")??;
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
                    return Err(Revoked.into());
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
        for record in self.core.spool.journal()? {
            send(&mut socket, &applied_frame(&record)).await?;
        }
        // What WordPress looks like now, and whether anyone changed it.
        let mut held = Held::default();
        let reports = self
            .busy(&mut socket, heartbeat, &mut held, |core| core.reports())
            .await?;
        for frame in &reports {
            send(&mut socket, frame).await?;
        }
        if let Some(ending) = self.drain(&mut socket, heartbeat, held).await? {
            return Ok(ending);
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
            last_applied: self.core.spool.last_applied()?,
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
        let mut drift = tokio::time::interval_at(Instant::now() + DRIFT_EVERY, DRIFT_EVERY);
        loop {
            tokio::select! {
                incoming = socket.next() => {
                    last_heard = Instant::now();
                    match incoming {
                        None => return Ok(Ending::Retry("server closed the connection".into())),
                        Some(Err(err)) => return Ok(Ending::Retry(format!("connection error: {err}"))),
                        Some(Ok(Message::Binary(frame))) => {
                            let held = Held { deliveries: VecDeque::from([frame.to_vec()]), ending: None };
                            if let Some(ending) = self.drain(socket, heartbeat, held).await? {
                                return Ok(ending);
                            }
                            last_heard = Instant::now();
                        }
                        Some(Ok(Message::Text(text))) => match parse_frame::<ServerFrame>(&text) {
                            Ok(ServerFrame::Restarting { retry_after_ms, spread_ms }) => {
                                return Ok(Ending::restart(retry_after_ms, spread_ms))
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
                _ = drift.tick() => {
                    let mut held = Held::default();
                    let report = self.busy(socket, heartbeat, &mut held, |core| core.drift_frame()).await?;
                    if let Some(frame) = report {
                        send(socket, &frame).await?;
                    }
                    if let Some(ending) = self.drain(socket, heartbeat, held).await? {
                        return Ok(ending);
                    }
                    last_heard = Instant::now();
                }
            }
        }
    }

    /// Runs `job` on a blocking thread while keeping the connection alive:
    /// heartbeats go on, deliveries that arrive are held for later, and an
    /// ending (restart, revocation, close) is remembered, never acted on
    /// half-way through an apply.
    async fn busy<T: Send + 'static>(
        &self,
        socket: &mut Socket,
        heartbeat: Duration,
        held: &mut Held,
        job: impl FnOnce(&Core) -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let core = self.core.clone();
        let mut task = tokio::task::spawn_blocking(move || job(&core));
        let mut ping = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
        loop {
            tokio::select! {
                done = &mut task => return done.context("the apply task panicked"),
                incoming = socket.next(), if held.ending.is_none() => match incoming {
                    None => held.ending = Some(Ending::Retry("server closed the connection".into())),
                    Some(Err(err)) => held.ending = Some(Ending::Retry(format!("connection error: {err}"))),
                    Some(Ok(Message::Binary(frame))) => held.deliveries.push_back(frame.to_vec()),
                    Some(Ok(Message::Text(text))) => {
                        held.ending = Some(match parse_frame::<ServerFrame>(&text) {
                            Ok(ServerFrame::Restarting { retry_after_ms, spread_ms }) => {
                                Ending::restart(retry_after_ms, spread_ms)
                            }
                            Ok(ServerFrame::Revoked) => Ending::Revoked,
                            Ok(other) => Ending::Retry(format!("unexpected frame {other:?}")),
                            Err(err) => Ending::Retry(format!("bad frame from server: {}", err.reason)),
                        });
                    }
                    Some(Ok(Message::Close(frame))) => held.ending = Some(ending_for_close(frame)),
                    Some(Ok(_)) => {}
                },
                _ = ping.tick(), if held.ending.is_none() => {
                    socket.send(Message::Ping(Default::default())).await.context("sending a heartbeat")?;
                }
            }
        }
    }

    /// Handles held deliveries one by one (more may arrive meanwhile);
    /// stops at an ending, leaving the rest to be delivered again.
    async fn drain(
        &self,
        socket: &mut Socket,
        heartbeat: Duration,
        mut held: Held,
    ) -> anyhow::Result<Option<Ending>> {
        while held.ending.is_none() {
            let Some(frame) = held.deliveries.pop_front() else {
                break;
            };
            if self.receive(socket, &frame).await? {
                let (records, reports) = self
                    .busy(socket, heartbeat, &mut held, |core| {
                        let records = core.apply_spooled();
                        let reports = match &records {
                            Ok(records) if !records.is_empty() => core.reports(),
                            _ => Vec::new(),
                        };
                        (records, reports)
                    })
                    .await?;
                for record in records? {
                    send(socket, &applied_frame(&record)).await?;
                }
                for frame in &reports {
                    send(socket, frame).await?;
                }
            }
        }
        Ok(held.ending)
    }

    /// Takes one delivery: verify, spool, acknowledge. True when a new
    /// bundle is in the spool, to be applied.
    async fn receive(&self, socket: &mut Socket, frame: &[u8]) -> anyhow::Result<bool> {
        let Some((deployment_id, bytes)) = split_delivery(frame) else {
            let refused = AgentFrame::Refused {
                deployment_id: Uuid::nil(),
                sequence: None,
                code: "malformed".into(),
                reason: "delivery frame shorter than its header".into(),
            };
            send(socket, &refused).await?;
            return Ok(false);
        };
        // Delivered again after a lost acknowledgement or report: answer again, apply nothing.
        let spool = &self.core.spool;
        if let Some(record) = spool.applied(deployment_id)? {
            send(
                socket,
                &AgentFrame::Ack {
                    deployment_id,
                    sequence: record.sequence,
                },
            )
            .await?;
            send(socket, &applied_frame(&record)).await?;
            return Ok(false);
        }
        if spool.contains(deployment_id)? {
            let sequence = peek_manifest(bytes).map_or(0, |m| m.sequence);
            send(
                socket,
                &AgentFrame::Ack {
                    deployment_id,
                    sequence,
                },
            )
            .await?;
            return Ok(false);
        }
        let verified =
            match bundle::verify(bytes, &self.core.bundle_key, &self.core.expectations()?) {
                Ok(verified) => verified,
                Err(err) => {
                    self.refuse(socket, deployment_id, bytes, &err).await?;
                    return Ok(false);
                }
            };
        if verified.manifest.bundle_id != deployment_id {
            let err = BundleError::BadManifest("bundle id does not match the delivery".into());
            self.refuse(socket, deployment_id, bytes, &err).await?;
            return Ok(false);
        }
        let sequence = verified.manifest.sequence;
        spool.put(deployment_id, sequence, bytes)?;
        send(
            socket,
            &AgentFrame::Ack {
                deployment_id,
                sequence,
            },
        )
        .await?;
        Ok(true)
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
}

impl Core {
    fn expectations(&self) -> anyhow::Result<Expectations> {
        Ok(Expectations {
            site_id: self.site_id,
            last_applied: self.spool.last_applied()?,
            now: chrono::Utc::now().timestamp(),
            max_bundle_bytes: self.max_bundle_bytes,
            max_unpacked_bytes: self.max_bundle_bytes,
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
        let (results, refused) = match self.applier.apply(&verified, &spooled.path) {
            Outcome::Applied(results) => (results, None),
            Outcome::Refused { code, reason } => (Vec::new(), Some((code, reason))),
        };
        let record = AppliedRecord {
            deployment_id: spooled.deployment_id,
            sequence: verified.manifest.sequence,
            results,
            refused,
        };
        self.spool.finish(spooled, &record)?;
        let failed = record
            .results
            .iter()
            .filter(|r| r.status == ItemStatus::Failed)
            .count();
        tracing::info!(deployment_id = %record.deployment_id, sequence = record.sequence, failed, refused = record.refused.is_some(), "bundle applied");
        Ok(Some(record))
    }

    /// Inventory and drift, for targets that can tell; failures are logged,
    /// not fatal (the next apply or connection tries again).
    fn reports(&self) -> Vec<AgentFrame> {
        let mut frames = Vec::new();
        match self.applier.inventory() {
            Some(Ok(inventory)) => frames.push(AgentFrame::Inventory { inventory }),
            Some(Err(err)) => tracing::warn!(error = %format!("{err:#}"), "no inventory"),
            None => {}
        }
        frames.extend(self.drift_frame());
        frames
    }

    fn drift_frame(&self) -> Option<AgentFrame> {
        match self.applier.drift()? {
            Ok(drift) => Some(AgentFrame::Drift { drift }),
            Err(err) => {
                tracing::warn!(error = %format!("{err:#}"), "no drift report");
                None
            }
        }
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
