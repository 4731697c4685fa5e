//! The Anthropic client against a local fake of the Messages API: tool use,
//! retries, no retries, model routing, caching and token accounting.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gsw_control_plane::settings::Secret;
use gsw_generation::agents::Agents;
use gsw_generation::anthropic::{AnthropicClient, Backoff};
use gsw_generation::draft::Brief;
use gsw_generation::provider::{ModelError, ModelRoutes};
use reqwest::Method;
use serde_json::{json, Value};

use crate::fake_anthropic::{FakeAnthropic, Scripted, PAGES, USAGE};
use crate::generation::{finished_job, generate};
use crate::helpers::spawn_app_with;

fn client(fake: &FakeAnthropic, max_attempts: u32) -> Agents {
    let backoff = Backoff {
        max_attempts,
        base: Duration::from_millis(10),
        max: Duration::from_secs(2),
    };
    Agents {
        provider: Arc::new(
            AnthropicClient::new(&fake.url, "sk-test", backoff, Duration::from_secs(10)).unwrap(),
        ),
        routes: ModelRoutes {
            small: "claude-small".into(),
            large: "claude-large".into(),
        },
    }
}

fn brief() -> Brief {
    Brief {
        business_name: "Harbour Plumbing".into(),
        business_type: "plumber".into(),
        description: "Plumbers in Bristol offering repairs, installations and maintenance.".into(),
        goals: vec!["More calls".into()],
        style: None,
        ..Default::default()
    }
}

#[tokio::test]
async fn tool_use_answers_are_structured_output() {
    let fake = FakeAnthropic::start().await;
    let outcome = client(&fake, 3).plan(&brief()).await.unwrap();
    assert_eq!(outcome.output.pages.len(), 8);
    assert_eq!(outcome.output.pages[0].slug, "home");
    assert_eq!(outcome.model, "claude-small");
    assert_eq!(
        (
            outcome.tokens.input_tokens,
            outcome.tokens.output_tokens,
            outcome.tokens.cache_read_tokens,
            outcome.tokens.cache_creation_tokens
        ),
        USAGE
    );
    let calls = fake.calls();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.headers["x-api-key"], "sk-test");
    assert_eq!(call.headers["anthropic-version"], "2023-06-01");
    assert_eq!(call.body["model"], "claude-small");
    assert_eq!(
        call.body["tool_choice"],
        json!({"type": "tool", "name": "record_sitemap"})
    );
    assert_eq!(call.body["tools"][0]["name"], "record_sitemap");
    assert_eq!(call.body["tools"][0]["input_schema"]["type"], "object");
    assert_eq!(
        call.body["system"][0]["cache_control"],
        json!({"type": "ephemeral"})
    );
    assert!(call.body["messages"][0]["content"]
        .as_str()
        .unwrap()
        .contains("Harbour Plumbing"));
    // Page titles come in the site's language, named by the brief.
    assert!(call.body["system"][0]["text"]
        .as_str()
        .unwrap()
        .contains("the brief's `language`"));

    // The plugin agent keeps catalog plugins only and adds the essentials.
    let plugins = client(&fake, 3)
        .plugins(&gsw_generation::agents::PluginInput {
            brief: brief(),
            sitemap: outcome.output,
        })
        .await
        .unwrap()
        .output;
    assert!(plugins
        .plugins
        .iter()
        .all(|p| p.slug != "not-in-the-catalog"));
    assert!(plugins.plugins.iter().any(|p| p.slug == "wpforms-lite"));
}

#[tokio::test]
async fn rate_limits_are_retried_after_retry_after() {
    let fake = FakeAnthropic::start().await;
    let mut limited = Scripted::error(
        429,
        "rate_limit_error",
        "Number of request tokens has exceeded your per-minute rate limit",
    );
    limited.headers.push(("retry-after", "1".into()));
    fake.script([limited]);
    let started = Instant::now();
    client(&fake, 3).plan(&brief()).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "retry-after was not honoured"
    );
    assert_eq!(fake.calls().len(), 2);
}

#[tokio::test]
async fn overloads_and_server_errors_are_retried_with_backoff() {
    let fake = FakeAnthropic::start().await;
    fake.script([
        Scripted::error(529, "overloaded_error", "Overloaded"),
        Scripted::error(500, "api_error", "Internal server error"),
        Scripted::error(503, "api_error", "Unavailable"),
    ]);
    client(&fake, 4).plan(&brief()).await.unwrap();
    assert_eq!(fake.calls().len(), 4);

    // Out of attempts: the last reason is reported.
    fake.script((0..3).map(|_| Scripted::error(529, "overloaded_error", "Overloaded")));
    let err = client(&fake, 3).plan(&brief()).await.unwrap_err();
    assert!(
        matches!(&err, ModelError::Exhausted { attempts: 3, last } if last.contains("529")),
        "{err}"
    );
}

#[tokio::test]
async fn malformed_bodies_are_retried_then_reported() {
    let fake = FakeAnthropic::start().await;
    let malformed = |body: &str| Scripted {
        tool: None,
        status: 200,
        headers: vec![],
        body: body.into(),
    };
    fake.script([
        malformed("{not json"),
        malformed(r#"{"content": [{"type": "text", "text": "no tool"}]}"#),
    ]);
    client(&fake, 3).plan(&brief()).await.unwrap();
    assert_eq!(fake.calls().len(), 3);

    fake.script((0..2).map(|_| malformed("<html>gateway</html>")));
    let err = client(&fake, 2).plan(&brief()).await.unwrap_err();
    assert!(matches!(err, ModelError::Exhausted { .. }), "{err}");
}

#[tokio::test]
async fn client_errors_and_spending_limits_are_not_retried() {
    let cases = [
        (
            Scripted::error(400, "invalid_request_error", "max_tokens: too large"),
            "refused",
        ),
        (
            Scripted::error(401, "authentication_error", "invalid x-api-key"),
            "refused",
        ),
        (
            Scripted::error(403, "permission_error", "not allowed"),
            "refused",
        ),
        (
            Scripted::error(
                429,
                "rate_limit_error",
                "You have reached your specified API usage limits.",
            ),
            "spending",
        ),
        (
            Scripted::error(
                400,
                "invalid_request_error",
                "Your credit balance is too low to access the Anthropic API.",
            ),
            "spending",
        ),
    ];
    for (scripted, kind) in cases {
        let fake = FakeAnthropic::start().await;
        fake.script([scripted.clone()]);
        let err = client(&fake, 5).plan(&brief()).await.unwrap_err();
        match kind {
            "spending" => assert!(matches!(err, ModelError::SpendingLimit(_)), "{err}"),
            _ => assert!(matches!(err, ModelError::Rejected { .. }), "{err}"),
        }
        assert!(err.is_permanent());
        assert_eq!(fake.calls().len(), 1, "{} was retried", scripted.status);
    }
}

crate::on_both_backends_with_redis!(
    a_generation_routes_stages_caches_and_counts_tokens,
    on_redis_the_cache_and_queue_live_in_redis,
    a_page_that_keeps_failing_is_reported_while_the_rest_completes,
);

async fn a_page_that_keeps_failing_is_reported_while_the_rest_completes(
    backend: gsw_storage::Backend,
) {
    let fake = FakeAnthropic::start().await;
    let url = fake.url.clone();
    let app = spawn_app_with(backend, |s| {
        s.anthropic_api_key = Some(Secret::new("sk-test"));
        s.anthropic_base_url = url;
        s.anthropic_max_attempts = 1;
        // One page at a time, so the scripted failures all hit the first page.
        s.generation_page_concurrency = 1;
    })
    .await;
    let mut failure = Scripted::error(500, "api_error", "Internal server error");
    failure.tool = Some("record_page");
    fake.script([failure.clone(), failure]);
    let ada = app.signed_up("ada@example.com").await;
    let accepted = generate(
        &app,
        &ada,
        json!({
            "business_name": "Harbour Plumbing",
            "type": "plumber",
            "description": "Plumbers in Bristol.",
            "goals": ["More calls"]
        }),
    )
    .await;
    let job = finished_job(&app, &ada, accepted["job_id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert!(
        job["logs"]
            .as_str()
            .unwrap()
            .contains("could not write the Home page"),
        "{job}"
    );
    let draft: Value = app
        .api(
            Method::GET,
            &format!("/sites/{}/draft", accepted["site_id"].as_str().unwrap()),
            Some(&ada.access),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(draft["pages"].as_array().unwrap().len(), PAGES.len() - 1);
    assert_eq!(draft["failed_pages"][0]["slug"], "home");
    assert!(draft["failed_pages"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("500"));

    // The failed page can be written later, and takes its place in the draft.
    let path = format!(
        "/sites/{}/regenerate",
        accepted["site_id"].as_str().unwrap()
    );
    let response = app
        .api(
            Method::POST,
            &path,
            Some(&ada.access),
            Some(json!({"page": "home", "section": 0})),
        )
        .await;
    assert_eq!(response.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    let response = app
        .api(
            Method::POST,
            &path,
            Some(&ada.access),
            Some(json!({"page": "home"})),
        )
        .await;
    assert_eq!(response.status(), reqwest::StatusCode::ACCEPTED);
    let retry: Value = response.json().await.unwrap();
    let job = finished_job(&app, &ada, retry["job_id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "completed", "{job}");
    let draft: Value = app
        .api(
            Method::GET,
            &format!("/sites/{}/draft", accepted["site_id"].as_str().unwrap()),
            Some(&ada.access),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(draft["pages"].as_array().unwrap().len(), PAGES.len());
    assert_eq!(draft["pages"][0]["slug"], "home");
    assert_eq!(draft["failed_pages"], json!([]));
}

async fn a_generation_routes_stages_caches_and_counts_tokens(backend: gsw_storage::Backend) {
    routes_caches_and_counts(backend, None).await
}

/// The same story with Redis: the queue is a stream, the cache Redis keys, the workers inside `serve`.
async fn on_redis_the_cache_and_queue_live_in_redis(backend: gsw_storage::Backend) {
    let stream = format!("gsw:test:{}", uuid::Uuid::new_v4().simple());
    routes_caches_and_counts(backend, Some(stream.clone())).await;
    let client = redis::Client::open(crate::queue::redis_url()).unwrap();
    let mut conn = redis::aio::ConnectionManager::new(client).await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{stream}:cache:*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        keys.len(),
        3 + PAGES.len(),
        "one cached answer per distinct request"
    );
    let mut del = redis::cmd("DEL");
    del.arg(&stream).arg(&keys);
    let _: redis::RedisResult<()> = del.query_async(&mut conn).await;
}

async fn routes_caches_and_counts(backend: gsw_storage::Backend, redis_stream: Option<String>) {
    let fake = FakeAnthropic::start().await;
    let url = fake.url.clone();
    let app = spawn_app_with(backend, |s| {
        if let Some(stream) = redis_stream {
            s.redis_url = Some(Secret::new(crate::queue::redis_url()));
            s.queue_stream = stream;
        }
        s.anthropic_api_key = Some(Secret::new("sk-test"));
        s.anthropic_base_url = url;
        s.anthropic_small_model = "claude-small".into();
        s.anthropic_large_model = "claude-large".into();
        s.anthropic_backoff_base_ms = 10;
    })
    .await;
    let ada = app.signed_up("ada@example.com").await;
    let body = json!({
        "business_name": "Harbour Plumbing",
        "type": "plumber",
        "description": "Plumbers in Bristol offering repairs, installations and maintenance.",
        "goals": ["More calls"]
    });
    let first = generate(&app, &ada, body.clone()).await;
    let job = finished_job(&app, &ada, first["job_id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "completed", "{job}");

    let calls = fake.calls();
    assert_eq!(calls.len(), 3 + PAGES.len());
    for call in &calls {
        let expected = if call.tool() == "record_page" {
            "claude-large"
        } else {
            "claude-small"
        };
        assert_eq!(
            call.model(),
            expected,
            "{} went to the wrong model",
            call.tool()
        );
    }
    let usage: Value = app
        .api(
            Method::GET,
            &format!("/jobs/{}/usage", first["job_id"].as_str().unwrap()),
            Some(&ada.access),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let n = calls.len() as i64;
    assert_eq!(usage["input_tokens"], USAGE.0 * n);
    assert_eq!(usage["output_tokens"], USAGE.1 * n);
    assert_eq!(usage["cache_read_tokens"], USAGE.2 * n);
    assert_eq!(usage["cache_creation_tokens"], USAGE.3 * n);

    let draft: Value = app
        .api(
            Method::GET,
            &format!("/sites/{}/draft", first["site_id"].as_str().unwrap()),
            Some(&ada.access),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let home = &draft["pages"][0];
    assert!(home["blocks"]
        .as_str()
        .unwrap()
        .contains("&lt;done properly&gt;"));
    assert!(home["blocks"]
        .as_str()
        .unwrap()
        .contains("href=\"#gsw-page=contact\""));

    // The same brief again: every answer comes from the cache, at no cost.
    let second = generate(&app, &ada, body).await;
    let job = finished_job(&app, &ada, second["job_id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(fake.calls().len(), calls.len());
    let usage: Value = app
        .api(
            Method::GET,
            &format!("/jobs/{}/usage", second["job_id"].as_str().unwrap()),
            Some(&ada.access),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(usage["input_tokens"], 0);
    let total: Value = app
        .api(Method::GET, "/usage", Some(&ada.access), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(total["input_tokens"], USAGE.0 * n);
}

crate::on_both_backends_with_redis!(a_model_outage_is_waited_out_not_failed);

async fn a_model_outage_is_waited_out_not_failed(backend: gsw_storage::Backend) {
    let fake = FakeAnthropic::start().await;
    let url = fake.url.clone();
    let stream = format!("gsw:test:{}", uuid::Uuid::new_v4().simple());
    let key = stream.clone();
    let app = spawn_app_with(backend, |s| {
        s.anthropic_api_key = Some(Secret::new("sk-test"));
        s.anthropic_base_url = url;
        s.anthropic_max_attempts = 1;
        s.redis_url = Some(Secret::new(crate::queue::redis_url()));
        s.queue_stream = key;
        s.queue_visibility_timeout_secs = 1;
    })
    .await;
    let mut overloaded = Scripted::error(529, "overloaded_error", "Overloaded");
    overloaded.tool = Some("record_sitemap");
    fake.script([overloaded]);
    let ada = app.signed_up("ada@example.com").await;
    let accepted = generate(
        &app,
        &ada,
        json!({
            "business_name": "Harbour Plumbing",
            "type": "plumber",
            "description": "Plumbers in Bristol.",
            "goals": ["More calls"]
        }),
    )
    .await;
    let job = finished_job(&app, &ada, accepted["job_id"].as_str().unwrap()).await;
    assert_eq!(job["status"], "completed", "{job}");
    let logs = job["logs"].as_str().unwrap();
    assert!(logs.contains("will retry"), "{logs}");
    let plans = fake
        .calls()
        .iter()
        .filter(|c| c.tool() == "record_sitemap")
        .count();
    assert_eq!(plans, 2);
    let client = redis::Client::open(crate::queue::redis_url()).unwrap();
    let mut conn = redis::aio::ConnectionManager::new(client).await.unwrap();
    let _: redis::RedisResult<()> = redis::cmd("DEL").arg(&stream).query_async(&mut conn).await;
}
