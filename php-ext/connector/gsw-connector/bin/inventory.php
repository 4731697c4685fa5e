<?php
/**
 * Prints this site's inventory as one JSON object (docs/connector.md):
 *   php [-d extension=libgsw_php_ext.so] bin/inventory.php
 */

require_once dirname(__DIR__) . '/includes/cli.php';
gsw_cli_start();
require_once gsw_cli_wordpress_loader();
require_once dirname(__DIR__) . '/includes/report.php';
gsw_cli_emit(gsw_inventory(), 0);
