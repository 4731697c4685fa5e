<?php
/**
 * What the agent asks about a site: its WordPress, PHP, connector, themes
 * and plugins.
 *
 * @package gsw-connector
 */

if (!defined('ABSPATH')) {
    exit;
}

require_once __DIR__ . '/class-gsw-connector.php';

/** The site's inventory (bin/inventory.php). */
final class GSW_Inventory
{
    /** WordPress, PHP, the connector, the themes and the plugins of this site. */
    public static function collect(): array
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
            'connector_version' => GSW_Connector::VERSION,
            'extension_version' => $extension === false ? null : $extension,
            'active_theme' => $active_theme,
            'themes' => $themes,
            'plugins' => $plugins,
        ];
    }
}
