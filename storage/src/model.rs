//! The records the control plane keeps, independent of the database behind them.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Declares a string-backed enum stored as TEXT, with its wire and SQL name.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The name stored in the database and used on the wire.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    other => Err(UnknownValue { kind: stringify!($name), value: other.to_owned() }),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = UnknownValue;
            fn try_from(s: String) -> Result<Self, Self::Error> { s.parse() }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

/// A stored TEXT value that is not one of its enum's names.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown {kind} {value:?}")]
pub struct UnknownValue {
    kind: &'static str,
    value: String,
}

text_enum!(
    /// What a user may do.
    Role {
        /// Manages their own sites.
        User => "user",
        /// Operates the control plane.
        Admin => "admin",
    }
);

text_enum!(
    /// How a site's WordPress talks to the control plane.
    Connection {
        /// The `wp-agent` sidecar on the host, over its WebSocket.
        Agent => "agent",
        /// The connector plugin on its own (shared hosting): it pulls
        /// bundles and posts reports over HTTPS, from WP-Cron or a real cron.
        Plugin => "plugin",
    }
);

text_enum!(
    /// Where a site is in its life.
    SiteStatus {
        /// Created, nothing generated or deployed yet.
        Draft => "draft",
        /// A generation job is writing its draft.
        Generating => "generating",
        /// Live on a WordPress host.
        Active => "active",
    }
);

text_enum!(
    /// What a job does.
    JobKind {
        /// AI generation of a site draft. (Deployments are not jobs: they
        /// have their own table and life, see [`DeploymentStatus`].)
        Generation => "generation",
    }
);

text_enum!(
    /// Where a job is in its life.
    JobStatus {
        /// Waiting for a worker.
        Queued => "queued",
        /// A worker holds it.
        Running => "running",
        /// Finished successfully.
        Completed => "completed",
        /// Finished with an error; `logs` says why.
        Failed => "failed",
    }
);

/// A person who signs in to the dashboard or API.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct User {
    pub id: Uuid,
    /// Lower-cased; unique.
    pub email: String,
    /// PHC string (Argon2id).
    pub password_hash: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub subscription_tier: String,
    pub created_at: DateTime<Utc>,
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

/// A refresh token to store; the token itself never reaches storage, only its hash.
#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    pub id: Uuid,
    pub token_hash: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What presenting a refresh token for rotation led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The token was live: it is now used, and the next one is stored in its family.
    Rotated { user_id: Uuid, family_id: Uuid },
    /// The token had already been used: its whole family is now revoked.
    Reused { user_id: Uuid, family_id: Uuid },
    /// The token was revoked (logout, or an earlier reuse).
    Revoked,
    /// The token's lifetime is over.
    Expired,
    /// No such token.
    Unknown,
}

/// A WordPress site managed by one user.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Site {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub domain: Option<String>,
    pub wp_admin_url: Option<String>,
    #[sqlx(try_from = "String")]
    pub status: SiteStatus,
    #[sqlx(json)]
    pub metadata: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Deploy content unfiltered (as a user with `unfiltered_html` would).
    pub allow_unfiltered_html: bool,
    /// What the site's agent last reported about WordPress.
    #[sqlx(json(nullable))]
    pub inventory: Option<serde_json::Value>,
    pub inventory_at: Option<DateTime<Utc>>,
    /// Deployed content changed in WordPress since, as last reported.
    #[sqlx(json(nullable))]
    pub drift: Option<serde_json::Value>,
    pub drift_at: Option<DateTime<Utc>>,
}

/// A site to create.
#[derive(Debug, Clone)]
pub struct NewSite {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub domain: Option<String>,
    pub wp_admin_url: Option<String>,
    pub status: SiteStatus,
    pub metadata: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// A change to a site: `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct SitePatch {
    pub name: Option<String>,
    pub domain: Option<Option<String>>,
    pub wp_admin_url: Option<Option<String>>,
    pub metadata: Option<serde_json::Value>,
    pub allow_unfiltered_html: Option<bool>,
}

/// A unit of background work on a site.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Job {
    pub id: Uuid,
    pub site_id: Uuid,
    pub user_id: Uuid,
    #[sqlx(try_from = "String")]
    pub kind: JobKind,
    #[sqlx(try_from = "String")]
    pub status: JobStatus,
    /// 0 to 100.
    pub progress: i16,
    pub logs: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The step a running job is on (`planning`, `design`, `content`…).
    pub stage: Option<String>,
    /// Why a failed job failed.
    pub error: Option<String>,
    /// How many times a worker has claimed it.
    pub attempts: i32,
}

/// A job to create.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub id: Uuid,
    pub site_id: Uuid,
    pub user_id: Uuid,
    pub kind: JobKind,
    pub created_at: DateTime<Utc>,
}

/// A user's paid plan.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Subscription {
    pub id: Uuid,
    pub user_id: Uuid,
    pub stripe_customer_id: Option<String>,
    pub plan_id: String,
    pub status: String,
    pub current_period_end: Option<DateTime<Utc>>,
}

/// One page of a keyset-paged list, in creation order.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// Return records created after this id (ids are UUIDv7, so time-ordered).
    pub after: Option<Uuid>,
    /// At most this many records.
    pub limit: u32,
}

text_enum!(
    /// Where a deployment is on its way to a site.
    DeploymentStatus {
        /// In the outbox, not yet confirmed by the agent.
        Queued => "queued",
        /// Verified and on the agent's disk.
        Delivered => "delivered",
        /// Applied; every item succeeded.
        Applied => "applied",
        /// Applied, but at least one item failed.
        Failed => "failed",
        /// The agent refused the bundle; nothing was applied.
        Refused => "refused",
    }
);

/// A one-time enrollment token to store (only its hash).
#[derive(Debug, Clone)]
pub struct NewEnrollmentToken {
    pub id: Uuid,
    pub site_id: Uuid,
    pub token_hash: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The sidecar on one site's host, known by its public key.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Agent {
    pub id: Uuid,
    pub site_id: Uuid,
    /// How the site is connected: the sidecar, or the connector plugin alone.
    #[sqlx(try_from = "String")]
    pub connection: Connection,
    /// Ed25519 public key, 32 bytes.
    pub public_key: Vec<u8>,
    pub agent_version: String,
    pub hostname: String,
    pub enrolled_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
    /// Highest bundle sequence the agent has reported applied.
    pub last_applied: i64,
}

/// An agent to register at enrollment.
#[derive(Debug, Clone)]
pub struct NewAgent {
    pub id: Uuid,
    pub connection: Connection,
    pub public_key: Vec<u8>,
    pub agent_version: String,
    pub hostname: String,
}

/// What presenting an enrollment token led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enrollment {
    /// The agent is registered (any earlier agent of the site is revoked).
    Enrolled(Agent),
    /// The token was already used.
    Used,
    /// The token's hour is over.
    Expired,
    /// No such token.
    Unknown,
}

/// The items of a deployment, stored once for all its sites.
#[derive(Debug, Clone)]
pub struct NewRelease {
    pub id: Uuid,
    pub user_id: Uuid,
    /// The manifest's item entries, as JSON.
    pub items: serde_json::Value,
    pub payload: Vec<u8>,
    pub created_at: DateTime<Utc>,
    /// The deployment this release undoes, for rollbacks.
    pub rollback_of: Option<Uuid>,
}

/// A signed manifest for one site, made once its sequence number is known.
#[derive(Debug, Clone)]
pub struct SignedForSite {
    pub manifest: Vec<u8>,
    pub signature: Vec<u8>,
}

/// What a deployment's manifest is signed for, once the store knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignFor {
    /// The deployment (and bundle) id.
    pub id: Uuid,
    pub site_id: Uuid,
    pub sequence: u64,
    /// The site's policy: deploy content unfiltered.
    pub unfiltered_html: bool,
}

/// Signs the manifest of one deployment.
pub type SignManifest<'a> = dyn Fn(&SignFor) -> SignedForSite + Send + Sync + 'a;

/// One bundle for one site.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Deployment {
    pub id: Uuid,
    pub site_id: Uuid,
    pub user_id: Uuid,
    pub release_id: Uuid,
    pub sequence: i64,
    #[sqlx(try_from = "String")]
    pub status: DeploymentStatus,
    pub manifest: Vec<u8>,
    pub signature: Vec<u8>,
    #[sqlx(json(nullable))]
    pub results: Option<serde_json::Value>,
    pub error_code: Option<String>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The deployment this one undoes, for rollbacks.
    pub rollback_of: Option<Uuid>,
}

/// What an agent reported about a delivery.
#[derive(Debug, Clone)]
pub enum DeliveryReport {
    /// Verified and spooled.
    Acked,
    /// Refused, with a code and reason; nothing applied.
    Refused { code: String, reason: String },
    /// Applied, with per-item results; `failed` if any item failed.
    Applied {
        results: serde_json::Value,
        failed: bool,
        sequence: i64,
    },
}

/// A job a worker has claimed, with what it works from.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedJob {
    pub job: Job,
    pub input: serde_json::Value,
}

/// A job and its owner: what goes onto the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct JobRef {
    pub job_id: Uuid,
    pub user_id: Uuid,
}

/// One finished stage of a job and what it produced.
#[derive(Debug, Clone, PartialEq)]
pub struct StageOutput {
    pub stage: String,
    pub output: serde_json::Value,
}

/// A site's stored draft (sitemap, design, pages, plugin plan).
#[derive(Debug, Clone, PartialEq)]
pub struct SiteDraftRecord {
    pub site_id: Uuid,
    pub job_id: Option<Uuid>,
    pub draft: serde_json::Value,
    pub updated_at: DateTime<Utc>,
}

/// Tokens a model call used, as the provider reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenCounts {
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cache_read_tokens: i64,
    pub cache_creation_tokens: i64,
}

impl TokenCounts {
    /// Whether the call cost nothing (a cached or offline answer).
    pub fn is_zero(&self) -> bool {
        *self == Self::default()
    }
}

impl std::ops::AddAssign for TokenCounts {
    fn add_assign(&mut self, other: Self) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cache_read_tokens += other.cache_read_tokens;
        self.cache_creation_tokens += other.cache_creation_tokens;
    }
}

/// The job queue as the job table sees it (true whichever queue carries the ids).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobQueueStats {
    /// Jobs waiting for a worker.
    pub queued: i64,
    /// Jobs a worker holds.
    pub running: i64,
    /// When the longest-waiting queued job was created.
    pub oldest_queued_at: Option<DateTime<Utc>>,
}

/// A model call's token usage to record.
#[derive(Debug, Clone)]
pub struct NewTokenUsage {
    pub id: Uuid,
    pub user_id: Uuid,
    pub job_id: Option<Uuid>,
    pub stage: String,
    pub model: String,
    pub tokens: TokenCounts,
    pub created_at: DateTime<Utc>,
}
