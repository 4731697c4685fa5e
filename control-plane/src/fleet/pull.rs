//! The connector plugin's own connection (`gsw_protocol::pull`): signed
//! HTTPS requests for the next bundle and with reports, for sites on hosts
//! where no agent can run. What the requests carry is what an agent's
//! WebSocket carries, and it is handled the same way.

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::Utc;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use gsw_protocol::bundle::SignedManifest;
use gsw_protocol::frame::{AgentFrame, ItemStatus};
use gsw_protocol::pull::{request_message, MAX_REQUEST_SKEW_SECS};
use gsw_storage::{Agent, Connection, DeliveryReport};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{Command, Fleet, Handoff};

/// Why a plugin's request was turned away.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("{0}")]
    Unauthenticated(&'static str),
    #[error("this connection was revoked; connect the site again")]
    Revoked,
    #[error("{0}")]
    Malformed(String),
    #[error(transparent)]
    Store(#[from] gsw_storage::StoreError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// What one frame after the handshake means, on either connection.
pub(crate) enum Incoming {
    /// About one deployment.
    Delivery(Uuid, DeliveryReport),
    /// The site's inventory, as JSON.
    Inventory(serde_json::Value),
    /// The site's drift, capped, as JSON.
    Drift(serde_json::Value),
}

/// A frame that is not a report.
pub(crate) enum NotAReport {
    /// A hello, which only opens a connection.
    Hello,
    /// A report that cannot be stored as it is.
    Malformed(String),
}

/// Reads a report frame.
pub(crate) fn interpret(frame: AgentFrame) -> Result<Incoming, NotAReport> {
    let malformed = |e: &dyn std::fmt::Display| NotAReport::Malformed(e.to_string());
    Ok(match frame {
        AgentFrame::Hello { .. } => return Err(NotAReport::Hello),
        AgentFrame::Ack { deployment_id, .. } => {
            Incoming::Delivery(deployment_id, DeliveryReport::Acked)
        }
        AgentFrame::Refused {
            deployment_id,
            code,
            reason,
            ..
        } => Incoming::Delivery(deployment_id, DeliveryReport::Refused { code, reason }),
        AgentFrame::Applied {
            deployment_id,
            sequence,
            results,
        } => {
            let failed = results.iter().any(|r| r.status == ItemStatus::Failed);
            let results = serde_json::to_value(&results).map_err(|e| malformed(&e))?;
            let sequence = i64::try_from(sequence)
                .map_err(|_| NotAReport::Malformed("sequence out of range".into()))?;
            Incoming::Delivery(
                deployment_id,
                DeliveryReport::Applied {
                    results,
                    failed,
                    sequence,
                },
            )
        }
        AgentFrame::Inventory { inventory } => {
            Incoming::Inventory(serde_json::to_value(&inventory).map_err(|e| malformed(&e))?)
        }
        AgentFrame::Drift { drift } => {
            Incoming::Drift(serde_json::to_value(drift.capped()).map_err(|e| malformed(&e))?)
        }
    })
}

/// The parts of a request its signature covers.
pub struct SignedRequest<'a> {
    pub agent: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
    pub method: &'a str,
    pub path_and_query: &'a str,
    pub body: &'a [u8],
}

impl Fleet {
    /// The plugin connection that signed `request`, checked: a known agent
    /// enrolled as a plugin, a fresh timestamp, a signature by its key over
    /// the request, not revoked.
    pub async fn authenticate_pull(&self, request: &SignedRequest<'_>) -> Result<Agent, Refusal> {
        let missing = Refusal::Unauthenticated(
            "sign the request: x-gsw-agent, x-gsw-timestamp and x-gsw-signature",
        );
        let (Some(agent_id), Some(timestamp), Some(signature)) =
            (request.agent, request.timestamp, request.signature)
        else {
            return Err(missing);
        };
        let agent_id = Uuid::parse_str(agent_id)
            .map_err(|_| Refusal::Unauthenticated("x-gsw-agent is not an agent id"))?;
        let timestamp: i64 = timestamp
            .parse()
            .map_err(|_| Refusal::Unauthenticated("x-gsw-timestamp is not Unix seconds"))?;
        if (Utc::now().timestamp() - timestamp).abs() > MAX_REQUEST_SKEW_SECS {
            return Err(Refusal::Unauthenticated(
                "x-gsw-timestamp is more than five minutes from the control plane's clock; check the host's clock",
            ));
        }
        let signature = STANDARD
            .decode(signature)
            .ok()
            .and_then(|s| Signature::from_slice(&s).ok())
            .ok_or(Refusal::Unauthenticated(
                "x-gsw-signature is not a base64 Ed25519 signature",
            ))?;
        let agent = self
            .store
            .agent(agent_id)
            .await?
            .filter(|a| a.connection == Connection::Plugin)
            .ok_or(Refusal::Unauthenticated("unknown agent"))?;
        let key = <[u8; 32]>::try_from(agent.public_key.as_slice())
            .ok()
            .and_then(|k| VerifyingKey::from_bytes(&k).ok())
            .ok_or(Refusal::Unauthenticated(
                "the agent's stored key is unusable",
            ))?;
        let message = request_message(
            request.method,
            request.path_and_query,
            timestamp,
            agent_id,
            request.body,
        );
        key.verify(&message, &signature).map_err(|_| {
            Refusal::Unauthenticated("the signature does not match the agent's key")
        })?;
        if agent.revoked_at.is_some() {
            return Err(Refusal::Revoked);
        }
        self.mark_seen(agent.id);
        Ok(agent)
    }

    /// The site's next queued bundle (its deployment id and bytes), waiting
    /// up to `wait` for one when none is queued. While it waits, the request
    /// is the site's connection on this node, so a deployment made now (here
    /// or, through Redis, on another node) wakes it at once.
    pub async fn next_bundle(
        self: &Arc<Self>,
        agent: &Agent,
        wait: Duration,
    ) -> Result<Option<(Uuid, Vec<u8>)>, Refusal> {
        if let Some(found) = self.first_queued(agent.site_id).await? {
            return Ok(Some(found));
        }
        if wait.is_zero() {
            return Ok(None);
        }
        let (tx, mut commands) = mpsc::channel(4);
        let conn_id = self.register(agent.site_id, agent.id, tx, Handoff::default());
        let _registered = Unregister {
            fleet: self,
            site_id: agent.site_id,
            conn_id,
        };
        // A deployment made between the read above and registering would
        // have found no connection to wake: read once more.
        if let Some(found) = self.first_queued(agent.site_id).await? {
            return Ok(Some(found));
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, commands.recv()).await {
                Err(_) => return Ok(None),
                Ok(Some(Command::Flush)) => {
                    if let Some(found) = self.first_queued(agent.site_id).await? {
                        return Ok(Some(found));
                    }
                }
                Ok(Some(Command::Revoked)) => return Err(Refusal::Revoked),
                // Another request of this site took over, or this node is
                // stopping: answer "nothing yet", the plugin asks again.
                Ok(Some(Command::Replaced | Command::Restarting) | None) => return Ok(None),
            }
        }
    }

    async fn first_queued(&self, site_id: Uuid) -> Result<Option<(Uuid, Vec<u8>)>, Refusal> {
        let outbox = self.store.outbox(site_id).await?;
        for deployment in outbox {
            let Ok(signature) = <[u8; 64]>::try_from(deployment.signature.as_slice()) else {
                tracing::error!(deployment_id = %deployment.id, "stored signature is not 64 bytes; skipping");
                continue;
            };
            let payload = self.release_payload(deployment.release_id).await?;
            let signed = SignedManifest {
                manifest: deployment.manifest,
                signature,
            };
            return Ok(Some((deployment.id, signed.encode(&payload))));
        }
        Ok(None)
    }

    /// Stores a plugin's reports before answering, in one batch: the plugin
    /// keeps no connection, so "stored" must be known when it hears back.
    pub async fn record_pull_reports(
        &self,
        site_id: Uuid,
        frames: Vec<AgentFrame>,
    ) -> Result<(), Refusal> {
        let mut deliveries = Vec::new();
        let now = Utc::now();
        for frame in frames {
            let incoming = interpret(frame).map_err(|e| match e {
                NotAReport::Hello => Refusal::Malformed("a hello is not a report".into()),
                NotAReport::Malformed(why) => Refusal::Malformed(why),
            })?;
            match incoming {
                Incoming::Delivery(deployment_id, report) => {
                    deliveries.push((site_id, deployment_id, report))
                }
                Incoming::Inventory(value) => {
                    self.store
                        .record_site_inventory(site_id, &value, now)
                        .await?
                }
                Incoming::Drift(value) => {
                    self.store.record_site_drift(site_id, &value, now).await?
                }
            }
        }
        if !deliveries.is_empty() {
            self.store.report_deliveries(&deliveries, now).await?;
        }
        Ok(())
    }
}

/// Forgets a waiting request's registration however the wait ends.
struct Unregister<'a> {
    fleet: &'a Fleet,
    site_id: Uuid,
    conn_id: u64,
}

impl Drop for Unregister<'_> {
    fn drop(&mut self) {
        self.fleet.unregister(self.site_id, self.conn_id);
    }
}
