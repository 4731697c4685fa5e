<?php
/**
 * The connector in wp-admin and the REST API: connecting this site to a
 * control plane without the agent (Settings > gsWstudio, or the
 * `gsw/v1/connect` route the control plane calls with an application
 * password), and its status. Every entry point needs an administrator:
 * nothing here answers anyone else, connected or not.
 *
 * @package gsw-connector
 */

if (!defined('ABSPATH')) {
    exit;
}

require_once __DIR__ . '/class-gsw-connector.php';
require_once __DIR__ . '/class-gsw-link.php';

/** Settings > gsWstudio and the connect route. */
final class GSW_Admin
{
    private const PAGE = 'gsw-connector';
    private const CAPABILITY = 'manage_options';

    /** Hooks the page, its form handlers and the REST route. */
    public static function register(): void
    {
        add_action('admin_menu', [self::class, 'menu']);
        add_action('admin_post_gsw_connect', [self::class, 'handle_connect']);
        add_action('admin_post_gsw_disconnect', [self::class, 'handle_disconnect']);
        add_action('rest_api_init', [self::class, 'routes']);
    }

    public static function menu(): void
    {
        add_options_page('gsWstudio', 'gsWstudio', self::CAPABILITY, self::PAGE, [self::class, 'page']);
    }

    /** `POST gsw/v1/connect {server, token, expect_key?}`: enrolls this site (administrators only). */
    public static function routes(): void
    {
        register_rest_route('gsw/v1', '/connect', [
            'methods' => 'POST',
            'permission_callback' => fn () => current_user_can(self::CAPABILITY),
            'args' => [
                'server' => ['type' => 'string', 'required' => true],
                'token' => ['type' => 'string', 'required' => true],
                'expect_key' => ['type' => 'string', 'required' => false, 'default' => ''],
            ],
            'callback' => [self::class, 'rest_connect'],
        ]);
        register_rest_route('gsw/v1', '/status', [
            'methods' => 'GET',
            'permission_callback' => fn () => current_user_can(self::CAPABILITY),
            'callback' => fn () => rest_ensure_response(self::status()),
        ]);
    }

    /** The connect route's answer: the connection, or the enrollment's error. */
    public static function rest_connect(WP_REST_Request $request)
    {
        $link = GSW_Link::enroll((string) $request['server'], (string) $request['token'], (string) $request['expect_key']);
        if (is_wp_error($link)) {
            return $link;
        }
        // The first pull reports the inventory; started now, not at the next cron tick.
        wp_schedule_single_event(time(), GSW_Connector::CRON_HOOK);
        return rest_ensure_response([
            'site_id' => $link['site_id'],
            'agent_id' => $link['agent_id'],
            'connection' => 'plugin',
            'key_fingerprint' => GSW_Link::fingerprint(base64_decode($link['bundle_key'], true)),
        ]);
    }

    /** What the page and the status route show. */
    public static function status(): array
    {
        require_once __DIR__ . '/class-gsw-pull.php';
        $link = GSW_Link::get();
        $state = GSW_Pull::state();
        return [
            'connected' => $link !== null && empty($link['revoked']),
            'revoked' => $link !== null && !empty($link['revoked']),
            'server' => $link['server'] ?? null,
            'site_id' => $link['site_id'] ?? null,
            'extension' => function_exists('gsw_bundle_open'),
            'last_applied' => (int) $state['last_applied'],
            'last_contact' => $state['last_contact'] ? gmdate('c', (int) $state['last_contact']) : null,
            'last_error' => $state['last_error'],
        ];
    }

    public static function page(): void
    {
        if (!current_user_can(self::CAPABILITY)) {
            return;
        }
        $status = self::status();
        $notice = isset($_GET['gsw_notice']) ? sanitize_text_field(wp_unslash($_GET['gsw_notice'])) : ''; // phpcs:ignore WordPress.Security.NonceVerification
        echo '<div class="wrap"><h1>gsWstudio</h1>';
        if ($notice !== '') {
            echo '<div class="notice notice-info"><p>' . esc_html($notice) . '</p></div>';
        }
        if ($status['connected']) {
            echo '<p>' . esc_html(sprintf('Connected to %s as site %s, without the agent: this site asks for its bundles every minute.', $status['server'], $status['site_id'])) . '</p>';
            echo '<table class="form-table"><tbody>';
            self::row('Last contact', $status['last_contact'] ?? 'not yet');
            self::row('Last deployment applied', (string) $status['last_applied']);
            self::row('Last problem', $status['last_error'] ?? 'none');
            echo '</tbody></table>';
            echo '<p>On a host with a real cron, have it run <code>' . esc_html(PHP_BINDIR . '/php ' . dirname(__DIR__) . '/bin/pull.php --for 55') . '</code> every minute: deployments then arrive within seconds, whether or not the site has visitors.</p>';
            echo '<form method="post" action="' . esc_url(admin_url('admin-post.php')) . '">';
            wp_nonce_field('gsw_disconnect');
            echo '<input type="hidden" name="action" value="gsw_disconnect">';
            submit_button('Disconnect', 'delete');
            echo '</form></div>';
            return;
        }
        if ($status['revoked']) {
            echo '<div class="notice notice-warning"><p>The control plane revoked this connection. Connect the site again with a new token.</p></div>';
        }
        echo '<p>Connect this site to your gsWstudio control plane. In the dashboard, open the site, choose "Connect a site", then "Plugin only", and paste what it shows here.</p>';
        echo '<form method="post" action="' . esc_url(admin_url('admin-post.php')) . '">';
        wp_nonce_field('gsw_connect');
        echo '<input type="hidden" name="action" value="gsw_connect"><table class="form-table"><tbody>';
        self::field('gsw_server', 'Control plane address', 'https://gsw.example.com', 'url');
        self::field('gsw_token', 'Enrollment token', 'gswe_…', 'password');
        self::field('gsw_expect_key', 'Key fingerprint', 'SHA256:…', 'text');
        echo '</tbody></table>';
        submit_button('Connect');
        echo '</form></div>';
    }

    private static function row(string $label, string $value): void
    {
        echo '<tr><th scope="row">' . esc_html($label) . '</th><td>' . esc_html($value) . '</td></tr>';
    }

    private static function field(string $name, string $label, string $placeholder, string $type): void
    {
        printf(
            '<tr><th scope="row"><label for="%1$s">%2$s</label></th><td><input class="regular-text" type="%3$s" id="%1$s" name="%1$s" placeholder="%4$s" autocomplete="off" required></td></tr>',
            esc_attr($name),
            esc_html($label),
            esc_attr($type),
            esc_attr($placeholder)
        );
    }

    public static function handle_connect(): void
    {
        if (!current_user_can(self::CAPABILITY)) {
            wp_die('Only an administrator can connect this site.', 403);
        }
        check_admin_referer('gsw_connect');
        $field = fn (string $name) => isset($_POST[$name]) ? sanitize_text_field(wp_unslash($_POST[$name])) : '';
        $link = GSW_Link::enroll($field('gsw_server'), $field('gsw_token'), $field('gsw_expect_key'));
        if (!is_wp_error($link)) {
            wp_schedule_single_event(time(), GSW_Connector::CRON_HOOK);
        }
        self::back(is_wp_error($link) ? $link->get_error_message() : 'Connected. The dashboard shows the site online within a minute.');
    }

    public static function handle_disconnect(): void
    {
        if (!current_user_can(self::CAPABILITY)) {
            wp_die('Only an administrator can disconnect this site.', 403);
        }
        check_admin_referer('gsw_disconnect');
        GSW_Link::disconnect();
        self::back('Disconnected. Remove the site in the dashboard too, or connect it again with a new token.');
    }

    private static function back(string $notice): void
    {
        wp_safe_redirect(add_query_arg(['page' => self::PAGE, 'gsw_notice' => rawurlencode($notice)], admin_url('options-general.php')));
        exit;
    }
}
