<?php
/**
 * The site item: who the site is, as WordPress shows it (title, tagline,
 * language).
 *
 * @package gsw-connector
 */

if (!defined('ABSPATH')) {
    exit;
}

require_once __DIR__ . '/class-gsw-item.php';
require_once __DIR__ . '/class-gsw-keys.php';

/** `content/site.json`: `blogname`, `blogdescription` and `WPLANG`. */
final class GSW_Site
{
    /** The options a site item writes (the apply snapshots them). */
    public const OPTIONS = ['blogname', 'blogdescription', 'WPLANG', 'site_icon', 'site_logo'];

    /** Reads and checks site.json. */
    public static function parse(array $item): array
    {
        $data = json_decode($item['content'], true);
        if (!is_array($data)) {
            return [null, 'site must be {"title", "tagline", "language"}'];
        }
        $title = $data['title'] ?? null;
        if (!is_string($title) || trim($title) === '' || strlen($title) > 200) {
            return [null, 'title must be a text of 1 to 200 bytes'];
        }
        $tagline = $data['tagline'] ?? '';
        if (!is_string($tagline) || strlen($tagline) > 300) {
            return [null, 'tagline must be a text of at most 300 bytes'];
        }
        $language = $data['language'] ?? 'en';
        if (!is_string($language) || !preg_match('/^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$/', $language)) {
            return [null, 'language must be a BCP 47 tag such as en or nl-BE'];
        }
        $icon = $data['icon'] ?? null;
        if ($icon !== null && (!is_string($icon) || !preg_match('#^[a-z0-9][a-z0-9/._-]{0,190}$#', $icon) || str_contains($icon, '..'))) {
            return [null, 'icon must be the path of a media item'];
        }
        return [[
            'icon' => $icon,
            'title' => sanitize_text_field($title),
            'tagline' => sanitize_text_field($tagline),
            'locale' => self::locale($language),
        ], null];
    }

    /**
     * The WordPress locale of a language tag: `nl-BE` is `nl_BE`, `nl` is
     * `nl_NL`, English is the empty string (WordPress's own `en_US`).
     */
    public static function locale(string $language): string
    {
        $parts = preg_split('/[-_]/', $language);
        $lang = strtolower($parts[0]);
        $region = null;
        foreach (array_slice($parts, 1) as $part) {
            if (strlen($part) === 2) {
                $region = strtoupper($part);
            }
        }
        if ($lang === 'en' && ($region === null || $region === 'US')) {
            return '';
        }
        $default = ['en' => 'GB', 'nl' => 'NL', 'fr' => 'FR', 'de' => 'DE', 'es' => 'ES', 'it' => 'IT', 'pt' => 'PT', 'sv' => 'SE', 'da' => 'DK', 'ja' => 'JP'];
        $region = $region ?? ($default[$lang] ?? null);
        return $region === null ? $lang : "{$lang}_{$region}";
    }

    /**
     * Writes the options that differ; `unchanged` when none does. The icon
     * (site icon and the logo the site-logo block shows) is a media item the
     * bundle, or an earlier one, uploaded.
     */
    public static function apply(array $item, array $site): array
    {
        $changed = false;
        $notes = [];
        $wanted = ['blogname' => $site['title'], 'blogdescription' => $site['tagline'], 'WPLANG' => $site['locale']];
        if ($site['icon'] !== null) {
            $icon = GSW_Keys::find_ids(['media:' . $site['icon']])['media:' . $site['icon']] ?? null;
            if ($icon) {
                $wanted['site_icon'] = (string) $icon;
                $wanted['site_logo'] = (string) $icon;
            } else {
                $notes[] = "icon media:{$site['icon']} not found; the site icon and logo are left as they were";
            }
        }
        foreach ($wanted as $option => $value) {
            if ((string) get_option($option, '') !== $value) {
                update_option($option, $value);
                $changed = true;
            }
        }
        return GSW_Item::result($item, $changed ? 'applied' : 'unchanged', implode('; ', $notes));
    }
}
