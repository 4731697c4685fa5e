<?php
/**
 * Prints what changed in WordPress since the connector applied it, as one
 * JSON object (docs/connector.md):
 *   php -d extension=libgsw_php_ext.so bin/drift.php
 */

require_once dirname(__DIR__) . '/includes/cli.php';
gsw_cli_start();
if (!function_exists('gsw_content_hash')) {
    gsw_cli_emit(['status' => 'failed', 'error' => 'the gsw PHP extension is not loaded (php -d extension=libgsw_php_ext.so)'], 1);
}
require_once gsw_cli_wordpress_loader();
require_once dirname(__DIR__) . '/includes/report.php';
gsw_cli_emit(gsw_drift(), 0);
