<?php
/**
 * Applying a verified bundle with WordPress's own APIs.
 */

if (!defined('ABSPATH')) {
    exit;
}

/** The post that carries a bundle key, if any. */
function gsw_find_by_key(string $key): ?WP_Post
{
    $posts = get_posts([
        'post_type' => 'any',
        'post_status' => 'any',
        'meta_key' => '_gsw_key',
        'meta_value' => $key,
        'numberposts' => 1,
        'suppress_filters' => true,
    ]);
    return $posts[0] ?? null;
}

/** One item's result, in the agent's report format. */
function gsw_result(array $item, string $status, ?string $message = null): array
{
    $result = ['kind' => $item['kind'], 'path' => $item['path'], 'status' => $status];
    if ($message !== null) {
        $result['message'] = $message;
    }
    return $result;
}

/** Creates or updates one page item; returns [result, post id or null, parent key]. */
function gsw_apply_page(array $item, bool $unfiltered): array
{
    $page = json_decode($item['content'], true);
    if (!is_array($page) || !is_string($page['key'] ?? null) || !is_string($page['content'] ?? null)) {
        return [gsw_result($item, 'failed', 'not a page item (key, title, slug, content)'), null, null];
    }
    try {
        gsw_blocks_parse($page['content']);
    } catch (Exception $e) {
        return [gsw_result($item, 'failed', $e->getMessage()), null, null];
    }
    // Filtered as WordPress filters a post by a user without unfiltered_html;
    // anything that looks like PHP stays text: post content is never executed.
    $content = $unfiltered ? $page['content'] : wp_kses_post($page['content']);
    $seo = is_array($page['seo'] ?? null) ? $page['seo'] : [];
    $hash = gsw_content_hash(json_encode([$page['title'] ?? '', $page['slug'] ?? '', $page['status'] ?? 'publish', $content, $seo, $page['parent_key'] ?? null, $page['front_page'] ?? false]));
    $existing = gsw_find_by_key($page['key']);
    if ($existing && get_post_meta($existing->ID, '_gsw_hash', true) === $hash) {
        return [gsw_result($item, 'unchanged'), $existing->ID, $page['parent_key'] ?? null];
    }
    $post = [
        'post_type' => 'page',
        'post_title' => (string) ($page['title'] ?? ''),
        'post_name' => sanitize_title((string) ($page['slug'] ?? '')),
        'post_status' => in_array($page['status'] ?? 'publish', ['publish', 'draft', 'private'], true) ? $page['status'] ?? 'publish' : 'draft',
        'post_content' => $content,
    ];
    if ($existing) {
        $post['ID'] = $existing->ID;
    }
    if ($unfiltered) {
        kses_remove_filters();
    }
    $id = wp_insert_post(wp_slash($post), true);
    if ($unfiltered) {
        kses_init_filters();
    }
    if (is_wp_error($id)) {
        return [gsw_result($item, 'failed', $id->get_error_message()), null, null];
    }
    update_post_meta($id, '_gsw_key', $page['key']);
    update_post_meta($id, '_gsw_hash', $hash);
    foreach (['_yoast_wpseo_title' => 'title', 'rank_math_title' => 'title', '_yoast_wpseo_metadesc' => 'description', 'rank_math_description' => 'description'] as $meta => $field) {
        if (isset($seo[$field]) && is_string($seo[$field])) {
            update_post_meta($id, $meta, wp_slash(sanitize_text_field($seo[$field])));
        }
    }
    if (!empty($page['front_page'])) {
        update_option('show_on_front', 'page');
        update_option('page_on_front', $id);
    }
    return [gsw_result($item, 'applied'), $id, $page['parent_key'] ?? null];
}

/**
 * Applies a bundle as `gsw_bundle_open` returned it. Parents are set once
 * every page of the bundle exists, so their order in the bundle is free.
 */
function gsw_apply_bundle(array $bundle, bool $unfiltered = false): array
{
    $results = [];
    $parents = [];
    foreach ($bundle['items'] as $item) {
        if ($item['kind'] === 'content' && str_starts_with($item['path'], 'pages/')) {
            [$result, $id, $parent_key] = gsw_apply_page($item, $unfiltered);
            $results[] = $result;
            if ($id && $parent_key) {
                $parents[$id] = $parent_key;
            }
        } else {
            // Navigation, design and plugins are applied by later versions.
            $results[] = gsw_result($item, 'unchanged', 'not applied by this connector version');
        }
    }
    foreach ($parents as $id => $parent_key) {
        $parent = gsw_find_by_key($parent_key);
        if ($parent && (int) wp_get_post_parent_id($id) !== $parent->ID) {
            wp_update_post(['ID' => $id, 'post_parent' => $parent->ID]);
        }
    }
    $failed = count(array_filter($results, fn ($r) => $r['status'] === 'failed')) > 0;
    return [
        'status' => $failed ? 'failed' : 'applied',
        'sequence' => $bundle['manifest']['sequence'],
        'results' => $results,
    ];
}
