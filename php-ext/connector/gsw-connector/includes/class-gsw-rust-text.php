<?php
/**
 * Text as the gsw extension's Rust writes and reads it, for the PHP
 * implementations of its functions (GSW_Native): Unicode trimming, UTF-8
 * checks and the `{:?}` form names take in messages.
 *
 * @package gsw-connector
 */

// Loaded by bin/apply.php before WordPress, or inside WordPress.
if (PHP_SAPI !== 'cli' && !defined('ABSPATH')) {
    exit;
}

/** What Rust's `str` does that PHP's string functions do otherwise. */
final class GSW_Rust_Text
{
    /** Unicode's White_Space property, what `char::is_whitespace` tests. */
    public const WHITE_SPACE = '\x{9}-\x{d}\x{20}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}';

    /** Whether the bytes are UTF-8, as `str::from_utf8` decides (no surrogates, no overlong forms). */
    public static function is_utf8(string $bytes): bool
    {
        return preg_match('//u', $bytes) === 1;
    }

    /** `str::trim`: leading and trailing Unicode white space removed (the text is UTF-8). */
    public static function trim(string $text): string
    {
        return (string) preg_replace('/^[' . self::WHITE_SPACE . ']+|[' . self::WHITE_SPACE . ']+$/uD', '', $text);
    }

    /** Whether a UTF-8 text holds a control character (`char::is_control`: Unicode's Cc). */
    public static function has_control(string $text): bool
    {
        return preg_match('/[\x{0}-\x{1f}\x{7f}-\x{9f}]/u', $text) === 1;
    }

    /**
     * `format!("{:?}", text)`: quoted, with `\`, `"`, `\0`, `\t`, `\r`, `\n`
     * escaped, and `\u{…}` for what Rust does not print as it is (control,
     * format, unassigned, private-use and separator characters other than the
     * space, and combining marks).
     */
    public static function debug(string $text): string
    {
        $escaped = preg_replace_callback(
            '/[^\x20\x21\x23-\x5b\x5d-\x7e]/u',
            static function (array $match): string {
                $char = $match[0];
                $simple = ["\0" => '\0', "\t" => '\t', "\r" => '\r', "\n" => '\n', '\\' => '\\\\', '"' => '\"'];
                if (isset($simple[$char])) {
                    return $simple[$char];
                }
                $hidden = '/^[\p{Grapheme_Extend}\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]$/u';
                if (preg_match($hidden, $char) === 1) {
                    return '\u{' . dechex(self::code_point($char)) . '}';
                }
                return $char;
            },
            $text
        );
        return '"' . $escaped . '"';
    }

    /**
     * A file's bytes, failing as `std::fs::read` does, with the operating
     * system's reason (`gsw: cannot read PATH: No such file or directory (os error 2)`).
     *
     * @throws Exception when the file cannot be read.
     */
    public static function read_file(string $path): string
    {
        $bytes = self::readable($path) ? file_get_contents($path) : false;
        if ($bytes === false) {
            throw new Exception("gsw: cannot read $path: " . self::os_error($path));
        }
        return $bytes;
    }

    /**
     * A file's size, failing as `std::fs::metadata` does.
     *
     * @throws Exception when there is no such file.
     */
    public static function file_size(string $path): int
    {
        clearstatcache(true, $path);
        $size = file_exists($path) ? filesize($path) : false;
        if ($size === false) {
            throw new Exception("gsw: cannot read $path: " . self::os_error($path));
        }
        return $size;
    }

    private static function readable(string $path): bool
    {
        return is_file($path) && is_readable($path);
    }

    /** Why a file cannot be read, in the words Rust's `io::Error` uses. */
    private static function os_error(string $path): string
    {
        if (!file_exists($path)) {
            return 'No such file or directory (os error 2)';
        }
        if (is_dir($path)) {
            return 'Is a directory (os error 21)';
        }
        if (!is_readable($path)) {
            return 'Permission denied (os error 13)';
        }
        return 'it could not be read';
    }

    /** The code point of one UTF-8 character. */
    private static function code_point(string $char): int
    {
        $bytes = array_values(unpack('C*', $char));
        $length = count($bytes);
        if ($length === 1) {
            return $bytes[0];
        }
        $point = $bytes[0] & (0xff >> ($length + 1));
        for ($i = 1; $i < $length; $i++) {
            $point = ($point << 6) | ($bytes[$i] & 0x3f);
        }
        return $point;
    }
}
