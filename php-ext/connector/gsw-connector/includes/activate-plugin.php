<?php
/**
 * Internal to apply.php, run as its own PHP process: activates one plugin
 * (running its activation hooks) and prints {"error": null | "why"}. A plugin
 * that dies while activating takes only this process with it, as WordPress's
 * own activation does in a sandboxed request.
 */

require_once __DIR__ . '/cli.php';
gsw_cli_start();
$gsw_file = $argv[1] ?? '';
require_once gsw_cli_wordpress_loader();
require_once ABSPATH . 'wp-admin/includes/plugin.php';
gsw_cli_act_as_admin();
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
gsw_cli_emit(['error' => $gsw_error], 0);
