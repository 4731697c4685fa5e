<?php
/**
 * Removes what the connector keeps for itself: its options and the
 * bookkeeping meta on posts. The pages, posts, menus, media, styles, themes
 * and plugins it applied are the site's and stay.
 */
if (!defined('WP_UNINSTALL_PLUGIN')) {
    exit;
}
foreach (['gsw_applied_keys', 'gsw_plugin_settings', 'gsw_packages'] as $option) {
    delete_option($option);
}
foreach (['_gsw_key', '_gsw_hash', '_gsw_applied_hash'] as $meta_key) {
    delete_post_meta_by_key($meta_key);
}
