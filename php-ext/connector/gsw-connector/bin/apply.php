<?php
/**
 * Command-line entry point, run by the agent:
 *   php -d extension=libgsw_php_ext.so bin/apply.php --bundle FILE --public-key KEY --site-id SITE [--last-applied N] [--max-bytes N] [--allow-unfiltered-html]
 * Prints one JSON report; exit 0 applied, 1 an item failed, 2 refused (nothing changed).
 */

if (PHP_SAPI !== 'cli') {
    exit(2);
}

function gsw_refuse(string $message): void
{
    echo json_encode(['status' => 'refused', 'error' => $message]), "\n";
    exit(2);
}

$options = getopt('', ['bundle:', 'public-key:', 'site-id:', 'last-applied:', 'max-bytes:', 'allow-unfiltered-html']);
foreach (['bundle', 'public-key', 'site-id'] as $required) {
    if (empty($options[$required])) {
        gsw_refuse("missing --$required");
    }
}
if (!function_exists('gsw_bundle_open')) {
    gsw_refuse('the gsw PHP extension is not loaded (php -d extension=libgsw_php_ext.so)');
}
// Verified before WordPress is even loaded: a refused bundle changes nothing.
try {
    $bundle = gsw_bundle_open(
        $options['bundle'],
        $options['public-key'],
        $options['site-id'],
        (int) ($options['last-applied'] ?? 0),
        (int) ($options['max-bytes'] ?? 67108864)
    );
} catch (Exception $e) {
    gsw_refuse($e->getMessage());
}

// Bootstrap WordPress the way WP-CLI does: no theme, no HTTP request.
define('WP_USE_THEMES', false);
$_SERVER['HTTP_HOST'] = $_SERVER['HTTP_HOST'] ?? 'localhost';
$_SERVER['REQUEST_METHOD'] = 'GET';
require dirname(__DIR__, 4) . '/wp-load.php';
require_once __DIR__ . '/../includes/apply.php';

$report = gsw_apply_bundle($bundle, isset($options['allow-unfiltered-html']));
echo json_encode($report), "\n";
exit($report['status'] === 'applied' ? 0 : 1);
