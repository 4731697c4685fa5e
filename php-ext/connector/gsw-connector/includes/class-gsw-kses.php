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
 * (`wp_kses` with its split callback memoized). The first content of each
 * process is also filtered by `wp_kses_post` itself, and if the two ever
 * differ (a WordPress whose kses works otherwise) every later one is too.
 */
final class GSW_Kses
{
    /** null: not checked yet; true: remembering; false: wp_kses_post for everything. */
    public static ?bool $remembering = null;
    /** @var array<string, string> tag => what wp_kses_split2 made of it */
    public static array $memo = [];

    /** `wp_kses_post($content)`, from memory where the tag was seen before. */
    public static function post(string $content): string
    {
        if (self::$remembering === false) {
            return wp_kses_post($content);
        }
        $protocols = wp_allowed_protocols();
        $filtered = wp_kses_no_null($content, ['slash_zero' => 'keep']);
        $filtered = wp_kses_normalize_entities($filtered);
        $filtered = wp_kses_hook($filtered, 'post', $protocols);
        // wp_kses_split's pattern; each match is what _wp_kses_split_callback gets.
        $filtered = preg_replace_callback(
            '%(<!--.*?(-->|$))|(<[^>]*(>|$)|>)%',
            fn ($match) => self::$memo[$match[0]] ??= wp_kses_split2($match[0], 'post', $protocols),
            $filtered
        );
        if (self::$remembering === null) {
            $reference = wp_kses_post($content);
            self::$remembering = $filtered === $reference;
            return $reference;
        }
        return $filtered;
    }
}
