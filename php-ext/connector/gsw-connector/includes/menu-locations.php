<?php
/**
 * Internal to apply.php, run as its own PHP process after a theme switch:
 * prints the now-active theme's classic menu locations as a JSON list.
 */

require_once __DIR__ . '/cli.php';
gsw_cli_start();
require_once gsw_cli_wordpress_loader();
gsw_cli_emit(array_keys(get_registered_nav_menus()), 0);
