<?php
/**
 * What the agent asks about a site: its inventory and the drift of what the
 * connector applied.
 */

if (!defined('ABSPATH')) {
    exit;
}

require_once __DIR__ . '/common.php';

/** WordPress, PHP, the connector, the themes and the plugins of this site. */
function gsw_inventory(): array
{
    global $wp_version;
    require_once ABSPATH . 'wp-admin/includes/plugin.php';
    $active_theme = get_stylesheet();
    $themes = [];
    foreach (wp_get_themes() as $slug => $theme) {
        $themes[] = [
            'slug' => (string) $slug,
            'name' => (string) $theme->get('Name'),
            'version' => (string) $theme->get('Version'),
            'active' => $slug === $active_theme,
        ];
    }
    $plugins = [];
    foreach (get_plugins() as $file => $plugin) {
        $plugins[] = [
            'file' => $file,
            'slug' => str_contains($file, '/') ? dirname($file) : basename($file, '.php'),
            'name' => (string) $plugin['Name'],
            'version' => (string) $plugin['Version'],
            'active' => is_plugin_active($file),
        ];
    }
    $extension = phpversion('gsw-php-ext'); // the module's name as PHP knows it
    return [
        'wordpress_version' => $wp_version,
        'php_version' => PHP_VERSION,
        'site_url' => site_url(),
        'home_url' => home_url(),
        'connector_version' => GSW_CONNECTOR_VERSION,
        'extension_version' => $extension === false ? null : $extension,
        'active_theme' => $active_theme,
        'themes' => $themes,
        'plugins' => $plugins,
    ];
}

/**
 * Posts the connector applied that were changed in WordPress since: edited
 * (`modified`), in the trash (`trashed`), or gone (`deleted`).
 */
function gsw_drift(): array
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
        } elseif ($post->applied_hash !== gsw_post_state_hash($post)) {
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
