//! The guard against real sockets: fake servers on loopback, reached only
//! through an explicit exemption of their exact address, so every other
//! address is judged by the policy as in production.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Path;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;

use super::*;
use crate::outbound::address::AddressClass::*;

/// A server on 127.0.0.1 counting the requests it gets.
struct Server {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    async fn start(routes: Router<Arc<AtomicUsize>>) -> Self {
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        let app = routes
            .layer(axum::middleware::from_fn(
                move |request: axum::extract::Request, next: axum::middleware::Next| {
                    counted.fetch_add(1, Ordering::SeqCst);
                    next.run(request)
                },
            ))
            .with_state(hits.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, hits, task }
    }

    fn url(&self, path: &str) -> Url {
        Url::parse(&format!("http://{}{path}", self.addr)).unwrap()
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

fn public_only() -> GuardedClient {
    GuardedClient::new(AddressPolicy::PUBLIC_ONLY, Limits::default())
}

fn refused(result: Result<Response, OutboundError>) -> AddressClass {
    match result {
        Err(e) => {
            assert!(e.is_forbidden_target(), "{e}");
            e.refused_class().unwrap_or_else(|| panic!("no class: {e}"))
        }
        Ok(r) => panic!("reached {} ({})", r.url, r.status),
    }
}

/// A port nothing listens on: a refused address must fail before any
/// connection, so reaching it would show as `Failed`, not as a refusal.
const DEAD: u16 = 9;

#[tokio::test]
async fn every_class_of_address_literal_is_refused_before_connecting() {
    let client = public_only();
    let cases = [
        ("127.0.0.1", Loopback),
        ("[::1]", Loopback),
        ("10.0.0.1", Private),
        ("172.20.1.1", Private),
        ("192.168.1.10", Private),
        ("[fd12:3456::1]", Private),
        ("169.254.10.1", LinkLocal),
        ("[fe80::1]", LinkLocal),
        ("169.254.169.254", CloudMetadata),
        ("[fd00:ec2::254]", CloudMetadata),
        ("100.100.100.200", CloudMetadata),
        ("100.64.0.1", SharedCgnat),
        ("0.0.0.0", Unspecified),
        ("[::]", Unspecified),
        ("224.0.0.251", Multicast),
        ("[ff02::1]", Multicast),
        ("255.255.255.255", Broadcast),
        ("192.0.2.1", Documentation),
        ("[2001:db8::1]", Documentation),
        ("198.18.0.1", Benchmarking),
        ("240.0.0.1", Reserved),
        ("[::ffff:127.0.0.1]", Loopback),
        ("[::ffff:169.254.169.254]", CloudMetadata),
        ("[64:ff9b::a00:1]", Private),
        ("[64:ff9b::7f00:1]", Loopback),
        // The URL parser's other spellings of 127.0.0.1.
        ("2130706433", Loopback),
        ("0x7f.1", Loopback),
    ];
    for (host, class) in cases {
        let url = Url::parse(&format!("http://{host}:{DEAD}/")).unwrap();
        assert_eq!(
            refused(client.send(Request::get(url)).await),
            class,
            "{host}"
        );
    }
}

#[tokio::test]
async fn names_are_judged_by_every_address_they_resolve_to() {
    let resolver = StaticResolver::default()
        .with("intranet.test", &["10.1.2.3".parse().unwrap()])
        .with(
            "mixed.test",
            &[
                "93.184.215.14".parse().unwrap(),
                "127.0.0.1".parse().unwrap(),
            ],
        )
        .with("six.test", &["fe80::1".parse().unwrap()]);
    let client = public_only().with_resolver(Arc::new(resolver));
    let get = |host: &str| Request::get(Url::parse(&format!("http://{host}:{DEAD}/")).unwrap());
    assert_eq!(refused(client.send(get("intranet.test")).await), Private);
    assert_eq!(refused(client.send(get("mixed.test")).await), Loopback);
    assert_eq!(refused(client.send(get("six.test")).await), LinkLocal);
    // Metadata services by name, whatever the resolver would say.
    assert_eq!(
        refused(client.send(get("metadata.google.internal")).await),
        CloudMetadata
    );
    // A name the resolver does not know is unreachable, not refused.
    let err = client.send(get("nowhere.test")).await.unwrap_err();
    assert!(matches!(err, OutboundError::Unresolved { .. }), "{err}");
    assert!(!err.is_forbidden_target());
}

#[tokio::test]
async fn localhost_through_the_system_resolver_is_refused() {
    let err = public_only()
        .send(Request::get(
            Url::parse(&format!("http://localhost:{DEAD}/")).unwrap(),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.refused_class(), Some(Loopback), "{err}");
    assert!(err.to_string().contains("localhost"), "{err}");
}

#[tokio::test]
async fn metadata_stays_refused_when_private_targets_are_allowed() {
    let client = GuardedClient::new(AddressPolicy::ALLOW_PRIVATE, Limits::default());
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://0.0.0.0:9/",
    ] {
        let err = client
            .send(Request::get(Url::parse(url).unwrap()))
            .await
            .unwrap_err();
        assert!(err.is_forbidden_target(), "{url}: {err}");
    }
    // While a private address is tried (and, nothing listening, fails).
    let err = client
        .send(Request::get(
            Url::parse(&format!("http://127.0.0.1:{DEAD}/")).unwrap(),
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, OutboundError::Failed { .. }), "{err}");
}

#[tokio::test]
async fn only_http_and_https_without_credentials() {
    let client = public_only();
    for url in [
        "ftp://example.com/",
        "file:///etc/passwd",
        "gopher://example.com/",
        "http://ada:secret@example.com/",
        "https://ada@example.com/",
    ] {
        let err = client
            .send(Request::get(Url::parse(url).unwrap()))
            .await
            .unwrap_err();
        assert!(matches!(err, OutboundError::RefusedUrl(_)), "{url}: {err}");
        assert!(!err.to_string().contains("secret"), "{err}");
    }
}

/// The name is resolved by the guard once per hop, and the connection goes
/// to the address it checked: `wp.test` is in no DNS, only in the guard's
/// resolver.
#[tokio::test]
async fn the_checked_address_is_the_one_connected_to() {
    struct Counting(StaticResolver, AtomicUsize);
    #[async_trait::async_trait]
    impl Resolve for Counting {
        async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<IpAddr>> {
            self.1.fetch_add(1, Ordering::SeqCst);
            self.0.resolve(host, port).await
        }
    }
    let server = Server::start(Router::new().route(
        "/",
        get(|headers: HeaderMap| async move { headers[header::HOST].to_str().unwrap().to_owned() }),
    ))
    .await;
    let resolver = Arc::new(Counting(
        StaticResolver::default().with("wp.test", &[server.addr.ip()]),
        AtomicUsize::new(0),
    ));
    let client = public_only()
        .with_resolver(resolver.clone())
        .exempting(server.addr);
    let url = Url::parse(&format!("http://wp.test:{}/", server.addr.port())).unwrap();
    let response = client.send(Request::get(url)).await.unwrap();
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.text(), format!("wp.test:{}", server.addr.port()));
    assert_eq!(resolver.1.load(Ordering::SeqCst), 1);
    // The exemption is of that address and port only.
    let other = Url::parse(&format!("http://wp.test:{}/", server.addr.port() + 1)).unwrap();
    assert_eq!(refused(client.send(Request::get(other)).await), Loopback);
}

#[tokio::test]
async fn a_redirect_to_a_refused_address_is_refused() {
    let inner = Server::start(Router::new().route("/", get(|| async { "inside" }))).await;
    let inner_url = inner.url("/").to_string();
    let outer = Server::start(
        Router::new()
            .route(
                "/inside",
                get(move || async move { Redirect::temporary(&inner_url) }),
            )
            .route(
                "/metadata",
                get(|| async { Redirect::to("http://169.254.169.254/latest/meta-data/") }),
            )
            .route(
                "/mapped",
                get(|| async { Redirect::permanent("http://[::ffff:10.0.0.1]/") }),
            )
            .route("/ftp", get(|| async { Redirect::to("ftp://example.com/") })),
    )
    .await;
    let client = public_only().exempting(outer.addr);
    assert_eq!(
        refused(client.send(Request::get(outer.url("/inside"))).await),
        Loopback
    );
    assert_eq!(inner.hits(), 0, "the refused hop was never requested");
    assert_eq!(
        refused(client.send(Request::get(outer.url("/metadata"))).await),
        CloudMetadata
    );
    assert_eq!(
        refused(client.send(Request::get(outer.url("/mapped"))).await),
        Private
    );
    let err = client
        .send(Request::get(outer.url("/ftp")))
        .await
        .unwrap_err();
    assert!(matches!(err, OutboundError::RefusedUrl(_)), "{err}");
    // Exempting the inner server too, the same redirect is followed.
    let both = public_only().exempting(outer.addr).exempting(inner.addr);
    let response = both.send(Request::get(outer.url("/inside"))).await.unwrap();
    assert_eq!(response.text(), "inside");
    assert_eq!(response.url, inner.url("/"));
}

#[tokio::test]
async fn at_most_five_redirects() {
    let server = Server::start(Router::new().route(
        "/hop/{n}",
        get(|Path(n): Path<u32>| async move {
            if n == 0 {
                "arrived".into_response()
            } else {
                Redirect::to(&format!("/hop/{}", n - 1)).into_response()
            }
        }),
    ))
    .await;
    let client = public_only().exempting(server.addr);
    let response = client
        .send(Request::get(server.url("/hop/5")))
        .await
        .unwrap();
    assert_eq!(response.text(), "arrived");
    let err = client
        .send(Request::get(server.url("/hop/6")))
        .await
        .unwrap_err();
    assert!(
        matches!(err, OutboundError::TooManyRedirects { max: 5, .. }),
        "{err}"
    );
}

async fn authorization(headers: HeaderMap) -> String {
    headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_else(|| "none".into())
}

#[tokio::test]
async fn credentials_stay_on_their_origin() {
    let other = Server::start(Router::new().route("/who", get(authorization))).await;
    let elsewhere = other.url("/who").to_string();
    let server = Server::start(
        Router::new()
            .route("/who", get(authorization))
            .route("/here", get(|| async { Redirect::to("/who") }))
            .route(
                "/away",
                get(move || async move { Redirect::to(&elsewhere) }),
            )
            .route("/form", post(|| async { Redirect::to("/who") }))
            .route("/keep", post(|| async { Redirect::temporary("/echo") }))
            .route("/echo", post(|body: String| async move { body })),
    )
    .await;
    let client = public_only().exempting(server.addr).exempting(other.addr);
    let credentials = Credentials {
        username: "ada".into(),
        password: Secret::new("abcd efgh ijkl mnop"),
    };
    let basic = "Basic YWRhOmFiY2QgZWZnaCBpamtsIG1ub3A=";
    let who = |path: &str| Request::get(server.url(path)).basic_auth(&credentials);
    assert_eq!(client.send(who("/who")).await.unwrap().text(), basic);
    assert_eq!(client.send(who("/here")).await.unwrap().text(), basic);
    assert_eq!(client.send(who("/away")).await.unwrap().text(), "none");
    // A POST answered 302 goes on as a GET; 307 keeps the method and body.
    let body = serde_json::json!({"a": 1});
    let response = client
        .send(Request::post_json(server.url("/form"), &body))
        .await
        .unwrap();
    assert_eq!(response.status, StatusCode::OK);
    let response = client
        .send(Request::post_json(server.url("/keep"), &body))
        .await
        .unwrap();
    assert_eq!(response.text(), r#"{"a":1}"#);
    // The password is no part of how the request prints.
    let printed = format!("{:?}", who("/who"));
    assert!(!printed.contains("abcd efgh"), "{printed}");
}

#[tokio::test]
async fn bodies_are_capped_and_slow_answers_end() {
    let server = Server::start(
        Router::new()
            .route("/big", get(|| async { "x".repeat(2048) }))
            .route(
                "/streamed",
                get(|| async {
                    let chunks = (0..4).map(|_| Ok::<_, std::io::Error>(vec![b'y'; 512]));
                    axum::body::Body::from_stream(futures::stream::iter(chunks))
                }),
            )
            .route("/small", get(|| async { "x".repeat(1000) }))
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            ),
    )
    .await;
    let limits = Limits {
        max_body_bytes: 1024,
        timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let client = GuardedClient::new(AddressPolicy::PUBLIC_ONLY, limits).exempting(server.addr);
    for path in ["/big", "/streamed"] {
        let err = client
            .send(Request::get(server.url(path)))
            .await
            .unwrap_err();
        assert!(
            matches!(err, OutboundError::TooLarge { max: 1024, .. }),
            "{path}: {err}"
        );
    }
    let small = client
        .send(Request::get(server.url("/small")))
        .await
        .unwrap();
    assert_eq!(small.body.len(), 1000);
    let err = client
        .send(Request::get(server.url("/slow")))
        .await
        .unwrap_err();
    assert!(matches!(err, OutboundError::TimedOut { .. }), "{err}");
    assert!(!err.is_forbidden_target());
}
