<?php
// Removes what the connector keeps; the content it created stays the site's.
if (!defined('WP_UNINSTALL_PLUGIN')) {
    exit;
}
delete_post_meta_by_key('_gsw_key');
delete_post_meta_by_key('_gsw_hash');
