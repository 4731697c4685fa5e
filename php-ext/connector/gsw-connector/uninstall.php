<?php
/**
 * Removes what the connector keeps for itself: its options and the
 * bookkeeping meta on posts. The pages, posts, menus, media, styles, themes
 * and plugins it applied are the site's and stay.
 *
 * @package gsw-connector
 */

if (!defined('WP_UNINSTALL_PLUGIN')) {
    exit;
}

require_once __DIR__ . '/includes/class-gsw-connector.php';

wp_clear_scheduled_hook(GSW_Connector::CRON_HOOK);
foreach ([...GSW_Connector::OPTIONS, ...GSW_Connector::LINK_OPTIONS] as $option) {
    delete_option($option);
}
foreach (GSW_Connector::POST_META as $meta_key) {
    delete_post_meta_by_key($meta_key);
}
