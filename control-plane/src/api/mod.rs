//! The REST API, one module per resource. Each takes [`crate::state::AppState`]
//! and calls domain modules (`fleet`, `generation`, `auth`, the store); none
//! imports another's handlers. Response shapes shared by several resources are
//! in [`views`]. `crate::app` composes the routers.

pub mod admin;
pub mod agent_pull;
pub mod agents;
pub mod auth;
pub mod billing;
pub mod connector;
pub mod deployments;
pub mod drafts;
pub mod fleet_table;
pub mod generation;
pub mod health;
pub mod job_events;
pub mod jobs;
pub mod sites;
pub mod views;
pub mod wordpress;
use serde::{Deserialize, Deserializer};

/// Reads a field that may be absent (`None`), `null` (`Some(None)`) or set.
pub(crate) fn nullable<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
