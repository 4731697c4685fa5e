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

foreach (GSW_Connector::OPTIONS as $option) {
    delete_option($option);
}
foreach (GSW_Connector::POST_META as $meta_key) {
    delete_post_meta_by_key($meta_key);
}
