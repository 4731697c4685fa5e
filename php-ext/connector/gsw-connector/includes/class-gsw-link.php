<?php
/**
 * The connector's own connection to a control plane, for hosts where the
 * agent cannot run (shared hosting): enrollment with a one-time token and
 * a key of its own, and requests signed with that key. The wire format is
 * `gsw_protocol::pull` in the gsWstudio repository.
 *
 * @package gsw-connector
 */

if (!defined('ABSPATH')) {
    exit;
}

require_once __DIR__ . '/class-gsw-connector.php';

/** Enrollment, the connection's state, and signed requests. */
final class GSW_Link
{
    /** The option holding the connection (never autoloaded: it holds the key). */
    public const OPTION = 'gsw_link';

    /** What every request signature starts with (`REQUEST_CONTEXT`). */
    private const REQUEST_CONTEXT = "gsw-pull-v1\0";

    /** Where enrollment is asked for. */
    private const ENROLL_PATH = '/api/v1/agents/enroll';

    /**
     * The connection: server, agent_id, site_id, bundle_key (base64),
     * secret_key (base64), next_path, reports_path, enrolled_at, revoked;
     * null before enrollment.
     */
    public static function get(): ?array
    {
        $link = get_option(self::OPTION, null);
        return is_array($link) && isset($link['agent_id'], $link['secret_key'], $link['bundle_key']) ? $link : null;
    }

    /** Whether this site has a connection of its own that still works. */
    public static function active(): bool
    {
        $link = self::get();
        return $link !== null && empty($link['revoked']);
    }

    /**
     * Why the control plane's address cannot be used, or null: HTTPS, or
     * plain HTTP only to this machine or when wp-config.php defines
     * GSW_CONNECTOR_INSECURE (the key the control plane sends back is
     * trusted, so it must come over an authenticated channel).
     */
    public static function server_problem(string $server): ?string
    {
        $parts = wp_parse_url($server);
        if (!is_array($parts) || empty($parts['host']) || empty($parts['scheme'])) {
            return 'the control plane address must be a full URL such as https://gsw.example.com';
        }
        if (isset($parts['user']) || isset($parts['pass']) || isset($parts['query']) || isset($parts['fragment'])) {
            return 'the control plane address must not carry a user, query or fragment';
        }
        if (isset($parts['path']) && trim($parts['path'], '/') !== '') {
            return 'the control plane address is the server alone, without a path';
        }
        $scheme = strtolower($parts['scheme']);
        if ($scheme === 'https') {
            return null;
        }
        if ($scheme !== 'http') {
            return 'the control plane address must start with https://';
        }
        $host = trim(strtolower($parts['host']), '[]');
        $loopback = $host === 'localhost' || $host === '::1' || str_starts_with($host, '127.');
        if ($loopback || (defined('GSW_CONNECTOR_INSECURE') && GSW_CONNECTOR_INSECURE)) {
            return null;
        }
        return 'plain http:// would let anyone on the way hand this site a key of their own; use https:// (or define GSW_CONNECTOR_INSECURE in wp-config.php for a test setup)';
    }

    /** `SHA256:` and the unpadded base64 of the key's SHA-256, as the dashboard shows it. */
    public static function fingerprint(string $key): string
    {
        return 'SHA256:' . rtrim(base64_encode(hash('sha256', $key, true)), '=');
    }

    /**
     * Enrolls this site with a one-time token: makes a key pair, registers
     * its public half, and keeps the control plane's bundle key, refused
     * unless it matches `$expect_key` when one is given. Returns the
     * connection or a WP_Error; a failed enrollment changes nothing.
     */
    public static function enroll(string $server, string $token, string $expect_key = '')
    {
        $server = untrailingslashit(trim($server));
        $problem = self::server_problem($server);
        if ($problem !== null) {
            return new WP_Error('gsw_bad_server', $problem, ['status' => 422]);
        }
        $token = trim($token);
        if (!preg_match('/^[A-Za-z0-9_-]{1,128}$/', $token)) {
            return new WP_Error('gsw_bad_token', 'the enrollment token is not one the dashboard makes', ['status' => 422]);
        }
        $expect_key = trim($expect_key);
        if ($expect_key !== '' && !preg_match('#^SHA256:[A-Za-z0-9+/]{43}$#', $expect_key)) {
            return new WP_Error('gsw_bad_fingerprint', 'the key fingerprint must look like SHA256:… (43 characters after the colon)', ['status' => 422]);
        }
        $pair = sodium_crypto_sign_keypair();
        $host = (string) wp_parse_url(home_url(), PHP_URL_HOST);
        $response = wp_remote_post($server . self::ENROLL_PATH, [
            'timeout' => 20,
            'redirection' => 0,
            'headers' => ['Content-Type' => 'application/json', 'Accept' => 'application/json'],
            'body' => wp_json_encode([
                'token' => $token,
                'public_key' => base64_encode(sodium_crypto_sign_publickey($pair)),
                'hostname' => $host === '' ? 'wordpress' : substr($host, 0, 253),
                'agent_version' => 'gsw-connector ' . GSW_Connector::VERSION,
                'connection' => 'plugin',
            ]),
        ]);
        if (is_wp_error($response)) {
            return new WP_Error('gsw_unreachable', 'the control plane could not be reached: ' . $response->get_error_message(), ['status' => 502]);
        }
        $status = (int) wp_remote_retrieve_response_code($response);
        $answer = json_decode((string) wp_remote_retrieve_body($response), true);
        if ($status !== 201 || !is_array($answer)) {
            $why = is_array($answer) && isset($answer['error']['message']) ? (string) $answer['error']['message'] : "HTTP $status";
            return new WP_Error('gsw_enrollment_refused', 'the control plane refused the enrollment: ' . $why, ['status' => 422]);
        }
        $bundle_key = base64_decode((string) ($answer['bundle_signing_key'] ?? ''), true);
        $paths = $answer['pull_paths'] ?? null;
        $understood = is_string($answer['agent_id'] ?? null) && is_string($answer['site_id'] ?? null)
            && $bundle_key !== false && strlen($bundle_key) === SODIUM_CRYPTO_SIGN_PUBLICKEYBYTES
            && is_array($paths) && is_string($paths['next_bundle'] ?? null) && is_string($paths['reports'] ?? null);
        if (!$understood) {
            return new WP_Error('gsw_enrollment_refused', 'the control plane answered the enrollment with something this connector does not understand', ['status' => 502]);
        }
        if ($expect_key !== '' && !hash_equals($expect_key, self::fingerprint($bundle_key))) {
            return new WP_Error(
                'gsw_key_mismatch',
                'the control plane sent a signing key whose fingerprint is ' . self::fingerprint($bundle_key) . ", not $expect_key as the dashboard shows: nothing was kept (someone may be in between)",
                ['status' => 422]
            );
        }
        $previous = self::get();
        $link = [
            'server' => $server,
            'agent_id' => $answer['agent_id'],
            'site_id' => $answer['site_id'],
            'bundle_key' => base64_encode($bundle_key),
            'secret_key' => base64_encode(sodium_crypto_sign_secretkey($pair)),
            'next_path' => $paths['next_bundle'],
            'reports_path' => $paths['reports'],
            'enrolled_at' => time(),
            'revoked' => false,
        ];
        update_option(self::OPTION, $link, false);
        // The same site enrolled again keeps its place in the sequence.
        if ($previous === null || $previous['site_id'] !== $link['site_id']) {
            delete_option(GSW_Connector::PULL_STATE_OPTION);
        }
        self::schedule();
        return $link;
    }

    /** Forgets the connection (the control plane's side is revoked from the dashboard). */
    public static function disconnect(): void
    {
        delete_option(self::OPTION);
        wp_clear_scheduled_hook(GSW_Connector::CRON_HOOK);
    }

    /** Marks the connection revoked: no more requests until it is connected again. */
    public static function mark_revoked(): void
    {
        $link = self::get();
        if ($link !== null) {
            $link['revoked'] = true;
            update_option(self::OPTION, $link, false);
        }
        wp_clear_scheduled_hook(GSW_Connector::CRON_HOOK);
    }

    /** Makes sure WP-Cron calls in every minute while the connection works. */
    public static function schedule(): void
    {
        if (self::active() && !wp_next_scheduled(GSW_Connector::CRON_HOOK)) {
            wp_schedule_event(time(), GSW_Connector::CRON_SCHEDULE, GSW_Connector::CRON_HOOK);
        }
    }

    /** The bytes a request's signature covers (`request_message` in the protocol crate). */
    public static function request_message(string $method, string $path_and_query, int $timestamp, string $agent_id, string $body): string
    {
        return self::REQUEST_CONTEXT . "$method\n$path_and_query\n$timestamp\n$agent_id\n" . hash('sha256', $body);
    }

    /**
     * A request to the control plane signed with this site's key. Returns
     * [status, body, headers] or a WP_Error when it could not be made. No
     * redirect is followed: the signature names the path.
     */
    public static function request(string $method, string $path_and_query, string $body = '', int $timeout = 30)
    {
        $link = self::get();
        if ($link === null) {
            return new WP_Error('gsw_not_connected', 'this site is not connected to a control plane');
        }
        $timestamp = time();
        $secret = base64_decode($link['secret_key'], true);
        $signature = sodium_crypto_sign_detached(
            self::request_message($method, $path_and_query, $timestamp, $link['agent_id'], $body),
            $secret
        );
        $headers = [
            'X-GSW-Agent' => $link['agent_id'],
            'X-GSW-Timestamp' => (string) $timestamp,
            'X-GSW-Signature' => base64_encode($signature),
        ];
        if ($body !== '') {
            $headers['Content-Type'] = 'application/json';
        }
        $response = wp_remote_request($link['server'] . $path_and_query, [
            'method' => $method,
            'timeout' => $timeout,
            'redirection' => 0,
            'headers' => $headers,
            'body' => $method === 'GET' ? null : $body,
        ]);
        if (is_wp_error($response)) {
            return $response;
        }
        return [
            (int) wp_remote_retrieve_response_code($response),
            (string) wp_remote_retrieve_body($response),
            wp_remote_retrieve_headers($response),
        ];
    }

    /** The error code of a control plane's error body, or ''. */
    public static function error_code(string $body): string
    {
        $answer = json_decode($body, true);
        return is_array($answer) && is_string($answer['error']['code'] ?? null) ? $answer['error']['code'] : '';
    }
}
