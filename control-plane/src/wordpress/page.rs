//! Reading what a WordPress site says about itself in its answers: the
//! REST API's root (`Link: <…>; rel="https://api.w.org/"`, in the header or
//! the page's head), version hints, WordPress's REST error bodies, and the
//! URLs of REST routes under a root of either form (`/wp-json/` or
//! `?rest_route=/`).

use serde::Deserialize;
use url::Url;

use crate::outbound::guarded::Response;

/// The relation WordPress names its REST API's root with.
const API_REL: &str = "https://api.w.org/";

/// The REST root a page points at, from its `Link` headers or, failing
/// those, a `<link rel="https://api.w.org/">` in its HTML; relative
/// references are read against the page's URL.
pub fn rest_root_link(page: &Response) -> Option<Url> {
    let from_header = page
        .headers
        .get_all("link")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|link| {
            let (target, params) = link.trim().split_once(';')?;
            let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
            params
                .split(';')
                .any(|p| {
                    let p = p.trim();
                    p == format!("rel=\"{API_REL}\"") || p == format!("rel={API_REL}")
                })
                .then(|| target.to_owned())
        });
    let href = from_header.or_else(|| html_link(&page.text()))?;
    page.url.join(&html_unescape(&href)).ok()
}

/// The `href` of `<link rel="https://api.w.org/" href="…">` in `html`.
fn html_link(html: &str) -> Option<String> {
    tags(html, "link")
        .filter(|tag| attribute(tag, "rel").as_deref() == Some(API_REL))
        .find_map(|tag| attribute(tag, "href"))
}

/// The WordPress version of `<meta name="generator" content="WordPress 6.5.2">`.
pub fn generator_version(html: &str) -> Option<String> {
    tags(html, "meta")
        .filter(|tag| attribute(tag, "name").is_some_and(|n| n.eq_ignore_ascii_case("generator")))
        .find_map(|tag| {
            let content = attribute(tag, "content")?;
            version(content.strip_prefix("WordPress ")?)
        })
}

/// The version in a feed's `<generator>https://wordpress.org/?v=6.5.2</generator>`.
pub fn feed_version(xml: &str) -> Option<String> {
    let start = xml.find("<generator>https://wordpress.org/?v=")? + 36;
    let rest = &xml[start..];
    version(&rest[..rest.find('<')?])
}

/// The PHP version of an `X-Powered-By: PHP/8.2.7` header.
pub fn php_version(response: &Response) -> Option<String> {
    response
        .headers
        .get_all("x-powered-by")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| version(v.trim().strip_prefix("PHP/")?))
}

/// `text` if it reads as a version (`6.5`, `6.5.2`, `8.2.7-1ubuntu1`).
fn version(text: &str) -> Option<String> {
    let text = text.trim();
    let numeric: String = text
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let ok = !numeric.is_empty()
        && numeric.len() <= 20
        && numeric.split('.').all(|part| !part.is_empty())
        && numeric.contains('.');
    ok.then_some(numeric)
}

/// Whether a page looks like a WordPress one: its assets, its generator,
/// or its login form.
pub fn looks_like_wordpress(html: &str) -> bool {
    html.contains("/wp-content/")
        || html.contains("/wp-includes/")
        || generator_version(html).is_some()
        || (html.contains("id=\"loginform\"") && html.contains("wp-login.php"))
}

/// WordPress's REST error body: `{"code", "message", "data": {"status"}}`.
#[derive(Debug, Deserialize)]
pub struct RestError {
    pub code: String,
    #[serde(default)]
    pub message: String,
}

impl RestError {
    /// The error a response carries, if it is WordPress's shape.
    pub fn of(response: &Response) -> Option<Self> {
        response.json::<RestError>().filter(|e| !e.code.is_empty())
    }

    /// `message (code)`, as plain text of bounded length: WordPress's
    /// messages may carry HTML.
    pub fn describe(&self) -> String {
        let message = plain_text(&self.message, 300);
        let code = plain_text(&self.code, 80);
        if message.is_empty() {
            code
        } else {
            format!("{message} ({code})")
        }
    }
}

/// `text` without tags, control characters or runs of spaces, at most
/// `max` characters.
pub fn plain_text(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html_unescape(text).chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if in_tag => {}
            c if c.is_control() || c.is_whitespace() => {
                if !out.ends_with(' ') && !out.is_empty() {
                    out.push(' ');
                }
            }
            c => out.push(c),
        }
    }
    let out = out.trim();
    match out.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &out[..at]),
        None => out.to_owned(),
    }
}

/// The URL of REST route `route` (`wp/v2/users/me`) under `root`, with
/// `query` added: `…/wp-json/wp/v2/users/me?…` or `…?rest_route=/wp/v2/users/me&…`.
pub fn rest_url(root: &Url, route: &str, query: &[(&str, &str)]) -> Url {
    let mut url = root.clone();
    let route = format!("/{}", route.trim_start_matches('/'));
    if root.query_pairs().any(|(k, _)| k == "rest_route") {
        let kept: Vec<(String, String)> = root
            .query_pairs()
            .filter(|(k, _)| k != "rest_route")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        url.query_pairs_mut()
            .clear()
            .extend_pairs(kept)
            .append_pair("rest_route", &route);
    } else {
        let path = format!("{}{route}", root.path().trim_end_matches('/'));
        url.set_path(&path);
    }
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    url
}

/// The opening tags named `name` in `html` (their text between `<` and `>`).
fn tags<'a>(html: &'a str, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    let lower = html.to_ascii_lowercase();
    let open = format!("<{name}");
    let mut starts = Vec::new();
    let mut from = 0;
    while let Some(at) = lower[from..].find(&open) {
        let start = from + at;
        let after = start + open.len();
        if lower[after..].starts_with(|c: char| c.is_ascii_whitespace() || c == '/') {
            starts.push(start);
        }
        from = after;
    }
    starts.into_iter().filter_map(move |start| {
        let end = html[start..].find('>')?;
        Some(&html[start + 1..start + end])
    })
}

/// The value of attribute `name` in a tag's text, quoted or not.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = lower[from..].find(name) {
        let start = from + at;
        from = start + name.len();
        let before_ok = start == 0 || lower.as_bytes()[start - 1].is_ascii_whitespace();
        let rest = tag[from..].trim_start();
        let Some(rest) = rest.strip_prefix('=').filter(|_| before_ok) else {
            continue;
        };
        let rest = rest.trim_start();
        let value = match rest.chars().next()? {
            quote @ ('"' | '\'') => {
                let inner = &rest[1..];
                &inner[..inner.find(quote)?]
            }
            _ => rest
                .split(|c: char| c.is_ascii_whitespace() || c == '/')
                .next()?,
        };
        return Some(value.to_owned());
    }
    None
}

/// The few character references WordPress writes into attributes.
fn html_unescape(text: &str) -> String {
    text.replace("&#038;", "&")
        .replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#039;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};
    use reqwest::StatusCode;

    fn page(url: &str, links: &[&str], html: &str) -> Response {
        let mut headers = HeaderMap::new();
        for link in links {
            headers.append("link", HeaderValue::from_str(link).unwrap());
        }
        Response {
            status: StatusCode::OK,
            headers,
            url: Url::parse(url).unwrap(),
            body: html.as_bytes().to_vec(),
        }
    }

    #[test]
    fn the_rest_root_from_the_header_or_the_head() {
        let header = page(
            "https://bakery.example/",
            &[
                "<https://bakery.example/wp-json/wp/v2/pages/2>; rel=\"alternate\"; type=\"application/json\"",
                "<https://bakery.example/wp-json/>; rel=\"https://api.w.org/\"",
            ],
            "",
        );
        assert_eq!(
            rest_root_link(&header).unwrap().as_str(),
            "https://bakery.example/wp-json/"
        );
        // Several links in one header, the plain-permalink form.
        let joined = page(
            "http://bakery.example/blog/",
            &["<http://bakery.example/blog/index.php?rest_route=/>; rel=\"https://api.w.org/\", <http://bakery.example/blog/?p=1>; rel=shortlink"],
            "",
        );
        assert_eq!(
            rest_root_link(&joined).unwrap().as_str(),
            "http://bakery.example/blog/index.php?rest_route=/"
        );
        let head = page(
            "https://bakery.example/",
            &[],
            "<html><head><meta name='generator' content='WordPress 6.5.2' />\n<link rel=\"https://api.w.org/\" href=\"https://bakery.example/?rest_route=/&#038;lang=en\" /></head>",
        );
        assert_eq!(
            rest_root_link(&head).unwrap().as_str(),
            "https://bakery.example/?rest_route=/&lang=en"
        );
        assert_eq!(generator_version(&head.text()).as_deref(), Some("6.5.2"));
        assert!(rest_root_link(&page(
            "https://x.example/",
            &[],
            "<link rel=stylesheet href=a.css>"
        ))
        .is_none());
    }

    #[test]
    fn versions_are_read_only_where_they_are_stated() {
        assert_eq!(
            generator_version(r#"<META NAME="Generator" CONTENT="WordPress 6.1">"#).as_deref(),
            Some("6.1")
        );
        assert_eq!(
            generator_version(r#"<meta name="generator" content="Site Kit by Google 1.2.3">"#),
            None
        );
        assert_eq!(generator_version("<p>WordPress 6.5</p>"), None);
        assert_eq!(
            feed_version("<channel><generator>https://wordpress.org/?v=6.7.1</generator>")
                .as_deref(),
            Some("6.7.1")
        );
        let mut powered = page("https://x.example/", &[], "");
        powered.headers.insert(
            "x-powered-by",
            HeaderValue::from_static("PHP/8.2.7-1ubuntu1"),
        );
        assert_eq!(php_version(&powered).as_deref(), Some("8.2.7"));
        powered
            .headers
            .insert("x-powered-by", HeaderValue::from_static("Express"));
        assert_eq!(php_version(&powered), None);
    }

    #[test]
    fn rest_routes_under_either_root() {
        let pretty = Url::parse("https://bakery.example/blog/wp-json/").unwrap();
        assert_eq!(
            rest_url(&pretty, "wp/v2/users/me", &[("context", "edit")]).as_str(),
            "https://bakery.example/blog/wp-json/wp/v2/users/me?context=edit"
        );
        let plain = Url::parse("https://bakery.example/index.php?rest_route=/&lang=en").unwrap();
        let url = rest_url(&plain, "gsw/v1/connect", &[]);
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(url.path(), "/index.php");
        assert_eq!(
            pairs,
            vec![
                ("lang".into(), "en".into()),
                ("rest_route".into(), "/gsw/v1/connect".into())
            ]
        );
    }

    #[test]
    fn wordpress_messages_become_plain_bounded_text() {
        let error = RestError {
            code: "incorrect_password".into(),
            message:
                "<strong>Error:</strong> The provided password is an invalid application password."
                    .into(),
        };
        assert_eq!(
            error.describe(),
            "Error: The provided password is an invalid application password. (incorrect_password)"
        );
        assert_eq!(plain_text(&"a".repeat(400), 5), "aaaaa…");
        assert_eq!(plain_text("a\n\tb\u{0}c", 50), "a b c");
    }

    #[test]
    fn wordpress_pages_are_recognised_by_their_traces() {
        assert!(looks_like_wordpress(
            r#"<script src="https://x.example/wp-includes/js/jquery/jquery.min.js"></script>"#
        ));
        assert!(looks_like_wordpress(
            r#"<form name="loginform" id="loginform" action="https://x.example/wp-login.php" method="post">"#
        ));
        assert!(!looks_like_wordpress(
            "<html><body>Hello from nginx</body></html>"
        ));
    }
}
