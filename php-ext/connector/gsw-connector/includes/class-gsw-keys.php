<?php
/**
 * The connector's bookkeeping on posts: the bundle key each applied post
 * carries in `_gsw_key`, the hash of what was applied, and the list of keys
 * applied so far.
 *
 * @package gsw-connector
 */

if (!defined('ABSPATH')) {
    exit;
}

require_once __DIR__ . '/class-gsw-native.php';

/** Posts by bundle key, and the hashes drift is checked with. */
final class GSW_Keys
{
    /**
     * The hash of a post as WordPress stores it: what drift checks compare with
     * `_gsw_applied_hash`. Only fields an editor changes in WordPress count.
     */
    public static function post_state_hash(object $post): string
    {
        return GSW_Native::content_hash(json_encode([
            (string) $post->post_title,
            (string) $post->post_name,
            (string) $post->post_status,
            (string) $post->post_content,
            (int) $post->post_parent,
        ]));
    }

    /**
     * Posts carrying bundle keys, in one query: key => post id. When a key is on
     * several posts (copied by a duplicator plugin, say) the oldest post wins.
     */
    public static function find_ids(array $keys): array
    {
        global $wpdb;
        $keys = array_values(array_unique(array_filter($keys, 'is_string')));
        if (!$keys) {
            return [];
        }
        $found = [];
        foreach (array_chunk($keys, 500) as $chunk) {
            $in = implode(',', array_fill(0, count($chunk), '%s'));
            $rows = $wpdb->get_results($wpdb->prepare(
                "SELECT m.meta_value AS k, MIN(m.post_id) AS id FROM {$wpdb->postmeta} m
                 JOIN {$wpdb->posts} p ON p.ID = m.post_id
                 WHERE m.meta_key = '_gsw_key' AND m.meta_value IN ($in) GROUP BY m.meta_value",
                $chunk
            ));
            foreach ($rows as $row) {
                $found[$row->k] = (int) $row->id;
            }
        }
        return $found;
    }

    /** The post carrying a bundle key, if any. */
    public static function find_post(string $key): ?WP_Post
    {
        $id = self::find_ids([$key])[$key] ?? null;
        return $id ? get_post($id) : null;
    }

    /** Adds keys to `gsw_applied_keys`, which drift checks for deleted posts. */
    public static function remember_applied(array $keys): void
    {
        $known = get_option('gsw_applied_keys', []);
        $known = is_array($known) ? $known : [];
        $merged = array_values(array_unique(array_merge($known, $keys)));
        sort($merged);
        if ($merged !== $known) {
            update_option('gsw_applied_keys', $merged, false);
        }
    }
}
