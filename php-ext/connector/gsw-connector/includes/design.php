<?php
/**
 * Design items: the theme to activate, and palette and fonts written into
 * the active theme's user global styles, the way the site editor saves them.
 */

if (!defined('ABSPATH')) {
    exit;
}

const GSW_PALETTE = [
    'base' => 'Base',
    'contrast' => 'Contrast',
    'primary' => 'Primary',
    'on_primary' => 'On primary',
    'secondary' => 'Secondary',
    'accent' => 'Accent',
];

/** Reads and checks design.json. */
function gsw_parse_design(array $item): array
{
    $data = json_decode($item['content'], true);
    if (!is_array($data) || !is_array($data['palette'] ?? null) || !is_array($data['fonts'] ?? null)) {
        return [null, 'design must be {"theme", "style", "palette", "fonts"}'];
    }
    $palette = [];
    foreach (GSW_PALETTE as $field => $name) {
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
    if ($theme !== null && !gsw_is_folder_name($theme)) {
        return [null, 'theme must be a theme folder name'];
    }
    return [['theme' => $theme, 'palette' => $palette, 'fonts' => $fonts], null];
}

/** A CSS font stack for a family name, with a generic fallback. */
function gsw_font_stack(string $family): string
{
    $serif = stripos($family, 'serif') !== false && stripos($family, 'sans') === false;
    $serif = $serif || preg_match('/garamond|playfair|merriweather|lora|georgia|baskerville|didot|bodoni/i', $family);
    return '"' . $family . '", ' . ($serif ? 'Georgia, serif' : 'system-ui, sans-serif');
}

/** Activates a theme unless it is active already; true when it switched. */
function gsw_activate_theme(string $stylesheet): bool
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
function gsw_design_global_styles(array $current, array $design): array
{
    $css = fn (string $slug) => "var(--wp--preset--color--$slug)";
    $font = fn (string $slug) => "var(--wp--preset--font-family--$slug)";
    $config = $current + ['version' => 2];
    $config['isGlobalStylesUserThemeJSON'] = true;
    $palette = [];
    foreach (GSW_PALETTE as $field => $name) {
        $palette[] = ['slug' => str_replace('_', '-', $field), 'color' => $design['palette'][$field], 'name' => $name];
    }
    $families = [];
    foreach (['heading' => 'Heading', 'body' => 'Body'] as $slug => $name) {
        $families[] = ['fontFamily' => gsw_font_stack($design['fonts'][$slug]), 'slug' => $slug, 'name' => "$name ({$design['fonts'][$slug]})"];
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
function gsw_apply_design(array $item, array $design, array $installed_themes): array
{
    $notes = [];
    $changed = false;
    if ($design['theme'] !== null) {
        if (wp_get_theme($design['theme'])->exists() || in_array($design['theme'], $installed_themes, true)) {
            $changed = gsw_activate_theme($design['theme']);
        } else {
            $notes[] = "theme {$design['theme']} is not installed; the design went to the active theme " . get_stylesheet();
        }
    }
    $stylesheet = get_stylesheet();
    if (!wp_get_theme()->is_block_theme() && !is_file(get_stylesheet_directory() . '/theme.json')) {
        $notes[] = "the active theme $stylesheet has no theme.json: WordPress uses these global styles only with themes that do";
    }
    $id = gsw_global_styles_post_id($stylesheet);
    $old = $id ? (string) get_post_field('post_content', $id) : '';
    $current = $id ? json_decode($old, true) : null;
    $config = gsw_design_global_styles(is_array($current) ? $current : [], $design);
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
            return gsw_result($item, 'failed', $id->get_error_message());
        }
        wp_set_post_terms($id, [$stylesheet], 'wp_theme');
        if (class_exists('WP_Theme_JSON_Resolver')) {
            WP_Theme_JSON_Resolver::clean_cached_data();
        }
        $changed = true;
    }
    return gsw_result($item, $changed ? 'applied' : 'unchanged', implode('; ', $notes));
}

/**
 * The menu locations of the active theme. After a switch in this process the
 * new theme's functions.php (where locations are registered) was never
 * loaded, and loading it beside the old one could redeclare functions, so a
 * fresh PHP process asks WordPress.
 */
function gsw_menu_locations_after_switch(): array
{
    $command = [PHP_BINARY, __DIR__ . '/menu-locations.php'];
    $process = proc_open($command, [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
    if (!is_resource($process)) {
        return [];
    }
    $out = stream_get_contents($pipes[1]);
    fwrite(STDERR, stream_get_contents($pipes[2]));
    proc_close($process);
    $locations = json_decode(trim((string) $out), true);
    return is_array($locations) ? array_values(array_filter($locations, 'is_string')) : [];
}
