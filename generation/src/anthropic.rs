//! The Anthropic Messages API (`POST {base}/v1/messages`) as a [`ModelProvider`].
//!
//! Structured output through tool use: the agent's schema is the one tool,
//! and `tool_choice` forces the model to call it, so the answer is the
//! tool call's `input`. The system prompt (stable per stage) is marked for
//! prompt caching. 429 (after `retry-after`), 529 and 5xx are retried with
//! full-jitter exponential backoff; 400, 401, 403 and spending-limit errors are not.

use std::time::Duration;

use async_trait::async_trait;
use gsw_storage::TokenCounts;
use rand::Rng;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::provider::{ModelError, ModelProvider, ModelReply, ModelRequest};

/// The API version this client speaks.
pub const API_VERSION: &str = "2023-06-01";

/// How the client retries.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The first retry waits up to this long; each further one up to twice as long.
    pub base: Duration,
    /// No wait is longer (a `retry-after` included).
    pub max: Duration,
}

impl Backoff {
    /// Full jitter: a uniformly random wait between zero and the capped exponential.
    pub fn delay(&self, retry: u32) -> Duration {
        let cap = self
            .base
            .saturating_mul(2u32.saturating_pow(retry.min(16)))
            .min(self.max);
        let millis = cap.as_millis() as u64;
        Duration::from_millis(rand::thread_rng().gen_range(0..=millis))
    }
}

/// A client of the Messages API.
pub struct AnthropicClient {
    http: reqwest::Client,
    url: String,
    api_key: String,
    backoff: Backoff,
}

/// What one attempt came to.
enum Attempt {
    Done(ModelReply),
    Retry {
        why: String,
        after: Option<Duration>,
    },
    Fail(ModelError),
}

impl AnthropicClient {
    /// A client for the API at `base_url` (e.g. `https://api.anthropic.com`).
    pub fn new(
        base_url: &str,
        api_key: &str,
        backoff: Backoff,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("gsw-control-plane/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            url: format!("{}/v1/messages", base_url.trim_end_matches('/')),
            api_key: api_key.to_owned(),
            backoff,
        })
    }

    /// The request body for a call.
    pub fn body(request: &ModelRequest) -> Value {
        json!({
            "model": request.model,
            "max_tokens": request.max_tokens,
            "system": [{
                "type": "text",
                "text": request.system,
                "cache_control": {"type": "ephemeral"},
            }],
            "messages": [{"role": "user", "content": request.prompt}],
            "tools": [{
                "name": request.tool.name,
                "description": request.tool.description,
                "input_schema": request.tool.input_schema,
            }],
            "tool_choice": {"type": "tool", "name": request.tool.name},
        })
    }

    async fn attempt(&self, request: &ModelRequest, body: &Value) -> Attempt {
        let sent = self
            .http
            .post(&self.url)
            .header("x-api-key", &self.api_key)
            .header("anthropic-version", API_VERSION)
            .json(body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            // Connection failures and timeouts are worth another try.
            Err(err) => {
                return Attempt::Retry {
                    why: format!("request failed: {err}"),
                    after: None,
                }
            }
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64);
        let text = match response.text().await {
            Ok(text) => text,
            Err(err) => {
                return Attempt::Retry {
                    why: format!("reading the response failed: {err}"),
                    after: None,
                }
            }
        };
        if status.is_success() {
            return match parse_reply(&text, &request.tool.name) {
                Ok(reply) => Attempt::Done(reply),
                Err(err) => Attempt::Retry {
                    why: err.to_string(),
                    after: None,
                },
            };
        }
        let (kind, message) = error_of(&text);
        let described = format!("{} {kind}: {message}", status.as_u16());
        if is_spending_limit(&kind, &message) {
            return Attempt::Fail(ModelError::SpendingLimit(message));
        }
        match status {
            StatusCode::TOO_MANY_REQUESTS => Attempt::Retry {
                why: described,
                after: retry_after,
            },
            s if s.as_u16() == 529 || s.is_server_error() => Attempt::Retry {
                why: described,
                after: retry_after,
            },
            s => Attempt::Fail(ModelError::Rejected {
                status: s.as_u16(),
                message: format!("{kind}: {message}"),
            }),
        }
    }
}

/// The error type and message of an API error body (`{"type":"error","error":{…}}`).
fn error_of(text: &str) -> (String, String) {
    let value: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let kind = value["error"]["type"]
        .as_str()
        .unwrap_or("unknown_error")
        .to_owned();
    let message = value["error"]["message"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| text.chars().take(200).collect());
    (kind, message)
}

/// Whether an error says the account may not spend more: no retry helps.
fn is_spending_limit(kind: &str, message: &str) -> bool {
    let message = message.to_lowercase();
    kind == "billing_error"
        || [
            "credit balance",
            "spend limit",
            "spending limit",
            "usage limit",
            "billing",
        ]
        .iter()
        .any(|m| message.contains(m))
}

/// The tool call's input and the usage, from a successful response.
pub fn parse_reply(text: &str, tool: &str) -> Result<ModelReply, ModelError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| ModelError::Malformed(format!("the response is not JSON: {e}")))?;
    let input = value["content"]
        .as_array()
        .and_then(|blocks| {
            blocks
                .iter()
                .find(|b| b["type"] == "tool_use" && b["name"].as_str().is_none_or(|n| n == tool))
        })
        .map(|b| b["input"].clone())
        .filter(Value::is_object)
        .ok_or_else(|| ModelError::Malformed(format!("no {tool} tool call in the response")))?;
    let usage = &value["usage"];
    let count = |field: &str| usage[field].as_i64().unwrap_or(0);
    Ok(ModelReply {
        output: input,
        tokens: TokenCounts {
            input_tokens: count("input_tokens"),
            output_tokens: count("output_tokens"),
            cache_read_tokens: count("cache_read_input_tokens"),
            cache_creation_tokens: count("cache_creation_input_tokens"),
        },
        model: value["model"].as_str().unwrap_or_default().to_owned(),
        cached: false,
    })
}

#[async_trait]
impl ModelProvider for AnthropicClient {
    fn name(&self) -> &'static str {
        "anthropic"
    }

    async fn generate(&self, request: &ModelRequest) -> Result<ModelReply, ModelError> {
        let body = Self::body(request);
        let mut last = String::new();
        for attempt in 0..self.backoff.max_attempts.max(1) {
            if attempt > 0 {
                tracing::debug!(attempt, %last, stage = request.stage.as_str(), "retrying the model call");
            }
            match self.attempt(request, &body).await {
                Attempt::Done(mut reply) => {
                    if reply.model.is_empty() {
                        reply.model = request.model.clone();
                    }
                    return Ok(reply);
                }
                Attempt::Fail(err) => return Err(err),
                Attempt::Retry { why, after } => {
                    last = why;
                    if attempt + 1 < self.backoff.max_attempts {
                        let wait = match after {
                            Some(after) => after.min(self.backoff.max),
                            None => self.backoff.delay(attempt),
                        };
                        tokio::time::sleep(wait).await;
                    }
                }
            }
        }
        Err(ModelError::Exhausted {
            attempts: self.backoff.max_attempts.max(1),
            last,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_jitter_stays_under_the_capped_exponential() {
        let backoff = Backoff {
            max_attempts: 5,
            base: Duration::from_millis(100),
            max: Duration::from_millis(1000),
        };
        for retry in 0..10 {
            let cap = Duration::from_millis(100 * 2u64.pow(retry)).min(Duration::from_millis(1000));
            assert!(backoff.delay(retry) <= cap);
        }
    }

    #[test]
    fn spending_limits_are_recognised() {
        assert!(is_spending_limit(
            "invalid_request_error",
            "Your credit balance is too low to access the Anthropic API."
        ));
        assert!(is_spending_limit(
            "rate_limit_error",
            "You have reached your specified API usage limits."
        ));
        assert!(!is_spending_limit(
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit"
        ));
    }
}
