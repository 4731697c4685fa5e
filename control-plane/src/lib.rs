//! The gsWstudio control plane: REST API under `/api/v1`, health and metrics,
//! and the dashboard, over a [`gsw_storage::Store`]. Site generation itself
//! lives in the `gsw_generation` crate; [`generation`] composes it with the
//! job queue and workers.
#![forbid(unsafe_code)]

pub mod api;
pub mod app;
pub mod auth;
pub mod error;
pub mod events;
pub mod extract;
pub mod fleet;
pub mod generation;
pub mod http;
pub mod limits;
pub mod metrics;
pub mod outbound;
pub mod photos;
pub mod plugins;
pub mod queue;
pub mod server;
pub mod settings;
pub mod state;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod validate;
mod web;
pub mod wordpress;

pub use server::Server;
pub use settings::Settings;
