//! The fleet: agents dialling in over WebSockets, and the deployments they
//! receive.
//!
//! `Fleet` is the hub of one control-plane node: it knows which site's agent
//! is connected here, wakes that connection when the site's outbox changes,
//! and (with Redis) passes wake-ups and revocations to the node that holds
//! the agent. Deliveries themselves always come from the database outbox, so
//! a lost wake-up only delays a bundle until the agent's next connection.

mod bus;
mod connection;
pub mod enrollment;
pub mod pull;
pub mod release;
mod release_cache;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use gsw_storage::{Agent, DeliveryReport, Deployment, Store};
use tokio::sync::mpsc;
use uuid::Uuid;

pub use bus::Bus;
pub use connection::serve_agent;
use release_cache::ReleaseCache;

/// How the fleet behaves; from [`crate::settings::Settings`].
#[derive(Debug, Clone)]
pub struct FleetSettings {
    pub heartbeat: Duration,
    pub timeout: Duration,
    pub max_bundle_bytes: u64,
    pub bundle_ttl: Duration,
    pub node_id: String,
    /// Bytes of release payloads kept in memory.
    pub release_cache_max_bytes: u64,
}

/// What a connection task can be told by the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Command {
    /// The site's outbox may have new deployments.
    Flush,
    /// The agent was revoked: tell it, then close.
    Revoked,
    /// A newer connection of the same agent took over.
    Replaced,
    /// The node is shutting down.
    Restarting,
}

struct Connection {
    agent_id: Uuid,
    conn_id: u64,
    tx: mpsc::Sender<Command>,
    handoff: Handoff,
}

/// Deployments handed straight to a connection by the node that created
/// them, so a push to thousands of agents does not make each connection read
/// its outbox back from the database. The outbox stays the record: a
/// connection that finds a gap reads it instead.
pub(crate) type Handoff = Arc<Mutex<Vec<Arc<Deployment>>>>;

/// The hub of this node's agent connections.
pub struct Fleet {
    pub(crate) store: Arc<dyn Store>,
    pub signing_key: SigningKey,
    pub(crate) settings: FleetSettings,
    connections: Mutex<HashMap<Uuid, Connection>>,
    seen: Mutex<HashMap<Uuid, DateTime<Utc>>>,
    /// Payloads of recent releases, so one bulk deployment reads its payload once.
    releases: Mutex<ReleaseCache>,
    next_conn: AtomicU64,
    bus: Bus,
    reports: mpsc::Sender<Report>,
    report_queue: Mutex<Option<mpsc::Receiver<Report>>>,
    reports_pending: AtomicUsize,
    /// Bounds how many connections send a bundle at once, so the bytes in
    /// flight (and the kernel's socket memory) stay bounded however many
    /// agents a push targets; past the kernel's TCP memory pressure point
    /// every socket slows down.
    pub(crate) sending: tokio::sync::Semaphore,
}

/// How recently a plugin connection must have called in to count as online:
/// a few of the one-minute cron runs the connector asks for, with room for
/// WP-Cron on a site with few visitors.
pub const PLUGIN_ONLINE_WINDOW: chrono::TimeDelta = chrono::TimeDelta::minutes(15);

/// Connections sending a bundle at the same time.
const CONCURRENT_SENDS: usize = 64;

/// What an agent said about a deployment of its site: (site, deployment, report).
type Report = (Uuid, Uuid, DeliveryReport);

/// Most reports written in one transaction.
const REPORT_BATCH: usize = 1000;

/// Most reports waiting to be written. When the database falls behind, a
/// connection with a report to queue waits (and stops reading its socket),
/// so agents that flood reports hold at most this many in memory between
/// them, plus one each.
const REPORT_QUEUE: usize = 4 * REPORT_BATCH;

impl Fleet {
    /// A hub over `store`, signing bundles with `signing_key`.
    pub fn new(
        store: Arc<dyn Store>,
        signing_key: SigningKey,
        settings: FleetSettings,
        bus: Bus,
    ) -> Arc<Self> {
        let (reports, report_queue) = mpsc::channel(REPORT_QUEUE);
        let release_cache_max_bytes = settings.release_cache_max_bytes;
        Arc::new(Self {
            reports,
            report_queue: Mutex::new(Some(report_queue)),
            reports_pending: AtomicUsize::new(0),
            sending: tokio::sync::Semaphore::new(CONCURRENT_SENDS),
            store,
            signing_key,
            settings,
            connections: Mutex::new(HashMap::new()),
            seen: Mutex::new(HashMap::new()),
            releases: Mutex::new(ReleaseCache::new(release_cache_max_bytes)),
            next_conn: AtomicU64::new(1),
            bus,
        })
    }

    /// Starts the background work: flushing `last_seen`, and listening on the bus.
    pub fn start(self: &Arc<Self>) {
        let fleet = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                fleet.flush_seen().await;
            }
        });
        self.bus.listen(Arc::clone(self));
        let queue = self
            .report_queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(mut queue) = queue {
            let fleet = Arc::clone(self);
            tokio::spawn(async move {
                let mut batch = Vec::with_capacity(REPORT_BATCH);
                while queue.recv_many(&mut batch, REPORT_BATCH).await > 0 {
                    fleet.write_reports(&batch).await;
                    fleet
                        .reports_pending
                        .fetch_sub(batch.len(), Ordering::AcqRel);
                    batch.clear();
                }
            });
        }
    }

    /// Queues an agent's report, waiting while [`REPORT_QUEUE`] reports
    /// already wait; reports are written in batches, so ten thousand
    /// acknowledgements cost a few transactions, not ten thousand. A report
    /// lost to a crash before it is written only means the bundle is
    /// delivered again, and the agent answers again without re-applying.
    pub(crate) async fn record_report(
        &self,
        site_id: Uuid,
        deployment_id: Uuid,
        report: DeliveryReport,
    ) {
        self.reports_pending.fetch_add(1, Ordering::AcqRel);
        if self
            .reports
            .send((site_id, deployment_id, report))
            .await
            .is_err()
        {
            self.reports_pending.fetch_sub(1, Ordering::AcqRel);
        }
    }

    async fn write_reports(&self, batch: &[Report]) {
        match self.store.report_deliveries(batch, Utc::now()).await {
            Ok(recorded) => {
                for ((site_id, deployment_id, _), recorded) in batch.iter().zip(recorded) {
                    if !recorded {
                        // A repeat after a reconnect, or about a final deployment: harmless.
                        tracing::debug!(%deployment_id, %site_id, "report changed nothing");
                    }
                }
            }
            Err(err) => tracing::error!(
                %err,
                reports = batch.len(),
                "recording agent reports failed; the bundles will be delivered again"
            ),
        }
    }

    /// Registers a connection for a site, replacing (and closing) any older one.
    pub(crate) fn register(
        &self,
        site_id: Uuid,
        agent_id: Uuid,
        tx: mpsc::Sender<Command>,
        handoff: Handoff,
    ) -> u64 {
        let conn_id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let old = self.lock_connections().insert(
            site_id,
            Connection {
                agent_id,
                conn_id,
                tx,
                handoff,
            },
        );
        if let Some(old) = old {
            let _ = old.tx.try_send(Command::Replaced);
        }
        self.bus.claim(site_id);
        conn_id
    }

    /// Forgets a connection, unless a newer one already replaced it.
    pub(crate) fn unregister(&self, site_id: Uuid, conn_id: u64) {
        let mut connections = self.lock_connections();
        if connections
            .get(&site_id)
            .is_some_and(|c| c.conn_id == conn_id)
        {
            connections.remove(&site_id);
            drop(connections);
            self.bus.release(site_id);
        }
    }

    fn lock_connections(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Connection>> {
        self.connections.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether this site's agent is connected to this node.
    pub fn is_connected_here(&self, site_id: Uuid, agent_id: Uuid) -> bool {
        self.lock_connections()
            .get(&site_id)
            .is_some_and(|c| c.agent_id == agent_id)
    }

    /// Whether the agent is online: a sidecar connected to any node, or a
    /// plugin connection heard from within [`PLUGIN_ONLINE_WINDOW`] (it
    /// calls in from cron; between calls it holds no connection).
    pub async fn is_online(&self, agent: &Agent) -> bool {
        if self.is_connected_here(agent.site_id, agent.id) {
            return true;
        }
        match agent.connection {
            gsw_storage::Connection::Agent => self.bus.held_elsewhere(agent.site_id).await,
            gsw_storage::Connection::Plugin => {
                let seen = self
                    .seen
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(&agent.id)
                    .copied();
                seen.or(agent.last_seen)
                    .is_some_and(|at| Utc::now() - at < PLUGIN_ONLINE_WINDOW)
            }
        }
    }

    /// How widely agents should spread their return after a restart: about
    /// 500 reconnections a second, between one second and one minute.
    pub(crate) fn restart_spread_ms(&self) -> u64 {
        (self.connected() as u64 * 2).clamp(1_000, 60_000)
    }

    /// Pings Redis; `None` when this node runs without it.
    pub async fn bus_ping(&self) -> anyhow::Result<Option<()>> {
        self.bus.ping().await
    }

    /// Number of agents connected to this node.
    pub fn connected(&self) -> usize {
        self.lock_connections().len()
    }

    /// Tells the connection of a site on this node something; false if it is not here.
    pub(crate) fn tell_local(&self, site_id: Uuid, command: Command) -> bool {
        match self.lock_connections().get(&site_id) {
            Some(connection) => {
                // A full queue already holds a flush or a close; either covers this one.
                let _ = connection.tx.try_send(command);
                true
            }
            None => false,
        }
    }

    /// Hands new deployments to their sites' connections on this node, and
    /// wakes the others wherever they are.
    pub async fn deliver(&self, deployments: Vec<Deployment>) {
        let mut elsewhere = Vec::new();
        {
            let connections = self.lock_connections();
            for deployment in deployments {
                match connections.get(&deployment.site_id) {
                    Some(connection) => {
                        connection
                            .handoff
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(Arc::new(deployment));
                        let _ = connection.tx.try_send(Command::Flush);
                    }
                    None => elsewhere.push(deployment.site_id),
                }
            }
        }
        for site_id in elsewhere {
            self.bus.forward(site_id, Command::Flush).await;
        }
    }

    /// Wakes the site's connection, wherever it is, to send its outbox.
    pub async fn notify_site(&self, site_id: Uuid) {
        if !self.tell_local(site_id, Command::Flush) {
            self.bus.forward(site_id, Command::Flush).await;
        }
    }

    /// Closes the site's agent connection, wherever it is, as revoked.
    pub async fn disconnect_revoked(&self, site_id: Uuid) {
        if !self.tell_local(site_id, Command::Revoked) {
            self.bus.forward(site_id, Command::Revoked).await;
        }
    }

    pub(crate) fn mark_seen(&self, agent_id: Uuid) {
        self.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(agent_id, Utc::now());
    }

    /// Writes the `last_seen` times gathered since the last flush, in one batch.
    pub async fn flush_seen(&self) {
        let seen: Vec<_> =
            std::mem::take(&mut *self.seen.lock().unwrap_or_else(|p| p.into_inner()))
                .into_iter()
                .collect();
        if seen.is_empty() {
            return;
        }
        self.bus.refresh_claims(&self.held_sites()).await;
        if let Err(err) = self.store.record_agents_seen(&seen).await {
            tracing::warn!(%err, agents = seen.len(), "recording last_seen failed");
        }
    }

    fn held_sites(&self) -> Vec<Uuid> {
        self.lock_connections().keys().copied().collect()
    }

    /// The payload of a release, from the cache or storage.
    pub(crate) async fn release_payload(&self, release_id: Uuid) -> anyhow::Result<Bytes> {
        if let Some(payload) = self.lock_releases().get(release_id) {
            return Ok(payload);
        }
        let payload = self
            .store
            .release_payload(release_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("release {release_id} has no payload"))?;
        let payload = Bytes::from(payload);
        self.lock_releases().insert(release_id, payload.clone());
        Ok(payload)
    }

    fn lock_releases(&self) -> std::sync::MutexGuard<'_, ReleaseCache> {
        self.releases.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Tells every connected agent the node is restarting, and waits (up to
    /// `wait`) for their connections to close.
    pub async fn shutdown(&self, wait: Duration) {
        let senders: Vec<_> = self
            .lock_connections()
            .values()
            .map(|c| c.tx.clone())
            .collect();
        let count = senders.len();
        for tx in senders {
            let _ = tx.send(Command::Restarting).await;
        }
        let deadline = tokio::time::Instant::now() + wait;
        while (self.connected() > 0 || self.reports_pending.load(Ordering::Acquire) > 0)
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.flush_seen().await;
        tracing::info!(agents = count, "told agents the node is restarting");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn fleet(dir: &std::path::Path) -> Arc<Fleet> {
        let url = format!("sqlite://{}", dir.join("gsw.db").display());
        let store: Arc<dyn Store> = Arc::from(gsw_storage::connect(&url).await.unwrap());
        let settings = FleetSettings {
            heartbeat: Duration::from_secs(20),
            timeout: Duration::from_secs(60),
            max_bundle_bytes: 1024,
            bundle_ttl: Duration::from_secs(60),
            node_id: "test".into(),
            release_cache_max_bytes: 1024,
        };
        Fleet::new(
            store,
            SigningKey::from_bytes(&[7; 32]),
            settings,
            Bus::Local,
        )
    }

    /// An agent flooding reports faster than they are written is made to
    /// wait: the queue never holds more than `REPORT_QUEUE`.
    #[tokio::test]
    async fn the_report_queue_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        // Not started: nothing drains the queue.
        let fleet = fleet(dir.path()).await;
        let report = || DeliveryReport::Acked;
        for _ in 0..REPORT_QUEUE {
            fleet
                .record_report(Uuid::now_v7(), Uuid::now_v7(), report())
                .await;
        }
        let one_more = fleet.record_report(Uuid::now_v7(), Uuid::now_v7(), report());
        assert!(
            tokio::time::timeout(Duration::from_millis(200), one_more)
                .await
                .is_err(),
            "a report past the queue's bound was taken"
        );
        assert_eq!(fleet.reports.capacity(), 0);
    }
}
