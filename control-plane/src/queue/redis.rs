//! The job queue on a Redis Stream read by a consumer group.
//!
//! `XADD` enqueues; `XREADGROUP` hands each entry to one consumer; an entry
//! stays pending until `XACK`. A worker that dies leaves its entries
//! pending: once one has been idle longer than the visibility timeout,
//! `XAUTOCLAIM` hands it to a live worker (a working worker keeps its
//! entries fresh with `XCLAIM … JUSTID`). The delivery count comes from
//! `XPENDING`; past the limit the worker dead-letters the job. Acked entries
//! are deleted, so the stream holds only work still to do.

use std::time::{Duration, Instant};

use anyhow::Context;
use async_trait::async_trait;
use gsw_storage::JobRef;
use redis::aio::ConnectionManager;
use redis::streams::{StreamAutoClaimReply, StreamId, StreamPendingCountReply, StreamReadReply};
use tokio::sync::Mutex;
use uuid::Uuid;

use super::{Delivery, JobQueue};

/// The consumer group every worker joins.
pub const GROUP: &str = "workers";

/// A queue on the stream `stream` (dead letters on `stream:dead`).
pub struct RedisQueue {
    redis: ConnectionManager,
    /// A connection of its own for `XREADGROUP … BLOCK`: a blocked read holds
    /// up every command behind it on the same connection (enqueues, acks).
    reader: ConnectionManager,
    stream: String,
    visibility: Duration,
    /// When this node last looked for abandoned entries.
    last_claim: Mutex<Instant>,
}

impl RedisQueue {
    /// Connects and makes sure the stream and its consumer group exist.
    pub async fn connect(
        client: &redis::Client,
        stream: &str,
        visibility: Duration,
    ) -> anyhow::Result<Self> {
        let redis = ConnectionManager::new(client.clone())
            .await
            .context("connecting to Redis")?;
        let reader = ConnectionManager::new(client.clone())
            .await
            .context("connecting to Redis")?;
        let mut conn = redis.clone();
        let created: redis::RedisResult<()> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(stream)
            .arg(GROUP)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut conn)
            .await;
        match created {
            Ok(()) => {}
            Err(err) if err.code() == Some("BUSYGROUP") => {}
            Err(err) => return Err(err).context("creating the queue's consumer group"),
        }
        Ok(Self {
            redis,
            reader,
            stream: stream.to_owned(),
            visibility,
            last_claim: Mutex::new(Instant::now() - visibility),
        })
    }

    /// The dead-letter stream.
    pub fn dead_stream(&self) -> String {
        format!("{}:dead", self.stream)
    }

    fn job_of(entry: &StreamId) -> Option<JobRef> {
        let job_id: String = entry.get("job")?;
        let user_id: String = entry.get("owner")?;
        Some(JobRef {
            job_id: Uuid::parse_str(&job_id).ok()?,
            user_id: Uuid::parse_str(&user_id).ok()?,
        })
    }

    /// Entries abandoned by dead consumers, now ours, with their delivery counts.
    async fn reclaim(&self, consumer: &str, max: usize) -> anyhow::Result<Vec<Delivery>> {
        {
            let mut last = self.last_claim.lock().await;
            // Looking costs a round trip; once per half a timeout is enough.
            if last.elapsed() < self.visibility / 2 {
                return Ok(Vec::new());
            }
            *last = Instant::now();
        }
        let mut conn = self.redis.clone();
        let reply: StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
            .arg(&self.stream)
            .arg(GROUP)
            .arg(consumer)
            .arg(self.visibility.as_millis() as u64)
            .arg("0-0")
            .arg("COUNT")
            .arg(max)
            .query_async(&mut conn)
            .await?;
        if reply.claimed.is_empty() {
            return Ok(Vec::new());
        }
        let pending: StreamPendingCountReply = redis::cmd("XPENDING")
            .arg(&self.stream)
            .arg(GROUP)
            .arg("-")
            .arg("+")
            .arg(10_000)
            .arg(consumer)
            .query_async(&mut conn)
            .await?;
        let mut out = Vec::new();
        for entry in &reply.claimed {
            let deliveries = pending
                .ids
                .iter()
                .find(|p| p.id == entry.id)
                .map(|p| p.times_delivered as u64)
                .unwrap_or(2);
            match Self::job_of(entry) {
                Some(job) => out.push(Delivery {
                    id: entry.id.clone(),
                    job,
                    deliveries,
                }),
                None => {
                    // Not ours to understand: drop it rather than loop on it.
                    tracing::warn!(id = %entry.id, "unreadable queue entry dropped");
                    self.remove(std::slice::from_ref(&entry.id)).await?;
                }
            }
        }
        Ok(out)
    }

    async fn remove(&self, ids: &[String]) -> anyhow::Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut conn = self.redis.clone();
        let () = redis::pipe()
            .cmd("XACK")
            .arg(&self.stream)
            .arg(GROUP)
            .arg(ids)
            .ignore()
            .cmd("XDEL")
            .arg(&self.stream)
            .arg(ids)
            .ignore()
            .query_async(&mut conn)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl JobQueue for RedisQueue {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn durable(&self) -> bool {
        true
    }

    async fn ping(&self) -> anyhow::Result<Option<()>> {
        let mut conn = self.redis.clone();
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(Some(()))
    }

    async fn enqueue(&self, jobs: &[JobRef]) -> anyhow::Result<()> {
        if jobs.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for job in jobs {
            pipe.cmd("XADD")
                .arg(&self.stream)
                .arg("*")
                .arg("job")
                .arg(job.job_id.to_string())
                .arg("owner")
                .arg(job.user_id.to_string())
                .ignore();
        }
        let mut conn = self.redis.clone();
        let () = pipe.query_async(&mut conn).await?;
        Ok(())
    }

    async fn receive(
        &self,
        consumer: &str,
        max: usize,
        wait: Duration,
    ) -> anyhow::Result<Vec<Delivery>> {
        let max = max.max(1);
        let mut out = self.reclaim(consumer, max).await?;
        if out.len() >= max {
            return Ok(out);
        }
        let mut conn = self.reader.clone();
        let reply: Option<StreamReadReply> = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(GROUP)
            .arg(consumer)
            .arg("COUNT")
            .arg(max - out.len())
            .arg("BLOCK")
            .arg(wait.as_millis().max(1) as u64)
            .arg("STREAMS")
            .arg(&self.stream)
            .arg(">")
            .query_async(&mut conn)
            .await?;
        let mut unreadable = Vec::new();
        for key in reply.map(|r| r.keys).unwrap_or_default() {
            for entry in key.ids {
                match Self::job_of(&entry) {
                    Some(job) => out.push(Delivery {
                        id: entry.id,
                        job,
                        deliveries: 1,
                    }),
                    None => unreadable.push(entry.id),
                }
            }
        }
        self.remove(&unreadable).await?;
        Ok(out)
    }

    async fn ack(&self, deliveries: &[Delivery]) -> anyhow::Result<()> {
        let ids: Vec<String> = deliveries.iter().map(|d| d.id.clone()).collect();
        self.remove(&ids).await
    }

    async fn extend(&self, consumer: &str, delivery: &Delivery) -> anyhow::Result<()> {
        let mut conn = self.redis.clone();
        // JUSTID: resets the idle time without counting another delivery.
        let _: redis::Value = redis::cmd("XCLAIM")
            .arg(&self.stream)
            .arg(GROUP)
            .arg(consumer)
            .arg(0)
            .arg(&delivery.id)
            .arg("JUSTID")
            .query_async(&mut conn)
            .await?;
        Ok(())
    }

    async fn dead_letter(&self, delivery: &Delivery, reason: &str) -> anyhow::Result<()> {
        let mut conn = self.redis.clone();
        let () = redis::cmd("XADD")
            .arg(self.dead_stream())
            .arg("*")
            .arg("job")
            .arg(delivery.job.job_id.to_string())
            .arg("owner")
            .arg(delivery.job.user_id.to_string())
            .arg("reason")
            .arg(reason)
            .query_async(&mut conn)
            .await
            .map(|_: String| ())?;
        self.remove(std::slice::from_ref(&delivery.id)).await
    }
}
