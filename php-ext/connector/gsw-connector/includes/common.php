<?php
/**
 * What the connector's commands share: hashes, keys, reports and values
 * kept in snapshots.
 */

if (!defined('ABSPATH')) {
    exit;
}

const GSW_CONNECTOR_VERSION = '0.2.0';

require_once __DIR__ . '/profile.php';

/**
 * The hash of a post as WordPress stores it: what drift checks compare with
 * `_gsw_applied_hash`. Only fields an editor changes in WordPress count.
 */
function gsw_post_state_hash(object $post): string
{
    return gsw_content_hash(json_encode([
        (string) $post->post_title,
        (string) $post->post_name,
        (string) $post->post_status,
        (string) $post->post_content,
        (int) $post->post_parent,
    ]));
}

/** One item's result, in the report's format. */
function gsw_result(array $item, string $status, ?string $message = null): array
{
    $result = ['kind' => $item['kind'], 'path' => $item['path'], 'status' => $status];
    if ($message !== null && $message !== '') {
        $result['message'] = $message;
    }
    return $result;
}

/**
 * Posts carrying bundle keys, in one query: key => post id. When a key is on
 * several posts (copied by a duplicator plugin, say) the oldest post wins.
 */
function gsw_find_ids_by_keys(array $keys): array
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
function gsw_find_by_key(string $key): ?WP_Post
{
    $id = gsw_find_ids_by_keys([$key])[$key] ?? null;
    return $id ? get_post($id) : null;
}

/**
 * A stored value as JSON can carry it: text as it is, anything that is not
 * UTF-8 (serialized binary, say) as base64.
 */
function gsw_encode_value($value)
{
    if ($value === null || !is_string($value) || preg_match('//u', $value) === 1) {
        return $value;
    }
    return ['base64' => base64_encode($value)];
}

/** The inverse of gsw_encode_value. */
function gsw_decode_value($value)
{
    if (is_array($value) && isset($value['base64'])) {
        return base64_decode($value['base64'], true);
    }
    return $value;
}

/** A plain plugin or theme folder name: nothing that could climb out. */
function gsw_is_folder_name($name): bool
{
    return is_string($name) && preg_match('/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/', $name) === 1;
}

/** Removes a folder and everything in it (links themselves, not their targets). */
function gsw_remove_tree(string $path): void
{
    if (is_link($path) || is_file($path)) {
        unlink($path);
        return;
    }
    if (!is_dir($path)) {
        return;
    }
    foreach (scandir($path) as $entry) {
        if ($entry !== '.' && $entry !== '..') {
            gsw_remove_tree("$path/$entry");
        }
    }
    rmdir($path);
}

/** Copies a folder; links are copied as links, never followed. */
function gsw_copy_tree(string $from, string $to): void
{
    if (is_link($from)) {
        symlink(readlink($from), $to);
        return;
    }
    if (is_file($from)) {
        if (!copy($from, $to)) {
            throw new RuntimeException("cannot copy $from to $to");
        }
        return;
    }
    if (!is_dir($to) && !mkdir($to, 0755, true)) {
        throw new RuntimeException("cannot create $to");
    }
    foreach (scandir($from) as $entry) {
        if ($entry !== '.' && $entry !== '..') {
            gsw_copy_tree("$from/$entry", "$to/$entry");
        }
    }
}

