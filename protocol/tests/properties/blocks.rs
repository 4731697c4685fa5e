//! The block grammar: never panics, accepts every well-formed document and
//! lists its blocks, and refuses a document whose delimiters no longer pair.

use gsw_protocol::blocks::{parse, BlockInfo};
use proptest::prelude::*;
use serde_json::Value;

/// A piece of a document as a serializer would write it.
#[derive(Debug, Clone)]
enum Node {
    /// HTML between delimiters; never holds `<!--`.
    Html(String),
    /// An ordinary HTML comment.
    Comment(String),
    /// A block: name as written, attributes, and children unless self-closing.
    Block {
        name: String,
        attrs: Option<Value>,
        children: Option<Vec<Node>>,
    },
}

/// One delimiter or run of text in a rendered document.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Text(String),
    Open(String),
    Close(String),
    SelfClosing(String),
}

fn name() -> impl Strategy<Value = String> {
    "([a-z][a-z0-9_-]{0,6}/)?[a-z][a-z0-9_-]{0,8}"
}

fn attrs() -> impl Strategy<Value = Option<Value>> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(Value::from),
        "[ -~é<>&-]{0,12}".prop_map(Value::String),
    ];
    let value = leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    prop::option::of(
        prop::collection::btree_map("[a-zA-Z]{1,8}", value, 0..4)
            .prop_map(|m| Value::Object(m.into_iter().collect())),
    )
}

/// Text without `!`, so no run of it, nor two side by side, can open a comment.
fn html() -> impl Strategy<Value = String> {
    "[a-z <>/=\"'\\-\né]{0,20}"
}

fn document() -> impl Strategy<Value = Vec<Node>> {
    let leaf = prop_oneof![
        html().prop_map(Node::Html),
        "[a-z ]{0,10}"
            .prop_filter("not a block delimiter", |c| {
                let c = c.trim_start();
                !c.starts_with("wp:") && !c.starts_with("/wp:")
            })
            .prop_map(Node::Comment),
        (name(), attrs()).prop_map(|(name, attrs)| Node::Block {
            name,
            attrs,
            children: None
        }),
    ];
    let node = leaf.prop_recursive(4, 40, 5, |inner| {
        (name(), attrs(), prop::collection::vec(inner, 0..5)).prop_map(|(name, attrs, children)| {
            Node::Block {
                name,
                attrs,
                children: Some(children),
            }
        })
    });
    prop::collection::vec(node, 0..6)
}

/// Attributes as WordPress's `serialize_block_attributes` writes them: JSON
/// with `--`, `<`, `>` and `&` escaped so they cannot end the comment.
fn attrs_json(attrs: &Value) -> String {
    serde_json::to_string(attrs)
        .unwrap()
        .replace("--", "\\u002d\\u002d")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

fn render(nodes: &[Node], tokens: &mut Vec<Token>) {
    for node in nodes {
        match node {
            Node::Html(text) => tokens.push(Token::Text(text.clone())),
            Node::Comment(text) => tokens.push(Token::Text(format!("<!--{text}-->"))),
            Node::Block {
                name,
                attrs,
                children,
            } => {
                let attrs = attrs
                    .as_ref()
                    .map(|a| format!("{} ", attrs_json(a)))
                    .unwrap_or_default();
                match children {
                    None => tokens.push(Token::SelfClosing(format!("<!-- wp:{name} {attrs}/-->"))),
                    Some(children) => {
                        tokens.push(Token::Open(format!("<!-- wp:{name} {attrs}-->")));
                        render(children, tokens);
                        tokens.push(Token::Close(format!("<!-- /wp:{name} -->")));
                    }
                }
            }
        }
    }
}

fn text(tokens: &[Token]) -> String {
    tokens
        .iter()
        .map(|t| match t {
            Token::Text(s) | Token::Open(s) | Token::Close(s) | Token::SelfClosing(s) => s.as_str(),
        })
        .collect()
}

/// The blocks `parse` should list, in document order.
fn expected(nodes: &[Node], depth: usize, out: &mut Vec<BlockInfo>) {
    for node in nodes {
        if let Node::Block { name, children, .. } = node {
            let name = if name.contains('/') {
                name.clone()
            } else {
                format!("core/{name}")
            };
            out.push(BlockInfo { name, depth });
            if let Some(children) = children {
                expected(children, depth + 1, out);
            }
        }
    }
}

fn rendered() -> impl Strategy<Value = (Vec<Token>, Vec<BlockInfo>)> {
    document().prop_map(|nodes| render_all(&nodes))
}

/// A document with at least one block that has an opener and a closer.
fn rendered_with_pair() -> impl Strategy<Value = (Vec<Token>, Vec<BlockInfo>)> {
    (
        document(),
        name(),
        attrs(),
        document(),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(mut nodes, name, attrs, children, at)| {
            let block = Node::Block {
                name,
                attrs,
                children: Some(children),
            };
            nodes.insert(at.index(nodes.len() + 1), block);
            render_all(&nodes)
        })
}

fn render_all(nodes: &[Node]) -> (Vec<Token>, Vec<BlockInfo>) {
    {
        let mut tokens = Vec::new();
        render(nodes, &mut tokens);
        let mut blocks = Vec::new();
        expected(nodes, 0, &mut blocks);
        (tokens, blocks)
    }
}

/// Pieces that make up block markup, to build near-misses from.
fn grammar_soup() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "<!--",
        "-->",
        "<!-- ",
        " -->",
        "wp:",
        "/wp:",
        "/",
        " /",
        "/-->",
        "{",
        "}",
        "{}",
        "{\"a\":1}",
        "[1]",
        "\"",
        "-",
        "--",
        " ",
        "\n",
        "para",
        "core/",
        "a/b",
        "Para",
        "é",
        "\u{2028}",
        "💥",
        "<p>",
        "</p>",
        "\\",
        ":",
    ]);
    prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(crate::config(256))]

    #[test]
    fn arbitrary_text_never_panics(markup in "\\PC{0,300}|.{0,300}") {
        let _ = parse(&markup);
    }

    #[test]
    fn near_miss_markup_never_panics(markup in grammar_soup()) {
        let _ = parse(&markup);
    }

    #[test]
    fn well_formed_documents_are_accepted_as_built((tokens, blocks) in rendered()) {
        let markup = text(&tokens);
        prop_assert_eq!(parse(&markup), Ok(blocks), "{}", markup);
    }

    #[test]
    fn dropping_a_delimiter_unpairs_or_drops_one_block(
        (tokens, blocks) in rendered_with_pair(),
        pick in any::<prop::sample::Index>(),
    ) {
        let delimiters: Vec<usize> = tokens
            .iter()
            .enumerate()
            .filter(|(_, t)| !matches!(t, Token::Text(_)))
            .map(|(i, _)| i)
            .collect();
        let at = delimiters[pick.index(delimiters.len())];
        let mut damaged = tokens.clone();
        let dropped = damaged.remove(at);
        let markup = text(&damaged);
        match dropped {
            // Openers and closers no longer balance: no reading can accept it.
            Token::Open(_) | Token::Close(_) => prop_assert!(parse(&markup).is_err(), "{}", markup),
            // A self-closing block simply goes; the others stay as they were.
            Token::SelfClosing(_) => {
                let index = tokens[..at]
                    .iter()
                    .filter(|t| matches!(t, Token::Open(_) | Token::SelfClosing(_)))
                    .count();
                let mut rest = blocks.clone();
                rest.remove(index);
                prop_assert_eq!(parse(&markup), Ok(rest), "{}", markup);
            }
            Token::Text(_) => unreachable!(),
        }
    }

    #[test]
    fn a_renamed_closer_is_refused(
        (tokens, _) in rendered_with_pair(),
        pick in any::<prop::sample::Index>(),
        other in name(),
    ) {
        let closers: Vec<usize> = tokens
            .iter()
            .enumerate()
            .filter(|(_, t)| matches!(t, Token::Close(_)))
            .map(|(i, _)| i)
            .collect();
        let at = closers[pick.index(closers.len())];
        let Token::Close(old) = &tokens[at] else { unreachable!() };
        let full = |n: &str| if n.contains('/') { n.to_owned() } else { format!("core/{n}") };
        let old_name = old.trim_start_matches("<!-- /wp:").trim_end_matches(" -->");
        prop_assume!(full(old_name) != full(&other));
        let mut damaged = tokens.clone();
        damaged[at] = Token::Close(format!("<!-- /wp:{other} -->"));
        let markup = text(&damaged);
        prop_assert!(parse(&markup).is_err(), "{}", markup);
    }

    #[test]
    fn a_truncated_document_lists_a_prefix_of_its_blocks(
        (tokens, blocks) in rendered(),
        cut in any::<prop::sample::Index>(),
    ) {
        let markup = text(&tokens);
        let mut end = cut.index(markup.len() + 1);
        while !markup.is_char_boundary(end) {
            end -= 1;
        }
        if let Ok(found) = parse(&markup[..end]) {
            prop_assert!(blocks.starts_with(&found), "{:?}", &markup[..end]);
        }
    }
}
