<?php
/**
 * The four functions the connector needs natively, from the gsw PHP
 * extension when it is loaded and from the connector's own PHP otherwise
 * (shared hosting has no extension).
 *
 * @package gsw-connector
 */

// Loaded by bin/apply.php before WordPress, or inside WordPress.
if (PHP_SAPI !== 'cli' && !defined('ABSPATH')) {
    exit;
}

/**
 * The extension's functions, with the same arguments, results and
 * exception messages either way; the PHP side (GSW_Bundle, GSW_Blocks,
 * GSW_Zip_Check) is held to the extension's by php-ext/tests/natives.rs
 * and the shared bundle vectors in protocol/tests/vectors. Every call in
 * the connector goes through here, never to a `gsw_*` function directly.
 */
final class GSW_Native
{
    /** Whether the gsw extension is loaded (and answers these calls). */
    public static function extension_loaded(): bool
    {
        return function_exists('gsw_bundle_open');
    }

    /**
     * Reads and verifies a bundle file; returns
     * `['manifest' => ['bundle_id', 'site_id', 'sequence', 'created_at', 'expires_at', 'policy' => ['unfiltered_html']],
     *   'items' => [['kind', 'path', 'sha256', 'size', 'content'], ...]]`.
     *
     * @throws Exception `gsw: bundle refused (<code>): …` and the like.
     */
    public static function bundle_open(string $path, string $public_key, string $site_id, int $last_applied, int $max_bytes): array
    {
        if (self::extension_loaded()) {
            return gsw_bundle_open($path, $public_key, $site_id, $last_applied, $max_bytes);
        }
        require_once __DIR__ . '/class-gsw-bundle.php';
        return GSW_Bundle::open($path, $public_key, $site_id, $last_applied, $max_bytes);
    }

    /**
     * Checks block markup; returns `[['name' => 'core/heading', 'depth' => 1], ...]`.
     *
     * @throws Exception `gsw: invalid block markup: …`.
     */
    public static function blocks_parse(string $markup): array
    {
        if (function_exists('gsw_blocks_parse')) {
            return gsw_blocks_parse($markup);
        }
        require_once __DIR__ . '/class-gsw-blocks.php';
        return GSW_Blocks::parse($markup);
    }

    /** SHA-256 of content, lower-case hex: what drift checks compare. */
    public static function content_hash(string $content): string
    {
        if (function_exists('gsw_content_hash')) {
            return gsw_content_hash($content);
        }
        return hash('sha256', $content);
    }

    /**
     * Checks a plugin or theme zip; returns `['folder' => 'name', 'entries' => n, 'unpacked_bytes' => n]`.
     *
     * @throws Exception `gsw: zip refused: …`, `gsw: cannot read …`.
     */
    public static function zip_check(string $path, int $max_unpacked_bytes): array
    {
        if (function_exists('gsw_zip_check')) {
            return gsw_zip_check($path, $max_unpacked_bytes);
        }
        require_once __DIR__ . '/class-gsw-zip-check.php';
        return GSW_Zip_Check::file($path, $max_unpacked_bytes);
    }
}
