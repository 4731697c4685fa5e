//! How control-plane nodes reach agents connected to other nodes.
//!
//! With Redis, a node that holds a site's agent claims the key
//! `gsw:fleet:site:{site}` (its node id, with an expiry refreshed while the
//! agent stays) and listens on `gsw:fleet:node:{node}`. A node that needs
//! that agent (a new deployment, a revocation) looks up the holder and
//! publishes the command on its channel. Without Redis there is one node and
//! nothing to pass on.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use redis::aio::ConnectionManager;
use uuid::Uuid;

use super::{Command, Fleet};

/// The channel between nodes: none (one node) or Redis.
#[derive(Clone)]
pub enum Bus {
    /// A single node: every agent is local.
    Local,
    /// Nodes sharing a Redis.
    Redis(Box<RedisBus>),
}

/// The Redis side of [`Bus`].
#[derive(Clone)]
pub struct RedisBus {
    client: redis::Client,
    conn: ConnectionManager,
    node_id: String,
    claim_ttl: Duration,
}

const RELEASE_IF_OURS: &str =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

fn site_key(site: Uuid) -> String {
    format!("gsw:fleet:site:{site}")
}

fn node_channel(node: &str) -> String {
    format!("gsw:fleet:node:{node}")
}

fn encode(command: Command, site: Uuid) -> String {
    let verb = match command {
        Command::Flush => "flush",
        Command::Revoked => "revoke",
        Command::Replaced => "replace",
        Command::Restarting => "restart",
    };
    format!("{verb} {site}")
}

fn decode(message: &str) -> Option<(Command, Uuid)> {
    let (verb, site) = message.split_once(' ')?;
    let command = match verb {
        "flush" => Command::Flush,
        "revoke" => Command::Revoked,
        "replace" => Command::Replaced,
        "restart" => Command::Restarting,
        _ => return None,
    };
    Some((command, site.parse().ok()?))
}

impl Bus {
    /// Connects to Redis at `url` as node `node_id`.
    pub async fn redis(url: &str, node_id: &str, claim_ttl: Duration) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        let conn = tokio::time::timeout(Duration::from_secs(5), client.get_connection_manager())
            .await
            .map_err(|_| anyhow::anyhow!("Redis at {url} did not answer within 5 seconds"))??;
        Ok(Bus::Redis(Box::new(RedisBus {
            client,
            conn,
            node_id: node_id.to_owned(),
            claim_ttl,
        })))
    }

    /// Pings Redis; `None` on a single node without it.
    pub(crate) async fn ping(&self) -> anyhow::Result<Option<()>> {
        let Bus::Redis(bus) = self else {
            return Ok(None);
        };
        let mut conn = bus.conn.clone();
        redis::cmd("PING").query_async::<String>(&mut conn).await?;
        Ok(Some(()))
    }

    /// Records that this node holds the site's agent.
    pub(crate) fn claim(&self, site: Uuid) {
        if let Bus::Redis(bus) = self {
            let bus = RedisBus::clone(bus);
            tokio::spawn(async move { bus.refresh(&[site]).await });
        }
    }

    /// Forgets that this node holds the site's agent (if it still does).
    pub(crate) fn release(&self, site: Uuid) {
        if let Bus::Redis(bus) = self {
            let mut conn = bus.conn.clone();
            let node = bus.node_id.clone();
            tokio::spawn(async move {
                let released: redis::RedisResult<i64> = redis::Script::new(RELEASE_IF_OURS)
                    .key(site_key(site))
                    .arg(node)
                    .invoke_async(&mut conn)
                    .await;
                if let Err(err) = released {
                    tracing::warn!(%err, %site, "releasing the agent claim in Redis failed");
                }
            });
        }
    }

    /// Renews this node's claims before they expire.
    pub(crate) async fn refresh_claims(&self, sites: &[Uuid]) {
        if let Bus::Redis(bus) = self {
            bus.refresh(sites).await;
        }
    }

    /// Whether another node holds the site's agent.
    pub(crate) async fn held_elsewhere(&self, site: Uuid) -> bool {
        match self {
            Bus::Local => false,
            Bus::Redis(bus) => bus
                .holder(site)
                .await
                .is_some_and(|node| node != bus.node_id),
        }
    }

    /// Passes a command to the node holding the site's agent, if any.
    pub(crate) async fn forward(&self, site: Uuid, command: Command) {
        let Bus::Redis(bus) = self else { return };
        let Some(node) = bus.holder(site).await else {
            return;
        };
        if node == bus.node_id {
            return;
        }
        let mut conn = bus.conn.clone();
        let sent: redis::RedisResult<i64> = redis::cmd("PUBLISH")
            .arg(node_channel(&node))
            .arg(encode(command, site))
            .query_async(&mut conn)
            .await;
        match sent {
            Ok(_) => tracing::debug!(%site, %node, ?command, "forwarded to the agent's node"),
            Err(err) => tracing::warn!(%err, %site, %node, "forwarding to another node failed"),
        }
    }

    /// Listens for commands addressed to this node, for as long as the process runs.
    pub(crate) fn listen(&self, fleet: Arc<Fleet>) {
        let Bus::Redis(bus) = self else { return };
        let bus = RedisBus::clone(bus);
        tokio::spawn(async move {
            loop {
                if let Err(err) = bus.listen_once(&fleet).await {
                    tracing::warn!(%err, "Redis subscription lost; resubscribing");
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }
}

impl RedisBus {
    async fn refresh(&self, sites: &[Uuid]) {
        if sites.is_empty() {
            return;
        }
        let mut pipe = redis::pipe();
        for site in sites {
            pipe.cmd("SET")
                .arg(site_key(*site))
                .arg(&self.node_id)
                .arg("EX")
                .arg(self.claim_ttl.as_secs().max(1))
                .ignore();
        }
        let mut conn = self.conn.clone();
        if let Err(err) = pipe.query_async::<()>(&mut conn).await {
            tracing::warn!(%err, "claiming agents in Redis failed");
        }
    }

    async fn holder(&self, site: Uuid) -> Option<String> {
        let mut conn = self.conn.clone();
        redis::cmd("GET")
            .arg(site_key(site))
            .query_async::<Option<String>>(&mut conn)
            .await
            .unwrap_or_else(|err| {
                tracing::warn!(%err, %site, "looking up the agent's node in Redis failed");
                None
            })
    }

    async fn listen_once(&self, fleet: &Fleet) -> anyhow::Result<()> {
        let mut pubsub = self.client.get_async_pubsub().await?;
        pubsub.subscribe(node_channel(&self.node_id)).await?;
        let mut messages = pubsub.on_message();
        while let Some(message) = messages.next().await {
            let payload: String = message.get_payload()?;
            match decode(&payload) {
                Some((command, site)) => {
                    fleet.tell_local(site, command);
                }
                None => tracing::warn!(payload, "ignoring an unreadable fleet message"),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        let site = Uuid::now_v7();
        for command in [
            Command::Flush,
            Command::Revoked,
            Command::Replaced,
            Command::Restarting,
        ] {
            assert_eq!(decode(&encode(command, site)), Some((command, site)));
        }
        assert_eq!(decode("flush not-a-uuid"), None);
        assert_eq!(decode("explode 00000000-0000-0000-0000-000000000000"), None);
    }
}
