//! The embedded default: an in-process channel of job ids. Nothing survives
//! a restart here, and nothing needs to: the worker's reconciler re-reads
//! unfinished jobs from the job table at start and every so often.

use std::time::Duration;

use async_trait::async_trait;
use gsw_storage::JobRef;
use tokio::sync::{mpsc, Mutex};

use super::{Delivery, JobQueue};

/// An in-process queue.
pub struct MemoryQueue {
    sender: mpsc::UnboundedSender<JobRef>,
    receiver: Mutex<mpsc::UnboundedReceiver<JobRef>>,
}

impl Default for MemoryQueue {
    fn default() -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        Self {
            sender,
            receiver: Mutex::new(receiver),
        }
    }
}

#[async_trait]
impl JobQueue for MemoryQueue {
    fn name(&self) -> &'static str {
        "in-process"
    }

    fn durable(&self) -> bool {
        false
    }

    async fn ping(&self) -> anyhow::Result<Option<()>> {
        Ok(None)
    }

    async fn enqueue(&self, jobs: &[JobRef]) -> anyhow::Result<()> {
        for job in jobs {
            self.sender.send(*job)?;
        }
        Ok(())
    }

    async fn receive(
        &self,
        _consumer: &str,
        max: usize,
        wait: Duration,
    ) -> anyhow::Result<Vec<Delivery>> {
        let mut receiver = self.receiver.lock().await;
        let delivery = |job| Delivery {
            id: String::new(),
            job,
            deliveries: 1,
        };
        let mut out = Vec::new();
        match tokio::time::timeout(wait, receiver.recv()).await {
            Ok(Some(job)) => out.push(delivery(job)),
            Ok(None) | Err(_) => return Ok(out),
        }
        while out.len() < max {
            match receiver.try_recv() {
                Ok(job) => out.push(delivery(job)),
                Err(_) => break,
            }
        }
        Ok(out)
    }

    async fn ack(&self, _deliveries: &[Delivery]) -> anyhow::Result<()> {
        Ok(())
    }

    async fn extend(&self, _consumer: &str, _delivery: &Delivery) -> anyhow::Result<()> {
        Ok(())
    }

    async fn dead_letter(&self, delivery: &Delivery, reason: &str) -> anyhow::Result<()> {
        tracing::warn!(job = %delivery.job.job_id, %reason, "dead letter");
        Ok(())
    }
}
