//! Every generated page is valid block grammar: WordPress's own
//! `parse_blocks()` finds nothing outside a block, and `serialize_blocks()`
//! gives back the page byte for byte. Runs the machine's PHP on WordPress's
//! `wp-includes/blocks.php` and `class-wp-block-parser.php` (Debian package
//! `wordpress`, or `GSW_TEST_WORDPRESS_DIR`); without them it fails and says
//! what to install, like the other tests that need a real dependency.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use gsw_generation::agents::Agents;
use gsw_generation::draft::Brief;
use gsw_generation::offline::OfflineEngine;
use gsw_generation::orchestrator::generate_in_memory;
use gsw_generation::provider::ModelRoutes;

mod common;
use common::hostile_page;

const ROUND_TRIP: &str = r#"<?php
// Just enough of WordPress to run its block parser and serializer.
define('ABSPATH', $argv[1] . '/');
define('WPINC', 'wp-includes');
function apply_filters($hook, $value) { return $value; }
function wp_json_encode($data, $options = 0, $depth = 512) { return json_encode($data, $options, $depth); }
require ABSPATH . WPINC . '/class-wp-block-parser.php';
require ABSPATH . WPINC . '/blocks.php';

function stray_html($blocks) {
    foreach ($blocks as $block) {
        if ($block['blockName'] === null && trim($block['innerHTML']) !== '') {
            return $block['innerHTML'];
        }
        $inner = stray_html($block['innerBlocks']);
        if ($inner !== null) {
            return $inner;
        }
    }
    return null;
}

$pages = json_decode(file_get_contents($argv[2]), true);
$results = [];
foreach ($pages as $name => $markup) {
    $blocks = parse_blocks($markup);
    $again = serialize_blocks($blocks);
    $results[$name] = [
        'blocks' => count(array_filter($blocks, fn($b) => $b['blockName'] !== null)),
        'stray' => stray_html($blocks),
        'round_trip' => $again === $markup,
        'serialized' => $again === $markup ? null : $again,
    ];
}
echo json_encode($results);
"#;

fn wordpress_dir() -> PathBuf {
    std::env::var_os("GSW_TEST_WORDPRESS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/wordpress"))
}

fn briefs() -> Vec<Brief> {
    let brief = |name: &str, kind: &str, description: &str, goals: &[&str]| Brief {
        business_name: name.into(),
        business_type: kind.into(),
        description: description.into(),
        goals: goals.iter().map(|g| g.to_string()).collect(),
        style: None,
        ..Default::default()
    };
    vec![
        brief("Maison Lune", "bakery", "A family bakery in Lyon making sourdough bread, croissants and celebration cakes for busy families.", &["Take online orders", "Be found on Google"]),
        brief("Clearwater Dental", "dental clinic", "Family dentist in Bristol offering check-ups, hygiene & whitening.", &["Online appointment booking"]),
        brief("O'Brien & Sons -- Plumbing", "plumber", "Plumbers in Cork providing repairs, boiler installs and \"no call-out fee\" quotes.", &["More quote requests <fast>"]),
        brief("Fjällräven Yoga Studio", "yoga studio", "Yoga in Malmö: vinyasa, yin and prenatal classes for beginners 🧘.", &["Sell class passes", "Grow the newsletter"]),
        brief("Hope Harbour", "charity", "A community foundation in Leeds running food banks and youth clubs.", &["Raise donations", "Recruit volunteers"]),
    ]
}

#[tokio::test]
async fn generated_pages_round_trip_through_wordpress() {
    assert!(
        Command::new("php").arg("--version").output().is_ok(),
        "no `php` on this machine: install php-cli and wordpress (Debian packages) to check block grammar against WordPress"
    );
    let wordpress = wordpress_dir();
    assert!(
        wordpress
            .join("wp-includes/class-wp-block-parser.php")
            .exists(),
        "WordPress is needed at {} (Debian package `wordpress`, or set GSW_TEST_WORDPRESS_DIR)",
        wordpress.display()
    );
    let agents = Agents {
        provider: Arc::new(OfflineEngine),
        routes: ModelRoutes {
            small: "s".into(),
            large: "l".into(),
        },
    };
    let mut pages = serde_json::Map::new();
    for brief in briefs() {
        let draft = generate_in_memory(&agents, &brief, 4).await.unwrap();
        for page in draft.pages {
            pages.insert(
                format!("{} / {}", brief.business_name, page.slug),
                page.blocks.into(),
            );
        }
    }
    pages.insert("hostile".into(), hostile_page().into());
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("round_trip.php");
    let input = dir.path().join("pages.json");
    std::fs::write(&script, ROUND_TRIP).unwrap();
    std::fs::write(&input, serde_json::to_vec(&pages).unwrap()).unwrap();
    let output = Command::new("php")
        .arg(&script)
        .arg(&wordpress)
        .arg(&input)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "php failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "php printed {}: {e}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    assert_eq!(results.as_object().unwrap().len(), pages.len());
    for (name, result) in results.as_object().unwrap() {
        assert!(result["blocks"].as_u64().unwrap() >= 2, "{name}: {result}");
        assert_eq!(
            result["stray"],
            serde_json::Value::Null,
            "{name} has HTML outside any block"
        );
        assert_eq!(
            result["round_trip"],
            true,
            "{name} changed through parse_blocks/serialize_blocks:\n{}\n---\n{}",
            pages[name].as_str().unwrap(),
            result["serialized"].as_str().unwrap_or_default()
        );
    }
}
