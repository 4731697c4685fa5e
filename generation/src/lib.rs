//! AI site generation: a business description becomes a complete, editable
//! WordPress site draft.
//!
//! Four agents ([`agents`]) do the work, each with a typed input and output,
//! through one [`provider::ModelProvider`]: the Anthropic Messages API
//! ([`anthropic`]) or the deterministic [`offline`] engine. The
//! [`orchestrator`] runs them in order (planning, then design and content
//! concurrently, then plugins), storing each stage's output so a resumed job
//! continues where it stopped, and telling a [`orchestrator::JobEventSink`]
//! how far it got. The model writes structured content; only [`blocks`]
//! writes Gutenberg markup.
//!
//! This crate knows nothing of HTTP, queues or the control plane's settings:
//! it takes plain values (model routes, page concurrency, API key) and a
//! [`gsw_storage::Store`]. The control plane composes it with its queue and
//! workers.
#![forbid(unsafe_code)]

pub mod agents;
pub mod anthropic;
pub mod blocks;
pub mod catalog;
pub mod contrast;
pub mod draft;
pub mod fonts;
pub mod identity;
pub mod images;
pub mod offline;
pub mod orchestrator;
pub mod photos;
pub mod provider;
pub mod theme;
