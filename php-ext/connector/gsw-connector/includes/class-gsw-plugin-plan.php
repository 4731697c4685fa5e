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
    /**
     * The only options a plugin plan may write, each with the plugin that
     * reads it and why a plan would set it. Anything else (WordPress's own
     * settings such as siteurl, template_root, permalink_structure,
     * sidebars_widgets, widget_*, WPLANG, users and roles, other plugins'
     * options, the connector's own) is left alone and named in the message.
     */
    private const ALLOWED_OPTIONS = [
        'wpseo' => 'Yoast SEO: its general settings (the site represents a company or a person, and which)',
        'wpseo_titles' => 'Yoast SEO: title separator and the title and meta templates',
        'wpseo_social' => "Yoast SEO: the business's social profiles",
        'wpforms_settings' => "WPForms: form styling and the e-mail notifications' look",
        'woocommerce_currency' => "WooCommerce: the shop's currency, from the brief's country",
        'woocommerce_default_country' => "WooCommerce: the shop's country (and state) for taxes and shipping",
        'woocommerce_store_address' => "WooCommerce: the shop's street address, from the business's identity",
        'woocommerce_store_city' => "WooCommerce: the shop's city",
        'woocommerce_store_postcode' => "WooCommerce: the shop's postcode",
        'tribe_events_calendar_options' => 'The Events Calendar: its settings (views, date format)',
        'give_settings' => 'GiveWP: its settings (currency, donation form defaults)',
        'updraft_interval' => 'UpdraftPlus: how often files are backed up',
        'updraft_interval_database' => 'UpdraftPlus: how often the database is backed up',
        'updraft_retain' => 'UpdraftPlus: how many file backups are kept',
        'updraft_retain_db' => 'UpdraftPlus: how many database backups are kept',
        'wp-smush-settings' => 'Smush: which compressions and lazy loading are on',
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
                if (!self::may_write($name)) {
                    $notes[] = "$slug: option $name is not one a plan may set; left alone";
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

    /** The option names a plan writes (for the snapshot): only allowed ones. */
    public static function options(array $plugins): array
    {
        $names = [];
        foreach ($plugins as $plugin) {
            foreach (array_keys(is_array($plugin['options'] ?? null) ? $plugin['options'] : []) as $name) {
                if (self::may_write($name)) {
                    $names[] = $name;
                }
            }
        }
        return $names;
    }

    /** Whether a plan may write the option of this name: only those allowed, by exact name. */
    private static function may_write($name): bool
    {
        return is_string($name) && array_key_exists($name, self::ALLOWED_OPTIONS);
    }
}
