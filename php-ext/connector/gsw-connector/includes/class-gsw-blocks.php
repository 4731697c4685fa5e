<?php
/**
 * The Gutenberg block grammar check of `gsw_protocol::blocks`, in PHP, for
 * sites without the gsw extension (GSW_Native::blocks_parse).
 *
 * @package gsw-connector
 */

// Loaded by bin/apply.php before WordPress, or inside WordPress.
if (PHP_SAPI !== 'cli' && !defined('ABSPATH')) {
    exit;
}

require_once __DIR__ . '/class-gsw-rust-text.php';

/**
 * Block delimiters nest, names are valid, attributes are JSON objects: the
 * same acceptance, block list and messages as `gsw_blocks_parse`
 * (php-ext/tests/natives.rs runs both on the same documents).
 */
final class GSW_Blocks
{
    /** serde_json's nesting limit: 127 arrays or objects deep are read, 128 are not. */
    private const JSON_DEPTH = 128;

    /**
     * Checks block markup; returns `[['name' => 'core/heading', 'depth' => 1], …]`.
     *
     * @throws TypeError  when the markup is not UTF-8, as the extension does.
     * @throws Exception  `gsw: invalid block markup: …` when the grammar is broken.
     */
    public static function parse(string $markup): array
    {
        if (!GSW_Rust_Text::is_utf8($markup)) {
            throw new TypeError('Invalid value given for argument `markup`.');
        }
        $blocks = [];
        $open = [];
        $from = 0;
        while (($at = strpos($markup, '<!--', $from)) !== false) {
            $body_start = $at + 4;
            $end = strpos($markup, '-->', $body_start);
            if ($end === false) {
                throw self::invalid("unterminated comment at byte $at");
            }
            $from = $end + 3;
            $body = GSW_Rust_Text::trim(substr($markup, $body_start, $end - $body_start));
            if (str_starts_with($body, '/wp:')) {
                [$closing, $rest] = [true, substr($body, 4)];
            } elseif (str_starts_with($body, 'wp:')) {
                [$closing, $rest] = [false, substr($body, 3)];
            } else {
                continue; // An ordinary HTML comment.
            }
            [$raw_name, $after] = self::split_name($rest);
            if (!self::valid_name($raw_name)) {
                throw self::invalid('invalid block name ' . GSW_Rust_Text::debug($raw_name) . " at byte $at");
            }
            $name = str_contains($raw_name, '/') ? $raw_name : "core/$raw_name";
            $after = GSW_Rust_Text::trim($after);
            $self_closing = str_ends_with($after, '/');
            $attrs = $self_closing ? GSW_Rust_Text::trim(substr($after, 0, -1)) : $after;
            if ($closing) {
                if ($attrs !== '' || $self_closing) {
                    throw self::invalid('invalid block name ' . GSW_Rust_Text::debug($raw_name) . " at byte $at");
                }
                $expected = array_pop($open);
                if ($expected === null) {
                    throw self::invalid("closing $name at byte $at has no opening");
                }
                if ($expected !== $name) {
                    throw self::invalid("closing $name at byte $at does not match the open $expected");
                }
                continue;
            }
            if ($attrs !== '' && !self::is_json_object($attrs)) {
                throw self::invalid("attributes of block $name at byte $at are not a JSON object");
            }
            $blocks[] = ['name' => $name, 'depth' => count($open)];
            if (!$self_closing) {
                $open[] = $name;
            }
        }
        $unclosed = array_pop($open);
        if ($unclosed !== null) {
            throw self::invalid("block $unclosed is never closed");
        }
        return $blocks;
    }

    /**
     * The block name and what follows it. A name runs to white space, `{`,
     * or a `/` not followed by a lower-case letter (`/-->` closes the block).
     */
    private static function split_name(string $rest): array
    {
        $stop = '/[' . GSW_Rust_Text::WHITE_SPACE . '{]|\/(?![a-z])/u';
        if (preg_match($stop, $rest, $match, PREG_OFFSET_CAPTURE) !== 1) {
            return [$rest, ''];
        }
        $end = $match[0][1];
        return [substr($rest, 0, $end), substr($rest, $end)];
    }

    /** `local` or `namespace/local`, each a lower-case letter then letters, digits, `-` or `_`. */
    private static function valid_name(string $name): bool
    {
        return preg_match('/^[a-z][a-z0-9_-]*(?:\/[a-z][a-z0-9_-]*)?\z/', $name) === 1;
    }

    /**
     * Whether the text is one JSON object as serde_json reads it: strict
     * JSON, at most 127 levels deep, and no number too large for a double
     * (PHP reads those as INF, serde_json refuses them).
     */
    private static function is_json_object(string $text): bool
    {
        if ($text[0] !== '{') {
            return false;
        }
        $value = json_decode($text, true, self::JSON_DEPTH);
        if (json_last_error() !== JSON_ERROR_NONE) {
            return false;
        }
        $finite = true;
        array_walk_recursive($value, function ($leaf) use (&$finite) {
            if (is_float($leaf) && !is_finite($leaf)) {
                $finite = false;
            }
        });
        return $finite;
    }

    private static function invalid(string $why): Exception
    {
        return new Exception("gsw: invalid block markup: $why");
    }
}
