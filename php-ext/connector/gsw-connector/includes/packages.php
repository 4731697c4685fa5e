<?php
/**
 * Theme and plugin zips, installed with WordPress's own upgraders from the
 * local file, and the plugin plan.
 */

if (!defined('ABSPATH')) {
    exit;
}

/** Options a plugin plan may never write: the site's identity, users, code and the connector's own. */
const GSW_PROTECTED_OPTIONS = [
    'siteurl', 'home', 'admin_email', 'new_admin_email', 'users_can_register', 'default_role',
    'active_plugins', 'active_sitewide_plugins', 'recently_activated', 'uninstall_plugins',
    'auto_update_plugins', 'auto_update_themes', 'template', 'stylesheet', 'current_theme',
    'cron', 'db_version', 'initial_db_version', 'upload_path', 'upload_url_path',
    'auth_key', 'auth_salt', 'logged_in_key', 'logged_in_salt', 'nonce_key', 'nonce_salt',
    'secure_auth_key', 'secure_auth_salt', 'secret', 'rewrite_rules', 'can_compress_scripts',
];

/** Loads what the upgraders need, and keeps them from calling WordPress.org. */
function gsw_load_upgraders(): void
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

/** Whether a name is a protected option or one of a connector's own. */
function gsw_is_protected_option(string $name): bool
{
    global $wpdb;
    return in_array($name, GSW_PROTECTED_OPTIONS, true)
        || in_array($name, ['gsw_applied_keys', 'gsw_plugin_settings', 'gsw_packages'], true)
        || str_starts_with($name, 'theme_mods_')
        || $name === $wpdb->get_blog_prefix() . 'user_roles';
}

/**
 * Installs a checked zip (`$folder` is its one top-level folder) with the
 * upgrader, replacing an older copy. Returns [status, message, plugin file].
 */
function gsw_install_package(string $kind, string $zip, string $folder, string $sha256): array
{
    gsw_load_upgraders();
    $installed = get_option('gsw_packages', []);
    $installed = is_array($installed) ? $installed : [];
    $path = gsw_folder_path($kind, $folder);
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
    $file = gsw_plugin_file($folder);
    if ($file === null) {
        return ['failed', "no plugin header found in $folder", null];
    }
    if (!is_plugin_active($file)) {
        $activated = gsw_activate_plugin($file);
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
function gsw_activate_plugin(string $file): ?string
{
    gsw_db_batch(false);
    $process = proc_open([PHP_BINARY, __DIR__ . '/activate-plugin.php', $file], [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
    if (!is_resource($process)) {
        gsw_db_batch(true);
        return 'cannot start PHP to activate the plugin';
    }
    $out = stream_get_contents($pipes[1]);
    fwrite(STDERR, stream_get_contents($pipes[2]));
    proc_close($process);
    gsw_db_batch(true);
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
function gsw_plugin_file(string $folder): ?string
{
    foreach (array_keys(get_plugins('/' . $folder)) as $file) {
        return "$folder/$file";
    }
    return null;
}

/** Reads and checks plan.json. */
function gsw_parse_plan(array $item): array
{
    $data = json_decode($item['content'], true);
    if (!is_array($data) || !is_array($data['plugins'] ?? null)) {
        return [null, 'plan must be {"plugins": [{"slug", "settings", "options"}]}'];
    }
    foreach ($data['plugins'] as $plugin) {
        if (!is_array($plugin) || !gsw_is_folder_name($plugin['slug'] ?? null)) {
            return [null, 'every plugin of the plan needs a plain slug'];
        }
    }
    return [$data['plugins'], null];
}

/** Applies the plugin plan: activation, options, and settings kept under the slug. */
function gsw_apply_plan(array $item, array $plugins): array
{
    gsw_load_upgraders();
    $changed = false;
    $skipped = [];
    $notes = [];
    $settings = get_option('gsw_plugin_settings', []);
    $settings = is_array($settings) ? $settings : [];
    $settings_before = $settings;
    foreach ($plugins as $plugin) {
        $slug = $plugin['slug'];
        $file = gsw_plugin_file($slug);
        if ($file === null) {
            $skipped[] = $slug;
            continue;
        }
        if (!is_plugin_active($file)) {
            $activated = gsw_activate_plugin($file);
            if ($activated !== null) {
                return gsw_result($item, 'failed', "$slug: $activated");
            }
            $changed = true;
        }
        foreach (is_array($plugin['options'] ?? null) ? $plugin['options'] : [] as $name => $value) {
            if (!is_string($name) || gsw_is_protected_option($name)) {
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
    return gsw_result($item, $status, implode('; ', $notes));
}

/** The option names a plan writes (for the snapshot). */
function gsw_plan_options(array $plugins): array
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
