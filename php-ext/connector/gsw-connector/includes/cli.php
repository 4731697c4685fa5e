<?php
/**
 * The command-line side shared by bin/*.php: options, loading WordPress
 * without a request, and the one JSON object each command prints.
 */

/** Starts a command: only from the CLI, diagnostics to stderr so stdout stays one JSON object. */
function gsw_cli_start(): void
{
    if (PHP_SAPI !== 'cli') {
        exit(2);
    }
    ini_set('display_errors', 'stderr');
    // A fatal error (a plugin's activation, say) still ends in one JSON object.
    register_shutdown_function(function () {
        if (!empty($GLOBALS['gsw_cli_emitted'])) {
            return;
        }
        $error = error_get_last();
        $why = $error ? "{$error['message']} in {$error['file']}:{$error['line']}" : 'the command stopped early';
        gsw_cli_emit(['status' => 'failed', 'error' => "PHP stopped: $why"] + ($GLOBALS['gsw_cli_context'] ?? []), 1);
    });
    ini_set('log_errors', '0');
    error_reporting(E_ALL & ~E_DEPRECATED & ~E_USER_DEPRECATED);
    // Anything printed while WordPress or a plugin runs goes to stderr.
    ob_start(function (string $buffer): string {
        if ($buffer !== '') {
            fwrite(STDERR, $buffer);
        }
        return '';
    }, 4096);
}

/**
 * The options of a command started before its work arrived (PHP is up,
 * WordPress not loaded yet): one JSON object on stdin with the names of
 * the command-line options (`{"bundle": "…", "last-applied": 4,
 * "allow-unfiltered-html": true}`). End of input without one exits quietly:
 * the agent let the process go unused.
 */
function gsw_cli_request_from_stdin(): array
{
    $line = fgets(STDIN);
    if ($line === false || trim($line) === '') {
        $GLOBALS['gsw_cli_emitted'] = true;
        exit(0);
    }
    // Phases are timed from the request, not from the wait before it.
    $_SERVER['REQUEST_TIME_FLOAT'] = microtime(true);
    $request = json_decode($line, true);
    if (!is_array($request) || array_is_list($request)) {
        gsw_cli_refuse('the request on stdin is not one JSON object');
    }
    $options = [];
    foreach ($request as $name => $value) {
        if ($value === true) {
            $options[$name] = false; // how getopt reports a flag that is present
        } elseif (is_string($value) || is_int($value)) {
            $options[$name] = (string) $value;
        }
    }
    return $options;
}

/** Prints the command's JSON object and exits with its code. */
function gsw_cli_emit(array $report, int $code): void
{
    $GLOBALS['gsw_cli_emitted'] = true;
    while (ob_get_level() > 0) {
        ob_end_flush();
    }
    echo json_encode($report, JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE), "\n";
    exit($code);
}

/** Refuses before anything changed: exit 2. */
function gsw_cli_refuse(string $message, array $extra = []): void
{
    gsw_cli_emit(['status' => 'refused'] + $extra + ['error' => $message], 2);
}

/** The folder WordPress is in: the first one up from this plugin holding wp-load.php. */
function gsw_cli_wordpress_dir(): ?string
{
    $dir = dirname(__DIR__);
    for ($i = 0; $i < 6; $i++) {
        $dir = dirname($dir);
        if (is_file("$dir/wp-load.php")) {
            return $dir;
        }
    }
    return null;
}

/**
 * Gets ready to load WordPress the way WP-CLI does (no theme output, no HTTP
 * request) and returns the wp-load.php to require. The caller requires it at
 * file scope: WordPress keeps its state in variables of that scope.
 */
function gsw_cli_wordpress_loader(): string
{
    $dir = gsw_cli_wordpress_dir();
    if ($dir === null) {
        gsw_cli_refuse('cannot find wp-load.php above ' . dirname(__DIR__));
    }
    if (!defined('WP_USE_THEMES')) {
        define('WP_USE_THEMES', false);
    }
    // Upgraders write plugin and theme files as this process, never over FTP.
    if (!defined('FS_METHOD')) {
        define('FS_METHOD', 'direct');
    }
    // No command reaches out (update checks, cron spawns, plugins phoning
    // home): set before WordPress loads, so it holds from its first hook.
    $GLOBALS['wp_filter']['pre_http_request'][PHP_INT_MAX][] = [
        'function' => fn () => new WP_Error('gsw_offline', 'the gsw connector makes no HTTP requests'),
        'accepted_args' => 1,
    ];
    $_SERVER['HTTP_HOST'] = $_SERVER['HTTP_HOST'] ?? 'localhost';
    $_SERVER['SERVER_NAME'] = $_SERVER['SERVER_NAME'] ?? 'localhost';
    $_SERVER['REQUEST_METHOD'] = 'GET';
    $_SERVER['REQUEST_URI'] = $_SERVER['REQUEST_URI'] ?? '/';
    return "$dir/wp-load.php";
}

/** Acts as the site's first administrator, as a person applying the change in wp-admin would. */
function gsw_cli_act_as_admin(): void
{
    $admins = get_users(['role' => 'administrator', 'number' => 1, 'orderby' => 'ID', 'order' => 'ASC', 'fields' => 'ID']);
    if ($admins) {
        wp_set_current_user((int) $admins[0]);
    }
}
