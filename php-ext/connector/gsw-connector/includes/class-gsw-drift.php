<?php
/**
 * What changed in WordPress since the connector applied it.
 *
 * @package gsw-connector
 */

if (!defined('ABSPATH')) {
    exit;
}

require_once __DIR__ . '/class-gsw-keys.php';

/** Drift of the posts the connector applied (bin/drift.php). */
final class GSW_Drift
{
    /**
     * Posts the connector applied that were changed in WordPress since: edited
     * (`modified`), in the trash (`trashed`), or gone (`deleted`).
     */
    public static function check(): array
    {
        global $wpdb;
        $rows = $wpdb->get_results(
            "SELECT p.ID, p.post_title, p.post_name, p.post_status, p.post_content, p.post_parent, p.post_modified_gmt,
                    k.meta_value AS gsw_key, h.meta_value AS applied_hash
             FROM {$wpdb->posts} p
             JOIN {$wpdb->postmeta} k ON k.post_id = p.ID AND k.meta_key = '_gsw_key'
             LEFT JOIN {$wpdb->postmeta} h ON h.post_id = p.ID AND h.meta_key = '_gsw_applied_hash'
             ORDER BY p.ID"
        );
        $drifted = [];
        $present = [];
        foreach ($rows as $post) {
            $present[$post->gsw_key] = true;
            if ($post->post_status === 'trash') {
                $state = 'trashed';
            } elseif ($post->applied_hash !== GSW_Keys::post_state_hash($post)) {
                $state = 'modified';
            } else {
                continue;
            }
            $modified = $post->post_modified_gmt && $post->post_modified_gmt !== '0000-00-00 00:00:00'
                ? str_replace(' ', 'T', $post->post_modified_gmt) . 'Z' : null;
            $drifted[] = ['key' => $post->gsw_key, 'post_id' => (int) $post->ID, 'state' => $state, 'modified_at' => $modified];
        }
        $applied = get_option('gsw_applied_keys', []);
        foreach (is_array($applied) ? $applied : [] as $key) {
            if (is_string($key) && !isset($present[$key])) {
                $drifted[] = ['key' => $key, 'post_id' => null, 'state' => 'deleted', 'modified_at' => null];
            }
        }
        return ['checked' => count($rows), 'drifted' => $drifted];
    }
}
