<?php
/**
 * What `wp_kses_post` makes of content, remembered tag by tag.
 *
 * @package gsw-connector
 */

if (!defined('ABSPATH')) {
    exit;
}

/**
 * `wp_kses_post`, remembering what it made of each tag: a site's pages
 * repeat the same few dozen tags (`<p>`, `<div class="wp-block-column">`)
 * thousands of times, and filtering one is a pure function of the tag, the
 * 'post' allowance and the protocols. The steps are WordPress's own
 * (`wp_kses` with its split callback memoized), with the token pattern of
 * WordPress 6.1's `wp_kses_split`. Later versions (6.2.1 on) changed that
 * function for comments, `</` followed by a non-letter and `<!`
 * declarations, so the memory is used only where it is proven: on
 * WordPress 6.1.x, and only when the probes below (the cases those changes
 * are about) come out as `wp_kses_post` makes them. Everywhere else every
 * content goes to `wp_kses_post`. The first content of each process is also
 * filtered by `wp_kses_post` itself, and if the two ever differ every later
 * one is too.
 */
final class GSW_Kses
{
    /** WordPress 6.1's `wp_kses_split` pattern; each match is what `_wp_kses_split_callback` gets. */
    private const SPLIT_PATTERN = '%(<!--.*?(-->|$))|(<[^>]*(>|$)|>)%';

    /** The WordPress versions whose kses the memory is proven against (php-ext/tests/wordpress.rs). */
    private const PROVEN_VERSIONS = '/^6\.1(\.[0-9]+)?\z/';

    /** Where later versions' tokenizing and `wp_kses_split2` changed: each must filter as `wp_kses_post` does. */
    private const PROBES = [
        '<p>a</1>b</ p>c</-x></>d</3 >e</',
        "<!-- a --><!--> <!---> <!-- b\n c --> <!-- <p onclick=\"x\"> --> <!-- open",
        '<!DOCTYPE html><![CDATA[ a < b ]]><!x><!-x><!>< p>x<3 <!',
    ];

    /** null: not decided yet; true: remembering; false: wp_kses_post for everything. */
    public static ?bool $remembering = null;
    /** @var array<string, string> tag => what wp_kses_split2 made of it */
    public static array $memo = [];

    /** `wp_kses_post($content)`, from memory where the tag was seen before. */
    public static function post(string $content): string
    {
        if (self::$remembering === null && !self::proven()) {
            self::$remembering = false;
            self::$memo = [];
        }
        if (self::$remembering === false) {
            return wp_kses_post($content);
        }
        $filtered = self::remembered($content);
        if (self::$remembering === null) {
            $reference = wp_kses_post($content);
            self::$remembering = $filtered === $reference;
            return $reference;
        }
        return $filtered;
    }

    /**
     * Whether this WordPress's kses is the one the memory reproduces: a
     * 6.1.x version, and the probes filtered alike both ways.
     */
    private static function proven(): bool
    {
        global $wp_version;
        if (!is_string($wp_version) || preg_match(self::PROVEN_VERSIONS, $wp_version) !== 1) {
            return false;
        }
        foreach (self::PROBES as $probe) {
            if (self::remembered($probe) !== wp_kses_post($probe)) {
                return false;
            }
        }
        return true;
    }

    /** `wp_kses($content, 'post')`'s steps, its split callback memoized. */
    private static function remembered(string $content): string
    {
        $protocols = wp_allowed_protocols();
        $filtered = wp_kses_no_null($content, ['slash_zero' => 'keep']);
        $filtered = wp_kses_normalize_entities($filtered);
        $filtered = wp_kses_hook($filtered, 'post', $protocols);
        return preg_replace_callback(
            self::SPLIT_PATTERN,
            fn ($match) => self::$memo[$match[0]] ??= wp_kses_split2($match[0], 'post', $protocols),
            $filtered
        );
    }
}
