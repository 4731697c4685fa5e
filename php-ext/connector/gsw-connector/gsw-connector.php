<?php
/**
 * Plugin Name:       gsWstudio Connector
 * Plugin URI:        https://gswstudio.example/
 * Description:       Applies content, design and plugin bundles from a gsWstudio control plane, received by the gsWstudio agent or, on hosts without it, fetched by this plugin itself (Settings > gsWstudio). Every bundle is verified against the control plane's key (by the gsw PHP extension when it is loaded, in PHP otherwise) before anything changes.
 * Version:           0.3.0
 * Requires at least: 6.1
 * Requires PHP:      8.1
 * Author:            gsWstudio
 * License:           AGPL-3.0-only
 * Text Domain:       gsw-connector
 *
 * @package gsw-connector
 */

if (!defined('ABSPATH')) {
    exit;
}

require_once __DIR__ . '/includes/class-gsw-connector.php';
require_once __DIR__ . '/includes/class-gsw-link.php';
require_once __DIR__ . '/includes/class-gsw-admin.php';

// With the agent, bundles are applied through bin/*.php and nothing below
// does anything. Without it (a connection made in Settings > gsWstudio or
// by the control plane through the gsw/v1/connect route, administrators
// only), WP-Cron asks the control plane for bundles every minute.
GSW_Admin::register();
add_filter(
    'cron_schedules',
    fn (array $schedules) => $schedules + [
        GSW_Connector::CRON_SCHEDULE => ['interval' => 60, 'display' => 'Every minute (gsWstudio)'],
    ]
);
add_action(GSW_Connector::CRON_HOOK, 'gsw_connector_pull');
register_activation_hook(__FILE__, [GSW_Link::class, 'schedule']);
register_deactivation_hook(__FILE__, fn () => wp_clear_scheduled_hook(GSW_Connector::CRON_HOOK));

/** WP-Cron's pull: what is queued, within the time a web request has. */
function gsw_connector_pull(): void
{
    require_once __DIR__ . '/includes/class-gsw-cli.php';
    require_once __DIR__ . '/includes/class-gsw-pull.php';
    // An apply can take longer than a web request's usual 30 seconds.
    if (function_exists('set_time_limit')) {
        set_time_limit(GSW_Connector::CRON_TIME_LIMIT);
    }
    GSW_Pull::run(GSW_Connector::CRON_RUN_SECONDS);
}

/**
 * Whether the gsw PHP extension is loaded in this PHP. The connector works
 * either way (GSW_Native falls back to its own PHP); the extension is faster.
 */
function gsw_connector_extension_loaded(): bool
{
    require_once __DIR__ . '/includes/class-gsw-native.php';
    return GSW_Native::extension_loaded();
}
