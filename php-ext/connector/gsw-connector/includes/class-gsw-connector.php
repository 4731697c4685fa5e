<?php
/**
 * What the connector itself is: its version and what it keeps in WordPress.
 *
 * @package gsw-connector
 */

if (!defined('ABSPATH')) {
    exit;
}

/** The connector plugin: its version, its own options and post meta. */
final class GSW_Connector
{
    /** The plugin's version, as its header says. */
    public const VERSION = '0.2.0';

    /** The options the connector keeps for itself. */
    public const OPTIONS = ['gsw_applied_keys', 'gsw_plugin_settings', 'gsw_packages'];

    /** The post meta the connector keeps on the posts it applied. */
    public const POST_META = ['_gsw_key', '_gsw_hash', '_gsw_applied_hash'];
}
