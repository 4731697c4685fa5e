<?php
/**
 * The plugin plan (plugin/plan.json): which plugins to activate and the
 * options and settings to give them.
 *
 * @package gsw-connector
 */

if (!defined('ABSPATH')) {
    exit;
}

require_once __DIR__ . '/class-gsw-item.php';
require_once __DIR__ . '/class-gsw-folders.php';
require_once __DIR__ . '/class-gsw-packages.php';
require_once __DIR__ . '/class-gsw-connector.php';

/** The plugin plan item. */
final class GSW_Plugin_Plan
{
    /** Options a plugin plan may never write: the site's identity, users, code and the connector's own. */
    private const PROTECTED_OPTIONS = [
        'siteurl', 'home', 'admin_email', 'new_admin_email', 'users_can_register', 'default_role',
        'active_plugins', 'active_sitewide_plugins', 'recently_activated', 'uninstall_plugins',
        'auto_update_plugins', 'auto_update_themes', 'template', 'stylesheet', 'current_theme',
        'cron', 'db_version', 'initial_db_version', 'upload_path', 'upload_url_path',
        'auth_key', 'auth_salt', 'logged_in_key', 'logged_in_salt', 'nonce_key', 'nonce_salt',
        'secure_auth_key', 'secure_auth_salt', 'secret', 'rewrite_rules', 'can_compress_scripts',
    ];

    /** Reads and checks plan.json. */
    public static function parse(array $item): array
    {
        $data = json_decode($item['content'], true);
        if (!is_array($data) || !is_array($data['plugins'] ?? null)) {
            return [null, 'plan must be {"plugins": [{"slug", "settings", "options"}]}'];
        }
        foreach ($data['plugins'] as $plugin) {
            if (!is_array($plugin) || !GSW_Folders::is_plain_name($plugin['slug'] ?? null)) {
                return [null, 'every plugin of the plan needs a plain slug'];
            }
        }
        return [$data['plugins'], null];
    }

    /** Applies the plugin plan: activation, options, and settings kept under the slug. */
    public static function apply(array $item, array $plugins): array
    {
        GSW_Packages::load_upgraders();
        $changed = false;
        $skipped = [];
        $notes = [];
        $settings = get_option('gsw_plugin_settings', []);
        $settings = is_array($settings) ? $settings : [];
        $settings_before = $settings;
        foreach ($plugins as $plugin) {
            $slug = $plugin['slug'];
            $file = GSW_Packages::plugin_file($slug);
            if ($file === null) {
                // The control plane names why the bundle carries no zip of it.
                $why = is_string($plugin['unavailable'] ?? null) ? $plugin['unavailable'] : null;
                $skipped[] = $why ? "$slug ($why)" : $slug;
                continue;
            }
            if (!is_plugin_active($file)) {
                $activated = GSW_Packages::activate_plugin($file);
                if ($activated !== null) {
                    return GSW_Item::result($item, 'failed', "$slug: $activated");
                }
                $changed = true;
            }
            foreach (is_array($plugin['options'] ?? null) ? $plugin['options'] : [] as $name => $value) {
                if (!is_string($name) || self::is_protected_option($name)) {
                    $notes[] = "$slug: option $name is not the plugin's to set; left alone";
                    continue;
                }
                if (get_option($name) !== $value) {
                    update_option($name, $value);
                    $changed = true;
                }
            }
            if (array_key_exists('settings', $plugin)) {
                $settings[$slug] = $plugin['settings'];
            }
        }
        if ($settings !== $settings_before) {
            update_option('gsw_plugin_settings', $settings, false);
            $changed = true;
        }
        if ($skipped) {
            $notes[] = 'not installed, so skipped: ' . implode(', ', $skipped);
        }
        $status = $changed ? 'applied' : ($skipped && count($skipped) === count($plugins) ? 'skipped' : 'unchanged');
        return GSW_Item::result($item, $status, implode('; ', $notes));
    }

    /** The option names a plan writes (for the snapshot). */
    public static function options(array $plugins): array
    {
        $names = [];
        foreach ($plugins as $plugin) {
            foreach (array_keys(is_array($plugin['options'] ?? null) ? $plugin['options'] : []) as $name) {
                if (is_string($name)) {
                    $names[] = $name;
                }
            }
        }
        return $names;
    }

    /** Whether a name is a protected option or one of a connector's own. */
    private static function is_protected_option(string $name): bool
    {
        global $wpdb;
        return in_array($name, self::PROTECTED_OPTIONS, true)
            || in_array($name, GSW_Connector::OPTIONS, true)
            || str_starts_with($name, 'theme_mods_')
            || $name === $wpdb->get_blog_prefix() . 'user_roles';
    }
}
