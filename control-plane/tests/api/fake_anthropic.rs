//! A local fake of the Anthropic Messages API that speaks its documented wire
//! format: scripted failures first, then valid tool-use answers for each of
//! the agents' tools, every call recorded. Shared by the tests and the benchmark.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Call {
    pub headers: HeaderMap,
    pub body: Value,
}

impl Call {
    /// The tool the request forces.
    pub fn tool(&self) -> &str {
        self.body["tool_choice"]["name"]
            .as_str()
            .unwrap_or_default()
    }
    pub fn model(&self) -> &str {
        self.body["model"].as_str().unwrap_or_default()
    }
}

/// A canned answer: status, headers, body.
#[derive(Debug, Clone)]
pub struct Scripted {
    /// Only for requests forcing this tool (any tool if `None`).
    pub tool: Option<&'static str>,
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Scripted {
    pub fn error(status: u16, kind: &str, message: &str) -> Self {
        Self {
            tool: None,
            status,
            headers: vec![],
            body: json!({"type": "error", "error": {"type": kind, "message": message}}).to_string(),
        }
    }
}

#[derive(Clone, Default)]
struct Shared {
    calls: Arc<Mutex<Vec<Call>>>,
    script: Arc<Mutex<VecDeque<Scripted>>>,
    delays: Arc<Mutex<Vec<(String, Duration)>>>,
}

/// A running fake.
pub struct FakeAnthropic {
    pub url: String,
    shared: Shared,
}

/// Tokens every answer reports.
pub const USAGE: (i64, i64, i64, i64) = (100, 50, 80, 20);

impl FakeAnthropic {
    /// Starts the fake on port 0.
    pub async fn start() -> Self {
        let shared = Shared::default();
        let app = Router::new()
            .route("/v1/messages", post(messages))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, shared }
    }

    /// Answers these first, in order.
    pub fn script(&self, answers: impl IntoIterator<Item = Scripted>) {
        self.shared.script.lock().unwrap().extend(answers);
    }

    /// Delays answers for a tool (`record_page`…) by this long.
    #[allow(dead_code)] // used by the benchmark, which shares this file
    pub fn delay(&self, tool: &str, delay: Duration) {
        self.shared
            .delays
            .lock()
            .unwrap()
            .push((tool.to_owned(), delay));
    }

    /// Answers without delay from now on.
    #[allow(dead_code)] // not every user of this file needs it
    pub fn clear_delays(&self) {
        self.shared.delays.lock().unwrap().clear();
    }

    pub fn calls(&self) -> Vec<Call> {
        self.shared.calls.lock().unwrap().clone()
    }
}

async fn messages(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let call = Call { headers, body };
    let tool = call.tool().to_owned();
    let model = call.model().to_owned();
    let prompt = call.body["messages"][0]["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    shared.calls.lock().unwrap().push(call);
    let delay = shared
        .delays
        .lock()
        .unwrap()
        .iter()
        .find(|(t, _)| *t == tool)
        .map(|(_, d)| *d);
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let scripted = {
        let mut script = shared.script.lock().unwrap();
        let at = script.iter().position(|s| s.tool.is_none_or(|t| t == tool));
        at.and_then(|at| script.remove(at))
    };
    if let Some(scripted) = scripted {
        let mut response = (
            StatusCode::from_u16(scripted.status).unwrap(),
            scripted.body,
        )
            .into_response();
        for (name, value) in scripted.headers {
            response.headers_mut().insert(name, value.parse().unwrap());
        }
        return response;
    }
    let input = answer(&tool, &prompt);
    let (input_tokens, output_tokens, cache_read, cache_creation) = USAGE;
    Json(json!({
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [
            {"type": "text", "text": "Recording it."},
            {"type": "tool_use", "id": "toolu_fake", "name": tool, "input": input}
        ],
        "stop_reason": "tool_use",
        "usage": {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_read_input_tokens": cache_read,
            "cache_creation_input_tokens": cache_creation
        }
    }))
    .into_response()
}

/// The eight pages of the fake's sitemap.
pub const PAGES: [&str; 8] = [
    "home",
    "services",
    "repairs",
    "installations",
    "maintenance",
    "about",
    "faq",
    "contact",
];

fn answer(tool: &str, prompt: &str) -> Value {
    match tool {
        "record_sitemap" => json!({
            "pages": PAGES.iter().map(|slug| json!({
                "slug": slug,
                "title": slug[..1].to_uppercase() + &slug[1..],
                "parent": if ["repairs", "installations", "maintenance"].contains(slug) { json!("services") } else { Value::Null },
                "purpose": format!("The {slug} page of Harbour Plumbing."),
                "sections": [{"kind": "hero", "intent": "Open the page."}, {"kind": "text", "intent": "Explain."}]
            })).collect::<Vec<_>>(),
            "navigation": ["home", "services", "about", "faq", "contact"]
        }),
        "record_design" => json!({
            "theme": "twentytwentythree",
            "style": "Harbour blue on white.",
            "palette": {"base": "#ffffff", "contrast": "#1a1a1a", "primary": "#1d4e89", "on_primary": "#ffffff", "secondary": "#eef3f8", "accent": "#f2a900"},
            "fonts": {"heading": "Archivo", "body": "Source Sans 3"}
        }),
        "record_page" => {
            let slug = prompt
                .split("(slug `")
                .nth(1)
                .and_then(|rest| rest.split('`').next())
                .unwrap_or("home");
            // The services page lists its sub-pages, so each is reachable.
            let items: Vec<Value> = ["Repairs", "Installations", "Maintenance"]
                .iter()
                .map(|title| json!({"title": title, "text": format!("{title} across Bristol, by Harbour Plumbing.")}))
                .collect();
            let services = (slug == "services")
                .then(|| json!({"kind": "features", "heading": "Our services", "items": items}));
            let mut sections = vec![
                json!({"kind": "hero", "heading": format!("Harbour Plumbing: {slug}"), "paragraphs": ["Plumbers in Bristol since 1998."], "link": {"label": "Call us", "slug": "contact"}}),
                json!({"kind": "text", "heading": "What we do", "paragraphs": ["Repairs, installations & maintenance <done properly>."]}),
            ];
            sections.extend(services);
            json!({
                "seo_title": format!("{slug} | Harbour Plumbing in Bristol"),
                "meta_description": format!("Harbour Plumbing's {slug} page: emergency repairs, boiler installations and maintenance across Bristol."),
                "sections": sections,
            })
        }
        "record_plugins" => json!({
            "plugins": [
                {"slug": "wordpress-seo", "reason": "To be found in Bristol searches.", "settings": {}},
                {"slug": "not-in-the-catalog", "reason": "Nope.", "settings": {}}
            ]
        }),
        _ => json!({}),
    }
}
