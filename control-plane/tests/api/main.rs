//! Integration tests: each starts the real server on port 0, over a real
//! socket, with a database of its own. Every test runs on both backends:
//! `<name>::sqlite` and `<name>::postgres`.

mod helpers;

mod anthropic;
mod auth;
mod fake_anthropic;
mod generation;
mod health;
mod jobs;
mod queue;
mod shutdown;
mod sites;
mod validation;
