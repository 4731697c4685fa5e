<?php
/**
 * Pages and posts from bundle items, created or updated by the stable key
 * kept in `_gsw_key`.
 *
 * @package gsw-connector
 */

if (!defined('ABSPATH')) {
    exit;
}

require_once __DIR__ . '/class-gsw-item.php';
require_once __DIR__ . '/class-gsw-keys.php';
require_once __DIR__ . '/class-gsw-kses.php';
require_once __DIR__ . '/class-gsw-slugs.php';
require_once __DIR__ . '/class-gsw-native.php';

/** Page and post items, written with `wp_insert_post`. */
final class GSW_Content
{
    /** The meta keys SEO plugins read, by the item's `seo` field they come from. */
    public const SEO_META = [
        '_yoast_wpseo_title' => 'title',
        'rank_math_title' => 'title',
        '_yoast_wpseo_metadesc' => 'description',
        'rank_math_description' => 'description',
    ];

    /** Reads and checks a page or post item; returns [data, null] or [null, why]. */
    public static function parse(array $item): array
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
            GSW_Native::blocks_parse($data['content']);
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
        $template = $data['template'] ?? null;
        if ($template !== null && (!is_string($template) || !preg_match('/^[a-z0-9][a-z0-9_-]{0,99}$/', $template))) {
            return [null, 'template must be a template name such as gsw-landing, or null'];
        }
        $seo = is_array($data['seo'] ?? null) ? $data['seo'] : [];
        return [[
            'template' => $template,
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
    public static function prepare(string $content, bool $unfiltered): string
    {
        $content = str_replace('<?', '&lt;?', $content);
        return $unfiltered ? $content : GSW_Kses::post($content);
    }

    /** Orders entries so a parent in the bundle comes before its children. */
    public static function parents_first(array $entries): array
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
    public static function apply(array $entries, bool $unfiltered, array &$results): array
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
        $ids = GSW_Keys::find_ids(array_merge($keys, $media_keys));
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
            foreach (self::parents_first($entries) as $entry) {
                try {
                    self::apply_post($entry, $unfiltered, $ids, $written, $settings, $results, $slugs);
                } catch (Throwable $e) {
                    $results[$entry['index']] = GSW_Item::failed($entry['item'], $e);
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
        self::apply_reading_settings($settings);
        self::resolve_links($entries, $ids, $written, $results);
        self::write_meta($written);
        return $ids;
    }

    /** An internal link in generated markup: `href="#gsw-page=<slug>"`. */
    private const PAGE_LINK = '/href="#gsw-page=([a-z0-9][a-z0-9_-]{0,190})"/';

    /**
     * A generated image in markup: an image block whose `src` is
     * `#gsw-media=<media path>` (kses may have written its `/>` as ` />`),
     * with the caption crediting a stock photo after it, if it has one.
     */
    private const MEDIA_IMAGE = '#<!-- wp:image \{([^{}]*)\} -->(\s*<figure class="[^"]*"><img) src="\#gsw-media=([a-z0-9][a-z0-9/._-]{0,190})"( alt="[^"]*")\s?/>((?:<figcaption class="wp-element-caption">(?:[^<]|<(?!/figcaption>))*+</figcaption>)?</figure>\s*<!-- /wp:image -->)#';

    /**
     * Fills in the placeholders of the posts just written: internal links
     * become the pages' real permalinks, whatever the permalink setting
     * (`?page_id=N` with plain ones), and generated images the URL and ID of
     * their attachment (uploaded by the media items before the posts). Runs
     * after every post of the bundle exists, so a page may link to one
     * written after it. A link to a page that exists nowhere goes to the
     * home page, an image that was not uploaded is left out; the item's
     * message names both.
     */
    private static function resolve_links(array $entries, array &$ids, array &$written, array &$results): void
    {
        global $wpdb;
        $targets = [];
        foreach ($entries as $entry) {
            if (preg_match_all(self::PAGE_LINK, $entry['data']['content'], $found)) {
                foreach ($found[1] as $slug) {
                    $targets["page:$slug"] = true;
                }
            }
            if (preg_match_all(self::MEDIA_IMAGE, $entry['data']['content'], $found)) {
                foreach ($found[3] as $path) {
                    $targets["media:$path"] = true;
                }
            }
        }
        if (!$targets) {
            return;
        }
        $missing = array_values(array_diff(array_keys($targets), array_keys($ids)));
        if ($missing) {
            $ids += GSW_Keys::find_ids($missing);
        }
        foreach ($entries as $entry) {
            $id = $ids[$entry['data']['key']] ?? null;
            if (!$id || !isset($written[$id])) {
                continue; // failed, or unchanged (its placeholders were filled when it was written)
            }
            $content = (string) get_post_field('post_content', $id, 'raw');
            $lost = [];
            $resolved = preg_replace_callback(self::PAGE_LINK, function ($m) use ($ids, &$lost) {
                $target = $ids["page:{$m[1]}"] ?? null;
                $url = $target ? get_permalink($target) : null;
                if (!$url) {
                    $lost[] = "link to page:{$m[1]} goes to the home page: no such page";
                    $url = home_url('/');
                }
                return 'href="' . esc_url($url) . '"';
            }, $content);
            $resolved = preg_replace_callback(self::MEDIA_IMAGE, function ($m) use ($ids, &$lost) {
                $attachment = $ids["media:{$m[3]}"] ?? null;
                $url = $attachment ? wp_get_attachment_url($attachment) : null;
                if (!$url) {
                    $lost[] = "image media:{$m[3]} left out: it was not uploaded";
                    return '';
                }
                $attachment = (int) $attachment;
                $attributes = $m[1] === '' ? "\"id\":$attachment" : "\"id\":$attachment,{$m[1]}";
                return "<!-- wp:image {{$attributes}} -->{$m[2]} src=\"" . esc_url($url) . "\"{$m[4]} class=\"wp-image-$attachment\"/>{$m[5]}";
            }, $resolved);
            if ($resolved !== $content) {
                $wpdb->update($wpdb->posts, ['post_content' => $resolved], ['ID' => $id]);
                clean_post_cache($id);
            }
            if ($lost) {
                $note = implode('; ', array_unique($lost));
                $message = $results[$entry['index']]['message'] ?? null;
                $results[$entry['index']]['message'] = $message ? "$message; $note" : $note;
            }
        }
    }

    /** Creates or updates one page or post; what it wrote is added to `$written`. */
    private static function apply_post(array $entry, bool $unfiltered, array &$ids, array &$written, array &$settings, array &$results, GSW_Slugs $slugs): void
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
            $results[$index] = GSW_Item::result($item, 'failed', "{$data['key']} is a {$existing->post_type}, not a {$data['type']}");
            return;
        }
        if (
            $existing
            && $existing->post_status !== 'trash'
            && get_post_meta($existing->ID, '_gsw_hash', true) === $item['sha256']
            && get_post_meta($existing->ID, '_gsw_applied_hash', true) === GSW_Keys::post_state_hash($existing)
            && (int) $existing->post_parent === $parent_id
            && ($thumbnail === null || (int) get_post_meta($existing->ID, '_thumbnail_id', true) === $thumbnail)
        ) {
            $results[$index] = GSW_Item::result($item, 'unchanged', implode('; ', $notes));
            $settings[] = [$data, $existing->ID];
            return;
        }
        $post = [
            'post_type' => $data['type'],
            'post_title' => $data['title'],
            'post_name' => $data['slug'],
            'post_status' => $data['status'],
            'post_content' => self::prepare($data['content'], $unfiltered),
            'post_parent' => $parent_id,
            'menu_order' => $data['menu_order'],
        ];
        if ($existing) {
            $post['ID'] = $existing->ID;
        }
        $id = wp_insert_post(wp_slash($post), true);
        if (is_wp_error($id)) {
            $results[$index] = GSW_Item::result($item, 'failed', $id->get_error_message());
            return;
        }
        $slugs->written($id, $data['slug']);
        $ids[$data['key']] = $id;
        $written[$id] = [$data, $item['sha256'], $thumbnail, (bool) $existing];
        $results[$index] = GSW_Item::result($item, 'applied', implode('; ', $notes));
        $settings[] = [$data, $id];
    }

    /**
     * Writes the connector's and the SEO plugins' meta of the posts just written
     * in two queries (old values out, new ones in) rather than a read and a
     * write per value; `_gsw_applied_hash` comes from the rows as stored.
     */
    public static function write_meta(array $written): void
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
                '_gsw_applied_hash' => GSW_Keys::post_state_hash($stored[$id]),
            ];
            foreach (self::SEO_META as $meta_key => $field) {
                if (isset($data['seo'][$field])) {
                    $meta[$meta_key] = $data['seo'][$field];
                }
            }
            if ($thumbnail !== null) {
                $meta['_thumbnail_id'] = (string) $thumbnail;
            }
            if (($data['template'] ?? null) !== null) {
                $meta['_wp_page_template'] = $data['template'];
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
    private static function apply_reading_settings(array $settings): void
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
}
