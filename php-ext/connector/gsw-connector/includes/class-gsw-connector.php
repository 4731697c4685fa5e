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
    public const VERSION = '0.3.0';

    /** The options the connector keeps for itself. */
    public const OPTIONS = ['gsw_applied_keys', 'gsw_plugin_settings', 'gsw_packages'];

    /**
     * The options of the connector's own connection (plugin-only sites):
     * never snapshotted, so a rollback cannot bring back an older key or
     * sequence.
     */
    public const LINK_OPTIONS = ['gsw_link', self::PULL_STATE_OPTION, 'gsw_pull_lock', 'gsw_state_dir'];

    /** Where the pull keeps its sequence, journal and last contact. */
    public const PULL_STATE_OPTION = 'gsw_pull';

    /** The WP-Cron event that pulls bundles, and its schedule. */
    public const CRON_HOOK = 'gsw_connector_pull';
    public const CRON_SCHEDULE = 'gsw_every_minute';

    /**
     * How long a WP-Cron pull holds its request open asking: not at all. It
     * takes what is queued and ends, so a shared host's PHP workers are not
     * held waiting; a real cron running bin/pull.php --for 55 waits instead.
     */
    public const CRON_RUN_SECONDS = 0;

    /** The time an apply may take inside a WP-Cron request, in seconds. */
    public const CRON_TIME_LIMIT = 300;

    /** Longest the control plane holds a request for the next bundle (`MAX_WAIT_SECS`). */
    public const MAX_WAIT_SECONDS = 25;

    /** The post meta the connector keeps on the posts it applied. */
    public const POST_META = ['_gsw_key', '_gsw_hash', '_gsw_applied_hash'];
}
