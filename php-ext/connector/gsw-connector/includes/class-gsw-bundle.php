<?php
/**
 * The bundle verifier of `gsw_protocol::bundle::verify`, in PHP with sodium,
 * for sites without the gsw extension (GSW_Native::bundle_open).
 *
 * @package gsw-connector
 */

// Loaded by bin/apply.php before WordPress, or inside WordPress.
if (PHP_SAPI !== 'cli' && !defined('ABSPATH')) {
    exit;
}

require_once __DIR__ . '/class-gsw-rust-text.php';
require_once __DIR__ . '/class-gsw-manifest.php';
require_once __DIR__ . '/class-gsw-bundle-refusal.php';

/**
 * Reads and verifies a bundle (protocol/src/bundle.rs has the format):
 * the same checks in the same order with the same codes as the Rust
 * verifier, which the shared vectors in protocol/tests/vectors hold both to.
 * Nothing of the manifest is read before its signature is checked.
 */
final class GSW_Bundle
{
    public const MAGIC = 'GSWBNDL1';
    public const FORMAT = 1;
    public const SIGNING_CONTEXT = "gsw-bundle-v1\0";
    public const MAX_MANIFEST_BYTES = 1024 * 1024;
    public const MAX_PATH_BYTES = 512;
    public const MAX_CLOCK_SKEW_SECS = 300;

    /**
     * `gsw_bundle_open`: reads and verifies a bundle file; returns
     * `['manifest' => [...], 'items' => [['kind', 'path', 'sha256', 'size', 'content'], ...]]`.
     *
     * @throws Exception with the extension's messages (GSW_Bundle_Refusal for a refused bundle).
     */
    public static function open(string $path, string $public_key, string $site_id, int $last_applied, int $max_bytes): array
    {
        foreach (['path' => $path, 'public_key' => $public_key, 'site_id' => $site_id] as $name => $text) {
            if (!GSW_Rust_Text::is_utf8($text)) {
                throw new TypeError("Invalid value given for argument `$name`.");
            }
        }
        $now = time();
        if ($last_applied < 0) {
            throw new Exception('gsw: last_applied must not be negative');
        }
        if ($max_bytes < 0) {
            throw new Exception('gsw: max_bytes must not be negative');
        }
        $key = self::public_key($public_key);
        $site = GSW_Manifest::parse_uuid($site_id);
        if ($site === null) {
            throw new Exception('gsw: the site id is not a UUID');
        }
        $size = GSW_Rust_Text::file_size($path);
        if ($size > $max_bytes) {
            throw new Exception("gsw: bundle refused: bundle is $size bytes, over the $max_bytes-byte limit");
        }
        // At most one byte past the limit: a file that grew since is refused as too large.
        $bytes = is_file($path) ? file_get_contents($path, false, null, 0, min($max_bytes, PHP_INT_MAX - 1) + 1) : false;
        if ($bytes === false) {
            GSW_Rust_Text::read_file($path); // Throws with the reason.
        }
        $verified = self::verify($bytes, $key, $site, $last_applied, $now, $max_bytes, $max_bytes);
        unset($bytes);
        $manifest = $verified['manifest'];
        return [
            'manifest' => [
                'bundle_id' => $manifest['bundle_id'],
                'site_id' => $manifest['site_id'],
                'sequence' => GSW_Manifest::wrapping_int($manifest['sequence']),
                'created_at' => $manifest['created_at'],
                'expires_at' => $manifest['expires_at'],
                'policy' => ['unfiltered_html' => $manifest['policy']['unfiltered_html']],
            ],
            'items' => $verified['items'],
        ];
    }

    /**
     * The control plane's key: 32 bytes in standard, padded base64 (white
     * space around it allowed), and a valid point of the curve.
     *
     * @throws Exception with the extension's messages.
     */
    public static function public_key(string $base64): string
    {
        $base64 = GSW_Rust_Text::trim($base64);
        // 43 characters and `=`; the last one's unused bits zero, as the base64 crate requires.
        if (preg_match('#^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=\z#', $base64) !== 1) {
            throw new Exception('gsw: the public key must be 32 bytes, base64');
        }
        $key = base64_decode($base64, true);
        // Stricter than the extension (ed25519-dalek takes any point that
        // decompresses): sodium refuses small-order keys and points off the
        // curve or outside the prime-order subgroup, which no Ed25519 key
        // generator makes and under which signatures can be forged. The
        // extension refuses every bundle under such a key anyway, as not
        // validly signed (php-ext/tests/natives.rs).
        try {
            sodium_crypto_sign_ed25519_pk_to_curve25519($key);
        } catch (SodiumException $e) {
            throw new Exception('gsw: the public key is not an Ed25519 key');
        }
        return $key;
    }

    /**
     * `bundle::verify`: checks the bundle's bytes against the key (32 raw
     * bytes) and what the receiver expects. Returns the manifest (as
     * GSW_Manifest::read gives it) and the items with their bytes.
     *
     * @throws GSW_Bundle_Refusal naming what failed.
     */
    public static function verify(
        string $bytes,
        string $key,
        string $site_id,
        int $last_applied,
        int $now,
        int $max_bundle_bytes,
        int $max_unpacked_bytes
    ): array {
        $length = strlen($bytes);
        if ($length > $max_bundle_bytes) {
            throw new GSW_Bundle_Refusal('too_large', "bundle is $length bytes, over the $max_bundle_bytes-byte limit");
        }
        [$manifest_bytes, $signature, $payload_at] = self::split($bytes);
        if ($signature === null) {
            throw new GSW_Bundle_Refusal('missing_signature', 'bundle is not signed');
        }
        if (!sodium_crypto_sign_verify_detached($signature, self::SIGNING_CONTEXT . $manifest_bytes, $key)) {
            throw new GSW_Bundle_Refusal('bad_signature', 'bundle signature is not valid');
        }

        try {
            $manifest = GSW_Manifest::read($manifest_bytes);
        } catch (UnexpectedValueException $e) {
            throw new GSW_Bundle_Refusal('malformed', 'manifest is malformed: ' . $e->getMessage());
        }
        if ($manifest['format'] !== self::FORMAT) {
            throw new GSW_Bundle_Refusal('unsupported_format', "manifest format {$manifest['format']} is not supported");
        }
        if ($manifest['site_id'] !== $site_id) {
            throw new GSW_Bundle_Refusal('wrong_site', "bundle is for site {$manifest['site_id']}, not this site ($site_id)");
        }
        if (GSW_Manifest::compare($manifest['sequence'], (string) $last_applied) <= 0) {
            throw new GSW_Bundle_Refusal(
                'replay',
                "bundle sequence {$manifest['sequence']} is not above the last applied ($last_applied): replay or rollback"
            );
        }
        if ($now >= $manifest['expires_at']) {
            throw new GSW_Bundle_Refusal('expired', "bundle expired at {$manifest['expires_at']} (now $now)");
        }
        if ($manifest['created_at'] > $now + self::MAX_CLOCK_SKEW_SECS) {
            throw new GSW_Bundle_Refusal('not_yet_valid', "bundle was created in the future ({$manifest['created_at']}, now $now)");
        }

        $seen = [];
        $declared = '0';
        foreach ($manifest['items'] as $item) {
            self::check_path($item['path']);
            // A path holds no NUL (check_path), so this pairs kind and path unambiguously.
            $pair = "{$item['kind']}\0{$item['path']}";
            if (isset($seen[$pair])) {
                throw new GSW_Bundle_Refusal('unsafe_path', 'item path ' . GSW_Rust_Text::debug($item['path']) . ' appears twice');
            }
            $seen[$pair] = true;
            $declared = GSW_Manifest::add_saturating($declared, $item['size']);
        }
        if (GSW_Manifest::compare($declared, (string) $max_unpacked_bytes) > 0) {
            throw new GSW_Bundle_Refusal('unpacked_too_large', "items would unpack to $declared bytes, over the $max_unpacked_bytes-byte limit");
        }
        $actual = $length - $payload_at;
        if ($declared !== (string) $actual) {
            throw new GSW_Bundle_Refusal('size_mismatch', "payload is $actual bytes but the manifest lists $declared");
        }

        $items = [];
        $at = $payload_at;
        foreach ($manifest['items'] as $item) {
            // Fits: the sizes add up to the payload's length, checked above.
            $size = (int) $item['size'];
            $content = substr($bytes, $at, $size);
            if (hash('sha256', $content) !== $item['sha256']) {
                throw new GSW_Bundle_Refusal('hash_mismatch', 'item ' . GSW_Rust_Text::debug($item['path']) . ' does not match its SHA-256');
            }
            $at += $size;
            $items[] = ['kind' => $item['kind'], 'path' => $item['path'], 'sha256' => $item['sha256'], 'size' => $size, 'content' => $content];
        }
        return ['manifest' => $manifest, 'items' => $items];
    }

    /**
     * The bundle cut into manifest, signature (null when unsigned) and where
     * the payload starts; nothing checked yet.
     */
    private static function split(string $bytes): array
    {
        $length = strlen($bytes);
        if (!str_starts_with($bytes, self::MAGIC)) {
            throw $length < strlen(self::MAGIC)
                ? new GSW_Bundle_Refusal('malformed', 'bundle is truncated')
                : new GSW_Bundle_Refusal('malformed', 'not a bundle (bad magic bytes)');
        }
        if ($length < 12) {
            throw new GSW_Bundle_Refusal('malformed', 'bundle is truncated');
        }
        $manifest_length = unpack('N', $bytes, 8)[1];
        if ($manifest_length > self::MAX_MANIFEST_BYTES) {
            throw new GSW_Bundle_Refusal('malformed', "manifest is $manifest_length bytes, over the limit");
        }
        $at = 12 + $manifest_length;
        if ($length < $at + 2) {
            throw new GSW_Bundle_Refusal('malformed', 'bundle is truncated');
        }
        $manifest = substr($bytes, 12, $manifest_length);
        $signature_length = unpack('n', $bytes, $at)[1];
        $at += 2;
        if ($signature_length === 0) {
            return [$manifest, null, $at];
        }
        if ($signature_length !== SODIUM_CRYPTO_SIGN_BYTES) {
            throw new GSW_Bundle_Refusal('bad_signature', 'bundle signature is not valid');
        }
        if ($length < $at + SODIUM_CRYPTO_SIGN_BYTES) {
            throw new GSW_Bundle_Refusal('malformed', 'bundle is truncated');
        }
        return [$manifest, substr($bytes, $at, SODIUM_CRYPTO_SIGN_BYTES), $at + SODIUM_CRYPTO_SIGN_BYTES];
    }

    /**
     * `bundle::check_path`: relative, at most 512 bytes, no backslash, colon
     * or control character, no empty, `.` or `..` part.
     *
     * @throws GSW_Bundle_Refusal unsafe_path.
     */
    private static function check_path(string $path): void
    {
        $parts = explode('/', $path);
        if (
            $path === ''
            || strlen($path) > self::MAX_PATH_BYTES
            || str_starts_with($path, '/')
            || str_contains($path, '\\')
            || str_contains($path, ':')
            || GSW_Rust_Text::has_control($path)
            || array_intersect($parts, ['', '.', '..']) !== []
        ) {
            throw new GSW_Bundle_Refusal('unsafe_path', 'item path ' . GSW_Rust_Text::debug($path) . ' is not a plain relative path inside its folder');
        }
    }
}
