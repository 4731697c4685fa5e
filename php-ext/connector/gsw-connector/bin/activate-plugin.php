<?php
/**
 * Internal to bin/apply.php (GSW_Packages::activate_plugin), run as its own PHP process: activates one plugin
 * (running its activation hooks) and prints {"error": null | "why"}. A plugin
 * that dies while activating takes only this process with it, as WordPress's
 * own activation does in a sandboxed request.
 *
 *   php bin/activate-plugin.php <plugin-folder/plugin-file.php>
 *
 * @package gsw-connector
 */

// A command-line entry point: never run by a web request.
if (PHP_SAPI !== 'cli') {
    exit;
}

require_once dirname(__DIR__) . '/includes/class-gsw-cli.php';
GSW_CLI::start();
$gsw_file = $argv[1] ?? '';
require_once GSW_CLI::wordpress_loader();
require_once ABSPATH . 'wp-admin/includes/plugin.php';
GSW_CLI::act_as_admin();
$gsw_result = activate_plugin($gsw_file);
$gsw_error = null;
if (is_wp_error($gsw_result)) {
    if ($gsw_result->get_error_code() === 'unexpected_output') {
        fwrite(STDERR, "$gsw_file printed while activating: " . $gsw_result->get_error_data() . "\n");
    }
    if (!is_plugin_active($gsw_file)) {
        $gsw_error = $gsw_result->get_error_message();
    }
}
GSW_CLI::emit(['error' => $gsw_error], 0);
