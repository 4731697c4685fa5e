//! The worker: takes deliveries off the queue, claims each job in the
//! database under a lease, runs it, and completes it exactly once.
//!
//! The database decides who works on a job (`claim_job` is one conditional
//! UPDATE), the queue only says there is work. So a duplicate delivery is
//! harmless (its claim fails and it is acked), a dead worker's job is
//! reclaimed from the queue after the visibility timeout and claimed again
//! once its lease has run out, and a job that keeps killing its workers is
//! failed with the reason after `max_deliveries` (the dead letter).

use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use gsw_generation::orchestrator::{GenerationError, Orchestrator, Progress};
use gsw_storage::{JobRef, JobStatus, Store};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::{Delivery, JobQueue};
use crate::events::{JobEvent, JobEvents};
use crate::metrics::{JobOutcome, Metrics};

/// When the worker loop last went round, for liveness probes: a loop stuck
/// (on a hung database, say) stops beating while its jobs may still look busy.
#[derive(Debug)]
pub struct Heartbeat(AtomicI64);

impl Default for Heartbeat {
    fn default() -> Self {
        let beat = Self(AtomicI64::new(0));
        beat.beat();
        beat
    }
}

impl Heartbeat {
    /// A loop that has not gone round for this long is taken for stuck. Its
    /// longest honest wait is a queue read (half a second), a reconcile pass
    /// or a one-second back-off; storage calls time out well before this.
    pub const STALE_AFTER: Duration = Duration::from_secs(60);

    fn beat(&self) {
        self.0
            .store(Utc::now().timestamp_millis(), Ordering::Relaxed);
    }

    /// How long since the loop last went round.
    pub fn age(&self) -> Duration {
        let last = self.0.load(Ordering::Relaxed);
        let millis = Utc::now().timestamp_millis().saturating_sub(last);
        Duration::from_millis(u64::try_from(millis).unwrap_or(0))
    }

    /// Whether the loop went round within [`Self::STALE_AFTER`].
    pub fn is_fresh(&self) -> bool {
        self.age() < Self::STALE_AFTER
    }
}

/// One worker process's (or `serve`'s) job runner.
#[derive(Clone)]
pub struct Worker {
    /// Unique per process: the queue consumer name and the lease owner.
    pub id: String,
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn JobQueue>,
    pub orchestrator: Orchestrator,
    pub events: JobEvents,
    /// Quiet this long, a delivery may go to another worker and a lease runs out.
    pub visibility: Duration,
    /// Deliveries of one job before it is failed as a dead letter.
    pub max_deliveries: u64,
    /// Jobs run at once.
    pub concurrency: usize,
    /// How often unfinished jobs the queue may have lost are enqueued again.
    pub reconcile_every: Duration,
    /// Jobs this worker holds right now, handed back when it stops.
    pub running: Arc<std::sync::Mutex<HashSet<JobRef>>>,
    /// Job outcomes and durations are counted here.
    pub metrics: Arc<Metrics>,
    /// Beaten each time round the loop.
    pub heartbeat: Arc<Heartbeat>,
}

impl Worker {
    /// Runs until `shutdown` completes. Jobs still running then are stopped
    /// mid-way and handed back to the queue: another worker (or this one,
    /// restarted) resumes them from their last finished stage.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let worker = Arc::new(self);
        let permits = Arc::new(Semaphore::new(worker.concurrency.max(1)));
        let mut tasks = JoinSet::new();
        tokio::pin!(shutdown);
        let stale = chrono::Duration::from_std(worker.reconcile_every.max(worker.visibility * 2))
            .unwrap_or_else(|_| chrono::Duration::seconds(60));
        // An in-process queue starts empty: everything unfinished and unleased
        // is ours to enqueue. Redis keeps its entries, so only stale ones
        // (lost in a restart without persistence) are enqueued again.
        let mut reconcile_before = if worker.queue.durable() {
            Utc::now() - stale
        } else {
            Utc::now()
        };
        let mut next_reconcile = tokio::time::Instant::now();
        tracing::info!(worker = %worker.id, queue = worker.queue.name(), "worker started");
        loop {
            worker.heartbeat.beat();
            if tokio::time::Instant::now() >= next_reconcile {
                match worker.reconcile(reconcile_before).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(jobs = n, "re-enqueued unfinished jobs"),
                    Err(err) => tracing::warn!(error = %err, "reconciling the queue failed"),
                }
                next_reconcile = tokio::time::Instant::now() + worker.reconcile_every;
                let stale =
                    chrono::Duration::from_std(worker.reconcile_every.max(worker.visibility * 2))
                        .unwrap_or_else(|_| chrono::Duration::seconds(60));
                reconcile_before = Utc::now() - stale;
            }
            while tasks.try_join_next().is_some() {}
            let free = permits.available_permits();
            if free == 0 {
                // Woken every second even while every job runs long, so the
                // heartbeat tells a busy loop from a stuck one.
                tokio::select! {
                    _ = tasks.join_next() => continue,
                    () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    () = &mut shutdown => break,
                }
            }
            let received = tokio::select! {
                received = worker.queue.receive(&worker.id, free, Duration::from_millis(500)) => received,
                () = &mut shutdown => break,
            };
            match received {
                Ok(deliveries) => {
                    for delivery in deliveries {
                        let Ok(permit) = permits.clone().acquire_owned().await else {
                            break;
                        };
                        let worker = worker.clone();
                        tasks.spawn(async move {
                            worker.handle(delivery).await;
                            drop(permit);
                        });
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "reading the job queue failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        tracing::info!(worker = %worker.id, running = tasks.len(), "worker stopping");
        tasks.shutdown().await;
        let held: Vec<JobRef> = worker.held().drain().collect();
        for job in held {
            match worker.store.release_job(job, &worker.id, Utc::now()).await {
                Ok(true) => tracing::info!(job = %job.job_id, "job handed back to the queue"),
                Ok(false) => {}
                // Its lease runs out instead; the reconciler requeues it then.
                Err(err) => {
                    tracing::warn!(error = %err, job = %job.job_id, "handing a job back failed")
                }
            }
        }
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashSet<JobRef>> {
        // A poisoned set still holds the right ids: keep using it.
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Enqueues jobs queued since before `before` (or whose lease ran out) again.
    pub async fn reconcile(&self, before: chrono::DateTime<Utc>) -> anyhow::Result<usize> {
        let mut total = 0;
        loop {
            let jobs = self
                .store
                .requeue_stale_jobs(before, Utc::now(), 500)
                .await?;
            self.queue.enqueue(&jobs).await?;
            total += jobs.len();
            if jobs.len() < 500 {
                return Ok(total);
            }
        }
    }

    fn publish(&self, job: JobRef, status: JobStatus, progress: i16, stage: &str, message: String) {
        self.events.publish(JobEvent {
            job_id: job.job_id,
            status,
            progress,
            stage: Some(stage.to_owned()),
            message,
        });
    }

    /// Works on one delivery, acking it unless it should come back.
    pub async fn handle(&self, delivery: Delivery) {
        let job = delivery.job;
        if delivery.deliveries > self.max_deliveries {
            let reason = format!(
                "gave up after {} deliveries: each worker that took the job stopped before finishing it",
                delivery.deliveries - 1
            );
            match self.store.fail_job(job, None, &reason, Utc::now()).await {
                Ok(true) => self.publish(job, JobStatus::Failed, 0, "failed", reason.clone()),
                Ok(false) => {}
                Err(err) => tracing::warn!(error = %err, "recording a dead letter failed"),
            }
            if let Err(err) = self.queue.dead_letter(&delivery, &reason).await {
                tracing::warn!(error = %err, "dead-lettering failed");
            }
            self.metrics.jobs.ended_unrun(JobOutcome::DeadLettered);
            return;
        }
        let now = Utc::now();
        let lease = chrono::Duration::from_std(self.visibility)
            .unwrap_or_else(|_| chrono::Duration::seconds(60));
        let claimed = match self.store.claim_job(job, &self.id, now, now + lease).await {
            Ok(claimed) => claimed,
            Err(err) => {
                // Left unacked: it comes back after the visibility timeout.
                tracing::warn!(error = %err, job = %job.job_id, "claiming a job failed");
                return;
            }
        };
        let Some(claimed) = claimed else {
            // Finished, deleted, or held by a live worker with its own delivery.
            self.ack(&delivery).await;
            return;
        };
        tracing::info!(job = %job.job_id, attempt = claimed.job.attempts, "job claimed");
        let started = Instant::now();
        let ran = |outcome| {
            self.metrics
                .jobs
                .ran(claimed.job.kind, outcome, started.elapsed())
        };
        self.held().insert(job);
        self.publish(
            job,
            JobStatus::Running,
            claimed.job.progress,
            "started",
            format!("started (attempt {})", claimed.job.attempts),
        );
        let progress = Progress {
            store: self.store.clone(),
            events: self.events.clone(),
            job,
            worker: self.id.clone(),
        };
        let heartbeat = async {
            let mut tick = tokio::time::interval(self.visibility / 3);
            tick.tick().await;
            loop {
                tick.tick().await;
                match self
                    .store
                    .renew_job_lease(job, &self.id, Utc::now() + lease)
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(err) => tracing::warn!(error = %err, "renewing a lease failed"),
                }
                if let Err(err) = self.queue.extend(&self.id, &delivery).await {
                    tracing::warn!(error = %err, "extending a delivery failed");
                }
            }
        };
        let result = tokio::select! {
            result = self.orchestrator.run(job, claimed.job.site_id, &claimed.input, &progress) => result,
            () = heartbeat => Err(GenerationError::LostLease),
        };
        self.held().remove(&job);
        match result {
            Ok(draft) => {
                let draft = match serde_json::to_value(&draft) {
                    Ok(draft) => draft,
                    Err(err) => {
                        ran(JobOutcome::Failed);
                        return self.fail(&delivery, &err.to_string()).await;
                    }
                };
                match self
                    .store
                    .complete_job(job, &self.id, Some(&draft), Utc::now())
                    .await
                {
                    Ok(true) => {
                        ran(JobOutcome::Completed);
                        tracing::info!(job = %job.job_id, "job completed");
                        self.publish(
                            job,
                            JobStatus::Completed,
                            100,
                            "done",
                            "the draft is ready".into(),
                        );
                    }
                    Ok(false) => {
                        ran(JobOutcome::Interrupted);
                        tracing::info!(job = %job.job_id, "job finished elsewhere first");
                    }
                    Err(err) => {
                        ran(JobOutcome::Interrupted);
                        tracing::warn!(error = %err, job = %job.job_id, "completing a job failed; it will be retried");
                        return;
                    }
                }
                self.ack(&delivery).await;
            }
            Err(GenerationError::LostLease) => {
                ran(JobOutcome::Interrupted);
                tracing::info!(job = %job.job_id, "lease lost; another worker carries on");
                self.ack(&delivery).await;
            }
            Err(GenerationError::Store(err)) => {
                ran(JobOutcome::Interrupted);
                tracing::warn!(error = %err, job = %job.job_id, "storage failed mid-job; it will be resumed");
            }
            // The model provider is down or overloaded: keep what is done and
            // try again later, until the job runs out of deliveries.
            Err(GenerationError::Model(err))
                if !err.is_permanent()
                    && i64::from(claimed.job.attempts) < self.max_deliveries as i64 =>
            {
                ran(JobOutcome::Retried);
                tracing::warn!(error = %err, job = %job.job_id, "model unavailable; the job will be retried");
                let _ = progress
                    .report(
                        claimed.job.progress,
                        "waiting",
                        &format!("will retry: {err}"),
                    )
                    .await;
                if let Err(err) = self.store.release_job(job, &self.id, Utc::now()).await {
                    tracing::warn!(error = %err, "handing a job back failed");
                }
                // Not acked: Redis delivers it again after the visibility
                // timeout; the in-process queue gets it from the reconciler.
            }
            Err(err) => {
                ran(JobOutcome::Failed);
                self.fail(&delivery, &err.to_string()).await;
            }
        }
    }

    async fn fail(&self, delivery: &Delivery, reason: &str) {
        let job = delivery.job;
        tracing::warn!(job = %job.job_id, %reason, "job failed");
        match self
            .store
            .fail_job(job, Some(&self.id), reason, Utc::now())
            .await
        {
            Ok(true) => self.publish(job, JobStatus::Failed, 0, "failed", reason.to_owned()),
            Ok(false) => {}
            Err(err) => {
                tracing::warn!(error = %err, "recording a failure failed");
                return;
            }
        }
        self.ack(delivery).await;
    }

    async fn ack(&self, delivery: &Delivery) {
        if let Err(err) = self.queue.ack(std::slice::from_ref(delivery)).await {
            tracing::warn!(error = %err, "acking a delivery failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_heartbeat_goes_stale_when_the_loop_stops_beating() {
        let heartbeat = Heartbeat::default();
        assert!(heartbeat.is_fresh());
        assert!(heartbeat.age() < Duration::from_secs(5));
        let long_ago = Utc::now() - chrono::Duration::seconds(61);
        heartbeat
            .0
            .store(long_ago.timestamp_millis(), Ordering::Relaxed);
        assert!(!heartbeat.is_fresh());
        assert!(heartbeat.age() >= Duration::from_secs(61));
        heartbeat.beat();
        assert!(heartbeat.is_fresh());
    }
}
