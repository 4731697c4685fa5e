<?php
/**
 * Phase timings for finding where an apply spends its time.
 *
 * @package gsw-connector
 */

// Loaded by a bin/ script before WordPress, or inside WordPress.
if (PHP_SAPI !== 'cli' && !defined('ABSPATH')) {
    exit;
}

/** With GSW_PROFILE set in the environment, how long each phase took, on stderr. */
final class GSW_Profile
{
    /** When the last phase ended. */
    private static ?float $last = null;

    /** Prints how long the phase that just ended took (with GSW_PROFILE set). */
    public static function phase(string $phase): void
    {
        if (getenv('GSW_PROFILE') === false || getenv('GSW_PROFILE') === '') {
            return;
        }
        $now = microtime(true);
        $since = self::$last === null ? ($now - ($_SERVER['REQUEST_TIME_FLOAT'] ?? $now)) : ($now - self::$last);
        self::$last = $now;
        fwrite(STDERR, sprintf("gsw profile: %-28s %7.1f ms\n", $phase, $since * 1000));
    }
}
