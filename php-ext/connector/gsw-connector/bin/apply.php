<?php
/**
 * Applies a bundle to this WordPress; run by the agent (docs/connector.md):
 *   php -d extension=libgsw_php_ext.so bin/apply.php --bundle FILE --public-key B64 --site-id UUID
 *       --last-applied N --max-bytes N --snapshots DIR [--allow-unfiltered-html]
 * or, started before its bundle arrives, with the same options as one JSON
 * object on stdin:
 *   php -d extension=libgsw_php_ext.so bin/apply.php --request-on-stdin
 * The extension is optional: without it the connector verifies in PHP (GSW_Native).
 * Prints one JSON report; exits 0 applied, 1 something failed part-way, 2 refused (nothing changed).
 *
 * @package gsw-connector
 */

// A command-line entry point: never run by a web request.
if (PHP_SAPI !== 'cli') {
    exit;
}

require_once dirname(__DIR__) . '/includes/class-gsw-cli.php';
GSW_CLI::start();

$gsw_options = getopt('', ['bundle:', 'public-key:', 'site-id:', 'last-applied:', 'max-bytes:', 'snapshots:', 'allow-unfiltered-html', 'request-on-stdin']);
if (isset($gsw_options['request-on-stdin'])) {
    $gsw_options = GSW_CLI::request_from_stdin();
}
foreach (['bundle', 'public-key', 'site-id', 'snapshots'] as $required) {
    if (!isset($gsw_options[$required]) || !is_string($gsw_options[$required]) || $gsw_options[$required] === '') {
        GSW_CLI::refuse("missing --$required");
    }
}
foreach (['last-applied', 'max-bytes'] as $number) {
    if (isset($gsw_options[$number]) && (!is_string($gsw_options[$number]) || !ctype_digit($gsw_options[$number]))) {
        GSW_CLI::refuse("--$number must be a whole number");
    }
}
require_once dirname(__DIR__) . '/includes/class-gsw-native.php';
// Verified before WordPress is even loaded: a refused bundle changes nothing.
// By the gsw extension when it is loaded, by the connector's PHP otherwise.
try {
    $gsw_bundle = GSW_Native::bundle_open(
        $gsw_options['bundle'],
        $gsw_options['public-key'],
        $gsw_options['site-id'],
        (int) ($gsw_options['last-applied'] ?? 0),
        (int) ($gsw_options['max-bytes'] ?? 67108864)
    );
} catch (Exception $e) {
    GSW_CLI::refuse($e->getMessage());
}

require_once dirname(__DIR__) . '/includes/class-gsw-profile.php';
GSW_Profile::phase('verified');
require_once GSW_CLI::wordpress_loader();
require_once dirname(__DIR__) . '/includes/class-gsw-apply.php';
GSW_Profile::phase('WordPress loaded');
GSW_CLI::act_as_admin();

GSW_CLI::$context = ['sequence' => $gsw_bundle['manifest']['sequence']];
try {
    [$gsw_report, $gsw_code] = GSW_Apply::bundle($gsw_bundle, $gsw_options['snapshots'], isset($gsw_options['allow-unfiltered-html']));
} catch (GSW_Refusal $e) {
    GSW_CLI::refuse($e->getMessage(), GSW_CLI::$context);
} catch (Throwable $e) {
    // Nothing of this apply's database transaction is kept: the snapshot
    // still describes the database, though plugin or theme files may have changed.
    $wpdb->query('ROLLBACK');
    GSW_CLI::emit(GSW_CLI::$context + ['status' => 'failed', 'error' => get_class($e) . ': ' . $e->getMessage()], 1);
}
GSW_Profile::phase('applied');
GSW_CLI::emit($gsw_report, $gsw_code);
