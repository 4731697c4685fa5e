<?php
/**
 * Navigation from a bundle's navigation.json: the block navigation every
 * theme's navigation block shows, and a classic menu where the theme has
 * menu locations.
 *
 * @package gsw-connector
 */

if (!defined('ABSPATH')) {
    exit;
}

require_once __DIR__ . '/class-gsw-item.php';
require_once __DIR__ . '/class-gsw-keys.php';
require_once __DIR__ . '/class-gsw-content.php';
require_once __DIR__ . '/class-gsw-cli.php';

/** The navigation item, as a `wp_navigation` post and a classic menu. */
final class GSW_Navigation
{
    /** Reads and checks navigation.json. */
    public static function parse(array $item): array
    {
        $data = json_decode($item['content'], true);
        if (!is_array($data) || !is_array($data['items'] ?? null)) {
            return [null, 'navigation must be {"name", "items": [{"key", "label", "path"}]}'];
        }
        $links = [];
        foreach ($data['items'] as $link) {
            if (!is_array($link) || !is_string($link['label'] ?? null)) {
                return [null, 'every navigation item needs a label'];
            }
            $links[] = [
                'key' => is_string($link['key'] ?? null) ? $link['key'] : null,
                'label' => sanitize_text_field($link['label']),
                'path' => is_string($link['path'] ?? null) ? $link['path'] : '/',
            ];
        }
        $name = is_string($data['name'] ?? null) && $data['name'] !== '' ? sanitize_text_field($data['name']) : 'Main';
        return [['name' => $name, 'key' => 'navigation:' . sanitize_title($name), 'links' => $links], null];
    }

    /** Where each navigation link points: a post of the site, or a URL on it. */
    private static function resolve_links(array $links): array
    {
        $ids = GSW_Keys::find_ids(array_column($links, 'key'));
        foreach ($links as &$link) {
            $link['id'] = $link['key'] !== null ? ($ids[$link['key']] ?? null) : null;
            $link['url'] = $link['id'] ? get_permalink($link['id']) : home_url($link['path']);
        }
        return $links;
    }

    /**
     * The navigation, in the form the active theme reads it: a `wp_navigation`
     * post (what the navigation block of block themes shows) always, and a
     * classic menu of the same name, put in the theme's first menu location,
     * when the theme has menu locations or that menu already exists (it is then
     * kept in step). A block theme without locations gets no classic menu
     * nobody would see. `$locations` are the theme's registered locations
     * (null: look them up).
     */
    public static function apply(array $item, array $nav, ?array $locations): array
    {
        $links = self::resolve_links($nav['links']);
        $written = self::apply_block_navigation($item, $nav, $links);
        if (is_wp_error($written)) {
            return GSW_Item::result($item, 'failed', $written->get_error_message());
        }
        $locations ??= array_keys(get_registered_nav_menus());
        $menu = wp_get_nav_menu_object($nav['name']);
        if (!$locations && !$menu) {
            return GSW_Item::result($item, $written ? 'applied' : 'unchanged', 'the active theme has no classic menu locations: only its block navigation was written');
        }
        $classic = self::apply_classic_menu($nav, $links, $menu ?: null, $locations);
        if (is_wp_error($classic)) {
            return GSW_Item::result($item, 'failed', $classic->get_error_message());
        }
        $message = $locations ? null : 'the active theme has no classic menu locations; the existing menu is kept in step for themes that do';
        return GSW_Item::result($item, $written || $classic ? 'applied' : 'unchanged', $message);
    }

    /** The `wp_navigation` post; returns whether it changed. */
    private static function apply_block_navigation(array $item, array $nav, array $links): bool|WP_Error
    {
        $blocks = '';
        foreach ($links as $link) {
            $attrs = $link['id']
                ? ['label' => $link['label'], 'type' => get_post_type($link['id']), 'id' => $link['id'], 'url' => $link['url'], 'kind' => 'post-type', 'isTopLevelLink' => true]
                : ['label' => $link['label'], 'url' => $link['url'], 'kind' => 'custom', 'isTopLevelLink' => true];
            $blocks .= get_comment_delimited_block_content('core/navigation-link', $attrs, '') . "\n";
        }
        $existing = GSW_Keys::find_post($nav['key']);
        if ($existing && $existing->post_content === $blocks && $existing->post_title === $nav['name'] && $existing->post_status === 'publish') {
            return false;
        }
        $post = [
            'post_type' => 'wp_navigation',
            'post_title' => $nav['name'],
            'post_name' => sanitize_title($nav['name']),
            'post_status' => 'publish',
            'post_content' => $blocks,
        ];
        if ($existing) {
            $post['ID'] = $existing->ID;
        }
        $id = wp_insert_post(wp_slash($post), true);
        if (is_wp_error($id)) {
            return $id;
        }
        GSW_Content::write_meta([$id => [['key' => $nav['key'], 'seo' => []], $item['sha256'], null, (bool) $existing]]);
        return true;
    }

    /**
     * The classic menu, its items in the links' order, assigned to the first of
     * `$locations` when there is one; returns whether anything changed.
     */
    private static function apply_classic_menu(array $nav, array $links, ?WP_Term $menu, array $locations): bool|WP_Error
    {
        $menu_id = $menu ? (int) $menu->term_id : wp_create_nav_menu($nav['name']);
        if (is_wp_error($menu_id)) {
            return $menu_id;
        }
        $changed = !$menu;
        $current = array_map(
            fn ($i) => $i->type === 'custom' ? [null, $i->title, $i->url] : [(int) $i->object_id, $i->title, ''],
            $menu ? (wp_get_nav_menu_items($menu_id, ['update_post_term_cache' => false]) ?: []) : []
        );
        $wanted = array_map(fn ($l) => [$l['id'], $l['label'], $l['id'] ? '' : $l['url']], $links);
        if ($current !== $wanted) {
            foreach ((array) get_objects_in_term($menu_id, 'nav_menu') as $old) {
                wp_delete_post((int) $old, true);
            }
            foreach ($links as $position => $link) {
                $args = ['menu-item-title' => $link['label'], 'menu-item-status' => 'publish', 'menu-item-position' => $position + 1];
                $args += $link['id']
                    ? ['menu-item-type' => 'post_type', 'menu-item-object' => get_post_type($link['id']), 'menu-item-object-id' => $link['id']]
                    : ['menu-item-type' => 'custom', 'menu-item-url' => $link['url']];
                $added = wp_update_nav_menu_item($menu_id, 0, $args);
                if (is_wp_error($added)) {
                    return $added;
                }
            }
            $changed = true;
        }
        if ($locations) {
            $assigned = get_theme_mod('nav_menu_locations', []);
            $assigned = is_array($assigned) ? $assigned : [];
            if ((int) ($assigned[$locations[0]] ?? 0) !== $menu_id) {
                $assigned[$locations[0]] = $menu_id;
                set_theme_mod('nav_menu_locations', $assigned);
                $changed = true;
            }
        }
        return $changed;
    }

    /**
     * The menu locations of the active theme. After a switch in this process the
     * new theme's functions.php (where locations are registered) was never
     * loaded, and loading it beside the old one could redeclare functions, so a
     * fresh PHP process asks WordPress.
     */
    public static function locations_after_switch(): array
    {
        $out = GSW_CLI::run('menu-locations.php');
        $locations = json_decode(trim((string) $out), true);
        return is_array($locations) ? array_values(array_filter($locations, 'is_string')) : [];
    }
}
