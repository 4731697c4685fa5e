//! The REST API's resource routes.

pub mod admin;
pub mod billing;
pub mod editor;
pub mod fleet_table;
pub mod generation;
pub mod health;
pub mod jobs;
pub mod sites;

use serde::{Deserialize, Deserializer};

/// Reads a field that may be absent (`None`), `null` (`Some(None)`) or set.
pub(crate) fn nullable<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
