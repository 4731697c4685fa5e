//! The Gutenberg block grammar, as far as applying content needs it: block
//! delimiters (`<!-- wp:name {"attrs"} -->`, `<!-- /wp:name -->`,
//! `<!-- wp:name /-->`) nest properly, names are valid, and attributes are
//! JSON objects. Used by the PHP extension before content reaches WordPress.

/// A block found in markup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockInfo {
    /// Full name, `core/` added to names without a namespace.
    pub name: String,
    /// 0 for top-level blocks.
    pub depth: usize,
}

/// Why markup is not valid block grammar; `at` is a byte offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    #[error("unterminated comment at byte {at}")]
    UnterminatedComment { at: usize },
    #[error("invalid block name {name:?} at byte {at}")]
    BadName { name: String, at: usize },
    #[error("attributes of block {name} at byte {at} are not a JSON object")]
    BadAttributes { name: String, at: usize },
    #[error("closing {found} at byte {at} does not match the open {expected}")]
    Mismatched {
        expected: String,
        found: String,
        at: usize,
    },
    #[error("closing {name} at byte {at} has no opening")]
    Unopened { name: String, at: usize },
    #[error("block {name} is never closed")]
    Unclosed { name: String },
}

fn full_name(name: &str) -> String {
    if name.contains('/') {
        name.to_owned()
    } else {
        format!("core/{name}")
    }
}

fn valid_name(name: &str) -> bool {
    let part = |p: &str| {
        let mut chars = p.chars();
        chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    };
    match name.split_once('/') {
        Some((namespace, local)) => part(namespace) && part(local),
        None => part(name),
    }
}

/// Checks block markup and lists its blocks in document order.
pub fn parse(markup: &str) -> Result<Vec<BlockInfo>, BlockError> {
    let mut blocks = Vec::new();
    let mut open: Vec<String> = Vec::new();
    let mut from = 0;
    while let Some(found) = markup[from..].find("<!--") {
        let at = from + found;
        let body_start = at + 4;
        let end = markup[body_start..]
            .find("-->")
            .map(|e| body_start + e)
            .ok_or(BlockError::UnterminatedComment { at })?;
        from = end + 3;
        let body = markup[body_start..end].trim();
        let (closing, rest) = match body.strip_prefix("/wp:") {
            Some(rest) => (true, rest),
            None => match body.strip_prefix("wp:") {
                Some(rest) => (false, rest),
                None => continue, // an ordinary HTML comment
            },
        };
        let (raw_name, after) = split_name(rest);
        if !valid_name(raw_name) {
            return Err(BlockError::BadName {
                name: raw_name.to_owned(),
                at,
            });
        }
        let name = full_name(raw_name);
        let after = after.trim();
        let (attrs, self_closing) = match after.strip_suffix('/') {
            Some(attrs) => (attrs.trim(), true),
            None => (after, false),
        };
        if closing {
            if !attrs.is_empty() || self_closing {
                return Err(BlockError::BadName {
                    name: raw_name.to_owned(),
                    at,
                });
            }
            match open.pop() {
                Some(expected) if expected == name => {}
                Some(expected) => {
                    return Err(BlockError::Mismatched {
                        expected,
                        found: name,
                        at,
                    })
                }
                None => return Err(BlockError::Unopened { name, at }),
            }
            continue;
        }
        if !attrs.is_empty()
            && !serde_json::from_str::<serde_json::Value>(attrs).is_ok_and(|v| v.is_object())
        {
            return Err(BlockError::BadAttributes { name, at });
        }
        blocks.push(BlockInfo {
            name: name.clone(),
            depth: open.len(),
        });
        if !self_closing {
            open.push(name);
        }
    }
    match open.pop() {
        Some(name) => Err(BlockError::Unclosed { name }),
        None => Ok(blocks),
    }
}

/// Splits `rest` into the block name and what follows it. A name is
/// `local` or `namespace/local`; a `/` right before `-->` closes the block.
fn split_name(rest: &str) -> (&str, &str) {
    let end = rest
        .char_indices()
        .find(|&(i, c)| {
            c.is_whitespace()
                || c == '{'
                || (c == '/' && !rest[i + 1..].starts_with(|n: char| n.is_ascii_lowercase()))
        })
        .map_or(rest.len(), |(i, _)| i);
    (&rest[..end], &rest[end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_and_self_closing_blocks_parse() {
        let markup = concat!(
            "<!-- wp:group {\"layout\":{\"type\":\"constrained\"}} -->\n<div class=\"wp-block-group\">",
            "<!-- wp:heading {\"level\":1} --><h1>Ada's Bakery</h1><!-- /wp:heading -->",
            "<!-- wp:acme/map {\"zoom\":3} /-->",
            "<!-- a plain comment -->",
            "</div>\n<!-- /wp:group -->\n<!-- wp:spacer /-->"
        );
        let blocks = parse(markup).unwrap();
        let names: Vec<_> = blocks.iter().map(|b| (b.name.as_str(), b.depth)).collect();
        assert_eq!(
            names,
            [
                ("core/group", 0),
                ("core/heading", 1),
                ("acme/map", 1),
                ("core/spacer", 0)
            ]
        );
    }

    #[test]
    fn broken_markup_is_refused_with_the_place() {
        let cases = [
            ("<!-- wp:paragraph --><p>x</p>", "never closed"),
            ("<!-- /wp:paragraph -->", "has no opening"),
            (
                "<!-- wp:group --><!-- wp:paragraph --><!-- /wp:group -->",
                "does not match",
            ),
            (
                "<!-- wp:paragraph {not json} --><!-- /wp:paragraph -->",
                "not a JSON object",
            ),
            (
                "<!-- wp:paragraph [1] --><!-- /wp:paragraph -->",
                "not a JSON object",
            ),
            ("<!-- wp:Para --><!-- /wp:Para -->", "invalid block name"),
            ("<!-- wp:paragraph ", "unterminated comment"),
        ];
        for (markup, expected) in cases {
            let err = parse(markup).unwrap_err().to_string();
            assert!(err.contains(expected), "{markup:?}: {err}");
        }
    }
}
