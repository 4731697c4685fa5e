<?php
/**
 * Theme and plugin zips, checked by GSW_Native::zip_check and installed with
 * WordPress's own upgraders from the local file.
 *
 * @package gsw-connector
 */

if (!defined('ABSPATH')) {
    exit;
}

require_once __DIR__ . '/class-gsw-item.php';
require_once __DIR__ . '/class-gsw-folders.php';
require_once __DIR__ . '/class-gsw-cli.php';
require_once __DIR__ . '/class-gsw-native.php';

/** Theme and plugin zips, and activating plugins. */
final class GSW_Packages
{
    /** Largest total a plugin or theme zip may unpack to. */
    private const MAX_UNPACKED_ZIP = 512 * 1024 * 1024;

    /**
     * Writes each zip to a private temporary folder and checks it with the
     * gsw extension's check (or its PHP port); refused zips fail here and are never handed to an upgrader.
     */
    public static function check_zips(array $entries, string $work, array &$results): array
    {
        $checked = [];
        foreach ($entries as $entry) {
            $item = $entry['item'];
            $file = "$work/{$item['kind']}-" . count($checked) . '-' . basename($item['path']);
            if (file_put_contents($file, $item['content']) !== strlen($item['content'])) {
                $results[$entry['index']] = GSW_Item::result($item, 'failed', "cannot write $file");
                continue;
            }
            try {
                $zip = GSW_Native::zip_check($file, self::MAX_UNPACKED_ZIP);
            } catch (Exception $e) {
                $results[$entry['index']] = GSW_Item::result($item, 'failed', $e->getMessage());
                continue;
            }
            $checked[] = $entry + ['file' => $file, 'folder' => $zip['folder']];
        }
        return $checked;
    }

    /** Loads what the upgraders need, and keeps them from calling WordPress.org. */
    public static function load_upgraders(): void
    {
        require_once ABSPATH . 'wp-admin/includes/file.php';
        require_once ABSPATH . 'wp-admin/includes/misc.php';
        require_once ABSPATH . 'wp-admin/includes/plugin.php';
        require_once ABSPATH . 'wp-admin/includes/theme.php';
        require_once ABSPATH . 'wp-admin/includes/class-wp-upgrader.php';
        remove_action('upgrader_process_complete', 'wp_version_check', 10);
        remove_action('upgrader_process_complete', 'wp_update_plugins', 10);
        remove_action('upgrader_process_complete', 'wp_update_themes', 10);
        remove_action('upgrader_process_complete', ['Language_Pack_Upgrader', 'async_upgrade'], 20);
    }

    /**
     * Installs a checked zip (`$folder` is its one top-level folder) with the
     * upgrader, replacing an older copy. Returns [status, message, plugin file].
     */
    public static function install(string $kind, string $zip, string $folder, string $sha256): array
    {
        self::load_upgraders();
        $installed = get_option('gsw_packages', []);
        $installed = is_array($installed) ? $installed : [];
        $path = GSW_Folders::path($kind, $folder);
        $already = is_dir($path) && ($installed["$kind/$folder"] ?? null) === $sha256;
        if (!$already) {
            $skin = new Automatic_Upgrader_Skin();
            $upgrader = $kind === 'plugin' ? new Plugin_Upgrader($skin) : new Theme_Upgrader($skin);
            $done = $upgrader->install($zip, ['overwrite_package' => true, 'clear_update_cache' => true]);
            if ($done !== true) {
                $why = is_wp_error($done) ? $done->get_error_message() : implode(' ', array_map('wp_strip_all_tags', $skin->get_upgrade_messages()));
                return ['failed', $why ?: 'the upgrader did not install it', null];
            }
            $destination = $upgrader->result['destination_name'] ?? $folder;
            if ($destination !== $folder) {
                return ['failed', "installed into $destination, not $folder", null];
            }
            $installed["$kind/$folder"] = $sha256;
            update_option('gsw_packages', $installed, false);
        }
        if ($kind === 'theme') {
            wp_clean_themes_cache(false);
            return [$already ? 'unchanged' : 'applied', null, null];
        }
        wp_clean_plugins_cache(false);
        $file = self::plugin_file($folder);
        if ($file === null) {
            return ['failed', "no plugin header found in $folder", null];
        }
        if (!is_plugin_active($file)) {
            $activated = self::activate_plugin($file);
            if ($activated !== null) {
                return ['failed', 'installed, but activation failed: ' . $activated, $file];
            }
            $already = false;
        }
        return [$already ? 'unchanged' : 'applied', null, $file];
    }

    /**
     * Activates a plugin, running its activation hooks, in a PHP process of its
     * own (committing this apply's writes first, so it sees them): a plugin that
     * dies while activating fails its item, not the apply. Returns why it
     * failed, or null.
     */
    public static function activate_plugin(string $file): ?string
    {
        GSW_Apply::db_batch(false);
        if (!GSW_CLI::can_run()) {
            // A web request (WP-Cron, plugin-only connection) on a host that
            // may not start processes: activated here, as wp-admin does, in
            // WordPress's sandbox that catches what the plugin prints.
            $result = activate_plugin($file, '', false, true);
            GSW_Apply::db_batch(true);
            return is_wp_error($result) && !is_plugin_active($file) ? $result->get_error_message() : null;
        }
        $out = GSW_CLI::run('activate-plugin.php', [$file]);
        GSW_Apply::db_batch(true);
        if ($out === null) {
            return 'cannot start PHP to activate the plugin';
        }
        // The other process changed options this one has cached.
        wp_cache_delete('alloptions', 'options');
        wp_cache_delete('active_plugins', 'options');
        wp_cache_delete('notoptions', 'options');
        $answer = json_decode(trim((string) $out), true);
        if (!is_array($answer) || !array_key_exists('error', $answer)) {
            return 'activation gave no answer';
        }
        if ($answer['error'] === null && !is_plugin_active($file)) {
            return 'activation did not stick';
        }
        return $answer['error'];
    }

    /** The main file of the plugin in a folder, e.g. "akismet/akismet.php". */
    public static function plugin_file(string $folder): ?string
    {
        foreach (array_keys(get_plugins('/' . $folder)) as $file) {
            return "$folder/$file";
        }
        return null;
    }
}
