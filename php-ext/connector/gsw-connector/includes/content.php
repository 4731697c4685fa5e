<?php
/**
 * Pages, posts and navigation from bundle items, created or updated by the
 * stable key kept in `_gsw_key`.
 */

if (!defined('ABSPATH')) {
    exit;
}

/** The meta keys SEO plugins read, by the item's `seo` field they come from. */
const GSW_SEO_META = [
    '_yoast_wpseo_title' => 'title',
    'rank_math_title' => 'title',
    '_yoast_wpseo_metadesc' => 'description',
    'rank_math_description' => 'description',
];

/** Reads and checks a page or post item; returns [data, null] or [null, why]. */
function gsw_parse_post_item(array $item): array
{
    $data = json_decode($item['content'], true);
    if (!is_array($data)) {
        return [null, 'not JSON'];
    }
    $type = $data['type'] ?? (str_starts_with($item['path'], 'posts/') ? 'post' : 'page');
    $key = $data['key'] ?? null;
    if (!is_string($key) || $key === '' || strlen($key) > 191) {
        return [null, 'key must be a string of 1 to 191 bytes'];
    }
    if (!in_array($type, ['page', 'post'], true)) {
        return [null, 'type must be "page" or "post"'];
    }
    if (!is_string($data['content'] ?? null)) {
        return [null, 'content must be block markup'];
    }
    try {
        gsw_blocks_parse($data['content']);
    } catch (Throwable $e) {
        return [null, $e->getMessage()];
    }
    $status = $data['status'] ?? 'publish';
    if (!in_array($status, ['publish', 'draft', 'private'], true)) {
        return [null, 'status must be publish, draft or private'];
    }
    foreach (['parent_key', 'featured_media'] as $field) {
        if (isset($data[$field]) && !is_string($data[$field])) {
            return [null, "$field must be a string or null"];
        }
    }
    $seo = is_array($data['seo'] ?? null) ? $data['seo'] : [];
    return [[
        'key' => $key,
        'type' => $type,
        'title' => is_string($data['title'] ?? null) ? $data['title'] : '',
        'slug' => sanitize_title(is_string($data['slug'] ?? null) ? $data['slug'] : ($data['title'] ?? '')),
        'status' => $status,
        'parent_key' => $data['parent_key'] ?? null,
        'menu_order' => (int) ($data['menu_order'] ?? 0),
        'featured_media' => $data['featured_media'] ?? null,
        'front_page' => ($data['front_page'] ?? false) === true,
        'posts_page' => ($data['posts_page'] ?? false) === true,
        'content' => $data['content'],
        'seo' => array_filter([
            'title' => is_string($seo['title'] ?? null) ? sanitize_text_field($seo['title']) : null,
            'description' => is_string($seo['description'] ?? null) ? sanitize_text_field($seo['description']) : null,
        ], 'is_string'),
    ], null];
}

/**
 * Content as it will be stored: anything that looks like PHP becomes text,
 * and unless allowed, markup goes through wp_kses_post as for an author
 * without unfiltered_html.
 */
function gsw_prepare_content(string $content, bool $unfiltered): string
{
    $content = str_replace('<?', '&lt;?', $content);
    return $unfiltered ? $content : GSW_Kses::post($content);
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

/** Orders entries so a parent in the bundle comes before its children. */
function gsw_parents_first(array $entries): array
{
    $by_key = [];
    foreach ($entries as $i => $entry) {
        $by_key[$entry['data']['key']] = $i;
    }
    $ordered = [];
    $state = [];
    $visit = function ($i) use (&$visit, &$ordered, &$state, $entries, $by_key) {
        if (isset($state[$i])) {
            return; // done, or a cycle: its parent is looked up as it stands
        }
        $state[$i] = true;
        $parent = $entries[$i]['data']['parent_key'];
        if ($parent !== null && isset($by_key[$parent])) {
            $visit($by_key[$parent]);
        }
        $ordered[] = $entries[$i];
    };
    foreach (array_keys($entries) as $i) {
        $visit($i);
    }
    return $ordered;
}

/**
 * Applies page and post items. `$entries` are ['index', 'item', 'data'];
 * results go into `$results` by index. Returns key => post id of every
 * entry that now has a post.
 */
function gsw_apply_posts(array $entries, bool $unfiltered, array &$results): array
{
    global $wpdb;
    if (!$entries) {
        return [];
    }
    $keys = [];
    $media_keys = [];
    foreach ($entries as $entry) {
        $keys[] = $entry['data']['key'];
        if ($entry['data']['parent_key'] !== null) {
            $keys[] = $entry['data']['parent_key'];
        }
        if ($entry['data']['featured_media'] !== null) {
            $media_keys[] = 'media:' . $entry['data']['featured_media'];
        }
    }
    $ids = gsw_find_ids_by_keys(array_merge($keys, $media_keys));
    if ($ids) {
        _prime_post_caches(array_values($ids), false, true);
    }

    $written = []; // post id => [key, item hash, seo, thumbnail id|null]
    $settings = [];
    $slugs = GSW_Slugs::start(array_map(fn ($e) => $e['data']['slug'], $entries));
    // WordPress empties the "more than one author?" cache on every post it
    // publishes (a query each); once after the last one leaves it the same.
    $multi_author = remove_action('transition_post_status', '__clear_multi_author_cache');
    try {
        foreach (gsw_parents_first($entries) as $entry) {
            try {
                gsw_apply_post($entry, $unfiltered, $ids, $written, $settings, $results, $slugs);
            } catch (Throwable $e) {
                $results[$entry['index']] = gsw_result($entry['item'], 'failed', get_class($e) . ': ' . $e->getMessage());
            }
        }
    } finally {
        $slugs->stop();
        if ($multi_author) {
            add_action('transition_post_status', '__clear_multi_author_cache');
            if ($written) {
                __clear_multi_author_cache();
            }
        }
    }
    gsw_write_post_meta($written);
    gsw_apply_reading_settings($settings);
    return $ids;
}

/** Creates or updates one page or post; what it wrote is added to `$written`. */
function gsw_apply_post(array $entry, bool $unfiltered, array &$ids, array &$written, array &$settings, array &$results, GSW_Slugs $slugs): void
{
    [$index, $item, $data] = [$entry['index'], $entry['item'], $entry['data']];
    $notes = [];
    $parent_id = 0;
    if ($data['parent_key'] !== null) {
        $parent_id = $ids[$data['parent_key']] ?? 0;
        if (!$parent_id) {
            $notes[] = "parent {$data['parent_key']} not found; placed at the top level";
        }
    }
    $thumbnail = null;
    if ($data['featured_media'] !== null) {
        $thumbnail = $ids['media:' . $data['featured_media']] ?? null;
        if (!$thumbnail) {
            $notes[] = "featured media {$data['featured_media']} not found";
        }
    }
    $existing = isset($ids[$data['key']]) ? get_post($ids[$data['key']]) : null;
    if ($existing && $existing->post_type !== $data['type']) {
        $results[$index] = gsw_result($item, 'failed', "{$data['key']} is a {$existing->post_type}, not a {$data['type']}");
        return;
    }
    if ($existing
        && $existing->post_status !== 'trash'
        && get_post_meta($existing->ID, '_gsw_hash', true) === $item['sha256']
        && get_post_meta($existing->ID, '_gsw_applied_hash', true) === gsw_post_state_hash($existing)
        && (int) $existing->post_parent === $parent_id
        && ($thumbnail === null || (int) get_post_meta($existing->ID, '_thumbnail_id', true) === $thumbnail)
    ) {
        $results[$index] = gsw_result($item, 'unchanged', implode('; ', $notes));
        $settings[] = [$data, $existing->ID];
        return;
    }
    $post = [
        'post_type' => $data['type'],
        'post_title' => $data['title'],
        'post_name' => $data['slug'],
        'post_status' => $data['status'],
        'post_content' => gsw_prepare_content($data['content'], $unfiltered),
        'post_parent' => $parent_id,
        'menu_order' => $data['menu_order'],
    ];
    if ($existing) {
        $post['ID'] = $existing->ID;
    }
    $id = wp_insert_post(wp_slash($post), true);
    if (is_wp_error($id)) {
        $results[$index] = gsw_result($item, 'failed', $id->get_error_message());
        return;
    }
    $slugs->written($id, $data['slug']);
    $ids[$data['key']] = $id;
    $written[$id] = [$data, $item['sha256'], $thumbnail, (bool) $existing];
    $results[$index] = gsw_result($item, 'applied', implode('; ', $notes));
    $settings[] = [$data, $id];
}

/**
 * Writes the connector's and the SEO plugins' meta of the posts just written
 * in two queries (old values out, new ones in) rather than a read and a
 * write per value; `_gsw_applied_hash` comes from the rows as stored.
 */
function gsw_write_post_meta(array $written): void
{
    global $wpdb;
    if (!$written) {
        return;
    }
    $in = implode(',', array_map('intval', array_keys($written)));
    $stored = $wpdb->get_results("SELECT ID, post_title, post_name, post_status, post_content, post_parent FROM {$wpdb->posts} WHERE ID IN ($in)", OBJECT_K);
    $rows = [];
    $managed = ['_gsw_key', '_gsw_hash', '_gsw_applied_hash', '_wp_trash_meta_status', '_wp_trash_meta_time'];
    foreach ($written as $id => [$data, $hash, $thumbnail, $updated]) {
        $meta = [
            '_gsw_key' => $data['key'],
            '_gsw_hash' => $hash,
            '_gsw_applied_hash' => gsw_post_state_hash($stored[$id]),
        ];
        foreach (GSW_SEO_META as $meta_key => $field) {
            if (isset($data['seo'][$field])) {
                $meta[$meta_key] = $data['seo'][$field];
            }
        }
        if ($thumbnail !== null) {
            $meta['_thumbnail_id'] = (string) $thumbnail;
        }
        foreach ($meta as $key => $value) {
            $rows[] = $wpdb->prepare('(%d,%s,%s)', $id, $key, $value);
        }
        $managed = array_merge($managed, array_keys($meta));
    }
    $keys = implode(',', array_map(fn ($k) => $wpdb->prepare('%s', $k), array_unique($managed)));
    $wpdb->query("DELETE FROM {$wpdb->postmeta} WHERE post_id IN ($in) AND meta_key IN ($keys)");
    foreach (array_chunk($rows, 500) as $chunk) {
        $wpdb->query("INSERT INTO {$wpdb->postmeta} (post_id, meta_key, meta_value) VALUES " . implode(',', $chunk));
    }
    foreach (array_keys($written) as $id) {
        wp_cache_delete($id, 'post_meta');
    }
}

/** Front page and posts page, set only when they differ. */
function gsw_apply_reading_settings(array $settings): void
{
    foreach ($settings as [$data, $id]) {
        if ($data['type'] !== 'page' || (!$data['front_page'] && !$data['posts_page'])) {
            continue;
        }
        if (get_option('show_on_front') !== 'page') {
            update_option('show_on_front', 'page');
        }
        $option = $data['front_page'] ? 'page_on_front' : 'page_for_posts';
        if ((int) get_option($option) !== (int) $id) {
            update_option($option, (int) $id);
        }
    }
}

/** Reads and checks navigation.json. */
function gsw_parse_navigation(array $item): array
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
function gsw_resolve_links(array $links): array
{
    $ids = gsw_find_ids_by_keys(array_column($links, 'key'));
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
function gsw_apply_navigation(array $item, array $nav, ?array $locations): array
{
    $links = gsw_resolve_links($nav['links']);
    $written = gsw_apply_block_navigation($item, $nav, $links);
    if (is_wp_error($written)) {
        return gsw_result($item, 'failed', $written->get_error_message());
    }
    $locations ??= array_keys(get_registered_nav_menus());
    $menu = wp_get_nav_menu_object($nav['name']);
    if (!$locations && !$menu) {
        return gsw_result($item, $written ? 'applied' : 'unchanged', 'the active theme has no classic menu locations: only its block navigation was written');
    }
    $classic = gsw_apply_classic_menu($nav, $links, $menu ?: null, $locations);
    if (is_wp_error($classic)) {
        return gsw_result($item, 'failed', $classic->get_error_message());
    }
    $message = $locations ? null : 'the active theme has no classic menu locations; the existing menu is kept in step for themes that do';
    return gsw_result($item, $written || $classic ? 'applied' : 'unchanged', $message);
}

/** The `wp_navigation` post; returns whether it changed. */
function gsw_apply_block_navigation(array $item, array $nav, array $links): bool|WP_Error
{
    $blocks = '';
    foreach ($links as $link) {
        $attrs = $link['id']
            ? ['label' => $link['label'], 'type' => get_post_type($link['id']), 'id' => $link['id'], 'url' => $link['url'], 'kind' => 'post-type', 'isTopLevelLink' => true]
            : ['label' => $link['label'], 'url' => $link['url'], 'kind' => 'custom', 'isTopLevelLink' => true];
        $blocks .= get_comment_delimited_block_content('core/navigation-link', $attrs, '') . "\n";
    }
    $existing = gsw_find_by_key($nav['key']);
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
    gsw_write_post_meta([$id => [['key' => $nav['key'], 'seo' => []], $item['sha256'], null, (bool) $existing]]);
    return true;
}

/**
 * The classic menu, its items in the links' order, assigned to the first of
 * `$locations` when there is one; returns whether anything changed.
 */
function gsw_apply_classic_menu(array $nav, array $links, ?WP_Term $menu, array $locations): bool|WP_Error
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
