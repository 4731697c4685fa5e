<?php
/**
 * Internal to bin/apply.php (GSW_Navigation::locations_after_switch), run as its own PHP process after a theme switch:
 * prints the now-active theme's classic menu locations as a JSON list.
 *
 * @package gsw-connector
 */

// A command-line entry point: never run by a web request.
if (PHP_SAPI !== 'cli') {
    exit;
}

require_once dirname(__DIR__) . '/includes/class-gsw-cli.php';
GSW_CLI::start();
require_once GSW_CLI::wordpress_loader();
GSW_CLI::emit(array_keys(get_registered_nav_menus()), 0);
