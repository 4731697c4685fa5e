//! Fifty pages into a fresh WordPress, three ways, side by side:
//!
//! - (a) the connector on a signed 50-page bundle (verification,
//!   WordPress's bootstrap, snapshot, apply, meta) as the agent runs it:
//!   `bin/apply.php --request-on-stdin` started ahead, timed from the
//!   request to the report; and, printed beside it, a whole cold `php
//!   bin/apply.php` process;
//! - (b) a bare `wp_insert_post` loop in one PHP process, bootstrap included,
//!   writing the same pages with the same SEO meta and navigation post (the
//!   loop alone is printed too);
//! - (c) WordPress's REST API, one `POST /wp/v2/pages` per page with an
//!   application password, served by `php -S` (every request a full
//!   WordPress bootstrap, as fleet tools driving the REST API pay it).
//!
//! Each is run `GSW_BENCH_ROUNDS` times (default 5), every run on a freshly
//! installed WordPress with its own database; medians are printed. The CLI
//! sides run with opcache's file cache as the agent runs the connector
//! (`GSW_BENCH_OPCACHE=0`: without).
//! Run: `cargo bench -p gsw-php-ext --bench apply`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use gsw_protocol::bundle::{ItemKind, Policy};
use serde_json::{json, Value};

#[path = "../tests/common/mod.rs"]
mod common;
use common::site::{content, realistic_page, Item, Site};

const PAGES: usize = 50;

fn pages() -> Vec<Value> {
    (0..PAGES).map(realistic_page).collect()
}

fn bundle_items() -> Vec<Item> {
    let mut items: Vec<Item> = pages().into_iter().map(content).collect();
    let nav: Vec<Value> = (0..6)
        .map(|i| json!({"key": format!("page:page-{i}"), "label": format!("Service {i}"), "path": format!("/page-{i}/")}))
        .collect();
    items.push((
        ItemKind::Content,
        "navigation.json".into(),
        serde_json::to_vec(&json!({"name": "Main", "items": nav})).unwrap(),
    ));
    items
}

/// A fresh site whose PHP has already run the code each side times
/// (untimed), as a production host's has: with opcache's file cache on (the
/// flags the agent runs the connector with, `wp-agent/src/wordpress.rs`),
/// the timed run then finds WordPress and the connector compiled, as php -S
/// in (c) does after its first request. The cache is keyed by path and every
/// site has its own folder, so each site warms it up: `inventory` here, and
/// a one-page apply in [`warmed_up`] for the connector's sides.
fn fresh_site(opcache: Option<&Path>) -> Site {
    let mut site = Site::install();
    if let Some(cache) = opcache {
        site.php_flags = vec![
            "-d".into(),
            "opcache.enable_cli=1".into(),
            "-d".into(),
            format!("opcache.file_cache={}", cache.display()),
            "-d".into(),
            "opcache.file_cache_only=1".into(),
            "-d".into(),
            "opcache.file_cache_consistency_checks=0".into(),
        ];
    }
    let (_, code) = site.command("inventory");
    assert_eq!(code, 0);
    site
}

/// A fresh site that has applied one earlier bundle (one page), untimed, so
/// the connector's own code is compiled too, as after a host's first apply.
fn warmed_up(opcache: Option<&Path>) -> Site {
    let site = fresh_site(opcache);
    let warm_up = content(json!({
        "key": "page:warm-up", "type": "page", "slug": "warm-up", "title": "Warm-up",
        "status": "draft", "content": "<!-- wp:paragraph -->\n<p>Warm-up.</p>\n<!-- /wp:paragraph -->",
    }));
    let sequence = site.next_sequence();
    let bundle = site.write_bundle(sequence, vec![warm_up], Policy::default(), false);
    let (report, code) = site.apply_file(&bundle, sequence - 1, &[]);
    assert_eq!(code, 0, "{report:#}");
    site
}

/// How (a) is run.
#[derive(Clone, Copy, PartialEq)]
enum Start {
    /// As the agent runs it: `bin/apply.php --request-on-stdin` started
    /// ahead (the agent starts the next apply's PHP after each apply), timed
    /// from writing the request to reading the report.
    Ahead,
    /// A whole `php bin/apply.php --bundle …` process, start to exit.
    Cold,
}

/// (a): seconds for one apply of the 50-page bundle. `unfiltered`: with
/// `allow-unfiltered-html`, so content skips wp_kses_post as it does for
/// the administrator posting in (c).
fn connector(site: &Site, start: Start, unfiltered: bool) -> f64 {
    let sequence = site.next_sequence();
    let bundle = site.write_bundle(sequence, bundle_items(), Policy::default(), false);
    let (elapsed, report, code) = match start {
        Start::Cold => {
            let flags: &[&str] = if unfiltered {
                &["--allow-unfiltered-html"]
            } else {
                &[]
            };
            let started = Instant::now();
            let (report, code) = site.apply_file(&bundle, sequence - 1, flags);
            (started.elapsed().as_secs_f64(), report, code)
        }
        Start::Ahead => {
            let mut request = site.request_for(&bundle, sequence - 1);
            if unfiltered {
                request["allow-unfiltered-html"] = json!(true);
            }
            let child = site.start_on_stdin();
            // Started well before the bundle arrives, as the agent's is.
            std::thread::sleep(Duration::from_millis(300));
            let started = Instant::now();
            let (text, code) = Site::finish_on_stdin(child, format!("{request}\n").as_bytes());
            let elapsed = started.elapsed().as_secs_f64();
            let report: Value = serde_json::from_str(text.trim())
                .unwrap_or_else(|_| panic!("not one JSON report: {text}"));
            (elapsed, report, code)
        }
    };
    assert_eq!(code, 0, "{report:#}");
    let applied = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "applied")
        .count();
    assert_eq!(applied, PAGES + 1, "{report:#}");
    elapsed
}

/// (b): seconds for the whole process, and for the loop alone.
fn insert_loop(site: &Site) -> (f64, f64) {
    let data = site.root().join("bench-pages.json");
    std::fs::write(&data, serde_json::to_vec(&pages()).unwrap()).unwrap();
    let script = site.root().join("bench-loop.php");
    std::fs::write(
        &script,
        r#"<?php
$_SERVER['HTTP_HOST'] = 'localhost';
define('WP_USE_THEMES', false);
require __DIR__ . '/wp-load.php';
$pages = json_decode(file_get_contents(__DIR__ . '/bench-pages.json'), true);
$started = microtime(true);
$ids = [];
foreach ($pages as $page) {
    $id = wp_insert_post(wp_slash([
        'post_type' => 'page', 'post_status' => 'publish', 'post_title' => $page['title'],
        'post_name' => $page['slug'], 'post_content' => $page['content'], 'menu_order' => $page['menu_order'],
        'meta_input' => [
            '_yoast_wpseo_title' => $page['seo']['title'], 'rank_math_title' => $page['seo']['title'],
            '_yoast_wpseo_metadesc' => $page['seo']['description'], 'rank_math_description' => $page['seo']['description'],
        ],
    ]), true);
    if (is_wp_error($id)) { fwrite(STDERR, $id->get_error_message()); exit(1); }
    $ids[] = $id;
}
update_option('show_on_front', 'page');
update_option('page_on_front', $ids[0]);
$links = '';
foreach (array_slice($ids, 0, 6) as $id) {
    $links .= get_comment_delimited_block_content('core/navigation-link', ['label' => get_the_title($id), 'type' => 'page', 'id' => $id, 'url' => get_permalink($id), 'kind' => 'post-type'], '');
}
wp_insert_post(wp_slash(['post_type' => 'wp_navigation', 'post_status' => 'publish', 'post_title' => 'Main', 'post_content' => $links]));
echo json_encode(['loop' => microtime(true) - $started, 'pages' => count($ids)]);
"#,
    )
    .unwrap();
    let started = Instant::now();
    let output = Command::new("php")
        .args(&site.php_flags)
        .arg(&script)
        .output()
        .unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let out: Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(out["pages"], PAGES);
    (elapsed, out["loop"].as_f64().unwrap())
}

/// `php -S` serving the site, stopped when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(site: &Site) -> Server {
    let router = site.root().join("bench-router.php");
    std::fs::write(
        &router,
        "<?php\n$path = parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH);\nif ($path !== '/' && is_file(__DIR__ . $path) && !str_ends_with($path, '.php')) { return false; }\nrequire __DIR__ . '/index.php';\n",
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let child = Command::new("php")
        .args(["-S", &addr.to_string(), "-t"])
        .arg(site.root())
        .arg(&router)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "php -S did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Server { child, addr }
}

/// One HTTP/1.1 request on its own connection; returns (status, body).
fn post(addr: SocketAddr, path: &str, auth: &str, body: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic {auth}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(body).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// (c): seconds for 50 page requests and the navigation request.
fn rest(site: &Site) -> f64 {
    let password = site.wp(
        "[$password] = WP_Application_Passwords::create_new_application_password(1, ['name' => 'bench']); return $password;",
    );
    let auth = base64::engine::general_purpose::STANDARD
        .encode(format!("admin:{}", password.as_str().unwrap()));
    let server = serve(site);
    // The first requests compile WordPress and the pages endpoint into php
    // -S's opcache: untimed, as for (a) and (b). A draft, as (a)'s warm-up.
    let (status, answer) = post(server.addr, "/?rest_route=/wp/v2/users/me", &auth, b"");
    assert_eq!(status, 200, "{answer}");
    let warm_up = json!({"title": "Warm-up", "slug": "warm-up", "content": "<p>Warm-up.</p>", "status": "draft"});
    let (status, answer) = post(
        server.addr,
        "/?rest_route=/wp/v2/pages",
        &auth,
        &serde_json::to_vec(&warm_up).unwrap(),
    );
    assert_eq!(status, 201, "{answer}");
    let started = Instant::now();
    let mut ids = Vec::new();
    for page in pages() {
        let body = json!({
            "title": page["title"], "slug": page["slug"], "content": page["content"],
            "status": "publish", "menu_order": page["menu_order"],
        });
        let (status, answer) = post(
            server.addr,
            "/?rest_route=/wp/v2/pages",
            &auth,
            &serde_json::to_vec(&body).unwrap(),
        );
        assert_eq!(status, 201, "{answer}");
        let created: Value = serde_json::from_str(&answer).unwrap();
        ids.push(created["id"].as_i64().unwrap());
    }
    let links: String = ids[..6]
        .iter()
        .map(|id| format!("<!-- wp:navigation-link {{\"type\":\"page\",\"id\":{id},\"kind\":\"post-type\"}} /-->"))
        .collect();
    let (status, answer) = post(
        server.addr,
        "/?rest_route=/wp/v2/navigation",
        &auth,
        &serde_json::to_vec(&json!({"title": "Main", "status": "publish", "content": links}))
            .unwrap(),
    );
    assert_eq!(status, 201, "{answer}");
    started.elapsed().as_secs_f64()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` would run this too: skip then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rounds: usize = std::env::var("GSW_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    // GSW_BENCH_ONLY=a (or b, c) runs one side alone, for profiling.
    let only = std::env::var("GSW_BENCH_ONLY").unwrap_or_default();
    let runs = |side: &str| only.is_empty() || only == side;
    // (a) and (b) run with opcache's file cache, as the agent runs the
    // connector, and as php -S runs (c) with opcache;
    // GSW_BENCH_OPCACHE=0 runs the CLI sides without it.
    let opcache_dir = tempfile::tempdir().unwrap();
    let opcache =
        (std::env::var("GSW_BENCH_OPCACHE").as_deref() != Ok("0")).then(|| opcache_dir.path());
    common::extension();
    let (mut a, mut a_cold, mut a_raw) = (vec![], vec![], vec![]);
    let (mut b, mut b_loop, mut c) = (vec![], vec![], vec![]);
    let side_a = |start, unfiltered| {
        if runs("a") {
            connector(&warmed_up(opcache), start, unfiltered)
        } else {
            f64::NAN
        }
    };
    for round in 1..=rounds {
        a.push(side_a(Start::Ahead, false));
        a_cold.push(side_a(Start::Cold, false));
        a_raw.push(side_a(Start::Ahead, true));
        let (whole, inner) = if runs("b") {
            insert_loop(&fresh_site(opcache))
        } else {
            (f64::NAN, f64::NAN)
        };
        b.push(whole);
        b_loop.push(inner);
        c.push(if runs("c") {
            rest(&fresh_site(None))
        } else {
            f64::NAN
        });
        println!(
            "round {round}: connector {:.3} s (cold process {:.3} s, unfiltered {:.3} s), wp_insert_post loop {:.3} s (loop alone {:.3} s), REST {:.3} s",
            a[round - 1],
            a_cold[round - 1],
            a_raw[round - 1],
            b[round - 1],
            b_loop[round - 1],
            c[round - 1]
        );
    }
    let (a, a_cold, a_raw, b, b_loop, c) = (
        median(&mut a),
        median(&mut a_cold),
        median(&mut a_raw),
        median(&mut b),
        median(&mut b_loop),
        median(&mut c),
    );
    println!(
        "\n{PAGES} pages (about 4 KB of blocks each, SEO meta, navigation), median of {rounds} fresh sites, CLI opcache {}:",
        if opcache.is_some() { "file cache on" } else { "off" }
    );
    println!(
        "  (a) connector as the agent runs it (PHP started \n      ahead; from the request to the report)       {:>8.1} ms",
        a * 1e3
    );
    println!(
        "      the same, a whole cold bin/apply.php process {:>8.1} ms",
        a_cold * 1e3
    );
    println!(
        "      as (a), allow-unfiltered-html                {:>8.1} ms",
        a_raw * 1e3
    );
    println!(
        "  (b) wp_insert_post loop, whole PHP process      {:>8.1} ms",
        b * 1e3
    );
    println!(
        "      the loop alone                              {:>8.1} ms",
        b_loop * 1e3
    );
    println!(
        "  (c) REST API, one POST per page (php -S)        {:>8.1} ms",
        c * 1e3
    );
    println!(
        "  a / b = {:.2} (target <= 1.5)   c / a = {:.1} (target >= 10)   c / cold process = {:.1}",
        a / b,
        c / a,
        c / a_cold
    );
}
