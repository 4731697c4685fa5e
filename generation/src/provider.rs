//! The one seam between the agents and a language model: [`ModelProvider`].
//! Agents send a [`ModelRequest`] (system prompt, user prompt, a tool whose
//! JSON schema is the output contract, and the same input as typed JSON) and
//! get JSON matching the schema back. The Anthropic client and the offline
//! engine both implement it; [`CachedProvider`] wraps either with a response cache.

use std::sync::Arc;

use async_trait::async_trait;
use gsw_storage::{Store, TokenCounts};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// A step of generation, each done by one agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Planning,
    Design,
    Content,
    Plugins,
}

impl Stage {
    /// The name in logs, events and usage records.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Planning => "planning",
            Stage::Design => "design",
            Stage::Content => "content",
            Stage::Plugins => "plugins",
        }
    }
}

/// Which model each stage uses: a small one for planning, design and plugins, a large one for writing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRoutes {
    pub small: String,
    pub large: String,
}

impl ModelRoutes {
    /// The model id for a stage.
    pub fn model_for(&self, stage: Stage) -> &str {
        match stage {
            Stage::Content => &self.large,
            Stage::Planning | Stage::Design | Stage::Plugins => &self.small,
        }
    }
}

/// The tool the model must call: its input schema is the output contract.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub input_schema: Value,
}

/// One structured-output call.
#[derive(Debug, Clone)]
pub struct ModelRequest {
    pub stage: Stage,
    pub model: String,
    /// Stable across calls of a stage, so the provider can cache it.
    pub system: String,
    pub prompt: String,
    pub tool: ToolSpec,
    /// The agent's typed input as JSON (what the offline engine works from).
    pub input: Value,
    pub max_tokens: u32,
}

/// What came back.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelReply {
    /// JSON meant to match the tool's schema (the agent checks it).
    pub output: Value,
    pub tokens: TokenCounts,
    pub model: String,
    /// Served from the response cache: it cost nothing.
    pub cached: bool,
}

/// Why a model call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ModelError {
    /// The provider refused the request (400, 401, 403): retrying cannot help.
    #[error("the model provider refused the request ({status}): {message}")]
    Rejected { status: u16, message: String },
    /// The account's spending or credit limit is reached: retrying cannot help.
    #[error("the model provider's spending limit is reached: {0}")]
    SpendingLimit(String),
    /// Still overloaded, rate limited or failing after every retry.
    #[error("the model provider failed after {attempts} attempts: {last}")]
    Exhausted { attempts: u32, last: String },
    /// The answer was not the structured output asked for.
    #[error("the model's answer was malformed: {0}")]
    Malformed(String),
}

impl ModelError {
    /// Whether trying the same call again later may succeed.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Rejected { .. } | Self::SpendingLimit(_))
    }
}

/// A language model that answers with structured output.
#[async_trait]
pub trait ModelProvider: Send + Sync + 'static {
    /// Short name for logs (`anthropic`, `offline`).
    fn name(&self) -> &'static str;
    /// Runs one call.
    async fn generate(&self, request: &ModelRequest) -> Result<ModelReply, ModelError>;
    /// The answer to this request failed the agent's checks: do not serve it again.
    async fn reject(&self, _request: &ModelRequest) {}
}

/// Where model responses are cached.
#[async_trait]
pub trait ResponseCache: Send + Sync + 'static {
    /// The cached output for a key.
    async fn get(&self, key: &str) -> anyhow::Result<Option<Value>>;
    /// Caches an output.
    async fn put(&self, key: &str, output: &Value) -> anyhow::Result<()>;
}

/// The cache in the database (embedded set-up).
pub struct StoreCache(pub Arc<dyn Store>);

#[async_trait]
impl ResponseCache for StoreCache {
    async fn get(&self, key: &str) -> anyhow::Result<Option<Value>> {
        Ok(self.0.cached_model_response(key).await?)
    }
    async fn put(&self, key: &str, output: &Value) -> anyhow::Result<()> {
        Ok(self
            .0
            .cache_model_response(key, output, chrono::Utc::now())
            .await?)
    }
}

/// The cache in Redis, shared by every node; entries expire after `ttl_secs`.
pub struct RedisCache {
    pub redis: redis::aio::ConnectionManager,
    pub prefix: String,
    pub ttl_secs: u64,
}

#[async_trait]
impl ResponseCache for RedisCache {
    async fn get(&self, key: &str) -> anyhow::Result<Option<Value>> {
        let mut redis = self.redis.clone();
        let text: Option<String> = redis::cmd("GET")
            .arg(format!("{}{key}", self.prefix))
            .query_async(&mut redis)
            .await?;
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    }
    async fn put(&self, key: &str, output: &Value) -> anyhow::Result<()> {
        let mut redis = self.redis.clone();
        let () = redis::cmd("SET")
            .arg(format!("{}{key}", self.prefix))
            .arg(output.to_string())
            .arg("EX")
            .arg(self.ttl_secs.max(1))
            .query_async(&mut redis)
            .await?;
        Ok(())
    }
}

/// A provider whose answers are cached by a hash of model, prompts and
/// schema, so regenerating unchanged input costs no tokens.
pub struct CachedProvider {
    pub inner: Arc<dyn ModelProvider>,
    pub cache: Arc<dyn ResponseCache>,
}

/// The cache key of a request.
pub fn cache_key(provider: &str, request: &ModelRequest) -> String {
    let mut hash = Sha256::new();
    for part in [
        provider,
        &request.model,
        &request.system,
        &request.prompt,
        &request.tool.name,
        &request.tool.input_schema.to_string(),
    ] {
        // Length-prefixed, so moving text between parts changes the key.
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    format!("model:{}", hex::encode(hash.finalize()))
}

#[async_trait]
impl ModelProvider for CachedProvider {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    async fn generate(&self, request: &ModelRequest) -> Result<ModelReply, ModelError> {
        let key = cache_key(self.inner.name(), request);
        match self.cache.get(&key).await {
            // `null` marks an answer that was rejected: ask the model again.
            Ok(Some(output)) if !output.is_null() => {
                return Ok(ModelReply {
                    output,
                    tokens: TokenCounts::default(),
                    model: request.model.clone(),
                    cached: true,
                })
            }
            Ok(_) => {}
            // A cache outage costs tokens, not the generation.
            Err(err) => tracing::warn!(error = %err, "model response cache unavailable"),
        }
        let reply = self.inner.generate(request).await?;
        if let Err(err) = self.cache.put(&key, &reply.output).await {
            tracing::warn!(error = %err, "could not cache a model response");
        }
        Ok(reply)
    }

    async fn reject(&self, request: &ModelRequest) {
        let key = cache_key(self.inner.name(), request);
        if let Err(err) = self.cache.put(&key, &Value::Null).await {
            tracing::warn!(error = %err, "could not drop a rejected model response");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    use super::*;
    use crate::agents::Agents;
    use crate::offline::OfflineEngine;

    /// The offline engine, except that its first answer is garbage; it counts calls and charges tokens.
    #[derive(Default)]
    struct FlakyModel {
        calls: AtomicUsize,
    }

    #[async_trait]
    impl ModelProvider for FlakyModel {
        fn name(&self) -> &'static str {
            "flaky"
        }
        async fn generate(&self, request: &ModelRequest) -> Result<ModelReply, ModelError> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            let mut reply = OfflineEngine.generate(request).await?;
            if n == 0 {
                reply.output = serde_json::json!({"pages": "not a list"});
            }
            reply.tokens.input_tokens = 10;
            Ok(reply)
        }
    }

    #[derive(Default)]
    struct MemoryCache(Mutex<HashMap<String, Value>>);

    #[async_trait]
    impl ResponseCache for MemoryCache {
        async fn get(&self, key: &str) -> anyhow::Result<Option<Value>> {
            Ok(self.0.lock().unwrap().get(key).cloned())
        }
        async fn put(&self, key: &str, output: &Value) -> anyhow::Result<()> {
            self.0
                .lock()
                .unwrap()
                .insert(key.to_owned(), output.clone());
            Ok(())
        }
    }

    #[tokio::test]
    async fn rejected_answers_are_not_served_from_the_cache() {
        let model = Arc::new(FlakyModel::default());
        let agents = Agents {
            provider: Arc::new(CachedProvider {
                inner: model.clone(),
                cache: Arc::new(MemoryCache::default()),
            }),
            routes: ModelRoutes {
                small: "s".into(),
                large: "l".into(),
            },
        };
        let brief = crate::offline::tests::bakery();
        let first = agents.plan(&brief).await.unwrap();
        assert_eq!(
            model.calls.load(Ordering::SeqCst),
            2,
            "the bad answer was asked for again"
        );
        assert_eq!(first.tokens.input_tokens, 20);
        assert!(!first.cached);
        let again = agents.plan(&brief).await.unwrap();
        assert_eq!(
            model.calls.load(Ordering::SeqCst),
            2,
            "the good answer came from the cache"
        );
        assert!(again.cached);
        assert!(again.tokens.is_zero());
        assert_eq!(again.output, first.output);
    }
}
