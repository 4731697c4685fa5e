<?php
/**
 * Design items: the theme to activate, and palette and fonts written into
 * the active theme's user global styles, the way the site editor saves them.
 *
 * @package gsw-connector
 */

if (!defined('ABSPATH')) {
    exit;
}

require_once __DIR__ . '/class-gsw-item.php';
require_once __DIR__ . '/class-gsw-folders.php';

/** The design item, and activating themes. */
final class GSW_Design
{
    private const PALETTE = [
        'base' => 'Base',
        'contrast' => 'Contrast',
        'primary' => 'Primary',
        'on_primary' => 'On primary',
        'secondary' => 'Secondary',
        'accent' => 'Accent',
    ];

    /** Reads and checks design.json. */
    public static function parse(array $item): array
    {
        $data = json_decode($item['content'], true);
        if (!is_array($data) || !is_array($data['palette'] ?? null) || !is_array($data['fonts'] ?? null)) {
            return [null, 'design must be {"theme", "style", "palette", "fonts"}'];
        }
        $palette = [];
        foreach (self::PALETTE as $field => $name) {
            $color = $data['palette'][$field] ?? null;
            if (!is_string($color) || !preg_match('/^#(?:[0-9a-fA-F]{3}){1,2}$/', $color)) {
                return [null, "palette.$field must be a #rrggbb colour"];
            }
            $palette[$field] = strtolower($color);
        }
        $fonts = [];
        foreach (['heading', 'body'] as $field) {
            $font = $data['fonts'][$field] ?? null;
            if (!is_string($font) || !preg_match('/^[A-Za-z0-9][A-Za-z0-9 \-]{0,63}$/', $font)) {
                return [null, "fonts.$field must be a font family name"];
            }
            $fonts[$field] = $font;
        }
        $theme = $data['theme'] ?? null;
        if ($theme !== null && !GSW_Folders::is_plain_name($theme)) {
            return [null, 'theme must be a theme folder name'];
        }
        return [['theme' => $theme, 'palette' => $palette, 'fonts' => $fonts], null];
    }

    /** A CSS font stack for a family name, with a generic fallback. */
    private static function font_stack(string $family): string
    {
        $serif = stripos($family, 'serif') !== false && stripos($family, 'sans') === false;
        $serif = $serif || preg_match('/garamond|playfair|merriweather|lora|georgia|baskerville|didot|bodoni/i', $family);
        return '"' . $family . '", ' . ($serif ? 'Georgia, serif' : 'system-ui, sans-serif');
    }

    /** Activates a theme unless it is active already; true when it switched. */
    public static function activate_theme(string $stylesheet): bool
    {
        if (get_stylesheet() === $stylesheet) {
            return false;
        }
        $theme = wp_get_theme($stylesheet);
        if (!$theme->exists() || $theme->errors()) {
            throw new RuntimeException("theme $stylesheet is not installed or is broken");
        }
        switch_theme($stylesheet);
        if (class_exists('WP_Theme_JSON_Resolver')) {
            WP_Theme_JSON_Resolver::clean_cached_data();
        }
        return true;
    }

    /**
     * The user global styles with this design merged in: presets under the
     * `custom` origin, element styles pointing at them. Other settings the site
     * owner made in the site editor are kept.
     */
    private static function global_styles(array $current, array $design): array
    {
        $css = fn (string $slug) => "var(--wp--preset--color--$slug)";
        $font = fn (string $slug) => "var(--wp--preset--font-family--$slug)";
        $config = $current + ['version' => 2];
        $config['isGlobalStylesUserThemeJSON'] = true;
        $palette = [];
        foreach (self::PALETTE as $field => $name) {
            $palette[] = ['slug' => str_replace('_', '-', $field), 'color' => $design['palette'][$field], 'name' => $name];
        }
        $families = [];
        foreach (['heading' => 'Heading', 'body' => 'Body'] as $slug => $name) {
            $families[] = ['fontFamily' => self::font_stack($design['fonts'][$slug]), 'slug' => $slug, 'name' => "$name ({$design['fonts'][$slug]})"];
        }
        $config['settings']['color']['palette']['custom'] = $palette;
        $config['settings']['typography']['fontFamilies']['custom'] = $families;
        $config['styles']['color']['background'] = $css('base');
        $config['styles']['color']['text'] = $css('contrast');
        $config['styles']['typography']['fontFamily'] = $font('body');
        $config['styles']['elements']['link']['color']['text'] = $css('primary');
        $config['styles']['elements']['button']['color']['background'] = $css('primary');
        $config['styles']['elements']['button']['color']['text'] = $css('on-primary');
        $config['styles']['elements']['heading']['typography']['fontFamily'] = $font('heading');
        $config['styles']['elements']['heading']['color']['text'] = $css('primary');
        return $config;
    }

    /** Applies design.json; `$installed_themes` are the themes this bundle installed. */
    public static function apply(array $item, array $design, array $installed_themes): array
    {
        $notes = [];
        $changed = false;
        if ($design['theme'] !== null) {
            if (wp_get_theme($design['theme'])->exists() || in_array($design['theme'], $installed_themes, true)) {
                $changed = self::activate_theme($design['theme']);
            } else {
                $notes[] = "theme {$design['theme']} is not installed; the design went to the active theme " . get_stylesheet();
            }
        }
        $stylesheet = get_stylesheet();
        if ($design['theme'] === $stylesheet && self::is_generated(wp_get_theme())) {
            // A theme generated from this design carries it in its own theme.json.
            return GSW_Item::result($item, $changed ? 'applied' : 'unchanged', implode('; ', $notes));
        }
        if (!wp_get_theme()->is_block_theme() && !is_file(get_stylesheet_directory() . '/theme.json')) {
            $notes[] = "the active theme $stylesheet has no theme.json: WordPress uses these global styles only with themes that do";
        }
        $id = self::global_styles_post_id($stylesheet);
        $old = $id ? (string) get_post_field('post_content', $id) : '';
        $current = $id ? json_decode($old, true) : null;
        $config = self::global_styles(is_array($current) ? $current : [], $design);
        $json = wp_json_encode($config, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
        if ($json !== $old) {
            $post = [
                'post_type' => 'wp_global_styles',
                'post_title' => 'Custom Styles',
                'post_name' => 'wp-global-styles-' . urlencode($stylesheet),
                'post_status' => 'publish',
                'post_content' => $json,
            ];
            if ($id) {
                $post['ID'] = $id;
            }
            $id = wp_insert_post(wp_slash($post), true);
            if (is_wp_error($id)) {
                return GSW_Item::result($item, 'failed', $id->get_error_message());
            }
            wp_set_post_terms($id, [$stylesheet], 'wp_theme');
            if (class_exists('WP_Theme_JSON_Resolver')) {
                WP_Theme_JSON_Resolver::clean_cached_data();
            }
            $changed = true;
        }
        return GSW_Item::result($item, $changed ? 'applied' : 'unchanged', implode('; ', $notes));
    }

    /** Whether a theme is one gsWstudio generated for its site. */
    public static function is_generated(WP_Theme $theme): bool
    {
        return $theme->get('Author') === 'gsWstudio' && str_starts_with($theme->get_stylesheet(), 'gsw-');
    }

    /** The user global styles post of a theme, if it has one. */
    public static function global_styles_post_id(string $stylesheet): ?int
    {
        $ids = get_posts([
            'post_type' => 'wp_global_styles',
            'post_status' => ['publish', 'draft', 'private'],
            'numberposts' => 1,
            'orderby' => 'date',
            'order' => 'DESC',
            'fields' => 'ids',
            'no_found_rows' => true,
            'suppress_filters' => true,
            'tax_query' => [['taxonomy' => 'wp_theme', 'field' => 'name', 'terms' => $stylesheet]],
        ]);
        return $ids ? (int) $ids[0] : null;
    }
}
