<?php
/**
 * The command-line side shared by bin/*.php: options, loading WordPress
 * without a request, and the one JSON object each command prints.
 *
 * @package gsw-connector
 */

// Loaded by a bin/ script before WordPress, or inside WordPress.
if (PHP_SAPI !== 'cli' && !defined('ABSPATH')) {
    exit;
}

/** What every connector command does the same way. */
final class GSW_CLI
{
    /** Whether the command printed its JSON object. */
    private static bool $emitted = false;

    /** Added to the object a fatal error prints (the sequence, once known). */
    public static array $context = [];

    /** Starts a command: diagnostics to stderr, so stdout stays one JSON object. */
    public static function start(): void
    {
        ini_set('display_errors', 'stderr');
        // A fatal error (a plugin's activation, say) still ends in one JSON object.
        register_shutdown_function(function () {
            if (self::$emitted) {
                return;
            }
            $error = error_get_last();
            $why = $error ? "{$error['message']} in {$error['file']}:{$error['line']}" : 'the command stopped early';
            self::emit(['status' => 'failed', 'error' => "PHP stopped: $why"] + self::$context, 1);
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
    public static function request_from_stdin(): array
    {
        $line = fgets(STDIN);
        if ($line === false || trim($line) === '') {
            self::$emitted = true;
            exit(0);
        }
        // Phases are timed from the request, not from the wait before it.
        $_SERVER['REQUEST_TIME_FLOAT'] = microtime(true);
        $request = json_decode($line, true);
        if (!is_array($request) || array_is_list($request)) {
            self::refuse('the request on stdin is not one JSON object');
        }
        $options = [];
        foreach ($request as $name => $value) {
            if ($value === true) {
                $options[$name] = false; // How getopt reports a flag that is present.
            } elseif (is_string($value) || is_int($value)) {
                $options[$name] = (string) $value;
            }
        }
        return $options;
    }

    /** Prints the command's JSON object and exits with its code. */
    public static function emit(array $report, int $code): void
    {
        self::$emitted = true;
        while (ob_get_level() > 0) {
            ob_end_flush();
        }
        echo json_encode($report, JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE), "\n";
        exit($code);
    }

    /** Refuses before anything changed: exit 2. */
    public static function refuse(string $message, array $extra = []): void
    {
        self::emit(['status' => 'refused'] + $extra + ['error' => $message], 2);
    }

    /** The folder WordPress is in: the first one up from this plugin holding wp-load.php. */
    private static function wordpress_dir(): ?string
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
     * Gets ready to load WordPress the way WP-CLI does (no theme output, and
     * unless `$offline` is false no HTTP request) and returns the wp-load.php
     * to require. The caller requires it at file scope: WordPress keeps its
     * state in variables of that scope.
     */
    public static function wordpress_loader(bool $offline = true): string
    {
        $dir = self::wordpress_dir();
        if ($dir === null) {
            self::refuse('cannot find wp-load.php above ' . dirname(__DIR__));
        }
        if (!defined('WP_USE_THEMES')) {
            define('WP_USE_THEMES', false);
        }
        // Upgraders write plugin and theme files as this process, never over FTP.
        if (!defined('FS_METHOD')) {
            define('FS_METHOD', 'direct');
        }
        // No command but the pull reaches out (update checks, cron spawns,
        // plugins phoning home): set before WordPress loads, so it holds
        // from its first hook.
        if ($offline) {
            $GLOBALS['wp_filter']['pre_http_request'][PHP_INT_MAX][] = [
                'function' => fn () => new WP_Error('gsw_offline', 'the gsw connector makes no HTTP requests'),
                'accepted_args' => 1,
            ];
        }
        $_SERVER['HTTP_HOST'] = $_SERVER['HTTP_HOST'] ?? 'localhost';
        $_SERVER['SERVER_NAME'] = $_SERVER['SERVER_NAME'] ?? 'localhost';
        $_SERVER['REQUEST_METHOD'] = 'GET';
        $_SERVER['REQUEST_URI'] = $_SERVER['REQUEST_URI'] ?? '/';
        return "$dir/wp-load.php";
    }

    /**
     * Whether `run` can start a PHP process: on the command line, where
     * PHP_BINARY is the PHP CLI. In a web request it may be PHP-FPM, and
     * shared hosts often forbid starting processes at all.
     */
    public static function can_run(): bool
    {
        return PHP_SAPI === 'cli' && function_exists('proc_open');
    }

    /**
     * Runs `bin/<script>` in a PHP process of its own, with the same PHP
     * binary; returns what it printed on stdout (its stderr goes to ours), or
     * null when it could not start.
     */
    public static function run(string $script, array $args = []): ?string
    {
        if (!self::can_run()) {
            return null;
        }
        $command = array_merge([PHP_BINARY, dirname(__DIR__) . '/bin/' . $script], $args);
        $process = proc_open($command, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
        if (!is_resource($process)) {
            return null;
        }
        $out = stream_get_contents($pipes[1]);
        fwrite(STDERR, stream_get_contents($pipes[2]));
        proc_close($process);
        return (string) $out;
    }

    /** Acts as the site's first administrator, as a person applying the change in wp-admin would. */
    public static function act_as_admin(): void
    {
        $admins = get_users(['role' => 'administrator', 'number' => 1, 'orderby' => 'ID', 'order' => 'ASC', 'fields' => 'ID']);
        if ($admins) {
            wp_set_current_user((int) $admins[0]);
        }
    }
}
