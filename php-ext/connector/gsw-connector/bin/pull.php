<?php
/**
 * Asks the control plane for bundles and applies them, for a site connected
 * without the agent (docs/connector.md); run from a real cron every minute:
 *   php bin/pull.php --for 55
 * `--for N` keeps asking (each request held open while nothing is queued)
 * for N seconds; without it, one round: what is queued now, then exit.
 * `--report` sends the inventory and drift first (otherwise: after each
 * apply, and drift hourly).
 * Prints one JSON summary; exits 0, or 1 when something went wrong.
 *
 * @package gsw-connector
 */

// A command-line entry point: never run by a web request.
if (PHP_SAPI !== 'cli') {
    exit;
}

require_once dirname(__DIR__) . '/includes/class-gsw-cli.php';
GSW_CLI::start();
$gsw_options = getopt('', ['for:', 'report']);
if (isset($gsw_options['for']) && (!is_string($gsw_options['for']) || !ctype_digit($gsw_options['for']))) {
    GSW_CLI::refuse('--for must be a whole number of seconds');
}
// This command talks to the control plane: WordPress's HTTP API stays on.
require_once GSW_CLI::wordpress_loader(false);
require_once dirname(__DIR__) . '/includes/class-gsw-pull.php';
GSW_CLI::act_as_admin();
$gsw_summary = GSW_Pull::run((int) ($gsw_options['for'] ?? 0), isset($gsw_options['report']));
GSW_CLI::emit(['status' => isset($gsw_summary['error']) ? 'failed' : 'ok'] + $gsw_summary, isset($gsw_summary['error']) ? 1 : 0);
