<?php
/**
 * Applying a verified bundle (as `gsw_bundle_open` returned it) with
 * WordPress's own APIs, after snapshotting everything it will change.
 * docs/connector.md in the gsWstudio repository is the contract.
 */

if (!defined('ABSPATH')) {
    exit;
}

require_once __DIR__ . '/common.php';
require_once __DIR__ . '/snapshot.php';
require_once __DIR__ . '/slugs.php';
require_once __DIR__ . '/content.php';
require_once __DIR__ . '/design.php';
require_once __DIR__ . '/media.php';
require_once __DIR__ . '/packages.php';

/** Largest total a plugin or theme zip may unpack to. */
const GSW_MAX_UNPACKED_ZIP = 512 * 1024 * 1024;

/** Options every apply snapshots: the reading settings, the theme and the plugins. */
const GSW_SNAPSHOT_OPTIONS = [
    'show_on_front', 'page_on_front', 'page_for_posts', 'template', 'stylesheet', 'current_theme',
    'active_plugins', 'gsw_applied_keys', 'gsw_plugin_settings', 'gsw_packages',
];

/** Refused before anything changed (exit 2). */
class GSW_Refusal extends RuntimeException
{
}

/**
 * Sorts a bundle's items into what applies them. Items that cannot be read
 * fail here, before anything changes.
 */
function gsw_plan_bundle(array $items, array &$results): array
{
    $plan = ['posts' => [], 'navigation' => null, 'design' => null, 'zips' => [], 'plan' => null, 'media' => [], 'rollback' => null];
    foreach ($items as $index => $item) {
        $kind = $item['kind'];
        $path = $item['path'];
        $parsed = [null, null];
        if ($kind === 'content' && $path === 'navigation.json') {
            $parsed = gsw_parse_navigation($item);
            $slot = 'navigation';
        } elseif ($kind === 'content' && preg_match('#^(pages|posts)/[^/]+\.json$#', $path)) {
            $parsed = gsw_parse_post_item($item);
            $slot = 'posts';
        } elseif ($kind === 'design' && $path === 'design.json') {
            $parsed = gsw_parse_design($item);
            $slot = 'design';
        } elseif (($kind === 'theme' || $kind === 'plugin') && str_ends_with($path, '.zip') && !str_contains($path, '/')) {
            $parsed = [true, null];
            $slot = 'zips';
        } elseif ($kind === 'plugin' && $path === 'plan.json') {
            $parsed = gsw_parse_plan($item);
            $slot = 'plan';
        } elseif ($kind === 'media') {
            $parsed = [true, null];
            $slot = 'media';
        } elseif ($kind === 'rollback' && $path === 'rollback.json') {
            $data = json_decode($item['content'], true);
            $parsed = is_array($data) && is_int($data['sequence'] ?? null) && $data['sequence'] > 0
                ? [$data, null] : [null, 'rollback must be {"deployment_id", "sequence": N}'];
            $slot = 'rollback';
        } else {
            $results[$index] = gsw_result($item, 'failed', "this connector does not know $kind item $path");
            continue;
        }
        [$data, $error] = $parsed;
        if ($data === null) {
            $results[$index] = gsw_result($item, 'failed', $error);
            continue;
        }
        $entry = ['index' => $index, 'item' => $item, 'data' => $data];
        if (in_array($slot, ['posts', 'zips', 'media'], true)) {
            $plan[$slot][] = $entry;
        } else {
            $plan[$slot] = $entry;
        }
    }
    return $plan;
}

/**
 * Writes each zip to a private temporary folder and checks it with the
 * extension; refused zips fail here and are never handed to an upgrader.
 */
function gsw_check_zips(array $entries, string $work, array &$results): array
{
    $checked = [];
    foreach ($entries as $entry) {
        $item = $entry['item'];
        $file = "$work/{$item['kind']}-" . count($checked) . '-' . basename($item['path']);
        if (file_put_contents($file, $item['content']) !== strlen($item['content'])) {
            $results[$entry['index']] = gsw_result($item, 'failed', "cannot write $file");
            continue;
        }
        try {
            $zip = gsw_zip_check($file, GSW_MAX_UNPACKED_ZIP);
        } catch (Exception $e) {
            $results[$entry['index']] = gsw_result($item, 'failed', $e->getMessage());
            continue;
        }
        $checked[] = $entry + ['file' => $file, 'folder' => $zip['folder']];
    }
    return $checked;
}

/** Runs one item's work; anything it throws fails that item only. */
function gsw_attempt(array $item, callable $work): array
{
    try {
        return $work();
    } catch (Throwable $e) {
        return gsw_result($item, 'failed', get_class($e) . ': ' . $e->getMessage());
    }
}

/**
 * Applies a verified bundle. Returns [report, exit code]; throws
 * GSW_Refusal when it refused before changing anything.
 */
function gsw_apply_bundle(array $bundle, string $snapshots, bool $allow_unfiltered): array
{
    $manifest = $bundle['manifest'];
    $sequence = (int) $manifest['sequence'];
    $unfiltered = $allow_unfiltered || !empty($manifest['policy']['unfiltered_html']);
    $results = [];
    $plan = gsw_plan_bundle($bundle['items'], $results);

    if ($plan['rollback'] !== null) {
        if (count($bundle['items']) !== 1) {
            throw new GSW_Refusal('a rollback bundle holds its rollback item and nothing else');
        }
        return gsw_apply_rollback($plan['rollback'], $snapshots, $sequence, $manifest);
    }

    // Zips wait beside the snapshots (private to the agent) while they are checked and installed.
    $work = rtrim($snapshots, '/') . "/.work-$sequence-" . getmypid();
    gsw_remove_tree($work);
    if (!mkdir($work, 0700, true)) {
        throw new GSW_Refusal("cannot create $work");
    }
    try {
        $zips = gsw_check_zips($plan['zips'], $work, $results);
        $design = $plan['design']['data'] ?? null;
        $themes = array_values(array_map(fn ($z) => $z['folder'], array_filter($zips, fn ($z) => $z['item']['kind'] === 'theme')));

        // Everything this bundle may change, recorded before it changes.
        $stylesheets = array_unique(array_filter([get_stylesheet(), $design['theme'] ?? null, ...$themes]));
        $targets = [
            'posts' => [],
            'menus' => [],
            'options' => GSW_SNAPSHOT_OPTIONS,
            'folders' => array_map(fn ($z) => ['kind' => $z['item']['kind'], 'name' => $z['folder']], $zips),
        ];
        foreach ($plan['posts'] as $entry) {
            $targets['posts'][] = ['key' => $entry['data']['key']];
        }
        foreach ($plan['media'] as $entry) {
            $targets['posts'][] = ['key' => 'media:' . $entry['item']['path']];
        }
        if ($plan['navigation']) {
            $targets['posts'][] = ['key' => $plan['navigation']['data']['key']];
            $targets['menus'][] = $plan['navigation']['data']['name'];
        }
        foreach ($stylesheets as $stylesheet) {
            $targets['options'][] = "theme_mods_$stylesheet";
            if ($design) {
                $targets['posts'][] = ['global_styles' => $stylesheet];
            }
        }
        if ($plan['plan']) {
            $targets['options'] = array_merge($targets['options'], gsw_plan_options($plan['plan']['data']));
        }
        gsw_profile('planned');
        try {
            $snapshot = gsw_snapshot_write($snapshots, $sequence, $targets, ['bundle_id' => $manifest['bundle_id']]);
        } catch (Throwable $e) {
            throw new GSW_Refusal('snapshot failed, nothing was changed: ' . $e->getMessage());
        }

        gsw_profile('snapshot');
        // One transaction for the whole apply rather than a commit (and a
        // disk flush) per row: WordPress writes a page as a dozen
        // statements. A DDL statement (a plugin creating its tables) commits
        // early and a new transaction starts by itself; a crash part-way
        // leaves the database as the snapshot describes it.
        gsw_db_batch(true);
        wp_defer_term_counting(true);
        wp_defer_comment_counting(true);

        $installed_themes = [];
        foreach ($zips as $zip) {
            $results[$zip['index']] = gsw_attempt($zip['item'], function () use ($zip, &$installed_themes) {
                [$status, $message] = gsw_install_package($zip['item']['kind'], $zip['file'], $zip['folder'], $zip['item']['sha256']);
                if ($status !== 'failed' && $zip['item']['kind'] === 'theme') {
                    $installed_themes[] = $zip['folder'];
                }
                return gsw_result($zip['item'], $status, $message);
            });
        }

        $switched = false;
        $theme_zips = array_filter($zips, fn ($z) => $z['item']['kind'] === 'theme');
        if (!$plan['design'] && count($theme_zips) === 1 && count($installed_themes) === 1) {
            $zip = reset($theme_zips);
            $activated = gsw_attempt($zip['item'], function () use ($installed_themes, &$switched, $zip) {
                $switched = gsw_activate_theme($installed_themes[0]);
                return gsw_result($zip['item'], 'applied');
            });
            if ($switched || $activated['status'] === 'failed') {
                $results[$zip['index']] = $activated;
            }
        }

        if ($plan['plan']) {
            $entry = $plan['plan'];
            $results[$entry['index']] = gsw_attempt($entry['item'], fn () => gsw_apply_plan($entry['item'], $entry['data']));
        }

        if ($plan['design']) {
            $entry = $plan['design'];
            $before = get_stylesheet();
            $results[$entry['index']] = gsw_attempt($entry['item'], fn () => gsw_apply_design($entry['item'], $entry['data'], $installed_themes));
            $switched = $switched || get_stylesheet() !== $before;
        }

        gsw_profile('packages and design');
        gsw_apply_media($plan['media'], $results);
        gsw_profile('media');
        gsw_apply_posts($plan['posts'], $unfiltered, $results);
        gsw_profile('posts');

        if ($plan['navigation']) {
            $entry = $plan['navigation'];
            if ($switched) {
                gsw_db_batch(false); // the other process must see the new theme
                $locations = gsw_menu_locations_after_switch();
                gsw_db_batch(true);
            } else {
                $locations = null;
            }
            $results[$entry['index']] = gsw_attempt($entry['item'], fn () => gsw_apply_navigation($entry['item'], $entry['data'], $locations));
        }

        gsw_profile('navigation');
        wp_defer_term_counting(false);
        wp_defer_comment_counting(false);

        $applied = [];
        foreach (array_merge($plan['posts'], $plan['media']) as $entry) {
            if (in_array($results[$entry['index']]['status'] ?? 'failed', ['applied', 'unchanged'], true)) {
                $applied[] = $entry['item']['kind'] === 'media' ? 'media:' . $entry['item']['path'] : $entry['data']['key'];
            }
        }
        if ($plan['navigation'] && ($results[$plan['navigation']['index']]['status'] ?? '') !== 'failed') {
            $applied[] = $plan['navigation']['data']['key'];
        }
        gsw_remember_applied_keys($applied);
        gsw_db_batch(false);
    } finally {
        gsw_remove_tree($work);
    }

    ksort($results);
    $failed = (bool) array_filter($results, fn ($r) => $r['status'] === 'failed');
    return [[
        'status' => $failed ? 'failed' : 'applied',
        'sequence' => $sequence,
        'snapshot' => $snapshot,
        'results' => array_values($results),
    ], $failed ? 1 : 0];
}

/** Starts (true) or commits (false) the apply's database transaction. */
function gsw_db_batch(bool $open): void
{
    global $wpdb;
    if ($open) {
        $wpdb->query('SET autocommit = 0');
    } else {
        $wpdb->query('COMMIT');
        $wpdb->query('SET autocommit = 1');
    }
}

/** Adds keys to `gsw_applied_keys`, which drift checks for deleted posts. */
function gsw_remember_applied_keys(array $keys): void
{
    $known = get_option('gsw_applied_keys', []);
    $known = is_array($known) ? $known : [];
    $merged = array_values(array_unique(array_merge($known, $keys)));
    sort($merged);
    if ($merged !== $known) {
        update_option('gsw_applied_keys', $merged, false);
    }
}

/**
 * Restores DIR/N/snapshot.json, after snapshotting what that restore will
 * change as this bundle's own snapshot (so a rollback can be rolled back).
 */
function gsw_apply_rollback(array $entry, string $snapshots, int $sequence, array $manifest): array
{
    $item = $entry['item'];
    $target = (int) $entry['data']['sequence'];
    try {
        $old = gsw_snapshot_read($snapshots, $target);
    } catch (Throwable $e) {
        return [[
            'status' => 'failed',
            'sequence' => $sequence,
            'snapshot' => null,
            'results' => [gsw_result($item, 'failed', $e->getMessage())],
        ], 1];
    }
    try {
        $snapshot = gsw_snapshot_write($snapshots, $sequence, gsw_snapshot_targets($old), [
            'bundle_id' => $manifest['bundle_id'],
            'rollback_of' => $target,
        ]);
    } catch (Throwable $e) {
        throw new GSW_Refusal('snapshot failed, nothing was changed: ' . $e->getMessage());
    }
    $result = gsw_attempt($item, function () use ($item, $snapshots, $target, $old) {
        gsw_db_batch(true);
        $done = gsw_snapshot_restore(rtrim($snapshots, '/') . "/$target", $old);
        gsw_db_batch(false);
        return gsw_result($item, 'applied', sprintf(
            'restored the state before sequence %d: %d posts, %d menus, %d options, %d folders',
            $target,
            $done['posts'],
            $done['menus'],
            $done['options'],
            $done['folders']
        ));
    });
    $failed = $result['status'] === 'failed';
    return [[
        'status' => $failed ? 'failed' : 'applied',
        'sequence' => $sequence,
        'snapshot' => $snapshot,
        'results' => [$result],
    ], $failed ? 1 : 0];
}
