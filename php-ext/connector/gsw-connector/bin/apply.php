<?php
/**
 * Applies a bundle to this WordPress; run by the agent (docs/connector.md):
 *   php -d extension=libgsw_php_ext.so bin/apply.php --bundle FILE --public-key B64 --site-id UUID
 *       --last-applied N --max-bytes N --snapshots DIR [--allow-unfiltered-html]
 * or, started before its bundle arrives, with the same options as one JSON
 * object on stdin:
 *   php -d extension=libgsw_php_ext.so bin/apply.php --request-on-stdin
 * Prints one JSON report; exits 0 applied, 1 something failed part-way, 2 refused (nothing changed).
 */

require_once dirname(__DIR__) . '/includes/cli.php';
gsw_cli_start();

$gsw_options = getopt('', ['bundle:', 'public-key:', 'site-id:', 'last-applied:', 'max-bytes:', 'snapshots:', 'allow-unfiltered-html', 'request-on-stdin']);
if (isset($gsw_options['request-on-stdin'])) {
    $gsw_options = gsw_cli_request_from_stdin();
}
foreach (['bundle', 'public-key', 'site-id', 'snapshots'] as $required) {
    if (!isset($gsw_options[$required]) || !is_string($gsw_options[$required]) || $gsw_options[$required] === '') {
        gsw_cli_refuse("missing --$required");
    }
}
foreach (['last-applied', 'max-bytes'] as $number) {
    if (isset($gsw_options[$number]) && (!is_string($gsw_options[$number]) || !ctype_digit($gsw_options[$number]))) {
        gsw_cli_refuse("--$number must be a whole number");
    }
}
if (!function_exists('gsw_bundle_open')) {
    gsw_cli_refuse('the gsw PHP extension is not loaded (php -d extension=libgsw_php_ext.so)');
}
// Verified before WordPress is even loaded: a refused bundle changes nothing.
try {
    $gsw_bundle = gsw_bundle_open(
        $gsw_options['bundle'],
        $gsw_options['public-key'],
        $gsw_options['site-id'],
        (int) ($gsw_options['last-applied'] ?? 0),
        (int) ($gsw_options['max-bytes'] ?? 67108864)
    );
} catch (Exception $e) {
    gsw_cli_refuse($e->getMessage());
}

require_once dirname(__DIR__) . '/includes/profile.php';
gsw_profile('verified');
require_once gsw_cli_wordpress_loader();
require_once dirname(__DIR__) . '/includes/apply.php';
gsw_profile('WordPress loaded');
gsw_cli_act_as_admin();

$gsw_cli_context = ['sequence' => $gsw_bundle['manifest']['sequence']];
try {
    [$gsw_report, $gsw_code] = gsw_apply_bundle($gsw_bundle, $gsw_options['snapshots'], isset($gsw_options['allow-unfiltered-html']));
} catch (GSW_Refusal $e) {
    gsw_cli_refuse($e->getMessage(), $gsw_cli_context);
} catch (Throwable $e) {
    // Nothing of this apply's database transaction is kept: the snapshot
    // still describes the database, though plugin or theme files may have changed.
    $wpdb->query('ROLLBACK');
    gsw_cli_emit($gsw_cli_context + ['status' => 'failed', 'error' => get_class($e) . ': ' . $e->getMessage()], 1);
}
gsw_profile('applied');
gsw_cli_emit($gsw_report, $gsw_code);
