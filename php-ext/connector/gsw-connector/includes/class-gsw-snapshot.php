<?php
/**
 * Snapshots: the state a bundle is about to change, written completely
 * (renamed into place) before the first change, and restored by a rollback
 * bundle.
 *
 * A snapshot names what it covers by "targets": posts (by bundle key, by the
 * theme whose global styles they are, or by id), classic menus by name,
 * options by name, and plugin or theme folders. Each is recorded as it is
 * (rows, meta, terms, raw option values, a copy of the folder) or as absent,
 * and restoring puts each back exactly so: absent things are removed.
 *
 * @package gsw-connector
 */

if (!defined('ABSPATH')) {
    exit;
}

require_once __DIR__ . '/class-gsw-keys.php';
require_once __DIR__ . '/class-gsw-folders.php';
require_once __DIR__ . '/class-gsw-design.php';

/** A snapshot: written before an apply changes anything, restored by a rollback. */
final class GSW_Snapshot
{
    /** The format of snapshot.json this connector writes and reads. */
    public const FORMAT = 1;

    /**
     * Records every target's present state into DIR/<sequence>/ (written under a
     * temporary name, then renamed). An existing complete snapshot of the same
     * sequence is kept: it is the state before the first attempt at this bundle.
     */
    public static function write(string $root, int $sequence, array $targets, array $about = []): string
    {
        $final = rtrim($root, '/') . '/' . $sequence;
        if (is_file("$final/snapshot.json")) {
            return $final;
        }
        if (!is_dir($root) && !mkdir($root, 0700, true)) {
            throw new RuntimeException("cannot create the snapshot folder $root");
        }
        if (is_dir($final)) {
            GSW_Folders::remove($final); // an incomplete one: never renamed into place
        }
        $work = rtrim($root, '/') . "/.$sequence.tmp-" . getmypid();
        GSW_Folders::remove($work);
        if (!mkdir($work, 0700)) {
            throw new RuntimeException("cannot create $work");
        }

        $locators = array_values($targets['posts'] ?? []);
        $ids = self::locate_posts($locators);
        $records = self::post_records(array_filter($ids));
        $posts = [];
        $seen = [];
        foreach ($locators as $i => $locator) {
            $id = $ids[$i];
            if ($id && isset($records[$id])) {
                if (isset($seen[$id])) {
                    continue;
                }
                $seen[$id] = true;
                $posts[] = ['locator' => $locator, 'existed' => true] + $records[$id];
            } else {
                $posts[] = ['locator' => $locator, 'existed' => false];
            }
        }

        $menus = [];
        foreach (array_unique($targets['menus'] ?? []) as $name) {
            $record = self::menu_record($name);
            $menus[] = ['name' => $name, 'existed' => $record !== null] + ($record ?? []);
        }

        $folders = [];
        foreach ($targets['folders'] ?? [] as $folder) {
            $path = GSW_Folders::path($folder['kind'], $folder['name']);
            $entry = ['kind' => $folder['kind'], 'name' => $folder['name'], 'existed' => is_dir($path)];
            if ($entry['existed']) {
                $entry['backup'] = "files/{$folder['kind']}s/{$folder['name']}";
                GSW_Folders::copy($path, "$work/{$entry['backup']}");
            }
            $folders[] = $entry;
        }

        $snapshot = [
            'format' => self::FORMAT,
            'sequence' => $sequence,
            'taken_at' => gmdate('Y-m-d\TH:i:s\Z'),
        ] + $about + [
            'posts' => $posts,
            'menus' => $menus,
            'options' => (object) self::option_records($targets['options'] ?? []),
            'folders' => $folders,
        ];
        $json = json_encode($snapshot, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
        if ($json === false) {
            throw new RuntimeException('cannot encode the snapshot: ' . json_last_error_msg());
        }
        $file = fopen("$work/snapshot.json", 'xb');
        if (!$file || fwrite($file, $json) !== strlen($json) || !fsync($file) || !fclose($file)) {
            throw new RuntimeException("cannot write $work/snapshot.json");
        }
        if (!rename($work, $final)) {
            throw new RuntimeException("cannot rename $work to $final");
        }
        return $final;
    }

    /** Reads DIR/<sequence>/snapshot.json. */
    public static function read(string $root, int $sequence): array
    {
        $file = rtrim($root, '/') . "/$sequence/snapshot.json";
        if (!is_file($file)) {
            throw new RuntimeException("there is no snapshot of sequence $sequence ($file)");
        }
        $snapshot = json_decode((string) file_get_contents($file), true);
        if (!is_array($snapshot) || ($snapshot['format'] ?? null) !== self::FORMAT) {
            throw new RuntimeException("$file is not a snapshot this connector reads");
        }
        return $snapshot;
    }

    /** The targets a snapshot covers: restoring it changes exactly these. */
    public static function targets(array $snapshot): array
    {
        $posts = [];
        foreach ($snapshot['posts'] ?? [] as $post) {
            $posts[] = $post['existed'] ? ['id' => (int) $post['row']['ID']] : $post['locator'];
        }
        $folders = [];
        foreach ($snapshot['folders'] ?? [] as $folder) {
            $folders[] = ['kind' => $folder['kind'], 'name' => $folder['name']];
        }
        return [
            'posts' => $posts,
            'menus' => array_column($snapshot['menus'] ?? [], 'name'),
            'options' => array_keys($snapshot['options'] ?? []),
            'folders' => $folders,
        ];
    }

    /** Restores a snapshot; returns how many targets of each kind it restored. */
    public static function restore(string $dir, array $snapshot): array
    {
        require_once ABSPATH . 'wp-admin/includes/plugin.php';
        require_once ABSPATH . 'wp-admin/includes/theme.php';
        $done = [
            'folders' => self::restore_folders($dir, $snapshot['folders'] ?? []),
            'posts' => self::restore_posts($snapshot['posts'] ?? []),
            'menus' => self::restore_menus($snapshot['menus'] ?? []),
            'options' => self::restore_options($snapshot['options'] ?? []),
        ];
        wp_cache_flush();
        if (class_exists('WP_Theme_JSON_Resolver')) {
            WP_Theme_JSON_Resolver::clean_cached_data();
        }
        return $done;
    }

    /** Puts plugin and theme folders back as recorded; returns how many. */
    private static function restore_folders(string $dir, array $folders): int
    {
        foreach ($folders as $folder) {
            if (!in_array($folder['kind'] ?? null, ['plugin', 'theme'], true)) {
                throw new RuntimeException('the snapshot names a folder that is neither a plugin nor a theme');
            }
            $path = GSW_Folders::path($folder['kind'], $folder['name']);
            GSW_Folders::remove($path);
            if ($folder['existed']) {
                $backup = "$dir/files/{$folder['kind']}s/{$folder['name']}"; // never a path read from the file
                if (!is_dir($backup)) {
                    throw new RuntimeException("the snapshot's copy of {$folder['name']} is missing ($backup)");
                }
                GSW_Folders::copy($backup, $path);
            }
        }
        if ($folders) {
            wp_clean_plugins_cache(false);
            wp_clean_themes_cache(false);
        }
        return count($folders);
    }

    /** Puts posts back as recorded, and deletes those recorded as absent; returns how many. */
    private static function restore_posts(array $posts): int
    {
        $absent = [];
        foreach ($posts as $post) {
            if ($post['existed']) {
                self::restore_post($post);
            } else {
                $absent[] = $post['locator'];
            }
        }
        foreach (self::locate_posts($absent) as $id) {
            if ($id) {
                self::delete_post($id);
            }
        }
        // Every post a key names was created by a bundle: duplicates go too.
        foreach ($absent as $locator) {
            if (isset($locator['key'])) {
                while ($post = GSW_Keys::find_post($locator['key'])) {
                    self::delete_post($post->ID);
                }
            }
        }
        return count($posts);
    }

    /** Puts classic menus back as recorded, items and all; returns how many. */
    private static function restore_menus(array $menus): int
    {
        foreach ($menus as $menu) {
            $current = wp_get_nav_menu_object($menu['name']);
            if ($current) {
                foreach ((array) get_objects_in_term($current->term_id, 'nav_menu') as $item) {
                    wp_delete_post((int) $item, true);
                }
            }
            if (!$menu['existed']) {
                if ($current) {
                    wp_delete_nav_menu($current->term_id);
                }
            } else {
                $term_id = $current ? (int) $current->term_id : self::restore_menu_term($menu);
                foreach ($menu['items'] as $item) {
                    self::restore_post($item);
                    wp_set_object_terms((int) $item['row']['ID'], [$term_id], 'nav_menu');
                }
            }
        }
        return count($menus);
    }

    /** Puts options back as recorded, deleting those recorded as absent; returns how many. */
    private static function restore_options(array $options): int
    {
        foreach ($options as $name => $record) {
            if ($record === null) {
                delete_option($name);
            } else {
                update_option($name, maybe_unserialize(self::decode_value($record['value'])));
            }
        }
        return count($options);
    }

    /** Rows, meta and terms of posts, in three queries: id => record. */
    private static function post_records(array $ids): array
    {
        global $wpdb;
        $ids = array_values(array_unique(array_map('intval', $ids)));
        if (!$ids) {
            return [];
        }
        $in = implode(',', $ids);
        $records = [];
        foreach ($wpdb->get_results("SELECT * FROM {$wpdb->posts} WHERE ID IN ($in)", ARRAY_A) as $row) {
            $records[(int) $row['ID']] = [
                'row' => array_map([self::class, 'encode_value'], $row),
                'meta' => [],
                'terms' => [],
            ];
        }
        $meta = $wpdb->get_results("SELECT post_id, meta_key, meta_value FROM {$wpdb->postmeta} WHERE post_id IN ($in) ORDER BY meta_id", ARRAY_A);
        foreach ($meta as $m) {
            if (isset($records[(int) $m['post_id']])) {
                $records[(int) $m['post_id']]['meta'][] = [$m['meta_key'], self::encode_value($m['meta_value'])];
            }
        }
        $terms = $wpdb->get_results(
            "SELECT tr.object_id, tt.taxonomy, tt.term_id FROM {$wpdb->term_relationships} tr
             JOIN {$wpdb->term_taxonomy} tt ON tt.term_taxonomy_id = tr.term_taxonomy_id
             WHERE tr.object_id IN ($in) ORDER BY tr.term_order",
            ARRAY_A
        );
        foreach ($terms as $t) {
            if (isset($records[(int) $t['object_id']])) {
                $records[(int) $t['object_id']]['terms'][$t['taxonomy']][] = (int) $t['term_id'];
            }
        }
        return $records;
    }

    /** Finds the post a snapshot target names: key, global styles of a theme, or id. */
    private static function locate_posts(array $locators): array
    {
        $keys = [];
        foreach ($locators as $locator) {
            if (isset($locator['key'])) {
                $keys[] = $locator['key'];
            }
        }
        $by_key = GSW_Keys::find_ids($keys);
        $found = [];
        foreach ($locators as $i => $locator) {
            if (isset($locator['key'])) {
                $found[$i] = $by_key[$locator['key']] ?? null;
            } elseif (isset($locator['global_styles'])) {
                $found[$i] = GSW_Design::global_styles_post_id((string) $locator['global_styles']);
            } elseif (isset($locator['id'])) {
                $found[$i] = get_post((int) $locator['id']) ? (int) $locator['id'] : null;
            } else {
                $found[$i] = null;
            }
        }
        return $found;
    }

    /** Raw option values: name => ['value' => raw, 'autoload' => …] or null when absent. */
    private static function option_records(array $names): array
    {
        global $wpdb;
        $names = array_values(array_unique(array_filter($names, 'is_string')));
        $records = array_fill_keys($names, null);
        if (!$names) {
            return [];
        }
        $in = implode(',', array_fill(0, count($names), '%s'));
        $rows = $wpdb->get_results($wpdb->prepare(
            "SELECT option_name, option_value, autoload FROM {$wpdb->options} WHERE option_name IN ($in)",
            $names
        ), ARRAY_A);
        foreach ($rows as $row) {
            $records[$row['option_name']] = ['value' => self::encode_value($row['option_value']), 'autoload' => $row['autoload']];
        }
        return $records;
    }

    /** A classic menu's term and items, or null when there is no menu of that name. */
    private static function menu_record(string $name): ?array
    {
        $menu = wp_get_nav_menu_object($name);
        if (!$menu) {
            return null;
        }
        global $wpdb;
        $ids = get_objects_in_term($menu->term_id, 'nav_menu');
        return [
            'term_id' => (int) $menu->term_id,
            'term' => $wpdb->get_row($wpdb->prepare("SELECT * FROM {$wpdb->terms} WHERE term_id = %d", $menu->term_id), ARRAY_A),
            'term_taxonomy' => $wpdb->get_row($wpdb->prepare("SELECT * FROM {$wpdb->term_taxonomy} WHERE term_taxonomy_id = %d", $menu->term_taxonomy_id), ARRAY_A),
            'items' => array_values(self::post_records(is_array($ids) ? $ids : [])),
        ];
    }

    /** Puts one post back: row, meta and terms exactly as recorded. */
    private static function restore_post(array $record): void
    {
        global $wpdb;
        $row = array_map([self::class, 'decode_value'], $record['row']);
        $id = (int) $row['ID'];
        if ($wpdb->replace($wpdb->posts, $row) === false) {
            throw new RuntimeException("cannot restore post $id: {$wpdb->last_error}");
        }
        $wpdb->delete($wpdb->postmeta, ['post_id' => $id]);
        foreach ($record['meta'] as [$key, $value]) {
            $wpdb->insert($wpdb->postmeta, ['post_id' => $id, 'meta_key' => $key, 'meta_value' => self::decode_value($value)]);
        }
        $taxonomies = array_unique(array_merge(array_keys($record['terms'] ?? []), get_object_taxonomies($row['post_type'])));
        foreach ($taxonomies as $taxonomy) {
            if (taxonomy_exists($taxonomy)) {
                wp_set_object_terms($id, $record['terms'][$taxonomy] ?? [], $taxonomy);
            }
        }
        clean_post_cache($id);
    }

    /**
     * Puts a deleted menu's term back under its old id, so the menu locations
     * restored with the theme mods point at it again.
     */
    private static function restore_menu_term(array $menu): int
    {
        global $wpdb;
        if (!is_array($menu['term'] ?? null) || !is_array($menu['term_taxonomy'] ?? null)) {
            return (int) wp_create_nav_menu($menu['name']);
        }
        $wpdb->replace($wpdb->terms, $menu['term']);
        $wpdb->replace($wpdb->term_taxonomy, $menu['term_taxonomy']);
        clean_term_cache((int) $menu['term']['term_id'], 'nav_menu');
        return (int) $menu['term']['term_id'];
    }

    /** Deletes a post for good, files too when it is an attachment. */
    private static function delete_post(int $id): void
    {
        if (get_post_type($id) === 'attachment') {
            wp_delete_attachment($id, true);
        } else {
            wp_delete_post($id, true);
        }
    }

    /**
     * A stored value as JSON can carry it: text as it is, anything that is not
     * UTF-8 (serialized binary, say) as base64.
     */
    private static function encode_value($value)
    {
        if ($value === null || !is_string($value) || preg_match('//u', $value) === 1) {
            return $value;
        }
        return ['base64' => base64_encode($value)];
    }

    /** The inverse of encode_value. */
    private static function decode_value($value)
    {
        if (is_array($value) && isset($value['base64'])) {
            return base64_decode($value['base64'], true);
        }
        return $value;
    }
}
