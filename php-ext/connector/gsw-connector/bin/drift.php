<?php
/**
 * Prints what changed in WordPress since the connector applied it, as one
 * JSON object (docs/connector.md):
 *   php [-d extension=libgsw_php_ext.so] bin/drift.php
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
require_once dirname(__DIR__) . '/includes/class-gsw-drift.php';
GSW_CLI::emit(GSW_Drift::check(), 0);
