//! Integration tests: each starts the real server on port 0, over a real
//! socket, with a database of its own. Every test runs on both backends:
//! `<name>::sqlite` and `<name>::postgres`.

use gsw_control_plane::{on_both_backends, on_both_backends_with_redis};

/// The shared harness, under the name the test modules use.
mod helpers {
    pub use gsw_control_plane::testing::*;
}

mod anthropic;
mod auth;
mod connection_caps;
mod contract;
mod dashboard;
mod deploy_draft;
mod deployment_limits;
mod enrollment;
mod fake_anthropic;
mod generation;
mod health;
mod http_limits;
mod jobs;
mod openapi;
mod operations;
mod photos;
mod plugin_connection;
mod plugin_directory;
mod queue;
mod rollback;
mod shutdown;
mod sites;
mod validation;
mod web;
mod wordpress;
