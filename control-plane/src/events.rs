//! Live job progress inside one process: workers publish, WebSocket
//! subscribers filter by job. Workers in another process are seen through the
//! job row instead (the WebSocket also polls it), so nothing is lost when the
//! API and the workers run apart.

use gsw_generation::orchestrator::JobEventSink;
use gsw_storage::{JobRef, JobStatus};
use serde::Serialize;
use tokio::sync::broadcast;
use uuid::Uuid;

/// One step of a job's progress, as pushed to the browser.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobEvent {
    pub job_id: Uuid,
    pub status: JobStatus,
    pub progress: i16,
    pub stage: Option<String>,
    pub message: String,
}

/// The broadcast of every job's events in this process.
#[derive(Debug, Clone)]
pub struct JobEvents {
    sender: broadcast::Sender<JobEvent>,
}

impl Default for JobEvents {
    fn default() -> Self {
        // Subscribers that fall this far behind skip ahead; they re-read the job row.
        let (sender, _) = broadcast::channel(1024);
        Self { sender }
    }
}

impl JobEvents {
    /// Sends an event to whoever listens (nobody is fine).
    pub fn publish(&self, event: JobEvent) {
        let _ = self.sender.send(event);
    }

    /// Every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<JobEvent> {
        self.sender.subscribe()
    }
}

/// A generation's progress goes to the browsers watching the job.
impl JobEventSink for JobEvents {
    fn running(&self, job: JobRef, progress: i16, stage: &str, message: &str) {
        self.publish(JobEvent {
            job_id: job.job_id,
            status: JobStatus::Running,
            progress,
            stage: Some(stage.to_owned()),
            message: message.to_owned(),
        });
    }
}
