//! What the dashboard reads and writes beyond the core records: the fleet
//! table (sites with their agent and last deployment, searched and filtered
//! in the query), tags, a site's jobs, draft edits and billing usage.
//!
//! These are the records; their SQL is in `sql/dashboard.rs`.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{Agent, DeploymentStatus, Site, SiteStatus, TokenCounts};

/// Which of the owner's sites the fleet table shows.
#[derive(Debug, Clone, Default)]
pub struct SiteFilter {
    /// Text the name or domain must contain (case-insensitive).
    pub search: Option<String>,
    pub status: Option<SiteStatus>,
    /// A tag the site's `metadata.tags` must hold.
    pub tag: Option<String>,
    pub agent: Option<AgentFilter>,
}

/// Sites by the state of their agent. Online means heard from since the
/// time for its kind of connection: a sidecar keeps a connection and is
/// heard from every few seconds, a plugin connection calls in from cron.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentFilter {
    /// An enrolled agent heard from at or after its connection's time.
    SeenSince(SeenTimes),
    /// An enrolled agent not heard from since its connection's time (or never).
    NotSeenSince(SeenTimes),
    /// No live agent enrolled.
    NotEnrolled,
}

/// Since when an agent must have been heard from to count as online, by
/// its kind of connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeenTimes {
    pub agent: DateTime<Utc>,
    pub plugin: DateTime<Utc>,
}

/// The latest deployment of a site, as the fleet table shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentSummary {
    pub id: Uuid,
    pub sequence: i64,
    pub status: DeploymentStatus,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One row of the fleet table.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetSite {
    pub site: Site,
    /// The live (not revoked) agent, if one is enrolled.
    pub agent: Option<Agent>,
    pub last_deployment: Option<DeploymentSummary>,
}

/// A tag and how many of the owner's sites carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagCount {
    pub tag: String,
    pub sites: i64,
}

/// What writing an edited draft led to.
#[derive(Debug, Clone, PartialEq)]
pub enum DraftWrite {
    /// Stored; the draft's new `updated_at`.
    Written(DateTime<Utc>),
    /// The draft changed after it was read: read it again and redo the edit.
    Stale,
    /// A generation job on the site is unfinished; it would overwrite the edit.
    Busy,
    /// No such draft of the owner's.
    Missing,
}

/// What a user has used since a time, for billing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageSince {
    /// Sites the user has now.
    pub sites: i64,
    /// Generation jobs (whole sites and regenerations) started since.
    pub generations: i64,
    /// Deployments (one per site) made since.
    pub deployments: i64,
    /// Model tokens used since.
    pub tokens: TokenCounts,
}
