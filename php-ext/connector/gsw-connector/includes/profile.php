<?php
/**
 * Phase timings for finding where an apply spends its time.
 */

/** With GSW_PROFILE set, prints how long each phase took to stderr. */
function gsw_profile(string $phase): void
{
    static $last = null;
    if (getenv('GSW_PROFILE') === false || getenv('GSW_PROFILE') === '') {
        return;
    }
    $now = microtime(true);
    $since = $last === null ? ($now - ($_SERVER['REQUEST_TIME_FLOAT'] ?? $now)) : ($now - $last);
    $last = $now;
    fwrite(STDERR, sprintf("gsw profile: %-28s %7.1f ms\n", $phase, $since * 1000));
}
