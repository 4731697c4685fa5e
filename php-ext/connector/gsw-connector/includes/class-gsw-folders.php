<?php
/**
 * Plugin and theme folders: where they are, and copying or removing them
 * whole.
 *
 * @package gsw-connector
 */

if (!defined('ABSPATH')) {
    exit;
}

/**
 * Folders the connector replaces, backs up and restores. WP_Filesystem's
 * copy_dir and delete follow links; snapshots must copy a link as a link
 * and remove the link, never what it points at, so these walk the tree
 * themselves.
 */
final class GSW_Folders
{
    /** A plain plugin or theme folder name: nothing that could climb out. */
    public static function is_plain_name($name): bool
    {
        return is_string($name) && preg_match('/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/', $name) === 1;
    }

    /** Where a plugin or theme folder lives. */
    public static function path(string $kind, string $name): string
    {
        if (!self::is_plain_name($name)) {
            throw new RuntimeException("not a plain folder name: $name");
        }
        return ($kind === 'theme' ? get_theme_root() : WP_PLUGIN_DIR) . '/' . $name;
    }

    /** Removes a folder and everything in it (links themselves, not their targets). */
    public static function remove(string $path): void
    {
        if (is_link($path) || is_file($path)) {
            unlink($path);
            return;
        }
        if (!is_dir($path)) {
            return;
        }
        foreach (scandir($path) as $entry) {
            if ($entry !== '.' && $entry !== '..') {
                self::remove("$path/$entry");
            }
        }
        rmdir($path);
    }

    /** Copies a folder; links are copied as links, never followed. */
    public static function copy(string $from, string $to): void
    {
        if (is_link($from)) {
            symlink(readlink($from), $to);
            return;
        }
        if (is_file($from)) {
            if (!copy($from, $to)) {
                throw new RuntimeException("cannot copy $from to $to");
            }
            return;
        }
        if (!is_dir($to) && !mkdir($to, 0755, true)) {
            throw new RuntimeException("cannot create $to");
        }
        foreach (scandir($from) as $entry) {
            if ($entry !== '.' && $entry !== '..') {
                self::copy("$from/$entry", "$to/$entry");
            }
        }
    }
}
