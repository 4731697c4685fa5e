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
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

/// Reads a count or index written as JSON `3` or `3.0`: JSON Schema's
/// `integer` is any whole number, whichever way it is written. A fraction,
/// a negative or too large a number is refused.
pub(crate) fn whole<'de, T, D>(deserializer: D) -> Result<T, D::Error>
where
    T: TryFrom<u64>,
    D: Deserializer<'de>,
{
    let number = serde_json::Number::deserialize(deserializer)?;
    let value = number.as_u64().or_else(|| {
        number
            .as_f64()
            .filter(|f| f.fract() == 0.0 && (0.0..18_446_744_073_709_551_616.0).contains(f))
            .map(|f| f as u64)
    });
    value.and_then(|v| T::try_from(v).ok()).ok_or_else(|| {
        D::Error::custom(format!(
            "invalid value: {number}, expected a whole number of 0 or more"
        ))
    })
}

/// [`whole`] for an optional field (absent or `null` is `None`).
pub(crate) fn whole_or_none<'de, T, D>(deserializer: D) -> Result<Option<T>, D::Error>
where
    T: TryFrom<u64>,
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    struct Whole<T: TryFrom<u64>>(#[serde(deserialize_with = "whole")] T);
    Option::<Whole<T>>::deserialize(deserializer).map(|w| w.map(|Whole(v)| v))
}

/// Reads a field that may be absent (`None`), `null` (`Some(None)`) or set.
pub(crate) fn nullable<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
