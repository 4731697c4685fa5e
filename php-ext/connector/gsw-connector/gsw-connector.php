<?php
/**
 * Plugin Name:       gsWstudio Connector
 * Plugin URI:        https://gswstudio.example/
 * Description:       Applies content, design and plugin bundles that the gsWstudio agent receives from its control plane. Bundles are verified by the gsw PHP extension before anything changes.
 * Version:           0.2.0
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

// Nothing runs on web requests: the agent applies bundles through bin/*.php.

/** Whether the gsw PHP extension is loaded in this PHP. */
function gsw_connector_extension_loaded(): bool
{
    return function_exists('gsw_bundle_open');
}
