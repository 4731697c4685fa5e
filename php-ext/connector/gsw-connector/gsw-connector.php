<?php
/**
 * Plugin Name:       gsWstudio Connector
 * Plugin URI:        https://gswstudio.example/
 * Description:       Applies content, design and plugin bundles that the gsWstudio agent receives from its control plane. Bundles are verified (by the gsw PHP extension when it is loaded, in PHP otherwise) before anything changes.
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

/**
 * Whether the gsw PHP extension is loaded in this PHP. The connector works
 * either way (GSW_Native falls back to its own PHP); the extension is faster.
 */
function gsw_connector_extension_loaded(): bool
{
    require_once __DIR__ . '/includes/class-gsw-native.php';
    return GSW_Native::extension_loaded();
}
