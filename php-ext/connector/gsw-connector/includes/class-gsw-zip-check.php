<?php
/**
 * The plugin and theme zip check of the gsw extension (php-ext/src/zipcheck.rs),
 * in PHP, for sites without it (GSW_Native::zip_check).
 *
 * @package gsw-connector
 */

// Loaded by bin/apply.php before WordPress, or inside WordPress.
if (PHP_SAPI !== 'cli' && !defined('ABSPATH')) {
    exit;
}

require_once __DIR__ . '/class-gsw-rust-text.php';

/**
 * Reads a zip's central directory and each entry's local header from its
 * bytes (not through ZipArchive or PclZip, whose reading is what is being
 * guarded against) and refuses any entry that would land outside the zip's
 * one top-level folder: the same refusals and messages as `gsw_zip_check`.
 */
final class GSW_Zip_Check
{
    private const EOCD_SIGNATURE = "PK\x05\x06";
    private const CENTRAL_SIGNATURE = "PK\x01\x02";
    private const LOCAL_SIGNATURE = "PK\x03\x04";
    private const EOCD_LEN = 22;
    private const CENTRAL_LEN = 46;
    private const LOCAL_LEN = 30;
    private const MAX_ENTRIES = 100000;
    private const S_IFMT = 0170000;
    private const S_IFLNK = 0120000;
    /** macOS archivers add this folder beside the real one; WordPress skips it. */
    private const MACOS_METADATA = '__MACOSX';

    /**
     * Checks a plugin or theme zip file; returns
     * `['folder' => 'name', 'entries' => n, 'unpacked_bytes' => n]`.
     *
     * @throws Exception `gsw: zip refused: …`, `gsw: cannot read …`.
     */
    public static function file(string $path, int $max_unpacked_bytes): array
    {
        if (!GSW_Rust_Text::is_utf8($path)) {
            throw new TypeError('Invalid value given for argument `path`.');
        }
        if ($max_unpacked_bytes < 0) {
            throw new Exception('gsw: max_unpacked_bytes must not be negative');
        }
        return self::check(GSW_Rust_Text::read_file($path), $max_unpacked_bytes);
    }

    /** Checks a zip's bytes; `$limit` bounds the total unpacked size. */
    public static function check(string $bytes, int $limit): array
    {
        $length = strlen($bytes);
        $eocd = self::end_record($bytes);
        $disk = self::u16($bytes, $eocd + 4);
        $cd_disk = self::u16($bytes, $eocd + 6);
        $on_disk = self::u16($bytes, $eocd + 8);
        $total = self::u16($bytes, $eocd + 10);
        $cd_size = self::u32($bytes, $eocd + 12);
        $cd_offset = self::u32($bytes, $eocd + 16);
        if ($disk !== 0 || $cd_disk !== 0 || $on_disk !== $total) {
            throw self::malformed('split across several disks');
        }
        if ($total === 0xffff || $cd_size === 0xffffffff || $cd_offset === 0xffffffff) {
            throw self::malformed('zip64 archives are not supported');
        }
        $cd_start = $cd_offset;
        $cd_end = $cd_offset + $cd_size;
        if ($cd_end > $eocd) {
            throw self::malformed('central directory overlaps its end record');
        }

        $at = $cd_start;
        $names = [];
        $count = 0;
        $folder = null;
        $unpacked = 0;
        while ($at < $cd_end) {
            if ($count >= self::MAX_ENTRIES) {
                throw self::malformed('more than ' . self::MAX_ENTRIES . ' entries');
            }
            if ($at + self::CENTRAL_LEN > $length || substr_compare($bytes, self::CENTRAL_SIGNATURE, $at, 4) !== 0) {
                throw self::malformed('bad central directory entry');
            }
            $flags = self::u16($bytes, $at + 8);
            $size = self::u32($bytes, $at + 24);
            $name_len = self::u16($bytes, $at + 28);
            $extra_len = self::u16($bytes, $at + 30);
            $comment_len = self::u16($bytes, $at + 32);
            $external = self::u32($bytes, $at + 38);
            $local = self::u32($bytes, $at + 42);
            if ($at + self::CENTRAL_LEN + $name_len > $length) {
                throw self::malformed('truncated central directory');
            }
            $name = substr($bytes, $at + self::CENTRAL_LEN, $name_len);
            if (!GSW_Rust_Text::is_utf8($name)) {
                throw self::malformed('an entry name is not UTF-8');
            }
            $at += self::CENTRAL_LEN + $name_len + $extra_len + $comment_len;
            if ($at > $cd_end) {
                throw self::malformed('central directory entry runs past its end');
            }
            if ($size === 0xffffffff) {
                throw self::malformed('zip64 entries are not supported');
            }
            if (($flags & 1) !== 0) {
                throw self::unsafe_entry($name, 'is encrypted');
            }
            // The local header's name is what some extractors use: it must agree.
            if (
                $local + self::LOCAL_LEN > $length
                || $local >= $cd_start
                || substr_compare($bytes, self::LOCAL_SIGNATURE, $local, 4) !== 0
            ) {
                throw self::malformed('entry ' . GSW_Rust_Text::debug($name) . ' has no local header');
            }
            $local_name_len = self::u16($bytes, $local + 26);
            $local_name_at = $local + self::LOCAL_LEN;
            if ($local_name_at + $local_name_len > $length || substr($bytes, $local_name_at, $local_name_len) !== $name) {
                throw self::unsafe_entry($name, 'has a different name in its local header');
            }
            if ((($external >> 16) & self::S_IFMT) === self::S_IFLNK) {
                throw self::refused('entry ' . GSW_Rust_Text::debug($name) . ' is a symbolic link');
            }
            $top = self::top_folder($name);
            if (isset($names[$name])) {
                throw self::unsafe_entry($name, 'appears twice');
            }
            $names[$name] = true;
            $count++;
            $unpacked += $size;
            if ($unpacked > $limit) {
                throw self::refused("entries unpack to $unpacked bytes, over the $limit-byte limit");
            }
            if ($top === self::MACOS_METADATA) {
                continue;
            }
            if ($folder === null) {
                $folder = $top;
            } elseif ($folder !== $top) {
                throw self::refused(
                    'entries are in two top-level folders, ' . GSW_Rust_Text::debug($folder) . ' and ' . GSW_Rust_Text::debug($top)
                );
            }
        }
        if ($count !== $total) {
            throw self::malformed("the end record counts $total entries, the directory holds $count");
        }
        if ($folder === null) {
            throw self::malformed('no entries');
        }
        return ['folder' => $folder, 'entries' => $count, 'unpacked_bytes' => $unpacked];
    }

    /**
     * The end-of-central-directory record: the last one whose comment ends
     * exactly at the end of the file.
     */
    private static function end_record(string $bytes): int
    {
        $length = strlen($bytes);
        if ($length < self::EOCD_LEN) {
            throw self::malformed('too short');
        }
        $last = $length - self::EOCD_LEN;
        $first = max(0, $last - 0xffff);
        $from = $last;
        while ($from >= $first) {
            // A negative offset: the match starts at $from at the latest.
            $at = strrpos($bytes, self::EOCD_SIGNATURE, $from - $length);
            if ($at === false || $at < $first) {
                break;
            }
            if ($at + self::EOCD_LEN + self::u16($bytes, $at + 20) === $length) {
                return $at;
            }
            $from = $at - 1;
        }
        throw self::malformed('no end of central directory');
    }

    /** Checks one entry name and returns its top-level folder. */
    private static function top_folder(string $name): string
    {
        if (str_starts_with($name, '/')) {
            throw self::unsafe_entry($name, 'is an absolute path');
        }
        if (str_contains($name, '\\') || str_contains($name, ':') || GSW_Rust_Text::has_control($name)) {
            throw self::unsafe_entry($name, 'holds a backslash, colon or control character');
        }
        $trimmed = str_ends_with($name, '/') ? substr($name, 0, -1) : $name;
        $parts = explode('/', $trimmed);
        if (in_array('..', $parts, true)) {
            throw self::unsafe_entry($name, 'climbs out with ".."');
        }
        foreach ($parts as $part) {
            if ($part === '' || $part === '.') {
                throw self::unsafe_entry($name, 'has an empty or "." path part');
            }
        }
        $top = $parts[0];
        if (count($parts) === 1 && !str_ends_with($name, '/')) {
            throw self::unsafe_entry($name, 'is a file outside any folder');
        }
        if (preg_match('/^[A-Za-z0-9._-]*\z/', $top) !== 1 || str_starts_with($top, '.')) {
            throw self::unsafe_entry($name, 'is in a folder whose name is not a plain slug');
        }
        return $top;
    }

    private static function u16(string $bytes, int $at): int
    {
        return unpack('v', $bytes, $at)[1];
    }

    private static function u32(string $bytes, int $at): int
    {
        return unpack('V', $bytes, $at)[1];
    }

    private static function malformed(string $why): Exception
    {
        return self::refused("not a readable zip: $why");
    }

    private static function unsafe_entry(string $name, string $why): Exception
    {
        return self::refused('entry ' . GSW_Rust_Text::debug($name) . " $why");
    }

    private static function refused(string $why): Exception
    {
        return new Exception("gsw: zip refused: $why");
    }
}
