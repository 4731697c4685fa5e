<?php
/**
 * Applying a verified bundle (as `gsw_bundle_open` returned it) with
 * WordPress's own APIs, after snapshotting everything it will change.
 * docs/connector.md in the gsWstudio repository is the contract.
 *
 * @package gsw-connector
 */

if (!defined('ABSPATH')) {
    exit;
}

require_once __DIR__ . '/class-gsw-connector.php';
require_once __DIR__ . '/class-gsw-profile.php';
require_once __DIR__ . '/class-gsw-refusal.php';
require_once __DIR__ . '/class-gsw-item.php';
require_once __DIR__ . '/class-gsw-keys.php';
require_once __DIR__ . '/class-gsw-folders.php';
require_once __DIR__ . '/class-gsw-snapshot.php';
require_once __DIR__ . '/class-gsw-slugs.php';
require_once __DIR__ . '/class-gsw-kses.php';
require_once __DIR__ . '/class-gsw-content.php';
require_once __DIR__ . '/class-gsw-site.php';
require_once __DIR__ . '/class-gsw-navigation.php';
require_once __DIR__ . '/class-gsw-design.php';
require_once __DIR__ . '/class-gsw-media.php';
require_once __DIR__ . '/class-gsw-packages.php';
require_once __DIR__ . '/class-gsw-plugin-plan.php';
require_once __DIR__ . '/class-gsw-plugin-pages.php';

/** One bundle applied: planned, snapshotted, then each kind of item in turn. */
final class GSW_Apply
{
    /** Options every apply snapshots: the reading settings, the theme and the plugins. */
    private const SNAPSHOT_OPTIONS = [
        'show_on_front', 'page_on_front', 'page_for_posts', 'template', 'stylesheet', 'current_theme',
        'active_plugins', ...GSW_Connector::OPTIONS, ...GSW_Site::OPTIONS,
    ];

    /**
     * Applies a verified bundle. Returns [report, exit code]; throws
     * GSW_Refusal when it refused before changing anything.
     */
    public static function bundle(array $bundle, string $snapshots, bool $allow_unfiltered): array
    {
        $manifest = $bundle['manifest'];
        $sequence = (int) $manifest['sequence'];
        $unfiltered = $allow_unfiltered || !empty($manifest['policy']['unfiltered_html']);
        $results = [];
        $plan = self::plan($bundle['items'], $results);

        if ($plan['rollback'] !== null) {
            if (count($bundle['items']) !== 1) {
                throw new GSW_Refusal('a rollback bundle holds its rollback item and nothing else');
            }
            return self::rollback($plan['rollback'], $snapshots, $sequence, $manifest);
        }

        // Zips wait beside the snapshots (private to the agent) while they are checked and installed.
        $work = rtrim($snapshots, '/') . "/.work-$sequence-" . getmypid();
        GSW_Folders::remove($work);
        if (!mkdir($work, 0700, true)) {
            throw new GSW_Refusal("cannot create $work");
        }
        try {
            $zips = GSW_Packages::check_zips($plan['zips'], $work, $results);
            $targets = self::snapshot_targets($plan, $zips);
            GSW_Profile::phase('planned');
            $snapshot = self::snapshot($snapshots, $sequence, $targets, ['bundle_id' => $manifest['bundle_id']]);
            GSW_Profile::phase('snapshot');
            self::apply_items($plan, $zips, $unfiltered, $results);
        } finally {
            GSW_Folders::remove($work);
        }
        ksort($results);
        return self::report(array_values($results), $sequence, $snapshot);
    }

    /**
     * Sorts a bundle's items into what applies them. Items that cannot be read
     * fail here, before anything changes.
     */
    private static function plan(array $items, array &$results): array
    {
        $plan = ['posts' => [], 'navigation' => null, 'site' => null, 'design' => null, 'zips' => [], 'plan' => null, 'media' => [], 'rollback' => null];
        foreach ($items as $index => $item) {
            [$slot, $parsed] = self::parse_item($item);
            if ($slot === null) {
                $results[$index] = GSW_Item::result($item, 'failed', "this connector does not know {$item['kind']} item {$item['path']}");
                continue;
            }
            [$data, $error] = $parsed;
            if ($data === null) {
                $results[$index] = GSW_Item::result($item, 'failed', $error);
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

    /** The plan slot an item goes to and what reading it gave ([data, null] or [null, why]); slot null: unknown. */
    private static function parse_item(array $item): array
    {
        $kind = $item['kind'];
        $path = $item['path'];
        if ($kind === 'content' && $path === 'navigation.json') {
            return ['navigation', GSW_Navigation::parse($item)];
        }
        if ($kind === 'content' && $path === 'site.json') {
            return ['site', GSW_Site::parse($item)];
        }
        if ($kind === 'content' && preg_match('#^(pages|posts)/[^/]+\.json$#', $path)) {
            return ['posts', GSW_Content::parse($item)];
        }
        if ($kind === 'design' && $path === 'design.json') {
            return ['design', GSW_Design::parse($item)];
        }
        if (($kind === 'theme' || $kind === 'plugin') && str_ends_with($path, '.zip') && !str_contains($path, '/')) {
            return ['zips', [true, null]];
        }
        if ($kind === 'plugin' && $path === 'plan.json') {
            return ['plan', GSW_Plugin_Plan::parse($item)];
        }
        if ($kind === 'media') {
            return ['media', [true, null]];
        }
        if ($kind === 'rollback' && $path === 'rollback.json') {
            $data = json_decode($item['content'], true);
            return ['rollback', is_array($data) && is_int($data['sequence'] ?? null) && $data['sequence'] > 0
                ? [$data, null] : [null, 'rollback must be {"deployment_id", "sequence": N}']];
        }
        return [null, null];
    }

    /** Everything this bundle may change, for the snapshot taken before it changes. */
    private static function snapshot_targets(array $plan, array $zips): array
    {
        $design = $plan['design']['data'] ?? null;
        $themes = array_values(array_map(fn ($z) => $z['folder'], array_filter($zips, fn ($z) => $z['item']['kind'] === 'theme')));
        $stylesheets = array_unique(array_filter([get_stylesheet(), $design['theme'] ?? null, ...$themes]));
        $targets = [
            'posts' => [],
            'menus' => [],
            'options' => self::SNAPSHOT_OPTIONS,
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
            $targets['options'] = array_merge($targets['options'], GSW_Plugin_Plan::options($plan['plan']['data']));
            $planned = array_column($targets['posts'], 'key');
            foreach (array_diff(GSW_Plugin_Pages::keys($plan['plan']['data']), $planned) as $key) {
                $targets['posts'][] = ['key' => $key];
            }
        }
        return $targets;
    }

    /** Writes the snapshot; one that cannot be written refuses the bundle. */
    private static function snapshot(string $snapshots, int $sequence, array $targets, array $about): string
    {
        try {
            return GSW_Snapshot::write($snapshots, $sequence, $targets, $about);
        } catch (Throwable $e) {
            throw new GSW_Refusal('snapshot failed, nothing was changed: ' . $e->getMessage());
        }
    }

    /** Applies the planned items, in the contract's order; results go into `$results` by index. */
    private static function apply_items(array $plan, array $zips, bool $unfiltered, array &$results): void
    {
        // One transaction for the whole apply rather than a commit (and a
        // disk flush) per row: WordPress writes a page as a dozen
        // statements. A DDL statement (a plugin creating its tables) commits
        // early and a new transaction starts by itself; a crash part-way
        // leaves the database as the snapshot describes it.
        self::db_batch(true);
        wp_defer_term_counting(true);
        wp_defer_comment_counting(true);

        $switched = self::apply_packages_and_design($plan, $zips, $results);
        GSW_Profile::phase('packages and design');
        GSW_Media::apply($plan['media'], $results);
        GSW_Profile::phase('media');
        if ($plan['site']) {
            $entry = $plan['site'];
            $results[$entry['index']] = GSW_Item::attempt($entry['item'], fn () => GSW_Site::apply($entry['item'], $entry['data']));
        }
        GSW_Content::apply($plan['posts'], $unfiltered, $results);
        GSW_Profile::phase('posts');
        $placed = self::place_plugins($plan, $results);

        if ($plan['navigation']) {
            $entry = $plan['navigation'];
            if ($switched) {
                self::db_batch(false); // The other process must see the new theme.
                $locations = GSW_Navigation::locations_after_switch();
                self::db_batch(true);
            } else {
                $locations = null;
            }
            $results[$entry['index']] = GSW_Item::attempt($entry['item'], fn () => GSW_Navigation::apply($entry['item'], $entry['data'], $locations));
        }

        GSW_Profile::phase('navigation');
        wp_defer_term_counting(false);
        wp_defer_comment_counting(false);
        GSW_Keys::remember_applied(array_merge(self::applied_keys($plan, $results), $placed));
        self::db_batch(false);
    }

    /**
     * Installs the zips, activates a lone theme, applies the plugin plan and
     * the design; returns whether the active theme changed.
     */
    private static function apply_packages_and_design(array $plan, array $zips, array &$results): bool
    {
        $installed_themes = [];
        foreach ($zips as $zip) {
            $results[$zip['index']] = GSW_Item::attempt($zip['item'], function () use ($zip, &$installed_themes) {
                [$status, $message] = GSW_Packages::install($zip['item']['kind'], $zip['file'], $zip['folder'], $zip['item']['sha256']);
                if ($status !== 'failed' && $zip['item']['kind'] === 'theme') {
                    $installed_themes[] = $zip['folder'];
                }
                return GSW_Item::result($zip['item'], $status, $message);
            });
        }

        $switched = false;
        $theme_zips = array_filter($zips, fn ($z) => $z['item']['kind'] === 'theme');
        if (!$plan['design'] && count($theme_zips) === 1 && count($installed_themes) === 1) {
            $zip = reset($theme_zips);
            $activated = GSW_Item::attempt($zip['item'], function () use ($installed_themes, &$switched, $zip) {
                $switched = GSW_Design::activate_theme($installed_themes[0]);
                return GSW_Item::result($zip['item'], 'applied');
            });
            if ($switched || $activated['status'] === 'failed') {
                $results[$zip['index']] = $activated;
            }
        }

        if ($plan['plan']) {
            $entry = $plan['plan'];
            $results[$entry['index']] = GSW_Item::attempt($entry['item'], fn () => GSW_Plugin_Plan::apply($entry['item'], $entry['data']));
        }

        if ($plan['design']) {
            $entry = $plan['design'];
            $before = get_stylesheet();
            $results[$entry['index']] = GSW_Item::attempt($entry['item'], fn () => GSW_Design::apply($entry['item'], $entry['data'], $installed_themes));
            $switched = $switched || get_stylesheet() !== $before;
        }
        return $switched;
    }

    /**
     * Puts the plan's active plugins on their pages (a form on the contact
     * page, …), once the pages exist; what happened goes into the plan
     * item's result. Returns the keys of the posts it made.
     */
    private static function place_plugins(array $plan, array &$results): array
    {
        $entry = $plan['plan'];
        if (!$entry || ($results[$entry['index']]['status'] ?? 'failed') === 'failed') {
            return [];
        }
        $result = &$results[$entry['index']];
        try {
            [$changed, $notes, $keys] = GSW_Plugin_Pages::place($entry['data']);
        } catch (Throwable $e) {
            [$changed, $notes, $keys] = [false, [$e->getMessage()], []];
        }
        if ($changed && $result['status'] !== 'applied') {
            $result['status'] = 'applied';
        }
        if ($notes) {
            $message = $result['message'] ?? null;
            $result['message'] = implode('; ', array_filter([$message, ...$notes]));
        }
        return $keys;
    }

    /** The keys of the posts, media and navigation this apply left as the bundle has them. */
    private static function applied_keys(array $plan, array $results): array
    {
        $applied = [];
        foreach (array_merge($plan['posts'], $plan['media']) as $entry) {
            if (in_array($results[$entry['index']]['status'] ?? 'failed', ['applied', 'unchanged'], true)) {
                $applied[] = $entry['item']['kind'] === 'media' ? 'media:' . $entry['item']['path'] : $entry['data']['key'];
            }
        }
        if ($plan['navigation'] && ($results[$plan['navigation']['index']]['status'] ?? '') !== 'failed') {
            $applied[] = $plan['navigation']['data']['key'];
        }
        return $applied;
    }

    /** Starts (true) or commits (false) the apply's database transaction. */
    public static function db_batch(bool $open): void
    {
        global $wpdb;
        if ($open) {
            $wpdb->query('SET autocommit = 0');
        } else {
            $wpdb->query('COMMIT');
            $wpdb->query('SET autocommit = 1');
        }
    }

    /**
     * Restores DIR/N/snapshot.json, after snapshotting what that restore will
     * change as this bundle's own snapshot (so a rollback can be rolled back).
     */
    private static function rollback(array $entry, string $snapshots, int $sequence, array $manifest): array
    {
        $item = $entry['item'];
        $target = (int) $entry['data']['sequence'];
        try {
            $old = GSW_Snapshot::read($snapshots, $target);
        } catch (Throwable $e) {
            return self::report([GSW_Item::result($item, 'failed', $e->getMessage())], $sequence, null);
        }
        $snapshot = self::snapshot($snapshots, $sequence, GSW_Snapshot::targets($old), [
            'bundle_id' => $manifest['bundle_id'],
            'rollback_of' => $target,
        ]);
        $result = GSW_Item::attempt($item, function () use ($item, $snapshots, $target, $old) {
            self::db_batch(true);
            $done = GSW_Snapshot::restore(rtrim($snapshots, '/') . "/$target", $old);
            self::db_batch(false);
            return GSW_Item::result($item, 'applied', sprintf(
                'restored the state before sequence %d: %d posts, %d menus, %d options, %d folders',
                $target,
                $done['posts'],
                $done['menus'],
                $done['options'],
                $done['folders']
            ));
        });
        return self::report([$result], $sequence, $snapshot);
    }

    /** The apply's report and exit code: failed (1) when any item failed. */
    private static function report(array $results, int $sequence, ?string $snapshot): array
    {
        $failed = (bool) array_filter($results, fn ($r) => $r['status'] === 'failed');
        return [[
            'status' => $failed ? 'failed' : 'applied',
            'sequence' => $sequence,
            'snapshot' => $snapshot,
            'results' => $results,
        ], $failed ? 1 : 0];
    }
}
