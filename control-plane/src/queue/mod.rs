//! The job queue. The job row in the database is the record; the queue only
//! carries job ids to workers. One trait, two implementations: Redis Streams
//! with a consumer group ([`redis::RedisQueue`], when `redis_url` is set) and
//! an in-process channel ([`memory::MemoryQueue`], the embedded default). The
//! [`worker::Worker`] is the same over both.

pub mod memory;
pub mod redis;
pub mod worker;

use std::time::Duration;

use async_trait::async_trait;
use gsw_storage::JobRef;

/// One delivery of a job to a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The queue's id for this message (the stream entry id; empty in memory).
    pub id: String,
    pub job: JobRef,
    /// How many times this message has been handed out, this time included.
    pub deliveries: u64,
}

/// Carries job ids from the API to the workers.
#[async_trait]
pub trait JobQueue: Send + Sync + 'static {
    /// Short name for logs.
    fn name(&self) -> &'static str;
    /// Whether entries outlive this process (then a starting worker need not
    /// enqueue every unfinished job again, only the ones gone stale).
    fn durable(&self) -> bool;
    /// Whether the queue's server answers: `None` for an in-process queue.
    async fn ping(&self) -> anyhow::Result<Option<()>>;
    /// Adds jobs to the queue.
    async fn enqueue(&self, jobs: &[JobRef]) -> anyhow::Result<()>;
    /// Waits up to `wait` for at most `max` deliveries: new ones, and ones
    /// whose worker went quiet for longer than the visibility timeout.
    async fn receive(
        &self,
        consumer: &str,
        max: usize,
        wait: Duration,
    ) -> anyhow::Result<Vec<Delivery>>;
    /// Done with these: they are not delivered again.
    async fn ack(&self, deliveries: &[Delivery]) -> anyhow::Result<()>;
    /// Still working on it: restart its visibility timeout.
    async fn extend(&self, consumer: &str, delivery: &Delivery) -> anyhow::Result<()>;
    /// Gives up on a delivery for good, keeping it with the reason for inspection.
    async fn dead_letter(&self, delivery: &Delivery, reason: &str) -> anyhow::Result<()>;
}
